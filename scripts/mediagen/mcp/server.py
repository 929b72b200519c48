"""mediagen as an MCP server (official Python SDK ``mcp`` 2.x): stdio, or streamable HTTP on 127.0.0.1.

    python3 scripts/mcp_server.py                  # stdio (Claude Code, Claude Desktop, Cursor, Codex)
    python3 scripts/mcp_server.py --http --port N  # streamable HTTP at http://127.0.0.1:N/mcp

Tools: generate_image, start_video, extend_video, get_video, list_jobs, estimate_cost, list_models,
check_setup. Their input schemas come from the scripts' own argparse flags and the model catalog
(``mediagen.mcp_schema``); each call runs the same package operations as the scripts
(``mediagen.mcp_tools``) in a worker thread. On stdio, stdout carries only the protocol; logs,
progress lines and tracebacks go to stderr. See README: MCP server.
"""
from __future__ import annotations

import argparse
import functools
import inspect
import logging
import os
import sys
from typing import Annotated, Any

from mediagen import __version__
from mediagen.core import errors
from mediagen.mcp.schema import ToolSpec, build_specs
from mediagen.mcp.tools import ReportingConsole, ToolResult, run_tool

SERVER_NAME = "mediagen"
INSTRUCTIONS = """mediagen generates images and videos with Google's models (Gemini image models, Imagen,
Veo, Gemini Omni) through the Gemini API, Vertex AI or a local CLIProxyAPI.
- Free first: check_setup (which credential/backend and why), list_models, estimate_cost.
- Paid: generate_image (returns file paths, cost and a small preview), start_video / extend_video
  (return a job id at once). Ask the user before spending; pass max_cost to cap a call.
- Video: after start_video, call get_video with the job id (it waits up to 50 s per call, with
  progress) until state is 'succeeded'; list_jobs shows every recorded job. Jobs never bill twice.
- Errors come back as tool errors: JSON {type, message, hint}; the hint names the fix.
Relative paths (inputs, output_dir) resolve against the server's working directory."""

log = logging.getLogger("mediagen.mcp")


def _load_specs() -> dict[str, ToolSpec]:
    """Tool specs with catalog enums; without them (and a logged reason) if the catalog cannot load."""
    from mediagen.app.runtime import load_catalog

    try:
        catalog = load_catalog(os.environ)
    except errors.MediagenError as exc:
        log.warning("catalog not loaded (%s); tool schemas carry no catalog enums, calls report the error",
                    exc.message)
        catalog = None
    return build_specs(catalog)


def build_server(specs: dict[str, ToolSpec] | None = None) -> Any:
    """The ``MCPServer`` with one tool per spec (the input schema is the spec's, unchanged)."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.tools import Tool
    from mcp.types import ToolAnnotations

    specs = specs or _load_specs()
    tools = []
    for spec in specs.values():
        tool = Tool.from_function(_tool_function(spec), name=spec.name, title=spec.title,
                                  description=spec.description, structured_output=False, context_kwarg="ctx",
                                  annotations=ToolAnnotations(title=spec.title, read_only_hint=spec.read_only,
                                                              destructive_hint=False,
                                                              idempotent_hint=spec.read_only,
                                                              open_world_hint=spec.remote))
        tool.parameters = spec.input_schema()        # published as generated, not pydantic's rendering
        tools.append(tool)
    return MCPServer(SERVER_NAME, instructions=INSTRUCTIONS, version=__version__, tools=tools)


def _tool_function(spec: ToolSpec) -> Any:
    """An async tool function whose signature lists the spec's properties (validated by ``run_tool``)."""
    from mcp.server.mcpserver import Context
    from pydantic import PlainValidator

    async def tool(ctx: Context, **arguments: Any) -> Any:
        return await _call(spec, arguments, ctx)

    passthrough = PlainValidator(lambda value: value)     # the JSON Schema check happens in run_tool
    params = []
    for prop in spec.props:
        # ``str`` keeps the SDK from JSON-decoding string values; anything else may arrive JSON-encoded.
        python_type: Any = str if prop.schema.get("type") == "string" else Any
        params.append(inspect.Parameter(prop.name, inspect.Parameter.KEYWORD_ONLY, default=None,
                                        annotation=Annotated[python_type, passthrough]))
    params.append(inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context))
    tool.__signature__ = inspect.Signature(params)       # type: ignore[attr-defined]
    tool.__annotations__ = {p.name: p.annotation for p in params}
    tool.__name__ = spec.name
    return tool


async def _call(spec: ToolSpec, arguments: dict[str, Any], ctx: Any) -> Any:
    """Run the tool in a worker thread; progress lines become MCP progress notifications."""
    import anyio
    import anyio.from_thread
    import anyio.to_thread

    def report(fraction: float, message: str) -> None:
        try:
            anyio.from_thread.run(functools.partial(ctx.report_progress, fraction, 1.0, message))
        except Exception as exc:  # noqa: BLE001 - a lost notification must not fail the job
            log.debug("progress notification not sent: %r", exc)

    console = ReportingConsole(sys.stderr, report)
    result = await anyio.to_thread.run_sync(functools.partial(run_tool, spec, arguments, env=dict(os.environ),
                                                              console=console))
    return _to_mcp(result)


def _to_mcp(result: ToolResult) -> Any:
    """JSON text (plus image previews) as a CallToolResult; errors with ``is_error`` set."""
    from mcp.server.mcpserver import Image
    from mcp.types import CallToolResult, TextContent

    content: list[Any] = [TextContent(type="text", text=result.text())]
    content += [Image(data=png, format="png").to_image_content() for png in result.previews]
    return CallToolResult(content=content, is_error=not result.ok)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="mcp_server.py", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="Without --http the server speaks MCP on stdin/stdout.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--http", action="store_true", help="Serve streamable HTTP on 127.0.0.1 instead of stdio.")
    parser.add_argument("--port", type=int, default=8765, help="Port for --http (default 8765); path /mcp.")
    parser.add_argument("--log-level", default=os.environ.get("MEDIAGEN_MCP_LOG_LEVEL", "INFO"),
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
    server = build_server()
    logging.getLogger().setLevel(args.log_level)
    if args.http:
        log.info("streamable HTTP on http://127.0.0.1:%d/mcp", args.port)
        server.run("streamable-http", host="127.0.0.1", port=args.port)
    else:
        server.run()
    return 0
