#!/usr/bin/env bash
# Memory a burst takes and gives back, per allocator: the half-open-connections test of
# crates/billpay/tests/protection.rs (2,000 connections that never finish their headers, held
# until the server's 2 s header timeout closes them, then 15 s of light traffic) run against
# `billpay` built with jemalloc (the default) and with the system allocator (glibc), in the same
# run. It prints each one's RSS before, with the connections held, and after.
#
#   bench/memory/run.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
run() {
  local name=$1; shift
  local line
  line=$(cargo test -q -p billpay "$@" --test protection half_open -- --nocapture 2>&1 | grep -m1 '^RSS before' || echo "no figure")
  printf '%-22s %s\n' "$name" "$line"
}
run "jemalloc (default)"
run "system (glibc)" --no-default-features
