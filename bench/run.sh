#!/usr/bin/env bash
# BillPay payment benchmark. Everything runs in one go on one machine, so the ratios are fair:
#   1. customer-key payments, session-cookie payments (as the web apps pay), customer keys again,
#      then admin-key payments: N clients in a closed loop, PostgreSQL;
#   2. pgbench running bench/payment.sql (generated from the server's own statement) on the same
#      data with as many clients: the reference;
#   3. an open loop at half pgbench's rate: p50, p99 and p99.9 as a customer sees them;
#   4. scale-out: 1, 2 and 3 `billpay serve` processes on the one database, the same N clients
#      spread over them, with the CPU each side used; then the same key sent to two processes at
#      once, which must make one payment;
#   5. SQLite, the embedded default, at 1, 4 and N clients.
#
#   bench/run.sh [--clients 32] [--seconds 20]
# Environment: BILLPAY_BENCH_PG (default postgres://postgres@127.0.0.1:5432), a server where the
# bench may create and drop the database billpay_bench; BILLPAY_BENCH_SSLMODE (default disable)
# for both the server's and pgbench's connections; BILLPAY_BENCH_POOL (default 12), each
# server's PostgreSQL pool.
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
# On two cores shared with PostgreSQL and the load generator, 12 connections gave 5-10% more
# payments/s than 16 (a sweep of 8, 12, 16 and 24).
POOL=${BILLPAY_BENCH_POOL:-12}
ADMIN=bpk_demo_admin_do_not_use_in_production
PORTS=(18787 18788 18789)
SCALE_SECONDS=$(( SECONDS_ / 2 > 5 ? SECONDS_ / 2 : 5 ))
WORK=$(mktemp -d)
SERVERS=()
stop_servers() {
  for p in "${SERVERS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${SERVERS[@]}"; do wait "$p" 2>/dev/null || true; done
  SERVERS=()
}
trap 'stop_servers; rm -rf "$WORK"' EXIT

echo "building release binaries..." >&2
cargo build --release -q -p billpay -p billpay-loadgen
BIN=target/release
url() { echo "http://127.0.0.1:${PORTS[$1]}"; }

start_server() { # $1: index into PORTS; $2: database URL or empty for SQLite
  # One trusted proxy hop, so each customer signs in from an address of their own (sessions()).
  local args=(serve --demo --listen "127.0.0.1:${PORTS[$1]}" --data-dir "$WORK/data" --trusted-proxy-hops 1 --no-rate-limits)
  [ -n "$2" ] && args+=(--database-url "$2" --db-max-connections "$POOL")
  BILLPAY_LOG=error "$BIN/billpay" "${args[@]}" >/dev/null &
  SERVERS+=($!)
  for _ in $(seq 1 100); do curl -sf "$(url "$1")/readyz" >/dev/null && return; sleep 0.1; done
  echo "server did not start" >&2; exit 1
}

# CPU seconds used so far by the given processes (utime + stime from /proc).
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || true; }
cpu_of() {
  local total=0 p t
  for p in "$@"; do t=$(ticks "$p"); total=$((total + ${t:-0})); done
  echo "scale=2; $total / $(getconf CLK_TCK)" | bc
}
pg_pids() { pgrep -x postgres || true; }

# PostgreSQL's CPU seconds while a command runs. Backends come and go with their connections, so
# a sampler follows every postgres process: one that appears mid-run counts from its start.
pg_cpu_start() {
  rm -f "$WORK/pg-stop"
  (
    declare -A first=() last=()
    for p in $(pg_pids); do first[$p]=$(ticks "$p"); done
    while [ ! -f "$WORK/pg-stop" ]; do
      for p in $(pg_pids); do
        t=$(ticks "$p"); [ -n "$t" ] || continue
        last[$p]=$t; [ -n "${first[$p]+x}" ] || first[$p]=0
      done
      total=0; for p in "${!last[@]}"; do total=$((total + last[$p] - first[$p])); done
      echo "$total" > "$WORK/pg-ticks"
      sleep 0.2
    done
  ) &
  PG_SAMPLER=$!
}
pg_cpu_stop() { # prints CPU seconds
  touch "$WORK/pg-stop"; wait "$PG_SAMPLER" 2>/dev/null || true
  echo "scale=2; $(cat "$WORK/pg-ticks" 2>/dev/null || echo 0) / $(getconf CLK_TCK)" | bc
}

