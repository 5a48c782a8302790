#!/usr/bin/env bash
# make release VERSION=X.Y.Z: galaxy.yml's version, CHANGELOG.rst from the changelog fragments
# (antsibull-changelog release), one commit and an annotated tag X.Y.Z. It refuses a dirty tree,
# a version that is not newer than galaxy.yml's, and a tag that exists. RELEASE_SUMMARY sets the
# release summary line (default: "Release X.Y.Z of mt5crs.mesh.").
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
version=${1:-}
die() { echo "make release: $*" >&2; exit 2; }
[[ $version =~ ^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$ ]] || die "VERSION must be X.Y.Z, got '${version}'"
git diff --quiet && git diff --cached --quiet || die "the working tree has uncommitted changes: commit them first"
if git rev-parse -q --verify "refs/tags/$version" > /dev/null; then die "tag $version exists"; fi
current=$(awk '$1 == "version:" {print $2; exit}' galaxy.yml)
python3 - "$current" "$version" <<'PY' || die "VERSION $version is not newer than galaxy.yml's $current"
import sys
cur, new = (tuple(map(int, v.split("."))) for v in sys.argv[1:])
sys.exit(0 if new > cur else 1)
PY
sed -i "s/^version: .*/version: $version/" galaxy.yml
summary=${RELEASE_SUMMARY:-"Release $version of mt5crs.mesh."}
python3 - "changelogs/fragments/release-$version.yml" "$summary" <<'PY'
import json, sys
with open(sys.argv[1], "w") as f:
    f.write("release_summary: %s\n" % json.dumps(sys.argv[2]))
PY
PATH="$root/.venv/bin:$PATH" antsibull-changelog release --version "$version"
PATH="$root/.venv/bin:$PATH" antsibull-changelog lint
git add -A galaxy.yml changelogs CHANGELOG.rst
git commit -q -m "Release $version"
git tag -a "$version" -m "mt5crs.mesh $version"
echo "released $version: galaxy.yml, CHANGELOG.rst, commit $(git rev-parse --short HEAD), tag $version (make build for the tarball)"
