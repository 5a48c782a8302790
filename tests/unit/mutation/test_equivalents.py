"""The equivalent-mutant list is matched by content (tests/mutation/equivalents.py)."""
import json
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "mutation"))
import equivalents  # noqa: E402

MUTANTS = '''
class Ring:
    def xǁRingǁslice__mutmut_orig(self, a, b):
        if a == 0 or b > a:
            return []
        return [a, b]

    def xǁRingǁslice__mutmut_1(self, a, b):
        if a == 0 and b > a:
            return []
        return [a, b]

    def xǁRingǁslice__mutmut_2(self, a, b):
        if a == 0 or b > a:
            return []
        return None


def x_tail__mutmut_orig(n=0):
    return n


def x_tail__mutmut_1(n=1):
    return n
'''

ENTRY = {"function": "m.xǁRingǁslice", "line": "if a == 0 or b > a:", "mutant": "if a == 0 and b > a:", "why": "w"}


def test_a_mutant_is_named_by_its_function_and_the_line_before_and_after():
    d = equivalents.diffs("m", MUTANTS)
    assert d["m.xǁRingǁslice__mutmut_1"] == {k: ENTRY[k] for k in ("function", "line", "mutant")}
    assert d["m.xǁRingǁslice__mutmut_2"]["mutant"] == "return None"
    # A changed default shows on the def line, without the mutant's own name.
    assert d["m.x_tail__mutmut_1"] == {"function": "m.x_tail", "line": "def x_tail(n=0):", "mutant": "def x_tail(n=1):"}
    assert "m.xǁRingǁslice__mutmut_orig" not in d


def test_an_entry_matches_its_mutant_whatever_its_positional_id():
    renumbered = MUTANTS.replace("__mutmut_1(", "__mutmut_9(")
    keys, stale = equivalents.match([ENTRY], equivalents.diffs("m", renumbered), ["m"])
    assert keys == {"m.xǁRingǁslice__mutmut_9"} and stale == []


def test_an_entry_whose_line_was_deleted_or_changed_is_reported_stale_by_name():
    changed = MUTANTS.replace("if a == 0 or b > a:", "if a == 1 or b > a:").replace(
        "if a == 0 and b > a:", "if a == 1 and b > a:")
    keys, stale = equivalents.match([ENTRY], equivalents.diffs("m", changed), ["m"])
    assert keys == set() and stale == [ENTRY]
    assert equivalents.describe(ENTRY) == "m.xǁRingǁslice: `if a == 0 or b > a:` -> `if a == 0 and b > a:`"


def test_an_entry_of_a_file_this_run_did_not_mutate_is_never_stale():
    keys, stale = equivalents.match([ENTRY], {}, ["other"])
    assert keys == set() and stale == []


def test_an_entry_without_its_reason_is_refused(tmp_path):
    path = tmp_path / "e.json"
    path.write_text(json.dumps([{k: v for k, v in ENTRY.items() if k != "why"}]))
    with pytest.raises(ValueError, match="lacks why"):
        equivalents.load(str(path))


def test_the_shipped_list_loads_and_every_entry_has_a_reason():
    entries = equivalents.load(os.path.join(os.path.dirname(equivalents.__file__), "equivalent.json"))
    assert entries and all(e["why"].strip() for e in entries)
