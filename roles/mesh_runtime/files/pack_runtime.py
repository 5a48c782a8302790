"""Pack the mt5mesh runtime into a deterministic tar (sorted, fixed owner and mtime), so an
unchanged runtime gives a byte-identical bundle and copying it reports no change.

Usage: pack_runtime.py COLLECTION_ROOT         -> prints the bundle's path
       pack_runtime.py --sha1 COLLECTION_ROOT  -> prints the bundle's SHA-1 only, writes nothing
                                                  (the role's one-round-trip state check)
       pack_runtime.py --prebuild COLLECTION_ROOT -> writes the bundle next to this script
                                                  (make build: the tarball carries it)

Where the bytes come from: a checkout (COLLECTION_ROOT has pyproject.toml) is packed from its
sources, always, so a stale prebuilt file there is never used. An installed collection has no
sources: the tarball ships only meta/, plugins/, roles/, playbooks/ and docs (Ansible's layout for
a collection), so the bundle `make build` wrote into this role's files/ is used as it is. That
path needs no TOML parser either, so a Python 3.10 controller can run it.

The bundle is unpacked as root on every mesh host, so no other local user may touch it between
packing and copying: it is written into a fresh private directory (mkdtemp, mode 0700, checked
to be ours) with O_EXCL, never into a predictable path and never over a file we did not create.
"""
import io
import os
import stat
import sys
import tarfile
import tempfile

BUNDLE_NAME = "mt5mesh-runtime.tar"
PREBUILT = os.path.join(os.path.dirname(os.path.abspath(__file__)), BUNDLE_NAME)


def layout(root):
    """(package directory in the bundle, source directory) for each package, read from the one
    declaration of the layout: pyproject.toml's packages and package-dir."""
    try:
        import tomllib
    except ImportError:  # Python 3.10: a checkout's tests have tomli (pytest needs it there)
        import tomli as tomllib
    with open(os.path.join(root, "pyproject.toml"), "rb") as f:
        conf = tomllib.load(f)["tool"]["setuptools"]
    dirs = conf["package-dir"]
    out = []
    for package in conf["packages"]:
        # The longest mapped prefix decides where a package lives (mt5mesh.wire before mt5mesh).
        prefix = max((p for p in dirs if package == p or package.startswith(p + ".")), key=len)
        source = dirs[prefix] + package[len(prefix):].replace(".", "/")
        out.append((package.replace(".", "/"), source))
    return out


def bundle_bytes(root):
    if os.path.isfile(os.path.join(root, "pyproject.toml")):
        return source_bundle(root)
    try:
        with open(PREBUILT, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise SystemExit("pack_runtime: %s has neither the runtime's sources (pyproject.toml) nor a prebuilt %s: "
                         "build the collection with make build" % (root, PREBUILT))


def source_bundle(root):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for package, source in layout(root):
            directory = os.path.join(root, source)
            for name in sorted(os.listdir(directory)):
                if not name.endswith(".py"):
                    continue
                with open(os.path.join(directory, name), "rb") as f:
                    data = f.read()
                info = tarfile.TarInfo("%s/%s" % (package, name))
                info.size, info.mode, info.mtime = len(data), 0o644, 0
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def private_dir(parent=None):
    """A new directory only we can enter; refuses one that is not ours or is open to others."""
    path = tempfile.mkdtemp(prefix="mt5mesh-runtime-", dir=parent)
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o077:
        raise SystemExit("pack_runtime: %s is not a private directory of ours" % path)
    return path


def main(root, parent=None):
    path = os.path.join(private_dir(parent), BUNDLE_NAME)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(bundle_bytes(root))
    print(path)
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "--prebuild":
        with open(PREBUILT, "wb") as f:
            f.write(source_bundle(sys.argv[2]))
        print(PREBUILT)
        sys.exit(0)
    if sys.argv[1] == "--sha1":
        import hashlib
        print(hashlib.sha1(bundle_bytes(sys.argv[2])).hexdigest())
        sys.exit(0)
    sys.exit(main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None))
