"""File system durability shared by the gateway journal and the nexus spool."""
import os


def fsync_dir(path):
    """fsync a directory, so a file created, renamed or deleted in it survives a power loss."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
