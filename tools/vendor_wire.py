"""Copy the wire package into the collection's module_utils (see src/mt5mesh/wire/__init__.py).

Usage: python tools/vendor_wire.py          -> make plugins/module_utils/_wire a byte-identical copy
       python tools/vendor_wire.py --check  -> list what differs, exit 1 if anything does
"""
import os
import shutil
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE = os.path.join(ROOT, "src", "mt5mesh", "wire")
COPY = os.path.join(ROOT, "plugins", "module_utils", "_wire")


def _files(directory):
    if not os.path.isdir(directory):
        return set()
    return {n for n in os.listdir(directory) if n.endswith(".py")}


def differences(source_dir=SOURCE, copy_dir=COPY):
    """What differs between the package and its copy, one line per file, saying how."""
    out = []
    source, copy = _files(source_dir), _files(copy_dir)
    for name in sorted(source | copy):
        if name not in copy:
            out.append("%s: missing from plugins/module_utils/_wire" % name)
        elif name not in source:
            out.append("%s: in plugins/module_utils/_wire but not in src/mt5mesh/wire" % name)
        else:
            with open(os.path.join(source_dir, name), "rb") as a, open(os.path.join(copy_dir, name), "rb") as b:
                if a.read() != b.read():
                    out.append("%s: differs from src/mt5mesh/wire/%s" % (name, name))
    return out


def vendor():
    os.makedirs(COPY, exist_ok=True)
    for name in _files(COPY) - _files(SOURCE):
        os.unlink(os.path.join(COPY, name))
    for name in sorted(_files(SOURCE)):
        shutil.copyfile(os.path.join(SOURCE, name), os.path.join(COPY, name))


def main(argv):
    if argv[1:] == ["--check"]:
        diff = differences()
        for line in diff:
            print("vendor_wire: %s (run make vendor)" % line)
        return 1 if diff else 0
    if argv[1:]:
        print(__doc__)
        return 2
    vendor()
    print("vendor_wire: plugins/module_utils/_wire is a copy of src/mt5mesh/wire")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
