"""scripts/mcp_server.py driven by the MCP SDK's own client over stdio, against the fake Google service.

Each server is a real subprocess (``python scripts/mcp_server.py``) whose environment points at
the fake (base URLs, a Gemini API key or a service account, HOME/XDG_STATE_HOME in tmp, fast
polls). Nothing in the transport is patched. The schema tests check that every tool property is
a script flag with the same type and choices (or a declared MCP-only extra), and that tool
arguments parse to the same Namespace as the equivalent command line.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import os
import socket
import subprocess
import sys
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
from PIL import Image

from mcp import ClientSession, StdioServerParameters, stdio_client

from mediagen.app.choices import field_choices
from mediagen.app.requests import (BatchRequest, CheckRequest, ImageRequest, JobQuery, ShotListRequest,
                                   VideoRequest)
from mediagen.cli import (batch_gen, check_api, estimate_cost, gallery, image_gen, jobs, sessions, storyboard,
                          video_gen)
from mediagen.cli.common import number, request_from
from mediagen.core import errors
from mediagen.mcp.schema import IMAGE_CONTINUE_FIELDS, VIDEO_CONTINUE_FIELDS, VIDEO_EXTEND_FIELDS, ToolSpec
from mediagen.mcp.tools import request_of
from mediagen.mcp.toolset import build_specs
from tests.conftest import GEMINI_KEY, ROOT

SERVER = ROOT / "scripts" / "mcp_server.py"
FAST_POLLS = {"MEDIAGEN_POLL_FIRST_S": "0", "MEDIAGEN_POLL_INTERVAL_S": "0.05",
              "MEDIAGEN_POLLS_PER_MINUTE": "60000"}
TOOLS = {"generate_image", "start_video", "extend_video", "get_video", "list_jobs", "estimate_cost", "list_models",
         "check_setup", "cancel_job", "write_gallery", "start_storyboard", "get_storyboard", "start_batch",
         "get_batch", "continue_image", "continue_video", "list_sessions", "show_session"}


# -- harness ---------------------------------------------------------------------------------------

class Client:
    """A ClientSession plus what arrived besides responses (progress, stray stdout lines)."""

    def __init__(self, session: ClientSession, problems: list[Any]) -> None:
        self.session = session
        self.problems = problems

    async def call(self, name: str, arguments: dict[str, Any], *, progress: list | None = None) -> Any:
        async def on_progress(value: float, total: float | None, message: str | None) -> None:
            progress.append((value, total, message))

        return await self.session.call_tool(name, arguments, read_timeout_seconds=120,
                                            progress_callback=on_progress if progress is not None else None)


@asynccontextmanager
async def connect(env: dict[str, str], cwd: Path, log: Path) -> AsyncIterator[Client]:
    """Spawn the server over stdio and initialize a session; stray stdout would surface in ``problems``."""
    problems: list[Any] = []

    async def on_message(message: Any) -> None:
        if isinstance(message, Exception):
            problems.append(message)

    params = StdioServerParameters(command=sys.executable, args=[str(SERVER)], env=env, cwd=str(cwd))
    with log.open("a", encoding="utf-8") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write):
            async with ClientSession(read, write, message_handler=on_message) as session:
                await session.initialize()
                yield Client(session, problems)
    assert not problems, f"non-protocol output on the server's stdout: {problems}"


def payload(result: Any) -> dict[str, Any]:
    assert result.content and result.content[0].type == "text", result
    return json.loads(result.content[0].text)


def ok(result: Any, log: Path) -> dict[str, Any]:
    doc = payload(result)
    assert not result.is_error, (doc, log.read_text() if log.exists() else "")
    assert doc["ok"] is True
    return doc


def run(coro: Any) -> Any:
    return asyncio.run(coro)


# -- schemas: one source with the CLI ----------------------------------------------------------------

@pytest.fixture(scope="module")
def specs() -> dict[str, ToolSpec]:
    return build_specs(field_choices({}))


PARSERS = {"generate_image": image_gen, "start_video": video_gen, "extend_video": video_gen, "get_video": jobs,
           "list_jobs": jobs, "cancel_job": jobs, "check_setup": check_api, "start_storyboard": storyboard,
           "start_batch": batch_gen, "write_gallery": gallery, "continue_image": image_gen,
           "continue_video": video_gen, "list_sessions": sessions, "show_session": sessions}
# Properties with no command-line flag (the flag's job is done otherwise there: -o, positionals, waiting).
MCP_ONLY = {"output_dir", "wait_seconds"}
# Flags with no tool property: the command line's own business (streams, help, waiting, listing presets).
CLI_ONLY = {"help", "version", "debug", "show_defaults", "estimate_cost", "list_presets", "prompt_file", "json",
            "wait", "wait_timeout", "output", "upload_chunk_bytes"}


def _flags(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    found: dict[str, argparse.Action] = {}
    for action in parser._actions:
        found.setdefault(action.dest, action)
    return found


def _expected_type(action: argparse.Action) -> str:
    if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction, argparse.BooleanOptionalAction)):
        return "boolean"
    return {int: "integer", float: "number", number: "number"}.get(action.type, "string")


@pytest.mark.parametrize("tool", sorted(PARSERS))
def test_every_property_is_a_flag_with_the_same_type_and_choices(specs, tool) -> None:
    spec = specs[tool]
    flags = _flags(PARSERS[tool].build_parser(None))
    for prop in spec.props:
        if prop.name in MCP_ONLY or (tool == "start_storyboard" and prop.name == "output"):
            continue
        assert prop.name in flags, f"{tool}.{prop.name} is not a flag of the script"
        action = flags[prop.name]
        schema = prop.schema["items"] if prop.schema["type"] == "array" else prop.schema
        assert (prop.schema["type"] == "array") == isinstance(action, argparse._AppendAction), prop
        if action.nargs is None or isinstance(action, argparse._AppendAction):
            assert schema["type"] == _expected_type(action), prop
        if action.choices is not None:
            assert schema["enum"] == list(action.choices), prop
    exposed = {p.name for p in spec.props}
    left_out = {dest for dest in flags if dest not in exposed and dest not in CLI_ONLY}
    allowed = {"start_video": {"extend_video"}, "get_video": {"action", "state", "limit", "backend", "location"},
               "list_jobs": {"action", "job_id", "backend", "location"},
               "cancel_job": {"action", "state", "limit", "backend", "location"},
               "list_sessions": {"action", "session_id", "backend", "location"},
               "show_session": {"action", "limit", "backend", "location"}}.get(tool, set())
    subsets = {"extend_video": VIDEO_EXTEND_FIELDS, "continue_image": IMAGE_CONTINUE_FIELDS,
               "continue_video": VIDEO_CONTINUE_FIELDS}
    if tool in subsets:
        assert exposed == set(subsets[tool])
    else:
        assert left_out == allowed, left_out


def test_estimate_cost_properties_are_the_estimate_script_flags(specs) -> None:
    spec = specs["estimate_cost"]
    parser = estimate_cost.build_parser(None)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    flags = {kind: _flags(child) for kind, child in sub.choices.items()}
    assert spec.prop("kind").schema["enum"] == list(sub.choices) == ["image", "video", "shotlist", "batch"]
    for prop in spec.props:
        if prop.name in ("kind", "file", "via", "backend", "project", "location", "config"):
            continue
        assert set(prop.kinds) == {k for k in ("image", "video") if prop.name in flags[k]}, prop
    generation = {d for k in ("image", "video") for d in flags[k] if d not in CLI_ONLY}
    assert generation - {"backend", "project", "location", "config"} == (
        {p.name for p in spec.props} - {"kind", "file", "via", "backend", "project", "location", "config"})


def _sample(schema: dict[str, Any]) -> Any:
    if "enum" in schema:
        return schema["enum"][-1]
    kind = schema["type"]
    if kind == "array":
        return ["a.png", "b.png:style"]
    return {"string": "sample", "integer": 3, "number": 1.5, "boolean": True}[kind]


def _argv(action: argparse.Action, value: Any) -> list[str]:
    flag = next(o for o in action.option_strings if o.startswith("--"))
    if isinstance(action, argparse.BooleanOptionalAction):
        return [flag if value else "--no-" + flag[2:]]
    if isinstance(action, argparse._StoreTrueAction):
        return [flag] if value else []
    if isinstance(action, argparse._AppendAction):
        return [token for item in value for token in (flag, str(item))]
    return [flag, str(value)]


REQUESTS = {"generate_image": ImageRequest, "start_video": VideoRequest, "extend_video": VideoRequest,
            "check_setup": CheckRequest, "list_jobs": JobQuery, "start_storyboard": ShotListRequest,
            "start_batch": BatchRequest}


@pytest.mark.parametrize("tool", sorted(REQUESTS))
def test_tool_arguments_make_the_same_request_as_the_equivalent_command_line(specs, tool) -> None:
    spec = specs[tool]
    parser = PARSERS[tool].build_parser(None)
    flags = _flags(parser)
    arguments = {p.name: _sample(p.schema) for p in spec.props if p.name not in MCP_ONLY}
    argv = ["list"] if tool == "list_jobs" else []
    for name, value in arguments.items():
        action = flags[name]
        argv += [str(value)] if not action.option_strings else _argv(action, value)
    spec.check(arguments)
    kind = REQUESTS[tool]
    extra = {"action": "list"} if tool == "list_jobs" else {}
    assert request_of(kind, arguments, **extra) == request_from(kind, parser.parse_args(argv))
    if tool == "start_video":        # booleans switched off map to the --no- form
        off = request_of(kind, {**arguments, "generate_audio": False, "enhance_prompt": False})
        assert off.generate_audio is False and off.enhance_prompt is False


def test_schema_rejects_what_the_catalog_does_not_offer(specs) -> None:
    spec = specs["generate_image"]
    assert "16:9" in spec.prop("aspect_ratio").schema["enum"]
    assert spec.prop("image_size").schema["enum"] and "2K" in spec.prop("image_size").schema["enum"]
    durations = specs["start_video"].prop("duration").schema["enum"]
    assert durations == sorted(durations)
    with pytest.raises(errors.UsageError) as caught:
        spec.check({"prompt": "x", "aspect_ratio": "7:3"})
    assert "aspect_ratio" in caught.value.message
    with pytest.raises(errors.UsageError):
        specs["get_video"].check({"job_id": "vid-1", "wait_seconds": 120})
    with pytest.raises(errors.UsageError):
        spec.check({})


@pytest.mark.parametrize("given, meant", [("aspectRatio", "aspect_ratio"), ("aspect_ration", "aspect_ratio"),
                                          ("durationSeconds", "duration"), ("negativePrompt", "negative_prompt")])
def test_a_misspelt_argument_names_the_valid_one(specs, given, meant) -> None:
    tool = "start_video" if given == "durationSeconds" else "generate_image"
    with pytest.raises(errors.UsageError) as caught:
        specs[tool].check({"prompt": "x", given: "16:9"})
    assert f"'{given}'" in caught.value.message and f"did you mean '{meant}'" in caught.value.message
    assert caught.value.details["did_you_mean"] == meant


# -- over stdio ---------------------------------------------------------------------------------------

def test_lists_the_tools_with_the_generated_schemas(mcp_env, hermetic, server_log, specs) -> None:
    async def scenario() -> list[Any]:
        async with connect(mcp_env, hermetic, server_log) as client:
            return (await client.session.list_tools()).tools

    tools = {t.name: t for t in run(scenario())}
    assert set(tools) == TOOLS
    for name, tool in tools.items():
        assert tool.input_schema == specs[name].input_schema(), name
        assert tool.description
    assert tools["get_video"].input_schema["properties"]["wait_seconds"]["maximum"] == 50
    assert tools["list_models"].annotations.read_only_hint is True
    assert tools["generate_image"].annotations.read_only_hint is False


def test_generate_image_saves_the_file_and_returns_a_small_png_preview(fake, mcp_env, hermetic, server_log) -> None:
    async def scenario() -> tuple[Any, Any, Any]:
        async with connect(mcp_env, hermetic, server_log) as client:
            made = await client.call("generate_image", {"prompt": "a red fox in snow", "aspect_ratio": "16:9",
                                                        "output_dir": "out"})
            invalid = await client.call("generate_image", {"prompt": "a red fox", "aspect_ratio": "7:3"})
            refused = await client.call("generate_image", {"prompt": "a red fox", "max_cost": 0.0001})
            return made, invalid, refused

    made, invalid, refused = run(scenario())
    doc = ok(made, server_log)
    image = doc["images"][0]
    path = Path(image["path"])
    assert path.is_file() and path.parent == (hermetic / "out").resolve()      # relative to the server's cwd
    assert Path(image["sidecar"]).is_file()
    assert image["sidecar_summary"]["prompt"] == "a red fox in snow"
    assert image["sidecar_summary"]["model"] == doc["model"]["id"]
    assert doc["cost"]["estimate_usd"] > 0 and doc["backend"]["name"] == "gemini-api"
    previews = [c for c in made.content if c.type == "image"]
    assert len(previews) == 1 and previews[0].mime_type == "image/png"
    data = base64.b64decode(previews[0].data)
    with Image.open(io.BytesIO(data)) as thumb:
        assert thumb.format == "PNG" and max(thumb.size) <= 256
        with Image.open(path) as full:
            assert max(full.size) > 256 and thumb.size[0] / thumb.size[1] == pytest.approx(
                full.size[0] / full.size[1], rel=0.02)
    assert len(data) < path.stat().st_size or max(Image.open(path).size) <= 256
    assert GEMINI_KEY not in made.content[0].text

    assert invalid.is_error
    error = payload(invalid)
    assert error["type"] == "usage" and "aspect_ratio" in error["message"] and error["hint"]

    assert refused.is_error
    error = payload(refused)
    assert error["type"] == "budget_exceeded" and error["exit_code"] == 9 and error["hint"]
    assert len(fake.requests_for(method="POST", path_contains=":generateContent")) == 1
    log = server_log.read_text()
    assert "mediagen: " in log             # progress lines went to stderr, not into the protocol


def test_api_errors_become_tool_errors_with_the_cli_type_and_hint(fake, mcp_env, hermetic, server_log) -> None:
    fake.config.image_outcome = "image_safety"

    async def scenario() -> Any:
        async with connect(mcp_env, hermetic, server_log) as client:
            return await client.call("generate_image", {"prompt": "a red fox"})

    result = run(scenario())
    assert result.is_error
    error = payload(result)
    assert error["type"] == "blocked" and error["exit_code"] == 7 and error["hint"]
    assert set(error) >= {"type", "message", "hint"}


def test_start_video_then_get_video_reports_progress_and_downloads(fake, mcp_env, hermetic, server_log) -> None:
    fake.config.interaction_polls_until_done = 3

    async def scenario() -> tuple[Any, Any, list]:
        progress: list = []
        async with connect(mcp_env, hermetic, server_log) as client:
            started = await client.call("start_video", {"prompt": "a cat walking on a fence", "duration": 4})
            job_id = payload(started).get("job_id")
            done = await client.call("get_video", {"job_id": job_id, "wait_seconds": 30}, progress=progress)
            source = payload(done)["videos"][0]["path"]
            extending = await client.call("extend_video", {"prompt": "the cat jumps onto a roof",
                                                           "extend_video": source, "duration": 4})
            extended = await client.call("get_video", {"job_id": payload(extending).get("job_id")})
            return started, done, progress, extended

    started, done, progress, extended = run(scenario())
    first = ok(started, server_log)
    assert first["state"] == "running" and first["done"] is False and first["job_id"].startswith("vid-")
    doc = ok(done, server_log)
    assert doc["state"] == "succeeded" and doc["done"] is True and doc["job_id"] == first["job_id"]
    video = doc["videos"][0]
    assert Path(video["path"]).is_file() and Path(video["path"]).parent == (hermetic / "generated_videos").resolve()
    assert video["sidecar_summary"]["job_id"] == first["job_id"]
    assert doc["cost"]["actual_usd"] is not None
    assert len(progress) >= 2, progress
    values = [p[0] for p in progress]
    assert values == sorted(values) and len(set(values)) == len(values) and all(0 < v < 1 for v in values[:-1])
    assert values[-1] == 1.0 and "done" in progress[-1][2]         # progress reaches its total when the job ends
    assert all(total == 1.0 for _, total, _ in progress)
    assert any("elapsed" in (message or "") for _, _, message in progress), progress
    creates = fake.requests_for(method="POST", path_contains="/interactions")
    assert len(creates) == 2 and "previous_interaction_id" not in creates[0].json
    assert creates[1].json["previous_interaction_id"] == doc["operation"]       # extension of the first clip
    longer = ok(extended, server_log)
    assert longer["state"] == "succeeded" and longer["mode"] == "extend" and longer["job_id"] != doc["job_id"]
    assert Path(longer["videos"][0]["path"]).is_file()


def test_a_second_server_process_sees_the_same_job(fake, mcp_env, hermetic, server_log) -> None:
    fake.config.interaction_polls_until_done = 100000

    async def first_server() -> tuple[str, Any]:
        async with connect(mcp_env, hermetic, server_log) as client:
            started = ok(await client.call("start_video", {"prompt": "a paper boat"}), server_log)
            began = time.monotonic()
            waiting = await client.call("get_video", {"job_id": started["job_id"], "wait_seconds": 0.3})
            assert time.monotonic() - began < 10
            return started["job_id"], waiting

    job_id, waiting = run(first_server())
    still = ok(waiting, server_log)
    assert still["state"] == "running" and still["done"] is False and still["job_id"] == job_id

    async def second_server() -> tuple[Any, Any, Any]:
        async with connect(mcp_env, hermetic, server_log) as client:
            listed = await client.call("list_jobs", {})
            fake.config.interaction_polls_until_done = 0
            done = await client.call("get_video", {"job_id": job_id})
            again = await client.call("get_video", {"job_id": job_id, "wait_seconds": 0})
            return listed, done, again

    listed, done, again = run(second_server())
    jobs_doc = ok(listed, server_log)
    assert [j["job_id"] for j in jobs_doc["jobs"]] == [job_id] and jobs_doc["jobs"][0]["state"] == "running"
    assert Path(jobs_doc["store"]) == Path(mcp_env["XDG_STATE_HOME"]) / "mediagen" / "jobs"
    finished = ok(done, server_log)
    assert finished["state"] == "succeeded" and Path(finished["videos"][0]["path"]).is_file()
    assert ok(again, server_log)["videos"] == finished["videos"]      # downloaded once, reported again
    assert len(fake.requests_for(method="POST", path_contains="/interactions")) == 1


def test_free_tools_check_setup_list_models_estimate_cost(fake, hermetic, server_log, fake_env, tmp_path) -> None:
    key_file = fake.write_service_account(tmp_path / "sa.json")
    env = {**fake_env, **FAST_POLLS, "GOOGLE_APPLICATION_CREDENTIALS": str(key_file)}
    shots = tmp_path / "shots.yaml"
    shots.write_text("version: 1\ntitle: t\nshots:\n  - {id: a, prompt: a cat walks, duration: 8, transition: cut}\n")

    async def scenario() -> dict[str, Any]:
        async with connect(env, hermetic, server_log) as client:
            return {"check": await client.call("check_setup", {}),
                    "models": await client.call("list_models", {"kind": "video", "backend": "vertex"}),
                    "estimate": await client.call("estimate_cost", {"kind": "video", "duration": 8,
                                                                    "resolution": "1080p"}),
                    "wrong_kind": await client.call("estimate_cost", {"kind": "image", "duration": 8}),
                    "shots": await client.call("estimate_cost", {"kind": "shotlist", "file": str(shots)}),
                    "jobs": await client.call("list_jobs", {"state": "active"})}

    results = run(scenario())
    check = ok(results["check"], server_log)
    assert check["backend"]["name"] == "vertex" and all(c["ok"] for c in check["checks"])
    models = ok(results["models"], server_log)
    assert models["defaults"]["video"]["vertex"]
    rows = {m["id"]: m for m in models["models"]}
    assert all(set(m["backends"]) == {"vertex"} for m in rows.values())
    assert rows["veo-3.1-generate-001"]["backends"]["vertex"]["status"] == "ga"
    assert any(m["backends"]["vertex"]["status"] == "retired" for m in rows.values())
    estimate = ok(results["estimate"], server_log)
    assert estimate["kind"] == "video" and estimate["total_usd"] > 0 and estimate["request"]["resolution"] == "1080p"
    assert results["wrong_kind"].is_error and payload(results["wrong_kind"])["type"] == "usage"
    board = ok(results["shots"], server_log)
    assert board["kind"] == "shotlist" and board["budget"]["total_usd"] > 0
    assert ok(results["jobs"], server_log)["jobs"] == []
    assert not fake.requests_for(service="vertex", method="POST")        # nothing generated


def test_config_file_and_project_apply_per_call(fake, mcp_env, hermetic, server_log) -> None:
    (hermetic / "mediagen.yaml").write_text("version: 1\nimage: {aspect_ratio: \"9:16\"}\n")

    async def scenario() -> Any:
        async with connect(mcp_env, hermetic, server_log) as client:
            return await client.call("generate_image", {"prompt": "a lighthouse", "dry_run": True})

    doc = ok(run(scenario()), server_log)
    assert doc["dry_run"] is True and not fake.requests_for(method="POST")
    body = json.dumps(doc["requests"])
    assert "9:16" in body and GEMINI_KEY not in body


# -- registration and other transports ---------------------------------------------------------------

MCP_JSON = json.loads((ROOT / ".mcp.json").read_text())


@pytest.mark.parametrize("scope", ["plugin", "project"])
def test_mcp_json_command_starts_the_server_as_plugin_and_as_project(scope, base_env, tmp_path, server_log) -> None:
    """The exact command of .mcp.json, with the variables Claude Code sets in each scope."""
    server = MCP_JSON["mcpServers"]["mediagen"]
    assert server["command"] == "python3" and "${" not in json.dumps(server)      # nothing left to substitute
    elsewhere = tmp_path / "some-project"
    elsewhere.mkdir()
    env = dict(base_env)
    if scope == "plugin":       # Claude Code exports the install dir; the cwd is the user's project
        env.update({"CLAUDE_PLUGIN_ROOT": str(ROOT), "CLAUDE_PROJECT_DIR": str(elsewhere)})
        cwd = elsewhere
    else:                       # this repository opened as the project
        env["CLAUDE_PROJECT_DIR"] = str(ROOT)
        cwd = ROOT

    async def scenario() -> set[str]:
        params = StdioServerParameters(command=server["command"], args=server["args"], env=env, cwd=str(cwd))
        with server_log.open("a") as errlog:
            async with stdio_client(params, errlog=errlog) as (read, write):
                async with ClientSession(read, write) as session:
                    await session.initialize()
                    return {t.name for t in (await session.list_tools()).tools}

    assert run(scenario()) == TOOLS, server_log.read_text()


def test_claude_code_connects_the_server_as_plugin_and_as_project(tmp_path) -> None:
    """The pinned Claude Code CLI (as in test_bundle_cli) reports the server connected in both scopes."""
    from tests.test_bundle_cli import CLAUDE, headless, init_event

    if not CLAUDE.exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{CLAUDE} is missing: run `npm ci --prefix tests/tools/claude-cli`")
        pytest.skip(f"{CLAUDE} is missing")
    elsewhere = tmp_path / "some-project"
    elsewhere.mkdir()

    def discover(name: str, *args: str, cwd: Path) -> dict[str, Any]:
        # The init event is a snapshot: on a loaded machine the server may still be starting
        # ("pending"); ask again rather than fail on timing.
        for attempt in range(5):
            event = init_event(headless(CLAUDE, "ping", *args, cwd=cwd, home=tmp_path / f"{name}-{attempt}"))
            if {"name": name, "status": "pending"} not in event["mcp_servers"]:
                break
        return event

    plugin = discover("plugin:mediagen:mediagen", "--plugin-dir", str(ROOT), cwd=elsewhere)
    assert {"name": "plugin:mediagen:mediagen", "status": "connected"} in plugin["mcp_servers"], plugin["mcp_servers"]
    assert "mcp__plugin_mediagen_mediagen__generate_image" in plugin["tools"]
    project = discover("mediagen", cwd=ROOT)
    assert {"name": "mediagen", "status": "connected"} in project["mcp_servers"], project["mcp_servers"]
    assert {f"mcp__mediagen__{name}" for name in TOOLS} <= set(project["tools"])


def test_help_and_version_do_not_start_a_server() -> None:
    proc = subprocess.run([sys.executable, str(SERVER), "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "mcp_server.py" in proc.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_streamable_http_on_localhost(mcp_env, hermetic, server_log) -> None:
    from mcp.client.streamable_http import streamable_http_client

    port = _free_port()
    env = {**os.environ, **mcp_env}
    with server_log.open("a") as errlog:
        proc = subprocess.Popen([sys.executable, str(SERVER), "--http", "--port", str(port)], cwd=hermetic, env=env,
                                stdout=errlog, stderr=errlog)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, server_log.read_text()
                time.sleep(0.1)

        async def scenario() -> tuple[list[str], Any]:
            async with streamable_http_client(f"http://127.0.0.1:{port}/mcp") as (read, write):
                async with ClientSession(read, write) as session:
                    await session.initialize()
                    tools = [t.name for t in (await session.list_tools()).tools]
                    models = await session.call_tool("list_models", {"kind": "image"})
                    return tools, models

        tools, models = run(scenario())
        assert set(tools) == TOOLS
        assert ok(models, server_log)["models"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
