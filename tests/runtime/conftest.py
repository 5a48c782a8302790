"""The runtime's own tests (gateway, nexus, wire protocol): outside the collection's unit tree,
because they import the runtime package (mt5mesh), which ansible-test units does not install."""
from hypothesis import HealthCheck, settings

# Property tests draw the same examples on every run: a mutant is killed or not, never by chance
# (make mutation compares scores across runs).
# No verdict may depend on the machine's load either: no per-example deadline and no "too slow"
# health check (make test runs these beside the lab and mutmut; a loaded machine failed a clean
# run with FailedHealthCheck, 2026-12-07).
settings.register_profile("deterministic", derandomize=True, print_blob=True, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("deterministic")
