"""Pack the mt5mesh runtime into a deterministic tar (sorted, fixed owner and mtime), so an
unchanged runtime gives a byte-identical bundle and copying it reports no change.

Usage: pack_runtime.py COLLECTION_ROOT OUTPUT_TAR
"""
import io
import os
import sys
import tarfile

# package directory inside the bundle -> source directory in the collection
LAYOUT = (
    ("mt5mesh", "src/mt5mesh"),
    ("mt5mesh/gateway", "src/mt5mesh/gateway"),
    ("mt5mesh/nexus", "src/mt5mesh/nexus"),
    ("mt5mesh/wire", "plugins/module_utils/wire"),
)


def main(root, output):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for package, source in LAYOUT:
            directory = os.path.join(root, source)
            for name in sorted(os.listdir(directory)):
                if not name.endswith(".py"):
                    continue
                with open(os.path.join(directory, name), "rb") as f:
                    data = f.read()
                info = tarfile.TarInfo("%s/%s" % (package, name))
                info.size, info.mode, info.mtime = len(data), 0o644, 0
                tar.addfile(info, io.BytesIO(data))
    data = buf.getvalue()
    try:
        with open(output, "rb") as f:
            if f.read() == data:
                return 0
    except OSError:
        pass
    tmp = output + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, output)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
