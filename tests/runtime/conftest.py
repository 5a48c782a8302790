"""The runtime's own tests (gateway, nexus, wire protocol): outside the collection's unit tree,
because they import the runtime package (mt5mesh), which ansible-test units does not install."""
from hypothesis import settings

# Property tests draw the same examples on every run: a mutant is killed or not, never by chance
# (make mutation compares scores across runs).
settings.register_profile("deterministic", derandomize=True, print_blob=True)
settings.load_profile("deterministic")
