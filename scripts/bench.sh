#!/usr/bin/env bash
# Runs the benchmarks named in BENCHMARKS.md, each beside its baseline in the same run,
# on release builds. Installs what they need (postfix's smtp-sink, wrk).
#
#   scripts/bench.sh            all four
#   scripts/bench.sh email      emails out into smtp-sink vs a raw SMTP client
#   scripts/bench.sh planning   100k deals through the program vs one deal per transaction
#   scripts/bench.sh intake     POST /api/v1/decisions under wrk vs a bare actix handler
#   scripts/bench.sh ingest     PUT /api/v1/surveys/{token}/answers under wrk vs a bare handler
#
# Knobs: DEBRIEF_BENCH_EMAILS (20000), DEBRIEF_BENCH_SIZES (10000,100000),
# DEBRIEF_BENCH_BASELINE (2000), DEBRIEF_BENCH_SECONDS (10).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
which=${1:-all}

apt_install pkg-config libssl-dev ca-certificates
case "$which" in
  email|all) apt_install postfix ;;&
  intake|ingest|all) apt_install wrk ;;&
  *) ;;
esac
# Debian starts postfix's own daemon on port 25; the benchmark runs its sink elsewhere.
export PATH="$PATH:/usr/sbin"

run() {
  log "benchmark: $1"
  cargo bench -q -p debrief-tests --bench "$1"
}
case "$which" in
  email|planning|intake|ingest) run "$which" ;;
  all) run email; run planning; run intake; run ingest ;;
  *) echo "unknown benchmark: $which (email, planning, intake, ingest or all)" >&2; exit 2 ;;
esac
