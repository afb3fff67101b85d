#!/usr/bin/env bash
# Runs every test: unit tests, the API on SQLite and PostgreSQL, and the end-to-end story
# in headless Chromium. The README's second command; CI runs it too.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
"$ROOT/scripts/setup.sh"
"$ROOT/scripts/build-widget.sh"
source "$ROOT/scripts/postgres.sh"
cd "$ROOT"

drop_test_databases() {
  psql "$DEBRIEF_TEST_PG_URL" -Atqc \
    "select datname from pg_database where datname like 'debrief_test_%'" 2>/dev/null \
  | while read -r db; do psql "$DEBRIEF_TEST_PG_URL" -qc "drop database if exists $db" >/dev/null 2>&1 || true; done
}
drop_test_databases
trap 'drop_test_databases; stop_throwaway_postgres' EXIT

log "running the tests (PostgreSQL: ${DEBRIEF_TEST_PG_URL%%\?*})"
# SurveyJS's own library (scripts/setup.sh installs it), for the export test.
export DEBRIEF_NODE_MODULES="$TOOLS_DIR/npm/node_modules"
# The server binary is built first: the end-to-end test starts it as a separate process.
export DEBRIEF_BIN
DEBRIEF_BIN=$(cargo build -q -p debrief-server --bin debrief --message-format=json \
  | grep -o '"executable":"[^"]*"' | tail -n1 | cut -d'"' -f4)
results=$(mktemp)
status=0
cargo test --workspace --no-fail-fast "$@" 2>&1 | tee "$results" || status=$?
# The widget's own tests once more as the widget is shipped: `common` without the
# `messages` feature, which the workspace run turns on for the server.
cargo test -p debrief-widget --no-fail-fast "$@" 2>&1 | tee -a "$results" || status=$?
# One closing line for the whole run, summed over every test binary.
sum() { grep '^test result:' "$results" | grep -Eo "[0-9]+ $1" | awk '{ s += $1 } END { print s + 0 }'; }
echo "tests: $(sum passed) passed, $(sum failed) failed"
rm -f "$results"
exit $status
