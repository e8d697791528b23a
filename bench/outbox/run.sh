#!/usr/bin/env bash
# BillPay outbox benchmark, on PostgreSQL. In one run:
#   1. payments/s through the API with no webhook endpoint (the reference);
#   2. payments/s with a platform endpoint subscribed to every event, no worker running: the cost
#      of writing events and deliveries in the payment's own statement;
#   3. the worker alone draining that backlog to a local receiver that verifies every signature:
#      events delivered per second;
#   4. payments/s while a worker delivers at the same time, and the delivery rate meanwhile.
#
#   bench/outbox/run.sh [--clients 32] [--seconds 15] [--concurrency 64]
# Environment: BILLPAY_BENCH_PG (default postgres://postgres@127.0.0.1:5432), a server where the
# bench may create and drop the database billpay_outbox_bench.
set -euo pipefail
cd "$(dirname "$0")/../.."
CLIENTS=32 SECONDS_=15 CONCURRENCY=64
while [ $# -gt 0 ]; do
  case "$1" in
    --clients) CLIENTS=$2; shift 2 ;;
    --seconds) SECONDS_=$2; shift 2 ;;
    --concurrency) CONCURRENCY=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
PG=${BILLPAY_BENCH_PG:-postgres://postgres@127.0.0.1:5432}
DB="$PG/billpay_outbox_bench?sslmode=disable"
POOL=${BILLPAY_BENCH_POOL:-12}
ADMIN=bpk_demo_admin_do_not_use_in_production
PORT=18797 RPORT=18798
WORK=$(mktemp -d)
SERVER= RECEIVER= WORKER=
trap 'kill $SERVER $RECEIVER $WORKER 2>/dev/null || true; rm -rf "$WORK"' EXIT

echo "building release binaries..." >&2
cargo build --release -q -p billpay -p billpay-loadgen
BIN=target/release
API="http://127.0.0.1:$PORT"

psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS billpay_outbox_bench WITH (FORCE)" -c "CREATE DATABASE billpay_outbox_bench" >/dev/null
BILLPAY_LOG=warn "$BIN/billpay" serve --demo --listen 127.0.0.1:$PORT --data-dir "$WORK/data" \
  --database-url "$DB" --db-max-connections "$POOL" >/dev/null &
SERVER=$!
for _ in $(seq 1 100); do curl -sf "$API/readyz" >/dev/null && break; sleep 0.1; done

delivered() { psql "$PG/billpay_outbox_bench" -tAc "SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'"; }
queued() { psql "$PG/billpay_outbox_bench" -tAc "SELECT count(*) FROM webhook_deliveries"; }
field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }

load() { # $1: label. A fresh fixture each time, so every phase pays open bills.
  "$BIN/billpay-loadgen" --url "$API" --admin-key "$ADMIN" setup --bills 4000 --customers "$CLIENTS" --out "$WORK/fixture-$1.json"
  "$BIN/billpay-loadgen" --url "$API" --admin-key "$ADMIN" pay --fixture "$WORK/fixture-$1.json" \
    --clients "$CLIENTS" --seconds "$SECONDS_" --run-id "$1-$$" > "$WORK/$1.json"
}

echo "phase 1: payments, no endpoint" >&2
load reference

echo "phase 2: payments, one endpoint for every event, no worker" >&2
SECRET=$(curl -sf -X POST "$API/v1/webhook-endpoints" -H "Authorization: Bearer $ADMIN" -H 'content-type: application/json' \
  -d "{\"url\": \"http://127.0.0.1:$RPORT/hook\", \"event_types\": [\"*\"]}" | python3 -c "import json,sys; print(json.load(sys.stdin)['secret'])")
load outbox
BACKLOG=$(queued)

echo "phase 3: the worker drains $BACKLOG deliveries" >&2
"$BIN/billpay-loadgen" --url "$API" --admin-key "$ADMIN" receive --port $RPORT --secret "$SECRET" --counts "$WORK/counts" &
RECEIVER=$!
sleep 0.3
start=$(date +%s.%N)
BILLPAY_LOG=warn "$BIN/billpay" worker --database-url "$DB" --db-max-connections 4 --webhook-concurrency "$CONCURRENCY" --poll-secs 0.05 >/dev/null &
WORKER=$!
while [ "$(delivered)" -lt "$BACKLOG" ]; do sleep 0.2; done
end=$(date +%s.%N)
RSS=$(awk '/VmHWM/ {print $2}' "/proc/$WORKER/status")

echo "phase 4: payments while the worker delivers" >&2
before=$(delivered); t0=$(date +%s.%N)
load concurrent
after=$(delivered); t1=$(date +%s.%N)
while [ "$(delivered)" -lt "$(queued)" ]; do sleep 0.2; done
read -r VERIFIED REJECTED < "$WORK/counts"
TOTAL=$(queued)

python3 - "$WORK" "$BACKLOG" "$start" "$end" "$before" "$after" "$t0" "$t1" "$VERIFIED" "$REJECTED" "$TOTAL" "$RSS" "$CLIENTS" "$SECONDS_" "$CONCURRENCY" <<'PY'
import json, sys
work = sys.argv[1]
backlog, start, end, before, after, t0, t1, verified, rejected, total, rss, clients, secs, conc = sys.argv[2:]
ref, out, conc_run = (json.load(open(f"{work}/{n}.json")) for n in ("reference", "outbox", "concurrent"))
drain = int(backlog) / (float(end) - float(start))
during = (int(after) - int(before)) / (float(t1) - float(t0))
r = ref["payments_per_second"]
print(f"BillPay outbox benchmark: {clients} paying clients, {secs} s per phase, worker concurrency {conc}, PostgreSQL, this machine")
print(f"{'':<44}{'payments/s':>11}{'p99 ms':>8}{'vs ref':>8}{'events/s':>10}")
print(f"{'1 payments, no endpoint (reference)':<44}{r:>11.0f}{ref['p99_ms']:>8.1f}{1:>8.2f}{'':>10}")
print(f"{'2 payments, endpoint, no worker':<44}{out['payments_per_second']:>11.0f}{out['p99_ms']:>8.1f}{out['payments_per_second']/r:>8.2f}{'':>10}")
print(f"{'3 worker draining ' + backlog + ' deliveries':<44}{'':>11}{'':>8}{'':>8}{drain:>10.0f}")
print(f"{'4 payments while the worker delivers':<44}{conc_run['payments_per_second']:>11.0f}{conc_run['p99_ms']:>8.1f}{conc_run['payments_per_second']/r:>8.2f}{during:>10.0f}")
print(f"receiver: {verified} signatures verified, {rejected} rejected; {total} deliveries in all; worker peak RSS {int(rss)/1024:.1f} MB")
assert int(rejected) == 0, "a signature did not verify"
PY
kill $SERVER $RECEIVER $WORKER 2>/dev/null || true
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS billpay_outbox_bench WITH (FORCE)" >/dev/null
