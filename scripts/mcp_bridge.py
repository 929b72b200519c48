"""A stand-in MCP server (stdio) for the plugin's first start, while its Python packages install.

Claude Code starts a plugin's MCP server at the same time as its SessionStart hook and
remembers a failed start for 15 minutes, so on a first start the server must answer before
the packages it needs exist. This module answers the handshake at once (tools capability
with ``listChanged``), lists no tools and refuses other requests with a "still installing"
error until ``prepare()`` returns an interpreter. Then it starts the real server, replays the
client's handshake to it, tells the client ``notifications/tools/list_changed``, and from then
on passes every line through unchanged in both directions. Standard library only.
"""
from __future__ import annotations

import contextlib
import json
import queue
import subprocess
import sys
import threading

INIT_ID = "mediagen-bridge-initialize"
FALLBACK_PROTOCOL = "2025-06-18"
INSTRUCTIONS = ("mediagen is installing its Python packages (the plugin's first start). Its tools appear when "
                "that is done, usually within a minute; the /generate-image and /generate-video skills work "
                "once the session's setup message says the packages are installed.")
STILL_INSTALLING = -32002


def run(prepare, command, stdin=None, stdout=None, poll_s: float = 0.2) -> int:
    """Stand in until ``prepare()`` returns an interpreter, then proxy to ``command(interpreter)``."""
    stdin = sys.stdin.buffer if stdin is None else stdin
    stdout = sys.stdout.buffer if stdout is None else stdout
    inbox: queue.Queue = queue.Queue()
    threading.Thread(target=_read_lines, args=(stdin, inbox), daemon=True).start()
    prepared: dict = {}
    worker = threading.Thread(target=lambda: prepared.update(python=_safe(prepare)), daemon=True)
    worker.start()
    stand_in = StandIn(stdout)
    while worker.is_alive() or not prepared.get("python") or stand_in.init_params is None:
        try:
            line = inbox.get(timeout=poll_s)
        except queue.Empty:
            continue
        if line is None:
            return 0                    # the client went away before the packages were ready
        stand_in.handle(line)
    return proxy(command(prepared["python"]), stand_in.init_params, inbox, stdout)


def _safe(prepare):
    try:
        return prepare()
    except Exception as exc:            # a broken setup must not take the stand-in down with it
        sys.stderr.write(f"mediagen-mcp: setting up the Python environment failed: {exc!r}\n")
        return None


def _read_lines(stream, inbox: queue.Queue) -> None:
    for line in iter(stream.readline, b""):
        inbox.put(line)
    inbox.put(None)


def _write(stream, message: dict) -> None:
    stream.write(json.dumps(message, separators=(",", ":")).encode("utf-8") + b"\n")
    stream.flush()


class StandIn:
    """Answers what a client sends before the real server exists."""

    def __init__(self, stdout):
        self.stdout = stdout
        self.init_params: dict | None = None

    def handle(self, line: bytes) -> None:
        try:
            message = json.loads(line)
        except ValueError:
            return
        if not isinstance(message, dict) or "id" not in message or "method" not in message:
            return                      # notifications and stray replies need no answer
        method, ident = message["method"], message["id"]
        if method == "initialize":
            self.init_params = message.get("params") or {}
            self._reply(ident, {"protocolVersion": self.init_params.get("protocolVersion", FALLBACK_PROTOCOL),
                                "capabilities": {"tools": {"listChanged": True}},
                                "serverInfo": {"name": "mediagen", "version": "setup"},
                                "instructions": INSTRUCTIONS})
        elif method == "tools/list":
            self._reply(ident, {"tools": []})
        elif method == "ping":
            self._reply(ident, {})
        else:
            _write(self.stdout, {"jsonrpc": "2.0", "id": ident,
                                 "error": {"code": STILL_INSTALLING, "message": INSTRUCTIONS}})

    def _reply(self, ident, result: dict) -> None:
        _write(self.stdout, {"jsonrpc": "2.0", "id": ident, "result": result})


def proxy(command: list, init_params: dict, inbox: queue.Queue, stdout) -> int:
    """Start the real server, replay the handshake, announce the tools, then pass lines through."""
    child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    _write(child.stdin, {"jsonrpc": "2.0", "id": INIT_ID, "method": "initialize", "params": init_params})
    for line in iter(child.stdout.readline, b""):
        try:
            if json.loads(line).get("id") == INIT_ID:
                break
        except (ValueError, AttributeError):
            continue
    else:
        return child.wait() or 1        # the real server ended before answering
    _write(child.stdin, {"jsonrpc": "2.0", "method": "notifications/initialized"})
    _write(stdout, {"jsonrpc": "2.0", "method": "notifications/tools/list_changed"})
    threading.Thread(target=_copy, args=(child.stdout, stdout), daemon=True).start()
    for line in iter(inbox.get, None):
        try:
            child.stdin.write(line)
            child.stdin.flush()
        except OSError:
            break
    with contextlib.suppress(OSError):
        child.stdin.close()
    return child.wait()


def _copy(source, target) -> None:
    for line in iter(source.readline, b""):
        try:
            target.write(line)
            target.flush()
        except OSError:
            return

