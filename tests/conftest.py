import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# The collection is importable as ansible_collections.mt5crs.mesh through the committed symlink.
sys.path.insert(0, os.path.join(ROOT, "collections"))
sys.path.insert(0, HERE)

if os.path.basename(ROOT) == "mutants":
    # mutmut's copy: load each file under one name only (support/mutation_aliases.py).
    from support import mutation_aliases
    mutation_aliases.install(ROOT)
    import gc

    def pytest_unconfigure():
        """In mutmut's own process (its stats and clean runs, before it forks a process per
        mutant), every object alive is frozen: a mutant's process then never walks them in a
        garbage collection, which copies the parent's pages into the child. Measured 2026-12-07, A/B
        on an idle machine: orderlog's 422 mutants 152 -> 145 and 139 -> 134 CPU-s, trading's 1 431
        311 -> 291 (about 5%). A mutant's own run is untouched."""
        if os.environ.get("MUTANT_UNDER_TEST", "") in ("", "stats", "fail"):
            gc.collect()
            gc.freeze()
