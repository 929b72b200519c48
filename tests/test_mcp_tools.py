"""The MCP tools added with the application layer, and the strictness of every tool, over stdio.

Driven by the SDK's own client against ``scripts/mcp_server.py`` and the fake Google service.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.test_mcp_server import connect, ok, payload, run


@pytest.mark.parametrize("tool, arguments, meant", [
    ("generate_image", {"prompt": "a fox", "aspectRatio": "16:9"}, "aspect_ratio"),
    ("generate_image", {"prompt": "a fox", "aspect_ration": "16:9"}, "aspect_ratio"),
    ("start_video", {"prompt": "a fox", "durationSeconds": 4}, "duration"),
])
def test_a_misspelt_argument_is_a_tool_error_and_nothing_is_sent(fake, mcp_env, hermetic, server_log, tool,
                                                                 arguments, meant) -> None:
    async def scenario() -> Any:
        async with connect(mcp_env, hermetic, server_log) as client:
            return await client.call(tool, arguments)

    result = run(scenario())
    assert result.is_error
    error = payload(result)
    assert error["type"] == "usage" and error["exit_code"] == 2
    assert f"did you mean '{meant}'" in error["message"] and "Nothing was sent" in error["message"]
    assert result.structured_content == error
    assert not fake.requests          # not even a token or a listing


def test_results_are_structured_with_resource_links_for_saved_files(fake, mcp_env, hermetic, server_log) -> None:
    async def scenario() -> Any:
        async with connect(mcp_env, hermetic, server_log) as client:
            tools = {t.name: t for t in (await client.session.list_tools()).tools}
            return tools, await client.call("generate_image", {"prompt": "a red fox", "output_dir": "out"})

    tools, made = run(scenario())
    assert tools["generate_image"].output_schema["required"] == ["ok"]
    assert "images" in tools["generate_image"].output_schema["properties"]
    doc = ok(made, server_log)
    assert made.structured_content == doc
    links = [c for c in made.content if c.type == "resource_link"]
    path = Path(doc["images"][0]["path"])
    assert [link.uri for link in links] == [path.resolve().as_uri()]
    assert links[0].mime_type == doc["images"][0]["mime_type"] and links[0].name == path.name


def test_cancel_job_cancels_an_omni_interaction(fake, mcp_env, hermetic, server_log) -> None:
    fake.config.interaction_polls_until_done = 100000

    async def scenario() -> tuple[Any, Any, Any]:
        async with connect(mcp_env, hermetic, server_log) as client:
            started = ok(await client.call("start_video", {"prompt": "a paper boat"}), server_log)
            cancelled = await client.call("cancel_job", {"job_id": started["job_id"]})
            listed = await client.call("list_jobs", {})
            return started, cancelled, listed

    started, cancelled, listed = run(scenario())
    doc = ok(cancelled, server_log)
    assert doc["cancelled"] is True and doc["cancelled_remotely"] is True and doc["state"] == "cancelled"
    assert len(fake.requests_for(method="POST", path_contains="/cancel")) == 1
    assert ok(listed, server_log)["jobs"][0]["state"] == "cancelled"


def _shot_list(folder: Path) -> Path:
    path = folder / "shots.yaml"
    path.write_text("version: 1\ntitle: mcp board\nshots:\n"
                    "  - {id: a, prompt: a cat on a fence, duration: 4, transition: cut}\n"
                    "  - {id: b, prompt: the cat jumps, duration: 4, transition: cut}\n", encoding="utf-8")
    return path


def test_storyboard_needs_approval_then_runs_in_the_background(fake, mcp_env, hermetic, server_log) -> None:
    shots = _shot_list(hermetic)

    async def scenario() -> tuple[Any, Any, Any, list]:
        progress: list = []
        async with connect(mcp_env, hermetic, server_log) as client:
            refused = await client.call("start_storyboard", {"shotlist": str(shots)})
            started = await client.call("start_storyboard", {"shotlist": str(shots), "approve": True})
            run_id = payload(started).get("run_id")
            done = await client.call("get_storyboard", {"run_id": run_id, "wait_seconds": 50}, progress=progress)
            while payload(done).get("state") == "running":
                done = await client.call("get_storyboard", {"run_id": run_id}, progress=progress)
            return refused, started, done, progress

    refused, started, done, progress = run(scenario())
    assert refused.is_error
    error = payload(refused)
    assert error["type"] == "approval_required" and error["exit_code"] == 9 and "approve" in error["hint"]
    assert error["result"]["budget"]["to_spend_usd"] > 0
    first = ok(started, server_log)
    assert first["state"] == "running" and first["done"] is False and first["budget"]["to_make"] == 2
    board = ok(done, server_log)
    assert board["done"] is True and [s["state"] for s in board["shots"]] == ["succeeded", "succeeded"]
    assert Path(board["final"]["path"]).is_file()
    links = {c.uri for c in done.content if c.type == "resource_link"}
    assert Path(board["final"]["path"]).resolve().as_uri() in links
    assert progress and progress[-1][0] == 1.0
    assert len(fake.requests_for(method="POST", path_contains="/interactions")) == 2


def test_batch_runs_in_the_background_and_an_unknown_run_names_the_fix(fake, mcp_env, hermetic,
                                                                       server_log) -> None:
    prompts = hermetic / "prompts.txt"
    prompts.write_text("a red fox\na blue bird\n", encoding="utf-8")

    async def scenario() -> tuple[Any, Any, Any]:
        async with connect(mcp_env, hermetic, server_log) as client:
            started = await client.call("start_batch", {"input": str(prompts), "approve": True})
            run_id = payload(started)["run_id"]
            done = await client.call("get_batch", {"run_id": run_id})
            while payload(done).get("state") == "running":
                done = await client.call("get_batch", {"run_id": run_id})
            unknown = await client.call("get_batch", {"run_id": "run-nope"})
            return started, done, unknown

    started, done, unknown = run(scenario())
    assert ok(started, server_log)["pending"] == 2
    batch = ok(done, server_log)
    assert batch["counts"]["succeeded"] == 2 and all(Path(f).is_file() for i in batch["items"] for f in i["files"])
    assert len([c for c in done.content if c.type == "resource_link"]) == 2
    assert unknown.is_error and "start_batch again" in payload(unknown)["hint"]
    assert len(fake.requests_for(method="POST", path_contains=":generateContent")) == 2


def test_write_gallery_returns_the_page(fake, mcp_env, hermetic, server_log) -> None:
    async def scenario() -> tuple[Any, Any]:
        async with connect(mcp_env, hermetic, server_log) as client:
            ok(await client.call("generate_image", {"prompt": "a red fox", "output_dir": "pics"}), server_log)
            return await client.call("write_gallery", {"folder": "pics"}), None

    page, _ = run(scenario())
    doc = ok(page, server_log)
    assert Path(doc["path"]).is_file() and doc["counts"]["images"] == 1
    assert [c.mime_type for c in page.content if c.type == "resource_link"] == ["text/html"]
