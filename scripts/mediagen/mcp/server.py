"""mediagen as an MCP server (official Python SDK ``mcp`` 2.x): stdio, or streamable HTTP on 127.0.0.1.

    python3 scripts/mcp_server.py                  # stdio (Claude Code, Claude Desktop, Cursor, Codex)
    python3 scripts/mcp_server.py --http --port N  # streamable HTTP at http://127.0.0.1:N/mcp

The server uses the SDK's low-level ``Server`` so that every call's raw
arguments reach ``mediagen.mcp.tools.run_tool``, which checks them against the
tool's schema before anything else (the SDK's argument models would silently
drop an unknown argument). Tool schemas are generated from the typed
requests and the catalog (``mediagen.mcp.toolset``). Results carry the JSON
document as text and as ``structuredContent``, resource links for saved
files, and image previews. On stdio, stdout carries only the protocol; logs,
progress lines and tracebacks go to stderr. See README: MCP server.
"""
from __future__ import annotations

import argparse
import functools
import logging
import os
import sys
from typing import Any

from mediagen import __version__
from mediagen.app.choices import field_choices
from mediagen.app.context import Context
from mediagen.core.console import Console
from mediagen.core import errors
from mediagen.mcp.runs import Runs
from mediagen.mcp.schema import ToolSpec
from mediagen.mcp.tools import ReportingConsole, ToolResult, run_tool
from mediagen.mcp.toolset import build_specs

SERVER_NAME = "mediagen"
INSTRUCTIONS = """mediagen generates images and videos with Google's models (Gemini image models, Imagen,
Veo, Gemini Omni) through the Gemini API, Vertex AI or a local CLIProxyAPI.
- Free first: check_setup (which credential/backend and why), list_models, estimate_cost.
- Paid: generate_image (returns file paths, cost and a small preview), start_video / extend_video
  (return a job id at once). Ask the user before spending; pass max_cost to cap a call.
- Video: after start_video, call get_video with the job id (it waits up to 50 s per call, with
  progress) until state is 'succeeded'; list_jobs shows every recorded job; cancel_job cancels.
- Storyboards and batches: start_storyboard / start_batch price and gate the run (approve: true to
  spend), then return a run id; get_storyboard / get_batch wait up to 50 s per call.
- Errors come back as tool errors: JSON {type, message, hint}; the hint names the fix. An unknown
  argument is refused (with the nearest valid name) before anything is sent.
Relative paths (inputs, output_dir) resolve against the server's working directory."""

log = logging.getLogger("mediagen.mcp")


def build_server(specs: dict[str, ToolSpec] | None = None) -> Any:
    """The low-level ``Server`` serving one tool per spec.

    Without ``specs`` they are built on the first ``tools/list`` or call (the catalog and presets load
    then), so the server answers ``initialize`` as soon as the SDK is imported.
    """
    from mcp.server.lowlevel import Server

    known: dict[str, dict[str, ToolSpec]] = {"specs": specs} if specs else {}
    runs = Runs()

    def current() -> dict[str, ToolSpec]:
        if "specs" not in known:
            known["specs"] = build_specs(field_choices(os.environ))
        return known["specs"]

    async def list_tools(ctx: Any, params: Any) -> Any:
        import mcp_types as types

        return types.ListToolsResult(tools=[_tool(spec) for spec in current().values()])

    async def call_tool(ctx: Any, params: Any) -> Any:
        spec = current().get(params.name)
        if spec is None:
            return _unknown_tool(params.name, current())
        return _to_mcp(await _call(spec, params.arguments, ctx, runs))

    return Server(SERVER_NAME, version=__version__, instructions=INSTRUCTIONS, on_list_tools=list_tools,
                  on_call_tool=call_tool)


def _tool(spec: ToolSpec) -> Any:
    import mcp_types as types

    return types.Tool(name=spec.name, title=spec.title, description=spec.description,
                      input_schema=spec.input_schema(), output_schema=spec.output_schema(),
                      annotations=types.ToolAnnotations(title=spec.title, read_only_hint=spec.read_only,
                                                        destructive_hint=False, idempotent_hint=spec.read_only,
                                                        open_world_hint=spec.remote))


async def _call(spec: ToolSpec, arguments: Any, ctx: Any, runs: Runs) -> ToolResult:
    """Run the tool in a worker thread; progress lines become MCP progress notifications."""
    import anyio
    import anyio.from_thread
    import anyio.to_thread

    def report(fraction: float, message: str) -> None:
        try:
            anyio.from_thread.run(functools.partial(ctx.session.report_progress, fraction, 1.0, message))
        except Exception as exc:  # noqa: BLE001 - a lost notification must not fail the job
            log.debug("progress notification not sent: %r", exc)

    console = ReportingConsole(sys.stderr, report)
    work = functools.partial(run_tool, spec, arguments, env=dict(os.environ), console=console, runs=runs)
    return await anyio.to_thread.run_sync(work)


def _to_mcp(result: ToolResult) -> Any:
    """JSON text, structured content, resource links for saved files, image previews."""
    import base64

    import mcp_types as types

    content: list[Any] = [types.TextContent(type="text", text=result.text())]
    content += [types.ResourceLink(type="resource_link", uri=f.path.resolve().as_uri(), name=f.path.name,
                                   mime_type=f.mime_type, description=f.role) for f in result.files]
    content += [types.ImageContent(type="image", data=base64.b64encode(png).decode("ascii"), mime_type="image/png")
                for png in result.previews]
    return types.CallToolResult(content=content, structured_content=result.doc, is_error=not result.ok)


def _unknown_tool(name: str, specs: dict[str, ToolSpec]) -> Any:
    import json

    import mcp_types as types

    doc = {"ok": False, "type": "usage", "message": f"unknown tool {name!r}",
           "hint": f"Use one of: {', '.join(sorted(specs))}.", "exit_code": int(errors.ExitCode.USAGE)}
    return types.CallToolResult(content=[types.TextContent(type="text", text=json.dumps(doc))],
                                structured_content=doc, is_error=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The server process's own options (not tool arguments)."""
    parser = argparse.ArgumentParser(prog="mcp_server.py", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="Without --http the server speaks MCP on stdin/stdout.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--http", action="store_true", help="Serve streamable HTTP on 127.0.0.1 instead of stdio.")
    parser.add_argument("--port", type=int, default=8765, help="Port for --http (default 8765); path /mcp.")
    default_level = Context.of(None, Console(sys.stderr)).process_setting("mcp_log_level") or "INFO"
    parser.add_argument("--log-level", default=default_level,
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="Log level (stderr).")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point: serve until the client disconnects (stdio) or Ctrl-C (HTTP); return the exit code."""
    args = parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=args.log_level, format="mediagen-mcp: %(levelname)s %(message)s")
    try:
        import mcp  # noqa: F401
    except ImportError:
        sys.stderr.write("mediagen-mcp: the MCP SDK is missing: python3 -m pip install -r requirements.txt "
                         "(it pins mcp>=2.3,<3)\n")
        return int(errors.ExitCode.CONFIG)
    import anyio

    server = build_server()
    if args.http:
        log.info("streamable HTTP on http://127.0.0.1:%d/mcp", args.port)
        anyio.run(_serve_http, server, args.port, args.log_level)
    else:
        anyio.run(_serve_stdio, server)
    return 0


async def _serve_stdio(server: Any) -> None:
    from mcp.server.stdio import stdio_server

    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


async def _serve_http(server: Any, port: int, log_level: str) -> None:
    import uvicorn

    app = server.streamable_http_app(host="127.0.0.1")
    await uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level=log_level.lower())).serve()
