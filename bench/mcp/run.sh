#!/usr/bin/env bash
# Latency of billpayctl's MCP server over stdio, against the same work done by CLI processes.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release -q -p billpayctl
exec python3 bench/mcp/run.py "$PWD/target/release/billpayctl" "${1:-300}"
