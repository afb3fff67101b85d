# Sourced by test.sh: makes sure a PostgreSQL with trust auth is reachable and exports
# DEBRIEF_TEST_PG_URL. Uses the machine's server on 127.0.0.1:5432 when there is one;
# otherwise starts a throwaway cluster under $DEBRIEF_CACHE that lives for this run.

DEBRIEF_TEST_PG_URL=${DEBRIEF_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
# Called by the sourcing script on exit; stops the throwaway cluster if one was started.
stop_throwaway_postgres() { :; }
if ! psql "$DEBRIEF_TEST_PG_URL" -Atqc 'select 1' >/dev/null 2>&1; then
  # A stopped system cluster is the cheapest to bring back.
  if command -v pg_ctlcluster >/dev/null && ls /etc/postgresql/*/main >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start >/dev/null 2>&1 || true
  fi
fi
if ! psql "$DEBRIEF_TEST_PG_URL" -Atqc 'select 1' >/dev/null 2>&1; then
  pg_bin=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n1)")
  pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/debrief-pg.XXXXXX")
  # The first free port from 55432 (a killed run may have left a cluster on one).
  pg_port=55432
  while (exec 3<>"/dev/tcp/127.0.0.1/$pg_port") 2>/dev/null; do pg_port=$((pg_port + 1)); done
  log "no PostgreSQL reachable: starting a throwaway cluster on 127.0.0.1:$pg_port"
  # initdb refuses to run as root; the cluster belongs to the postgres user when we are root.
  run_as=()
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home "$pg_dir" postgres
    chown postgres "$pg_dir"
    run_as=(runuser -u postgres --)
  fi
  "${run_as[@]}" "$pg_bin/initdb" -D "$pg_dir/data" -U postgres --auth=trust -E UTF8 >/dev/null
  "${run_as[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w \
    -o "-c listen_addresses=127.0.0.1 -c port=$pg_port -c unix_socket_directories=$pg_dir -c fsync=off" start >/dev/null
  DEBRIEF_TEST_PG_URL=postgres://postgres@127.0.0.1:$pg_port/postgres
  stop_throwaway_postgres() {
    "${run_as[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$pg_dir"
  }
fi
export DEBRIEF_TEST_PG_URL
