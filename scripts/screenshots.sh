#!/usr/bin/env bash
# Makes the README's screenshots from the demo data: the demo's quarter, seeded as
# scripts/run.sh seeds it, photographed in headless Chromium (installed by setup.sh) as
# its program owner, account manager and analyst see it. Writes docs/screenshots/*.png.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
"$ROOT/scripts/setup.sh"
"$ROOT/scripts/build-widget.sh"
cd "$ROOT"
log "seeding the demo and taking the screenshots"
cargo run -q -p debrief-tests --bin screenshots
