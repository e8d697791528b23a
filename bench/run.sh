#!/usr/bin/env bash
# BillPay payment benchmark: N concurrent HTTP clients pay bills through the API, against
# PostgreSQL and then SQLite. In the same run pgbench executes bench/payment.sql, the same SQL
# work as one payment, against the same PostgreSQL data, and the ratio between the two is printed.
#
#   bench/run.sh [--clients 32] [--seconds 20]
# Environment: BILLPAY_BENCH_PG (default postgres://postgres@127.0.0.1:5432), a server where the
# bench may create and drop the database billpay_bench; BILLPAY_BENCH_SSLMODE (default disable)
# for both the server's and pgbench's connections.
set -euo pipefail
cd "$(dirname "$0")/.."
CLIENTS=32 SECONDS_=20
while [ $# -gt 0 ]; do
  case "$1" in
    --clients) CLIENTS=$2; shift 2 ;;
    --seconds) SECONDS_=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
PG=${BILLPAY_BENCH_PG:-postgres://postgres@127.0.0.1:5432}
# TLS to a database on the same host measures OpenSSL, not BillPay; both sides use the same mode.
SSLMODE=${BILLPAY_BENCH_SSLMODE:-disable}
# The server's PostgreSQL pool. On two cores shared with PostgreSQL and the load generator, 12
# connections gave 5-10% more payments/s than 16 (a sweep of 8, 12, 16 and 24).
POOL=${BILLPAY_BENCH_POOL:-12}
ADMIN=bpk_demo_admin_do_not_use_in_production
PORT=18787
WORK=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null || true; kill $SAMPLER 2>/dev/null || true; rm -rf "$WORK"' EXIT
SERVER= SAMPLER=

echo "building release binaries..." >&2
cargo build --release -q -p billpay -p billpay-loadgen
BIN=target/release

start_server() { # $1: database URL or empty for SQLite
  local args=(serve --demo --listen 127.0.0.1:$PORT --data-dir "$WORK/data")
  [ -n "$1" ] && args+=(--database-url "$1" --db-max-connections "$POOL")
  BILLPAY_LOG=warn "$BIN/billpay" "${args[@]}" >/dev/null &
  SERVER=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && return; sleep 0.1; done
  echo "server did not start" >&2; exit 1
}

sample_rss() { # peak RSS of the server, in kB, while the load runs
  local peak=0 rss
  while kill -0 "$SERVER" 2>/dev/null; do
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$SERVER/status" 2>/dev/null || echo 0)
    [ "${rss:-0}" -gt "$peak" ] && peak=$rss && echo "$peak" > "$WORK/rss"
    sleep 0.2
  done
}

run_load() { # $1: label
  "$BIN/billpay-loadgen" --url "http://127.0.0.1:$PORT" --admin-key "$ADMIN" setup --bills 2000 --customers "$CLIENTS" --out "$WORK/fixture.json"
  echo 0 > "$WORK/rss"
  sample_rss & SAMPLER=$!
  "$BIN/billpay-loadgen" --url "http://127.0.0.1:$PORT" --admin-key "$ADMIN" pay --fixture "$WORK/fixture.json" \
    --clients "$CLIENTS" --seconds "$SECONDS_" --run-id "$1-$$" > "$WORK/$1.json"
  kill $SAMPLER 2>/dev/null || true; wait $SAMPLER 2>/dev/null || true
  echo "$(cat "$WORK/rss")" > "$WORK/$1.rss"
}

field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }

# PostgreSQL: the API under load.
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS billpay_bench WITH (FORCE)" -c "CREATE DATABASE billpay_bench" >/dev/null
start_server "$PG/billpay_bench?sslmode=$SSLMODE"
run_load postgres
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true

# pgbench: the same SQL work, on the same data, with as many clients.
BILLER=$(field "$WORK/fixture.json" biller_id)
psql "$PG/billpay_bench" -q <<SQL >/dev/null
CREATE TABLE bench_bills AS SELECT row_number() OVER (ORDER BY id) AS n, id FROM bills WHERE biller_id = '$BILLER';
CREATE UNIQUE INDEX ON bench_bills (n);
CREATE TABLE bench_customers AS SELECT row_number() OVER (ORDER BY customer_id) AS n, customer_id, account_id
  FROM wallets WHERE currency = 'COP' AND customer_id NOT LIKE 'cus_demo_%';
CREATE UNIQUE INDEX ON bench_customers (n);
CREATE TABLE bench_billers AS SELECT id, payable_account_id FROM billers WHERE id = '$BILLER';
VACUUM ANALYZE;
SQL
PGSSLMODE=$SSLMODE pgbench -n -M prepared -c "$CLIENTS" -j 2 -T "$SECONDS_" -D nbills=2000 -D ncust="$CLIENTS" -f bench/payment.sql \
  "$PG/billpay_bench" > "$WORK/pgbench.txt" 2>&1 || { cat "$WORK/pgbench.txt"; exit 1; }
PGB_TPS=$(awk -F'= ' '/^tps/ {split($2,a," "); print a[1]; exit}' "$WORK/pgbench.txt")
PGB_LAT=$(awk -F'= ' '/latency average/ {split($2,a," "); print a[1]}' "$WORK/pgbench.txt")
PGB_FAIL=$(awk -F': ' '/number of failed transactions/ {print $2}' "$WORK/pgbench.txt")

# SQLite: the embedded default, same load.
rm -rf "$WORK/data"
start_server ""
run_load sqlite
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS billpay_bench WITH (FORCE)" >/dev/null

python3 - "$WORK" "$CLIENTS" "$SECONDS_" "$PGB_TPS" "$PGB_LAT" "${PGB_FAIL:-0}" <<'PY'
import json, sys
work, clients, secs, tps, lat, fail = sys.argv[1:]
print(f"BillPay payment benchmark: {clients} concurrent clients, {secs} s per run, on this machine")
print(f"{'':<22}{'payments/s':>12}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'errors':>8}{'peak RSS MB':>13}")
for name in ("postgres", "sqlite"):
    s = json.load(open(f"{work}/{name}.json"))
    rss = int(open(f"{work}/{name}.rss").read().strip() or 0) / 1024
    print(f"{'API on ' + name:<22}{s['payments_per_second']:>12.0f}{s['p50_ms']:>9.1f}{s['p99_ms']:>9.1f}{s['max_ms']:>9.1f}{s['failed']:>8}{rss:>13.1f}")
print(f"{'pgbench same SQL':<22}{float(tps):>12.0f}{'':>9}{'':>9}{'':>9}{fail:>8}    (avg latency {lat} ms)")
pg = json.load(open(f"{work}/postgres.json"))
print(f"ratio API/pgbench on PostgreSQL: {pg['payments_per_second'] / float(tps):.2f}")
PY
