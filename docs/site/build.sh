#!/usr/bin/env bash
# make docs: the collection's HTML docs (antsibull-docs + Sphinx), offline, warnings are errors.
# Output: docs/site/build/html (index: collections/mt5crs/mesh/index.html).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export ANSIBLE_COLLECTIONS_PATH="$root/collections" PATH="$root/.venv/bin:$PATH"
cd "$here"
rm -rf rst build
mkdir -p rst
chmod og-w rst  # antsibull-docs wants that directory only writable by itself
antsibull-docs --config-file antsibull-docs.cfg collection --cleanup everything --use-current --dest-dir rst mt5crs.mesh
cp refs.rst index.rst rst/
sphinx-build -M html rst build -c . -W --keep-going -q
echo "docs: $here/build/html/collections/mt5crs/mesh/index.html"
