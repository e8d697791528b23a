#!/usr/bin/env bash
# What the protection costs: payment throughput and p99 through `billpay serve` with the
# request-path protection on (in-flight cap, request and body timeouts, rate limits checked on
# every request, set high enough never to refuse) and off (`--unprotected`), on the same
# PostgreSQL database, in the same run, alternating on, off, on, off so that drift in the
# machine hits both. The connection loop (header timeout, connection cap) is the same in both.
#
#   bench/protection/run.sh [--clients 16] [--seconds 15]
# Environment: BILLPAY_BENCH_PG (default postgres://postgres@127.0.0.1:5432).
set -euo pipefail
cd "$(dirname "$0")/../.."
CLIENTS=16 SECONDS_=15
while [ $# -gt 0 ]; do
  case "$1" in
    --clients) CLIENTS=$2; shift 2 ;;
    --seconds) SECONDS_=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
PG=${BILLPAY_BENCH_PG:-postgres://postgres@127.0.0.1:5432}
DB="$PG/billpay_protect_bench?sslmode=disable"
ADMIN=bpk_demo_admin_do_not_use_in_production
WORK=$(mktemp -d)
ON= OFF=
trap 'kill $ON $OFF 2>/dev/null || true; rm -rf "$WORK"' EXIT

echo "building release binaries..." >&2
cargo build --release -q -p billpay -p billpay-loadgen
BIN=target/release
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS billpay_protect_bench WITH (FORCE)" -c "CREATE DATABASE billpay_protect_bench" >/dev/null
HIGH=6000000/min,burst=100000
start() { # $1: port; rest: extra flags
  local port=$1; shift
  BILLPAY_LOG=error "$BIN/billpay" serve --demo --listen "127.0.0.1:$port" --data-dir "$WORK/data-$port" \
    --database-url "$DB" --db-max-connections 12 "$@" >/dev/null &
  echo $!
}
ON=$(start 18793 --rate-limit-admin "$HIGH")
sleep 2
OFF=$(start 18794 --unprotected)
for port in 18793 18794; do
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
done
"$BIN/billpay-loadgen" --url http://127.0.0.1:18793 --admin-key "$ADMIN" setup --bills 2000 --customers "$CLIENTS" --out "$WORK/fixture.json"
run() { # $1: label; $2: port
  "$BIN/billpay-loadgen" --url "http://127.0.0.1:$2" --admin-key "$ADMIN" pay --fixture "$WORK/fixture.json" \
    --clients "$CLIENTS" --seconds "$SECONDS_" --run-id "$1-$$" >> "$WORK/$1.jsonl"
  tail -n 1 "$WORK/$1.jsonl" | python3 -c "import json,sys; s=json.load(sys.stdin); print(f\"  $1: {s['payments_per_second']:.0f}/s p99 {s['p99_ms']:.1f} ms errors {s['errors']}\")" >&2
}
for round in 1 2; do
  run on 18793
  run off 18794
done
python3 - "$WORK/on.jsonl" "$WORK/off.jsonl" <<'PY'
import json, sys
def load(p): return [json.loads(l) for l in open(p)]
on, off = load(sys.argv[1]), load(sys.argv[2])
rate = lambda xs: sum(x["payments_per_second"] for x in xs) / len(xs)
p99 = lambda xs: sum(x["p99_ms"] for x in xs) / len(xs)
print(f"protection on:  {rate(on):.0f} payments/s, p99 {p99(on):.1f} ms")
print(f"protection off: {rate(off):.0f} payments/s, p99 {p99(off):.1f} ms")
print(f"cost: {(1 - rate(on) / rate(off)) * 100:.1f}% throughput, p99 x{p99(on) / p99(off):.2f}")
PY
