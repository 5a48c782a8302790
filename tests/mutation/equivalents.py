"""Equivalent mutants named by what they change, not by mutmut's positional id (pure functions).

An id such as ``ring.xǁRingǁslice__mutmut_1`` moves to another mutant when a line is added above
it; the change itself (the function, the source line before and after) does not. Each listed
equivalent is matched against the diffs of this run's mutants, and one that matches none is
reported: its line was deleted or changed, so the review behind it no longer holds.
"""
import ast
import difflib
import json
import re

_SUFFIX = re.compile(r"__mutmut_(\w+)$")


def function_of(key):
    """mt5mesh.x.xǁCǁf__mutmut_7 -> mt5mesh.x.xǁCǁf (the mutated function, module included)."""
    return _SUFFIX.sub("", key)


def _bodies(source):
    """{function name: its source lines} for every def in a mutants/ file."""
    lines = source.splitlines()
    out = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and "__mutmut_" in node.name:
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            body = lines[first - 1:node.end_lineno]
            # The def line names the mutant; without its name, a changed default still shows.
            out[node.name] = [re.sub(r"__mutmut_\w+\(", "(", ln, count=1) for ln in body]
    return out


def diffs(module, source):
    """{mutant key: {"function", "line", "mutant"}}: each mutant's changed lines against the
    original, stripped and joined with " / " when a mutation spans several lines."""
    bodies = _bodies(source)
    out = {}
    for name, body in bodies.items():
        m = _SUFFIX.search(name)
        if m is None or m.group(1) == "orig":
            continue
        base = name[:m.start()]
        orig = bodies.get(base + "__mutmut_orig")
        if orig is None:
            continue
        removed, added = [], []
        for ln in difflib.ndiff(orig, body):
            if ln.startswith("- "):
                removed.append(ln[2:].strip())
            elif ln.startswith("+ "):
                added.append(ln[2:].strip())
        out[module + "." + name] = {"function": module + "." + base, "line": " / ".join(removed),
                                    "mutant": " / ".join(added)}
    return out


def load(path):
    with open(path, encoding="utf-8") as f:
        entries = json.load(f)
    for e in entries:
        missing = {"function", "line", "mutant", "why"} - set(e)
        if missing:
            raise ValueError("%s: an entry lacks %s: %r" % (path, ", ".join(sorted(missing)), e))
    return entries


def match(entries, mutant_diffs, modules):
    """(the keys of the mutants listed as equivalent, the entries that match no mutant).

    Only entries of ``modules`` (the files this run mutated) can be stale."""
    wanted = {(e["function"], e["line"], e["mutant"]): e for e in entries}
    keys, seen = set(), set()
    for key, d in mutant_diffs.items():
        sig = (d["function"], d["line"], d["mutant"])
        if sig in wanted:
            keys.add(key)
            seen.add(sig)
    stale = [e for sig, e in wanted.items() if sig not in seen
             and any(e["function"].startswith(m + ".") for m in modules)]
    return keys, stale


def describe(entry):
    return "%s: `%s` -> `%s`" % (entry["function"], entry["line"], entry["mutant"])
