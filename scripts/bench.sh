#!/usr/bin/env bash
# Runs the benchmarks named in BENCHMARKS.md, each beside its baseline in the same run,
# on release builds. Installs what they need (postfix's smtp-sink, wrk).
#
#   scripts/bench.sh            all six
#   scripts/bench.sh email      emails out into smtp-sink vs a raw SMTP client
#   scripts/bench.sh planning   100k deals through the program vs one deal per transaction
#   scripts/bench.sh intake     POST /api/v1/decisions under wrk vs a bare actix handler
#   scripts/bench.sh ingest     PUT /api/v1/surveys/{token}/answers under wrk vs a bare handler
#                               (SQLite, then PostgreSQL)
#   scripts/bench.sh dashboards every dashboard query at 10k, 100k and 1M responses, SQLite
#                               then PostgreSQL, beside the full scan the aggregates replace
#   scripts/bench.sh widget     the survey link's first paint and the widget taking over, in
#                               headless Chromium at full and throttled CPU vs a bare page
#
# Knobs: DEBRIEF_BENCH_EMAILS (20000), DEBRIEF_BENCH_SIZES (10000,100000),
# DEBRIEF_BENCH_BASELINE (2000), DEBRIEF_BENCH_SECONDS (10), DEBRIEF_BENCH_RUNS (15).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
which=${1:-all}

apt_install pkg-config libssl-dev ca-certificates
case "$which" in
  email|all) apt_install postfix ;;&
  intake|ingest|all) apt_install wrk ;;&
  # Chromium and chromedriver, and the widget itself.
  widget|all) "$ROOT/scripts/setup.sh" && "$ROOT/scripts/build-widget.sh" ;;&
  *) ;;
esac
# Debian starts postfix's own daemon on port 25; the benchmark runs its sink elsewhere.
export PATH="$PATH:/usr/sbin"

case "$which" in
  # The answer benchmark measures PostgreSQL too: the machine's, or a throwaway cluster.
  ingest|dashboards|all) source "$ROOT/scripts/postgres.sh"; trap stop_throwaway_postgres EXIT ;;
  *) ;;
esac

run() {
  log "benchmark: $1"
  cargo bench -q -p debrief-tests --bench "$1"
}
case "$which" in
  email|planning|intake|ingest|dashboards|widget) run "$which" ;;
  all) run email; run planning; run intake; run ingest; run dashboards; run widget ;;
  *) echo "unknown benchmark: $which (email, planning, intake, ingest, dashboards, widget or all)" >&2; exit 2 ;;
esac
