#!/usr/bin/env bash
# Runs a README quick-start command the way CI does: in a fresh clone of the committed main, with
# its own virtual environment. Usage: tools/fresh_clone_check.sh [test|demo] [extra make args...]
set -euo pipefail
target=${1:-test}
shift || true
repo=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
work=$(mktemp -d /tmp/humansync-fresh.XXXXXX)
git clone --quiet "$repo" "$work/humansync"
cd "$work/humansync"
echo "fresh clone of $(git rev-parse --short HEAD) in $work/humansync"
time make "$target" "$@"
