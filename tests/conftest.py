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
