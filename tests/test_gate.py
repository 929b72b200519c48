"""The spending gate exists once: every face and every multi-item runner refuses the same way.

The same over-cap request goes through the command line, the MCP face, a one-item batch and a
one-shot storyboard; each answers with the same error type, exit code 9 and the same message naming
the estimate and the cap, and nothing reaches the fake Google service.
"""
from __future__ import annotations

import io
from pathlib import Path

from mediagen.app.gate import Budget, Cap, gate
from mediagen.cli import batch_gen, image_gen, storyboard, video_gen
from mediagen.core import errors
from mediagen.mcp.tools import ReportingConsole, run_tool
from mediagen.mcp.toolset import build_specs
from tests.conftest import GEMINI_KEY, run_main


def _tool(name: str, arguments: dict, env: dict[str, str]) -> dict:
    result = run_tool(build_specs()[name], arguments, env=env, console=ReportingConsole(io.StringIO()))
    assert not result.ok
    return result.doc


def test_an_over_cap_image_is_refused_identically_everywhere(fake, fake_env, tmp_path: Path) -> None:
    env = {**fake_env, "GEMINI_API_KEY": GEMINI_KEY}
    prompts = tmp_path / "one.txt"
    prompts.write_text("a red fox in snow\n", encoding="utf-8")
    cli = run_main(image_gen.main, "a red fox in snow", "--max-cost", "0.01", env=env).doc["error"]
    batch = run_main(batch_gen.main, str(prompts), "--max-cost", "0.01", env=env).doc["error"]
    tool = _tool("generate_image", {"prompt": "a red fox in snow", "max_cost": 0.01}, env)
    tool_batch = _tool("start_batch", {"input": str(prompts), "max_cost": 0.01}, env)
    messages = {cli["message"], batch["message"], tool["message"], tool_batch["message"]}
    assert len(messages) == 1, messages
    assert "$0.0670" in cli["message"] and "$0.0100" in cli["message"]
    assert {cli["type"], batch["type"], tool["type"], tool_batch["type"]} == {"budget_exceeded"}
    assert tool["exit_code"] == tool_batch["exit_code"] == 9
    assert not fake.requests


def test_an_over_cap_video_is_refused_identically_by_video_gen_and_storyboard(fake, fake_env, tmp_path) -> None:
    env = {**fake_env, "GEMINI_API_KEY": GEMINI_KEY}
    shots = tmp_path / "one.yaml"
    shots.write_text("version: 1\ntitle: one\nshots:\n  - {id: a, prompt: a cat on a fence, duration: 4, transition: cut}\n",
                     encoding="utf-8")
    cli = run_main(video_gen.main, "a cat on a fence", "--duration", "4", "--max-cost", "0.01", env=env)
    board = run_main(storyboard.main, str(shots), "--max-cost", "0.01", env=env)
    tool = _tool("start_video", {"prompt": "a cat on a fence", "duration": 4, "max_cost": 0.01}, env)
    tool_board = _tool("start_storyboard", {"shotlist": str(shots), "max_cost": 0.01}, env)
    assert cli.code == board.code == 9
    messages = {cli.doc["error"]["message"], board.doc["error"]["message"], tool["message"], tool_board["message"]}
    assert len(messages) == 1, messages
    assert {cli.doc["error"]["type"], board.doc["error"]["type"], tool["type"], tool_board["type"]} == {
        "budget_exceeded"}
    assert not fake.requests


def test_approval_is_needed_only_for_multi_item_runs_and_a_request_cap_approves() -> None:
    budget = Budget(2.0, what="this storyboard")
    gate(budget, Cap(None), approval_needed=False)                     # a single video: no approval
    try:
        gate(budget, Cap(5.0, explicit=False), approval_needed=True)   # a configured cap limits, never approves
    except errors.ApprovalRequired as exc:
        assert "this storyboard would spend $2.00" in exc.message and "--approve" in exc.hint
    else:
        raise AssertionError("approval was not required")
    gate(budget, Cap(5.0, explicit=True), approval_needed=True)        # a cap given with the request approves
    gate(budget, Cap(None), approval_needed=True, approved=True)
    gate(budget, Cap(None), approval_needed=True, spending=False)     # a dry run needs no approval
    try:
        gate(Budget(None, priced=False), Cap(1.0), approval_needed=False)
    except errors.BudgetExceeded as exc:
        assert "cannot be priced" in exc.message
    else:
        raise AssertionError("an unpriced run passed a cap")
