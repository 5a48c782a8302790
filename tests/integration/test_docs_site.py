"""make docs builds the collection's HTML docs (antsibull-docs + Sphinx, warnings are errors), and
one rendered page looks right in headless Chromium (Debian package): the DOM holds the plugin and
role index, and a screenshot is not a blank page. Chromium runs with no network at all (its own
empty network namespace), so nothing leaves the machine."""
import os
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SITE = os.path.join(ROOT, "docs", "site")
PAGE = os.path.join(SITE, "build", "html", "collections", "mt5crs", "mesh", "index.html")


@pytest.fixture(scope="module")
def built():
    proc = subprocess.run(["bash", os.path.join(SITE, "build.sh")], capture_output=True, text=True, timeout=600,
                          check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return PAGE


def chromium(*args):
    exe = shutil.which("chromium")
    if exe is None:
        pytest.fail("chromium is not installed: make setup installs the Debian package")
    return subprocess.run(["unshare", "-n", exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--window-size=1200,900"] + list(args), capture_output=True, timeout=120, check=False)


def test_make_docs_builds_every_plugin_and_role_page(built):
    pages = os.listdir(os.path.dirname(built))
    for name in ("mesh_gateway_ping_module.html", "mt5_close_all_module.html", "cwd_lookup.html", "mesh_summary_callback.html",
                 "gateway_broker_role.html", "mesh_monitoring_role.html"):
        assert name in pages


def test_the_rendered_index_shows_the_plugin_and_role_index_and_is_not_blank(built, tmp_path):
    dom = chromium("--dump-dom", "file://" + built).stdout.decode("utf-8", "replace")
    for text in ("Mt5Crs.Mesh", "Plugin Index", "mesh_gateway_diagnose", "Role Index", "establish_link"):
        assert text in dom, text
    shot = tmp_path / "index.png"
    chromium("--screenshot=%s" % shot, "file://" + built)
    with open(shot, "rb") as f:
        png = f.read()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    # A blank (or unstyled, error) page compresses to a few KB; the rendered index is ~100 KB.
    assert len(png) > 40000, len(png)
