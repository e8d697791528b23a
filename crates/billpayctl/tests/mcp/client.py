"""Drives `billpayctl mcp` with the official Python MCP SDK (the `mcp` package), unmodified.

    python client.py SCENARIO.json

The scenario names the protocol mode (`legacy` is the 2025-11-25 initialize handshake; a version
such as `2026-07-28` is the modern, handshake-free revision), the server's command line, and the
calls to make; a call may instead be {"edit": {path, old, new}}, a change to a file between two
calls. An argument value {"$tokenFrom": i} is replaced by the confirmationToken that
call i returned. Prints one JSON document: the protocol version, the tools as listed, and every
call's result with the progress notifications it sent.
"""
import asyncio
import json
import sys

import jsonschema
from mcp import Client
from mcp.client.stdio import StdioServerParameters


def substitute(value, results):
    if isinstance(value, dict):
        if set(value) == {"$tokenFrom"}:
            return (results[value["$tokenFrom"]]["structured"] or {}).get("confirmationToken")
        return {k: substitute(v, results) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, results) for v in value]
    return value


async def main(scenario):
    params = StdioServerParameters(command=scenario["command"], args=scenario["args"], env=scenario.get("env"))
    async with Client(params, mode=scenario["mode"]) as client:
        listed = await client.list_tools()
        tools = [t.model_dump(by_alias=True, exclude_none=True, mode="json") for t in listed.tools]
        for t in tools:
            # Every schema is a valid JSON Schema (2020-12, the MCP default dialect).
            jsonschema.Draft202012Validator.check_schema(t["inputSchema"])
            jsonschema.Draft202012Validator.check_schema(t["outputSchema"])
        results = []
        for call in scenario.get("calls", []):
            if "edit" in call:
                # A change to the workspace between two calls.
                e = call["edit"]
                text = open(e["path"]).read()
                assert e["old"] in text, e
                open(e["path"], "w").write(text.replace(e["old"], e["new"]))
                results.append({"tool": "edit", "isError": False, "structured": None, "text": ""})
                continue
            # The SDK checks structuredContent against the tool's outputSchema on every call.
            # Progress notifications are asked for on every call, and kept in order.
            progress = []

            async def on_progress(done, total, message):
                progress.append({"progress": done, "total": total, "message": message})

            r = await client.call_tool(
                call["tool"], substitute(call.get("args", {}), results), progress_callback=on_progress
            )
            results.append({
                "tool": call["tool"],
                "isError": bool(r.is_error),
                "structured": r.structured_content,
                "text": "\n".join(c.text for c in r.content if getattr(c, "type", "") == "text"),
                "progress": progress,
            })
        print(json.dumps({"protocol": client.protocol_version, "tools": tools, "results": results}))


asyncio.run(main(json.load(open(sys.argv[1]))))