# Runs the load generator with "$@" and writes $WORK/$label.json, with the CPU the servers and
# PostgreSQL used per second of load added to it.
load() { # $1: label; rest: loadgen pay arguments
  local label=$1; shift
  local s0 s1 pg
  s0=$(cpu_of "${SERVERS[@]}"); pg_cpu_start
  "$BIN/billpay-loadgen" --url "$(url 0)" --admin-key "$ADMIN" pay --fixture "$FIXTURE" --run-id "$label-$$" "$@" > "$WORK/$label.raw"
  s1=$(cpu_of "${SERVERS[@]}"); pg=$(pg_cpu_stop)
  python3 - "$WORK/$label.raw" "$s0" "$s1" "$pg" > "$WORK/$label.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
secs = s["seconds"] or 1
s["server_cpu"] = (float(sys.argv[3]) - float(sys.argv[2])) / secs
s["postgres_cpu"] = float(sys.argv[4]) / secs
print(json.dumps(s))
PY
  echo "  $label: $(python3 -c "import json,sys; s=json.load(open(sys.argv[1])); print(f\"{s['payments_per_second']:.0f}/s p99 {s['p99_ms']:.1f} ms errors {s['errors']}\")" "$WORK/$label.json")" >&2
}

# A biller, 2,000 bills and one funded customer per client, then a customer key for each.
fixture() { # $1: database URL for `billpay apikey create` (empty: the SQLite data dir)
  FIXTURE="$WORK/fixture.json"
  "$BIN/billpay-loadgen" --url "$(url 0)" --admin-key "$ADMIN" setup --bills 2000 --customers "$CLIENTS" --out "$FIXTURE"
  local db=() keys="$WORK/keys.txt"
  [ -n "$1" ] && db=(--database-url "$1")
  : > "$keys"
  for c in $(python3 -c "import json,sys; print(' '.join(json.load(open(sys.argv[1]))['customers']))" "$FIXTURE"); do
    "$BIN/billpay" --data-dir "$WORK/data" "${db[@]}" apikey create --role customer --customer "$c" --label bench 2>/dev/null >> "$keys"
  done
  python3 - "$FIXTURE" "$keys" <<'PY'
import json, sys
f = json.load(open(sys.argv[1]))
f["customer_keys"] = [json.loads(l)["key"] for l in open(sys.argv[2]) if l.strip()]
assert len(f["customer_keys"]) == len(f["customers"])
json.dump(f, open(sys.argv[1], "w"))
PY
}

# A session per customer, signed in as a person does: a code e-mailed to their address (read back
# from the outbox in the database, standing in for the inbox), then the sign-in.
sessions() {
  local i email code tokens="$WORK/sessions.txt"
  : > "$tokens"
  for i in $(seq 0 $((CLIENTS - 1))); do
    email="load$i@bench.example"
    curl -sf -X POST "$(url 0)/v1/auth/email-codes" -H 'content-type: application/json' \
      -H "x-forwarded-for: 198.51.100.$((i % 250 + 1))" -d "{\"email\":\"$email\"}" >/dev/null
    code=$(psql "$PG/billpay_bench" -Atc "SELECT substring(subject from '[0-9]{6}') FROM emails WHERE to_address = '$email' ORDER BY created_at DESC LIMIT 1")
    curl -sf -D "$WORK/headers.txt" -o /dev/null -X POST "$(url 0)/v1/auth/sessions" -H 'content-type: application/json' \
      -H "x-forwarded-for: 198.51.100.$((i % 250 + 1))" \
      -d "{\"email\":\"$email\",\"code\":\"$code\"}"
    sed -nE 's/^[Ss]et-[Cc]ookie: billpay_session=([0-9a-f]{64}).*/\1/p' "$WORK/headers.txt" >> "$tokens"
  done
  python3 - "$FIXTURE" "$tokens" <<'PY'
import json, sys
f = json.load(open(sys.argv[1]))
f["customer_sessions"] = [l.strip() for l in open(sys.argv[2]) if l.strip()]
assert len(f["customer_sessions"]) == len(f["customers"]), "a customer could not sign in"
json.dump(f, open(sys.argv[1], "w"))
PY
}

field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }

DB="$PG/billpay_bench?sslmode=$SSLMODE"
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS billpay_bench WITH (FORCE)" -c "CREATE DATABASE billpay_bench" >/dev/null
# Every PostgreSQL phase starts from a vacuumed, checkpointed database, so that the bloat and dirty
# pages one phase leaves do not slow the next: the phases are compared with each other.
settle() { psql "$PG/billpay_bench" -qc "VACUUM ANALYZE" -c "CHECKPOINT" >/dev/null; }

