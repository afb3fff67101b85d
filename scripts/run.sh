#!/usr/bin/env bash
# Runs Debrief on SQLite with a demo program: the README's first command.
# Data lives in ./data (override with DEBRIEF_DATA_DIR); mail goes to ./data/outbox as .eml
# files unless DEBRIEF_SMTP_HOST is set.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
"$ROOT/scripts/build-widget.sh"
cd "$ROOT"
log "building and starting the server"
exec cargo run -q -p debrief-server --bin debrief -- serve --demo
