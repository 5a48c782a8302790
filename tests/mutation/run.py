"""`make mutation`: mutmut on the zero-loss and scoring core (pyproject [tool.mutmut]), the score
per file, and a failure when a file falls below its floor in thresholds.json.

A mutant counts as killed when the unit tests fail with it; as survived when they pass. Mutants
listed in equivalent.json (reviewed: they cannot change behaviour) are left out of the score; each
is named by its function and the source line it changes (equivalents.py), and one that matches no
mutant any more fails the run, naming it.

The results are kept in mutants/ with a key: a hash of every file mutmut copies (the sources and
their tests). A run whose key matches, for files the kept run covered, scores the kept results
without running mutmut; any other run starts cold. A fresh clone always runs in full.
The floors only ever go up (a new test that kills more raises them with --update); the goal for
every file is 90% (docs/testing.md).

With --changed (make check), only the files changed since origin/main (or the last tag, with the
uncommitted ones) are mutated and scored; none changed, nothing runs.

Usage: python tests/mutation/run.py [--no-run] [--update] [--changed]
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
GOAL = 90.0


sys.path.insert(0, HERE)
import equivalents  # noqa: E402  (tests/mutation is not a package)

KEY_FILE = os.path.join(ROOT, "mutants", "run-key.json")


def mutmut_config():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        return tomllib.load(f)["tool"]["mutmut"]


def source_paths():
    return mutmut_config()["source_paths"]


def content_key():
    """A hash of every file mutmut copies into mutants/ (sources, tests, config): what a mutant's
    verdict can depend on. Tracked and untracked-but-not-ignored files, by content."""
    roots = mutmut_config()["also_copy"]
    files = sorted(set(_git("ls-files", "-co", "--exclude-standard", "--", *roots) or ()))
    h = hashlib.sha256()
    for name in files:
        path = os.path.join(ROOT, name)
        if os.path.isfile(path):
            h.update(name.encode() + b"\0")
            with open(path, "rb") as f:
                h.update(hashlib.sha256(f.read()).digest())
    return h.hexdigest()


def kept_run(key, paths):
    """True when mutants/ holds results for these paths under this very key."""
    try:
        with open(KEY_FILE) as f:
            kept = json.load(f)
    except (OSError, ValueError):
        return False
    return kept.get("key") == key and set(paths) <= set(kept.get("paths", ())) and all(
        os.path.exists(os.path.join(ROOT, "mutants", p + ".meta")) for p in paths)


def _git(*args):
    proc = subprocess.run(["git"] + list(args), cwd=ROOT, capture_output=True, text=True, check=False)
    return proc.stdout.split() if proc.returncode == 0 else None


def changed_files():
    """(what the change is measured from, the files changed since it, uncommitted ones included)."""
    base = "origin/main" if _git("rev-parse", "--verify", "-q", "origin/main") else None
    if base is None:
        tag = _git("describe", "--tags", "--abbrev=0")
        base = tag[0] if tag else None
    files = set(_git("diff", "--name-only", "HEAD") or ()) | set(_git("ls-files", "--others", "--exclude-standard") or ())
    if base is not None:
        files |= set(_git("diff", "--name-only", base + "...HEAD") or ())
    return base or "HEAD (uncommitted changes only)", files


def module_of(path):
    """The mutant-name prefix of a source file (pure): src/mt5mesh/x.py -> mt5mesh.x."""
    path = path[len("src/"):] if path.startswith("src/") else path
    return path[:-len(".py")].replace("/", ".")


def mutant_diffs(paths):
    out = {}
    for path in paths:
        with open(os.path.join(ROOT, "mutants", path), encoding="utf-8") as f:
            out.update(equivalents.diffs(module_of(path), f.read()))
    return out


def killed_by(exit_code):
    """A mutant's exit code as mutmut classifies it: killed, or broken enough to time out or crash."""
    from mutmut.stats import status_by_exit_code  # the venv's mutmut: one source for its codes
    return status_by_exit_code[exit_code] in ("killed", "timeout", "segfault", "caught by type check")


