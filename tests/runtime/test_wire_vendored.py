"""The collection's module_utils/_wire is a byte-identical copy of the runtime's wire package
(src/mt5mesh/wire/__init__.py says why): a difference fails make check, naming each file."""
import importlib.util
import os

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
spec = importlib.util.spec_from_file_location("vendor_wire", os.path.join(ROOT, "tools", "vendor_wire.py"))
vendor_wire = importlib.util.module_from_spec(spec)
spec.loader.exec_module(vendor_wire)


# mutmut's copy (mutants/) rewrites the mutated wire files with its trampolines: there the copy
# differs by design, and this test says nothing about the checkout.
@pytest.mark.skipif(os.path.basename(ROOT) == "mutants", reason="mutmut's copy rewrites the wire files")
def test_the_collections_wire_copy_is_byte_identical_to_the_runtimes_package():
    assert vendor_wire.differences() == []
    assert "protocol.py" in os.listdir(vendor_wire.COPY)


def test_a_changed_missing_or_extra_file_in_the_copy_is_named(tmp_path):
    source, copy = tmp_path / "src", tmp_path / "copy"
    source.mkdir()
    copy.mkdir()
    for name in ("protocol.py", "dialect.py", "errors.py"):
        (source / name).write_text("# %s\n" % name)
    (copy / "protocol.py").write_text("# protocol.py\n")
    (copy / "dialect.py").write_text("# edited in the copy\n")
    (copy / "stale.py").write_text("# removed from the package\n")
    (copy / "notes.txt").write_text("not python: ignored\n")
    assert vendor_wire.differences(str(source), str(copy)) == [
        "dialect.py: differs from src/mt5mesh/wire/dialect.py",
        "errors.py: missing from plugins/module_utils/_wire",
        "stale.py: in plugins/module_utils/_wire but not in src/mt5mesh/wire",
    ]
