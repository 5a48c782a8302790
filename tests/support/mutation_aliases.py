"""One module name per file while mutation testing.

The collection's code loads under two names: ``plugins.module_utils.X`` (its path) and
``ansible_collections.mt5crs.mesh.plugins.module_utils.X`` (how Ansible and the modules import
it). mutmut switches a mutant on only when the running function's ``__module__`` equals the name
it derives from the path, so mutants of code loaded under the other name would never fire and
would survive falsely. Inside mutmut's ``mutants/`` copy this finder makes the alias the very same
module objects as the path name (docs/testing.md). The wire package needs no alias: its home is
``src/mt5mesh/wire`` (``mt5mesh.wire``), and module_utils holds a copy of its own.
"""
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys

ALIASES = (
    ("ansible_collections.mt5crs.mesh.plugins", "plugins"),
)


class _Existing(importlib.abc.Loader):
    def __init__(self, module):
        self.module = module

    def create_module(self, spec):
        return self.module

    def exec_module(self, module):
        pass


class AliasFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        for alias, canonical in ALIASES:
            if fullname == alias or fullname.startswith(alias + "."):
                module = importlib.import_module(canonical + fullname[len(alias):])
                spec = importlib.machinery.ModuleSpec(fullname, _Existing(module),
                                                      is_package=hasattr(module, "__path__"))
                return spec
        return None


def install(root):
    """Path names first: the mutated copy in ``root`` (mutants/) and its src/, then the aliases.

    The collection symlink is not copied by mutmut (copying it would recurse): it is made here."""
    import os
    link = os.path.join(root, "collections", "ansible_collections", "mt5crs", "mesh")
    if not os.path.lexists(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink("../../..", link)
    for path in (root + "/src", root):
        if path not in sys.path:
            sys.path.insert(0, path)
    if not any(isinstance(f, AliasFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, AliasFinder())
