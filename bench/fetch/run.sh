#!/usr/bin/env bash
# What bill fetch adds to a customer's look-up. `billpay serve --demo` on PostgreSQL, Energía's
# fetch endpoint pointed at a signed adapter inside the load generator; each round asks the
# adapter directly (signed, as BillPay does), then looks a reference BillPay does not hold up
# through BillPay, which asks the adapter, checks the answer and stores the bill. One request at
# a time, so the figures are latencies, not throughput. Target: BillPay adds under 5 ms at p99.
#
#   bench/fetch/run.sh [--rounds 2000]
# Environment: BILLPAY_BENCH_PG (default postgres://postgres@127.0.0.1:5432).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=2000
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
PG=${BILLPAY_BENCH_PG:-postgres://postgres@127.0.0.1:5432}
DB="$PG/billpay_fetch_bench?sslmode=disable"
ADMIN=bpk_demo_admin_do_not_use_in_production
WORK=$(mktemp -d)
SERVER=
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT

echo "building release binaries..." >&2
cargo build --release -q -p billpay -p billpay-loadgen
BIN=target/release
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS billpay_fetch_bench WITH (FORCE)" -c "CREATE DATABASE billpay_fetch_bench" >/dev/null
BILLPAY_LOG=error "$BIN/billpay" serve --demo --listen 127.0.0.1:18795 --data-dir "$WORK/data" \
  --database-url "$DB" --no-rate-limits >/dev/null &
SERVER=$!
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:18795/readyz >/dev/null && break; sleep 0.1; done
"$BIN/billpay-loadgen" --url http://127.0.0.1:18795 --admin-key "$ADMIN" fetch --rounds "$ROUNDS" | tee "$WORK/out.json"
python3 - "$WORK/out.json" <<'PY'
import json, sys
f = json.load(open(sys.argv[1]))
print(f"adapter alone:         p50 {f['adapter_p50_ms']:.2f} ms  p99 {f['adapter_p99_ms']:.2f} ms")
print(f"look-up with a fetch:  p50 {f['lookup_p50_ms']:.2f} ms  p99 {f['lookup_p99_ms']:.2f} ms")
print(f"BillPay adds:          p50 {f['added_p50_ms']:.2f} ms  p99 {f['added_p99_ms']:.2f} ms (target: under 5 ms at p99)")
PY
