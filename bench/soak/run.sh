#!/usr/bin/env bash
# Soak: `billpay serve --worker` (release, on PostgreSQL, every protection at its default) under
# mixed load at a fixed rate for 30 minutes: payments, bill reads, OFREP bulk evaluations and
# biller reads, with every payment's webhooks delivered to a local receiver that verifies their
# signatures. Each minute prints requests, errors, p50, p99 and the server's RSS; the summary
# gives the RSS and p99 trends after the first five minutes (least-squares slope per minute) and
# the p99 of the last third against the first.
#
#   bench/soak/run.sh [--minutes 30] [--rate 40]
# At 40 requests/s the admin key sends 30/s, within its default 3000/min; the OFREP evaluations
# all come from one address standing for many browsers, so that limit is raised.
# Environment: BILLPAY_BENCH_PG (default postgres://postgres@127.0.0.1:5432).
set -euo pipefail
cd "$(dirname "$0")/../.."
MINUTES=30 RATE=40
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) MINUTES=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
PG=${BILLPAY_BENCH_PG:-postgres://postgres@127.0.0.1:5432}
DB="$PG/billpay_soak?sslmode=disable"
ADMIN=bpk_demo_admin_do_not_use_in_production
PORT=18791 RPORT=18792
WORK=$(mktemp -d)
SERVER= RECEIVER=
trap 'kill $SERVER $RECEIVER 2>/dev/null || true; rm -rf "$WORK"' EXIT

echo "building release binaries..." >&2
cargo build --release -q -p billpay -p billpay-loadgen
BIN=target/release
API="http://127.0.0.1:$PORT"
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS billpay_soak WITH (FORCE)" -c "CREATE DATABASE billpay_soak" >/dev/null
BILLPAY_LOG=warn "$BIN/billpay" serve --demo --worker --listen 127.0.0.1:$PORT --data-dir "$WORK/data" \
  --database-url "$DB" --rate-limit-anonymous 60000/min,burst=1000 >/dev/null 2>"$WORK/server.log" &
SERVER=$!
for _ in $(seq 1 100); do curl -sf "$API/readyz" >/dev/null && break; sleep 0.1; done
"$BIN/billpay-loadgen" --url "$API" --admin-key "$ADMIN" setup --bills 2000 --customers 32 --out "$WORK/fixture.json"
SECRET=$(curl -sf -X POST "$API/v1/webhook-endpoints" -H "Authorization: Bearer $ADMIN" -H 'content-type: application/json' \
  -d "{\"url\": \"http://127.0.0.1:$RPORT/hook\", \"event_types\": [\"*\"]}" | python3 -c "import json,sys; print(json.load(sys.stdin)['secret'])")
"$BIN/billpay-loadgen" --url "$API" --admin-key "$ADMIN" receive --port $RPORT --secret "$SECRET" --counts "$WORK/counts" &
RECEIVER=$!
sleep 0.3
echo "soak: $MINUTES minutes at $RATE requests/s" >&2
"$BIN/billpay-loadgen" --url "$API" --admin-key "$ADMIN" soak --fixture "$WORK/fixture.json" \
  --minutes "$MINUTES" --rate "$RATE" --pid "$SERVER" --counts "$WORK/counts"