# pgbench running bench/payment.sql in a closed loop; writes $WORK/$1.json.
pgbench_closed() { # $1: label
  settle
  pg_cpu_start
  PGSSLMODE=$SSLMODE pgbench -n -M prepared -c "$CLIENTS" -j 2 -T "$SECONDS_" -D nbills=2000 -D ncust="$CLIENTS" \
    -f bench/payment.sql "$PG/billpay_bench" > "$WORK/$1.txt" 2>&1 || { cat "$WORK/$1.txt"; exit 1; }
  local cpu; cpu=$(pg_cpu_stop)
  python3 - "$WORK/$1.txt" "$cpu" "$SECONDS_" > "$WORK/$1.json" <<'PY'
import json, re, sys
t = open(sys.argv[1]).read()
tps = float(re.search(r"^tps = ([0-9.]+)", t, re.M).group(1))
lat = float(re.search(r"latency average = ([0-9.]+)", t).group(1))
failed = int(re.search(r"number of failed transactions: ([0-9]+)", t).group(1))
print(json.dumps({"tps": tps, "latency_ms": lat, "failed": failed, "postgres_cpu": float(sys.argv[2]) / float(sys.argv[3])}))
PY
  echo "  $1: $(field "$WORK/$1.json" tps) tps" >&2
}

echo "PostgreSQL: $CLIENTS clients, ${SECONDS_} s per run; pgbench before and after the API runs" >&2
start_server 0 "$DB"
fixture "$DB"
stop_servers
BILLER=$(field "$FIXTURE" biller_id)
psql "$PG/billpay_bench" -q <<SQL >/dev/null
CREATE TABLE bench_bills AS SELECT row_number() OVER (ORDER BY id) AS n, id FROM bills WHERE biller_id = '$BILLER';
CREATE UNIQUE INDEX ON bench_bills (n);
CREATE TABLE bench_customers AS SELECT row_number() OVER (ORDER BY customer_id) AS n, customer_id, account_id
  FROM wallets WHERE currency = 'COP' AND customer_id NOT LIKE 'cus_demo_%';
CREATE UNIQUE INDEX ON bench_customers (n);
SQL
pgbench_closed pgbench-before
start_server 0 "$DB"
sessions
# Sessions are bracketed by two customer-key runs, so drift over time (the tables grow) does not
# count against either.
settle; load pg-customer --clients "$CLIENTS" --seconds "$SECONDS_" --auth customer
settle; load pg-session --clients "$CLIENTS" --seconds "$SECONDS_" --auth session
settle; load pg-customer-after --clients "$CLIENTS" --seconds "$SECONDS_" --auth customer
settle; load pg-admin --clients "$CLIENTS" --seconds "$SECONDS_" --auth admin
stop_servers
pgbench_closed pgbench-after
PGB_TPS=$(python3 -c "import json; print((json.load(open('$WORK/pgbench-before.json'))['tps'] + json.load(open('$WORK/pgbench-after.json'))['tps']) / 2)")

RATE=$(python3 -c "print(round(float('$PGB_TPS') / 2))")
echo "open loop at $RATE/s; scale-out over 1-3 servers, ${SCALE_SECONDS} s each" >&2
# pgbench at the same fixed rate: its per-transaction log gives the reference latencies, counted
# from each transaction's scheduled start (latency plus schedule lag), as the load generator does.
mkdir -p "$WORK/pgblog"
settle
(cd "$WORK/pgblog" && PGSSLMODE=$SSLMODE pgbench -n -M prepared -c "$CLIENTS" -j 2 -T "$SECONDS_" -R "$RATE" -l \
  -D nbills=2000 -D ncust="$CLIENTS" -f "$OLDPWD/bench/payment.sql" "$PG/billpay_bench" > "$WORK/pgbench-open.txt" 2>&1) \
  || { cat "$WORK/pgbench-open.txt"; exit 1; }
