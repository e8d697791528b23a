#!/usr/bin/env python3
"""Latency of `billpayctl mcp` over stdio: `tools/list`, a render tool call, and `ping` (the
protocol's floor), as raw JSON-RPC lines on the server's pipes, so no client library's caching
or validation is measured. Reference in the same run: the same render work as a one-shot CLI
process (`billpayctl infra resources` plus `billpayctl cost`), which is what an assistant without
the server would run.

    bench/mcp/run.sh [requests]
"""
import json, os, subprocess, sys, time

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ctl, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 300

proc = subprocess.Popen([ctl, "mcp", "--workspace", root], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                        stderr=subprocess.DEVNULL, cwd=root, text=True, bufsize=1)
ids = iter(range(1, 10**9))


def rpc(method, params=None):
    msg = {"jsonrpc": "2.0", "id": next(ids), "method": method}
    if params is not None:
        msg["params"] = params
    start = time.perf_counter()
    proc.stdin.write(json.dumps(msg) + "\n")
    proc.stdin.flush()
    while True:
        reply = json.loads(proc.stdout.readline())
        if reply.get("id") == msg["id"]:
            break
    elapsed = time.perf_counter() - start
    if "error" in reply:
        sys.exit(f"{method}: {reply['error']}")
    return elapsed, reply["result"]


rpc("initialize", {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}})
proc.stdin.write(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}) + "\n")
proc.stdin.flush()


def measure(label, fn):
    for _ in range(10):
        fn()
    times = sorted(fn() for _ in range(n))
    p = lambda q: times[min(len(times) - 1, int(len(times) * q))] * 1e3
    print(f"| {label} | {p(0.5):.2f} | {p(0.99):.2f} | {times[-1] * 1e3:.2f} |")
    return p(0.5)


print(f"{n} requests each, after 10 warm-up requests\n")
print("| request | p50 ms | p99 ms | max ms |")
print("|---|---|---|---|")
ping = measure("ping", lambda: rpc("ping")[0])
listing = measure("tools/list (6 tools)", lambda: rpc("tools/list")[0])
plan = measure("tools/call setup_complete_infrastructure (dev plan)",
               lambda: rpc("tools/call", {"name": "setup_complete_infrastructure", "arguments": {"environment": "dev"}})[0])
cost = measure("tools/call estimate_cost (dev)", lambda: rpc("tools/call", {"name": "estimate_cost", "arguments": {"environment": "dev"}})[0])


def cli():
    start = time.perf_counter()
    for args in (["infra", "resources", "--env", "dev"], ["cost", "--env", "dev", "--format", "json"]):
        subprocess.run([ctl, *args], cwd=root, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


cli_p50 = measure("reference: CLI processes `infra resources` + `cost`", cli)
proc.stdin.close()
proc.wait()
print()
print(f"tools/list is {listing / ping:.1f}x a ping; the dev plan over MCP takes {plan:.2f} ms, "
      f"{cli_p50 / plan:.1f}x faster than the same answer from two CLI processes ({cli_p50:.2f} ms)")