def scores(equivalent, paths):
    rows = []
    for path in paths:
        with open(os.path.join(ROOT, "mutants", path + ".meta")) as f:
            codes = json.load(f)["exit_code_by_key"]
        counted = {k: v for k, v in codes.items() if k not in equivalent}
        killed = sum(1 for v in counted.values() if killed_by(v))
        # Not killed: survived, and also "no tests" (no unit test runs the mutated function) and
        # "not checked": a mutant nobody ran proves nothing, so it never counts as killed.
        survived = sorted(k for k, v in counted.items() if not killed_by(v))
        rows.append({"file": path, "mutants": len(codes), "equivalent": len(codes) - len(counted), "killed": killed,
                     "survived": survived, "score": round(100.0 * killed / max(1, len(counted)), 1)})
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-run", action="store_true", help="score the last run in mutants/")
    parser.add_argument("--update", action="store_true", help="raise the floors to the scores reached")
    parser.add_argument("--changed", action="store_true", help="only the files changed since origin/main")
    args = parser.parse_args()
    paths, names = source_paths(), []
    if args.changed:
        base, files = changed_files()
        paths = [p for p in paths if p in files]
        print("mutation: files changed since %s: %s" % (base, ", ".join(paths) or "none of the mutated files"))
        if not paths:
            return 0
        names = [module_of(p) + ".*" for p in paths]
    key = content_key()
    if args.no_run:
        pass
    elif kept_run(key, paths):
        print("mutation: sources and tests unchanged since the kept run (key %s): its results are scored" % key[:12])
    else:
        shutil.rmtree(os.path.join(ROOT, "mutants"), ignore_errors=True)
        # No pytest plugin from entry points (hypothesis's and platformdirs'): loading them is 20% of
        # a short mutant's run, and no test needs them (same verdicts for all 1 394 protocol
        # mutants; 10.6 -> 12.9 mutants/s, with the builtin plugins pyproject turns off).
        env = dict(os.environ, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
        # mutmut's own run, with each mutant's tests taken from one collection (mutmut_collected.py:
        # the same verdicts for all 8 888 mutants, about three times faster).
        proc = subprocess.run([os.path.join(ROOT, ".venv", "bin", "python"), os.path.join(HERE, "mutmut_collected.py"),
                               "run", "--max-children",
                               str(os.cpu_count() or 2)] + names, cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=3600, check=False, env=env)
        if proc.returncode != 0:
            # mutmut reports a failing clean run (a test that fails unmutated) on stdout.
            print("mutmut run failed (exit %d):\n%s\n%s" % (proc.returncode, proc.stdout[-4000:], proc.stderr[-3000:]))
            return 2
        with open(KEY_FILE, "w") as f:
            json.dump({"key": key, "paths": paths}, f)
    thresholds_path = os.path.join(HERE, "thresholds.json")
    with open(thresholds_path) as f:
        floors = json.load(f)
    diffs = mutant_diffs(paths)
    listed, stale = equivalents.match(equivalents.load(os.path.join(HERE, "equivalent.json")), diffs,
                                      [module_of(p) for p in paths])
    rows = scores(listed, paths)
    failed = ["equivalent.json lists a mutant that no longer exists or has changed (review it again): "
              + equivalents.describe(e) for e in stale]
    print("| file | mutants | equivalent | killed | survived | score | floor |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        floor = floors.get(r["file"], GOAL)
        print("| %s | %d | %d | %d | %d | %.1f%% | %.1f%% |"
              % (r["file"], r["mutants"], r["equivalent"], r["killed"], len(r["survived"]), r["score"], floor))
        if r["score"] < floor:
            failed.append("%s: %.1f%% < floor %.1f%% (survivors: %s)" % (r["file"], r["score"], floor,
                                                                         ", ".join(r["survived"][:20])))
    if args.update:
        for r in rows:
            floors[r["file"]] = max(floors.get(r["file"], 0), r["score"])
        with open(thresholds_path, "w") as f:
            json.dump(floors, f, indent=2, sort_keys=True)
            f.write("\n")
    below_goal = [r["file"] for r in rows if r["score"] < GOAL]
    print("goal %.0f%%: %s" % (GOAL, "reached by every file" if not below_goal else "not yet: " + ", ".join(below_goal)))
    if failed:
        print("MUTATION FAILED:\n  " + "\n  ".join(failed))
        return 1
    print("MUTATION PASSED (no file below its floor)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