cat "$WORK"/pgblog/pgbench_log.* | python3 -c "
import json, sys
lat = sorted(int(l.split()[2]) + (int(l.split()[6]) if len(l.split()) > 6 else 0) for l in sys.stdin if l.strip())
pct = lambda p: lat[min(len(lat) - 1, max(0, int(len(lat) * p + 0.999999) - 1))] / 1000
print(json.dumps({'n': len(lat), 'p50_ms': pct(0.5), 'p99_ms': pct(0.99), 'p999_ms': pct(0.999)}))" > "$WORK/pgbench-open.json"
start_server 0 "$DB"
settle; load pg-open --clients "$CLIENTS" --seconds "$SECONDS_" --auth customer --rate "$RATE"
settle; load scale-1 --clients "$CLIENTS" --seconds "$SCALE_SECONDS" --auth customer --urls "$(url 0)"
start_server 1 "$DB"
settle; load scale-2 --clients "$CLIENTS" --seconds "$SCALE_SECONDS" --auth customer --urls "$(url 0),$(url 1)"
start_server 2 "$DB"
settle; load scale-3 --clients "$CLIENTS" --seconds "$SCALE_SECONDS" --auth customer --urls "$(url 0),$(url 1),$(url 2)"
"$BIN/billpay-loadgen" --url "$(url 0)" --admin-key "$ADMIN" race --fixture "$FIXTURE" --urls "$(url 0),$(url 1)" --pairs 200 \
  --run-id "race-$$" > "$WORK/race.json"
stop_servers
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS billpay_bench WITH (FORCE)" >/dev/null

echo "SQLite: closed loop at 1, 4 and $CLIENTS clients" >&2
rm -rf "$WORK/data"
start_server 0 ""
fixture ""
for n in 1 4 "$CLIENTS"; do load "sqlite-$n" --clients "$n" --seconds "$SCALE_SECONDS" --auth customer; done
stop_servers

python3 - "$WORK" "$CLIENTS" "$SECONDS_" "$PGB_TPS" "$RATE" <<'PY'
import json, sys
work, clients, secs, tps, rate = sys.argv[1:]
tps = float(tps)
r = lambda name: json.load(open(f"{work}/{name}.json"))
def row(label, s, ratio=True):
    errs = sum(s["errors"].values())
    out = f"{label:<34}{s['payments_per_second']:>9.0f}{s['p50_ms']:>8.1f}{s['p99_ms']:>8.1f}{s['p999_ms']:>8.1f}{errs:>7}"
    out += f"{s['server_cpu']:>8.2f}{s['postgres_cpu']:>8.2f}"
    if ratio:
        out += f"{s['payments_per_second'] / tps:>9.2f}"
    print(out)
print(f"BillPay payment benchmark: {clients} clients, {secs} s per PostgreSQL run, on this machine")
print(f"{'':<34}{'pay/s':>9}{'p50 ms':>8}{'p99 ms':>8}{'p99.9':>8}{'errors':>7}{'srv CPU':>8}{'pg CPU':>8}{'/pgbench':>9}")
row(f"customer keys, closed loop", r("pg-customer"))
row(f"session cookies, closed loop", r("pg-session"))
row(f"customer keys again, closed loop", r("pg-customer-after"))
row(f"admin key, closed loop", r("pg-admin"))
for when in ("before", "after"):
    p = r(f"pgbench-{when}")
    print(f"{'pgbench, same SQL and data, ' + when:<34}{p['tps']:>9.0f}{'':>8}{'':>8}{'':>8}{p['failed']:>7}{'':>8}{p['postgres_cpu']:>8.2f}{p['tps'] / tps:>9.2f}   (avg latency {p['latency_ms']} ms)")
row(f"customer keys, open loop {rate}/s", r("pg-open"))
po = r("pgbench-open")
print(f"{'pgbench, open loop ' + rate + '/s':<34}{po['n'] / float(secs):>9.0f}{po['p50_ms']:>8.1f}{po['p99_ms']:>8.1f}{po['p999_ms']:>8.1f}")
for n in (1, 2, 3):
    row(f"{n} server(s), customer keys", r(f"scale-{n}"))
race = r("race")
print(f"same key to two servers at once: {race['pairs']} keys made {race['payments']} payments, "
      f"{race['split_answers']} pairs answered differently")
for n in ("1", "4", clients):
    row(f"SQLite, {n} client(s)", r(f"sqlite-{n}"), ratio=False)
print(f"/pgbench: against the mean of the two pgbench runs, {tps:.0f} tps.")
c1, c2, ss = r("pg-customer"), r("pg-customer-after"), r("pg-session")
keys_tps = (c1["payments_per_second"] + c2["payments_per_second"]) / 2
keys_p99 = (c1["p99_ms"] + c2["p99_ms"]) / 2
print(f"session cookies / customer keys (mean of the runs before and after): throughput "
      f"{ss['payments_per_second'] / keys_tps:.2f}, p99 {ss['p99_ms'] / keys_p99:.2f}")
print("CPU is cores used on average (this machine has", __import__("os").cpu_count(), "); errors count answers other than 201.")
PY
