#!/usr/bin/env bash
# `make cluster`: a local courtroom cluster to try, on loopback.
#   - a throwaway PostgreSQL cluster on a spare port (Debian's initdb/pg_ctl),
#   - a real S3-compatible server (SeaweedFS `weed mini`, pinned, from PyPI),
#   - three courtroom nodes on 127.0.0.1:8081, :8082 and :8083 sharing both,
#   - one demo hearing (made by node 1), whose invitations any node answers.
# Ctrl-C stops everything and deletes the throwaway state (unless KEEP=1).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BIN="${CARGO_TARGET_DIR:-/var/cache/courtroom/target}/release/courtroom"
WORK="${CLUSTER_DIR:-$(mktemp -d /tmp/courtroom-cluster.XXXXXX)}"
PG_PORT="${PG_PORT:-55432}"
S3_PORT="${S3_PORT:-48333}"
NODES="${NODES:-3}"
export AWS_ACCESS_KEY_ID=courtroom AWS_SECRET_ACCESS_KEY=courtroom-local-secret
pids=()

cleanup() {
  echo "cluster: stopping"
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pg stop -m fast >/dev/null 2>&1 || true
  [[ "${KEEP:-0}" == 1 ]] || rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

# --- PostgreSQL ---------------------------------------------------------------------------
PG_BIN="${COURTROOM_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)}"
as_pg() { if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pg() { as_pg "$PG_BIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg.log" "$@"; }
mkdir -p "$WORK/pg"
[[ "$(id -u)" == 0 ]] && chown postgres "$WORK" "$WORK/pg"
as_pg "$PG_BIN/initdb" -D "$WORK/pg" -U postgres -A trust >/dev/null
pg -o "-p $PG_PORT -k /tmp -c listen_addresses=127.0.0.1" start >/dev/null
as_pg "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres courtroom
DB="postgres://postgres@127.0.0.1:$PG_PORT/courtroom"
echo "cluster: PostgreSQL at $DB"

# --- S3 -----------------------------------------------------------------------------------
./scripts/s3-server.sh run "$WORK/s3" "$S3_PORT" courtroom >"$WORK/s3.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  curl -s -o /dev/null "http://127.0.0.1:$S3_PORT/" && break
  sleep 0.2
done
echo "cluster: S3 at http://127.0.0.1:$S3_PORT (bucket courtroom)"

# --- nodes --------------------------------------------------------------------------------
start_node() {
  local i=$1 port=$((8080 + $1)) cmd=serve
  # Node 1 makes the demo hearing (in the shared database) and prints its invitations.
  [[ $i == 1 ]] && cmd=demo
  COURTROOM_DATABASE_URL="$DB" "$BIN" "$cmd" \
    --listen "127.0.0.1:$port" --data "$WORK/node$i" \
    --set cluster.enabled=true --set "cluster.node_id=node$i" \
    --set "storage.url=s3://courtroom/cluster" \
    --set "storage.endpoint=http://127.0.0.1:$S3_PORT" \
    >"$WORK/node$i.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 300); do
    curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && return 0
    sleep 0.2
  done
  echo "cluster: node $i did not start; see $WORK/node$i.log" >&2
  return 1
}
# Node 1 first: it makes the cluster's keys and places the demo hearing on itself.
for i in $(seq 1 "$NODES"); do start_node "$i"; done
echo "cluster: nodes at $(seq -s ' ' -f 'http://127.0.0.1:%g' 8081 $((8080 + NODES)))"

# The demo hearing's invitations: every node answers them, and sends each participant to the
# node that owns the hearing.
grep -E '^[a-z_]+ http' "$WORK/node1.log" || true
echo "cluster: logs and state in $WORK; Ctrl-C stops everything."
wait
