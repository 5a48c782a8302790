"""The JUnit report holds any check detail: every character XML 1.0 cannot hold is replaced,
and the result parses."""
from xml.etree import ElementTree as ET

from ansible_collections.mt5crs.mesh.plugins.module_utils import report

BAD = "".join(chr(c) for c in range(0, 32)) + "\ud800\udfff\ufffe\uffff"


def test_every_control_character_in_a_detail_still_gives_parseable_junit():
    checks = [{"id": "c%d" % i, "name": "n" + ch, "phase": 1, "extended": False, "ok": i % 2 == 0,
               "detail": "peer sent %r: %s" % (ch, ch), "elapsed_ms": 1.0} for i, ch in enumerate(BAD)]
    xml = report.to_junit({"vantage": "inf\x00", "checks": checks, "elapsed_ms": 5})
    root = ET.fromstring(xml)
    assert len(root.findall("testcase")) == len(BAD)
    assert len(root.findall("testcase/failure")) == len(BAD) // 2


def test_xml_safe_keeps_tab_newline_and_text_and_replaces_the_rest():
    assert report.xml_safe("a\tb\nc\rd") == "a\tb\nc\rd"
    assert report.xml_safe("x\x00y\x1b[31m\ufffe") == "x\ufffdy\ufffd[31m\ufffd"
    assert report.xml_safe(5) == "5"
