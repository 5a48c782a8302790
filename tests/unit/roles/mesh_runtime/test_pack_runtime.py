"""The runtime bundle (unpacked as root on every host) is packed into a fresh private directory:
nothing another local user planted in /tmp is read, reused or written through."""
import importlib.util
import os
import stat
import tarfile

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
spec = importlib.util.spec_from_file_location("pack_runtime", os.path.join(ROOT, "roles/mesh_runtime/files/pack_runtime.py"))
pack_runtime = importlib.util.module_from_spec(spec)
spec.loader.exec_module(pack_runtime)

# These pack the sources of a checkout; an installed collection has none (it ships the bundle
# prebuilt, which tests/integration/test_tarball.py checks against the sources).
pytestmark = pytest.mark.skipif(not os.path.isfile(os.path.join(ROOT, "pyproject.toml")),
                                reason="an installed collection has no runtime sources")


def pack(tmp_path, capsys):
    assert pack_runtime.main(ROOT, str(tmp_path)) == 0
    return capsys.readouterr().out.strip()


def test_bundle_goes_into_a_new_0700_directory_of_ours(tmp_path, capsys):
    path = pack(tmp_path, capsys)
    directory = os.path.dirname(path)
    st = os.lstat(directory)
    assert os.path.dirname(directory) == str(tmp_path)
    assert stat.S_IMODE(st.st_mode) == 0o700 and st.st_uid == os.geteuid()
    assert stat.S_IMODE(os.lstat(path).st_mode) == 0o600


def test_pre_planted_tmp_files_change_nothing(tmp_path, capsys):
    user = os.environ.get("USER") or "ansible"
    planted = [tmp_path / ("mt5mesh-runtime-%s.tar" % user), tmp_path / "mt5mesh-runtime.tar"]
    for p in planted:
        p.write_bytes(b"evil")
    os.symlink("/etc/passwd", str(tmp_path / "mt5mesh-runtime-link"))
    path = pack(tmp_path, capsys)
    assert all(p.read_bytes() == b"evil" for p in planted)
    assert path not in {str(p) for p in planted}
    with tarfile.open(path) as tar:
        names = tar.getnames()
    assert "mt5mesh/wire/protocol.py" in names and "mt5mesh/gateway/broker.py" in names


def test_two_packs_are_byte_identical_in_different_directories(tmp_path, capsys):
    first, second = pack(tmp_path, capsys), pack(tmp_path, capsys)
    assert os.path.dirname(first) != os.path.dirname(second)
    with open(first, "rb") as a, open(second, "rb") as b:
        assert a.read() == b.read()


def test_an_installed_collection_without_sources_ships_the_prebuilt_bundle_byte_for_byte(tmp_path, monkeypatch):
    prebuilt = tmp_path / "files" / "mt5mesh-runtime.tar"
    prebuilt.parent.mkdir()
    prebuilt.write_bytes(pack_runtime.source_bundle(ROOT))
    monkeypatch.setattr(pack_runtime, "PREBUILT", str(prebuilt))
    installed = tmp_path / "ansible_collections" / "mt5crs" / "mesh"
    installed.mkdir(parents=True)
    assert pack_runtime.bundle_bytes(str(installed)) == prebuilt.read_bytes()


def test_a_checkout_packs_its_sources_and_never_a_stale_prebuilt_bundle(tmp_path, monkeypatch):
    stale = tmp_path / "mt5mesh-runtime.tar"
    stale.write_bytes(b"stale")
    monkeypatch.setattr(pack_runtime, "PREBUILT", str(stale))
    assert pack_runtime.bundle_bytes(ROOT) == pack_runtime.source_bundle(ROOT) != b"stale"


def test_no_sources_and_no_prebuilt_bundle_exits_naming_make_build(tmp_path, monkeypatch):
    monkeypatch.setattr(pack_runtime, "PREBUILT", str(tmp_path / "absent.tar"))
    try:
        pack_runtime.bundle_bytes(str(tmp_path))
    except SystemExit as e:
        assert "make build" in str(e) and str(tmp_path) in str(e)
    else:
        raise AssertionError("no SystemExit")
