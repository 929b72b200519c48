"""Multi-turn image editing (``image_gen.py --continue``) judged by the fake's "context kept" verdict.

The fake answers 200 whether or not the earlier turns come back intact, as
Google does; its verdict (``fake.context_log``) says whether every model turn
was returned byte for byte, signatures in order, after the history that
produced it. Sending only the last image, or a rewritten signature, fails.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from mediagen.cli.gallery import main as gallery_main
from mediagen.cli.image_gen import main
from mediagen.cli.sessions import main as sessions_main
from tests.conftest import GEMINI_KEY
from tests.fake_google import context as fake_context


@pytest.fixture(params=["gemini-api", "vertex"])
def image_env(request, fake, fake_env, tmp_path) -> dict[str, str]:
    """A Gemini API key, or a Vertex service account (both talk to the fake)."""
    if request.param == "gemini-api":
        return {**fake_env, "GEMINI_API_KEY": GEMINI_KEY}
    key_file = fake.write_service_account(tmp_path / "sa.json")
    return {**fake_env, "GOOGLE_APPLICATION_CREDENTIALS": str(key_file)}


def generate(run, env, *argv):
    result = run(main, *argv, env=env)
    assert result.code == 0, result.doc
    return result


def sent_contents(fake):
    calls = [r for r in fake.requests if r.path.endswith(":generateContent") and r.method == "POST"]
    return calls[-1].json["contents"]


def signatures(contents):
    return [p["thoughtSignature"] for c in contents if c["role"] == "model" for p in c["parts"]
            if "thoughtSignature" in p]


def test_three_turns_and_a_branch_keep_context(run, fake, image_env) -> None:
    first = generate(run, image_env, "a red fox in snow", "-m", "gemini-3-pro-image", "-o", "fox.png")
    assert fake.context_log[-1]["verdict"] == "fresh"
    turn1 = first.doc["images"][0]
    assert turn1["session"]["turn"] == "1" and turn1["session"]["parent"] is None

    generate(run, image_env, "make the sky stormier", "--continue", "fox.png", "-o", "fox2.png")
    verdict = fake.context_log[-1]
    assert verdict["verdict"] == "kept" and verdict["turns"] == 2, verdict
    contents = sent_contents(fake)
    assert [c["role"] for c in contents] == ["user", "model", "user"]
    first_reply = signatures(contents)
    assert len(first_reply) == 2                                      # text part and image part, as returned

    third = generate(run, image_env, "now at night", "--continue", "fox2.png", "-o", "fox3.png")
    verdict = fake.context_log[-1]
    assert verdict["verdict"] == "kept" and verdict["turns"] == 3, verdict
    contents = sent_contents(fake)
    assert [c["role"] for c in contents] == ["user", "model", "user", "model", "user"]
    assert signatures(contents)[:2] == first_reply                   # byte-identical, in order
    assert "(context kept: turn 3)" in json.loads(Path(third.doc["images"][0]["sidecar"]).read_text())["text"]
    session = third.doc["images"][0]["session"]
    assert session == {"id": turn1["session"]["id"], "turn": "3", "parent": "2"}

    # A branch from turn 2: only its own history goes out (not turn 3's), and context is kept.
    branch = generate(run, image_env, "now in autumn", "--continue", "fox2.png", "-o", "fox-autumn.png")
    verdict = fake.context_log[-1]
    assert verdict["verdict"] == "kept" and verdict["turns"] == 3, verdict
    contents = sent_contents(fake)
    assert len(contents) == 5 and signatures(contents)[:2] == first_reply
    stored = json.loads((Path(image_env["XDG_STATE_HOME"]) / "mediagen" / "sessions" / f"{session['id']}.json")
                        .read_text())
    third_reply = signatures([next(t for t in stored["turns"] if t["turn"] == "3")["model_content"]])
    assert len(third_reply) == 2 and not set(third_reply) & set(signatures(contents))
    assert branch.doc["images"][0]["session"] == {"id": session["id"], "turn": "4", "parent": "2"}
    assert branch.doc["continued"]["turn"] == "2" and branch.doc["continued"]["history_images"] == 2

    listed = run(sessions_main, "show", session["id"], env=image_env)
    assert listed.code == 0, listed.doc
    tree = listed.doc["session"]["turns"]
    assert [(t["turn"], t["parent"]) for t in tree] == [("1", None), ("2", "1"), ("3", "2"), ("4", "2")]
    assert "1 -> 2 -> 3" in listed.doc["chains"] and "1 -> 2 -> 4" in listed.doc["chains"]

    page = run(gallery_main, ".", env=image_env)
    assert page.code == 0 and page.doc["sessions"] == 1, page.doc
    html = Path(page.doc["path"]).read_text()
    assert 'data-chain="1 -&gt; 2 -&gt; 3"' in html or 'data-chain="1 -> 2 -> 3"' in html
    assert 'data-chain="1 -> 2 -> 4"><span class="sid">' in html
    branch_row = html[html.index('data-chain="1 -> 2 -> 4"'):].split("</div>")[0]
    assert '<span class="branch">branch</span>' in branch_row


def test_the_branch_carries_none_of_the_later_turns(run, fake, fake_env) -> None:
    env = {**fake_env, "GEMINI_API_KEY": GEMINI_KEY}
    generate(run, env, "a lighthouse", "-m", "gemini-3-pro-image", "-o", "a.png")
    generate(run, env, "add a boat", "--continue", "a.png", "-o", "b.png")
    generate(run, env, "add a storm", "--continue", "b.png", "-o", "c.png")
    later = signatures([{"role": "model", "parts": json.loads(json.dumps(fake_reply_parts(fake, -1)))}])
    generate(run, env, "add gulls instead", "--continue", "a.png", "-o", "d.png")
    contents = sent_contents(fake)
    assert [c["role"] for c in contents] == ["user", "model", "user"]
    assert not set(later) & set(signatures(contents))
    assert fake.context_log[-1]["verdict"] == "kept"


def fake_reply_parts(fake, index):
    """The parts the fake issued for its ``index``-th remembered turn (newest last)."""
    turns = list({id(t): t for t in fake.state.issued_turns.values()}.values())
    return turns[index]["content"]["parts"]


def test_sending_only_the_last_image_is_judged_a_fresh_conversation(run, fake, fake_env) -> None:
    env = {**fake_env, "GEMINI_API_KEY": GEMINI_KEY}
    generate(run, env, "a red fox in snow", "-m", "gemini-3-pro-image", "-o", "fox.png")
    generate(run, env, "make the sky stormier", "-m", "gemini-3-pro-image", "-i", "fox.png", "-o", "x.png")
    assert fake.context_log[-1]["verdict"] == "fresh"          # the context of turn 1 is gone


def test_a_rewritten_signature_loses_context(fake) -> None:
    """The fake's own check: a placeholder signature (CLIProxyAPI's) is not the one it issued."""
    contents = [{"role": "user", "parts": [{"text": "a fox"}]}]
    model = {"role": "model", "parts": [{"text": "Here.", "thoughtSignature": "abc"}]}
    fake_context.remember(fake, contents, model, {"turns": 1})
    ok = fake_context.judge(fake, [*contents, model, {"role": "user", "parts": [{"text": "again"}]}])
    assert ok["verdict"] == "kept"
    placeholder = {"role": "model", "parts": [{"text": "Here.", "thoughtSignature": "skip_thought_signature_validator"}]}
    lost = fake_context.judge(fake, [*contents, placeholder, {"role": "user", "parts": [{"text": "again"}]}])
    assert lost["verdict"] == "lost"
    moved = fake_context.judge(fake, [model, *contents, {"role": "user", "parts": [{"text": "again"}]}])
    assert moved["verdict"] == "lost"


def test_the_estimate_includes_the_history_and_covers_the_bill(run, fake, image_env) -> None:
    generate(run, image_env, "a red fox in snow", "-m", "gemini-3-pro-image", "-o", "fox.png")
    generate(run, image_env, "make the sky stormier", "--continue", "fox.png", "-o", "fox2.png")
    priced = run(main, "now at night", "--continue", "fox2.png", "--estimate-cost", env=image_env)
    assert priced.code == 0, priced.doc
    estimate = priced.doc["estimate"]
    history = [line for line in estimate["breakdown"] if line["item"].startswith("history")]
    assert history and history[0]["images"] == 2 and history[0]["usd"] > 0
    third = generate(run, image_env, "now at night", "--continue", "fox2.png", "-o", "fox3.png")
    billed = fake.context_log[-1]["billed_usd"]
    assert fake.context_log[-1]["verdict"] == "kept"
    assert third.doc["cost"]["estimate_usd"] >= billed > 0
    assert third.doc["cost"]["estimate_usd"] == pytest.approx(estimate["usd"])


def test_max_cost_counts_the_history(run, fake, fake_env) -> None:
    env = {**fake_env, "GEMINI_API_KEY": GEMINI_KEY}
    generate(run, env, "a red fox in snow", "-m", "gemini-3-pro-image", "-o", "fox.png")
    sent = len(fake.requests)
    refused = run(main, "make it night", "--continue", "fox.png", "--max-cost", "0.134", env=env)
    assert refused.code == 9, refused.doc                       # $0.134 per image + the re-sent history
    assert len(fake.requests) == sent


def test_an_edited_file_is_not_the_models_turn(run, fake, fake_env) -> None:
    env = {**fake_env, "GEMINI_API_KEY": GEMINI_KEY}
    generate(run, env, "a red fox in snow", "-m", "gemini-3-pro-image", "-o", "fox.png")
    Path("fox.png").write_bytes(Path("fox.png").read_bytes() + b"edited")
    refused = run(main, "make it night", "--continue", "fox.png", env=env)
    assert refused.code == 2
    assert "not the model's turn" in refused.doc["error"]["message"]
    assert "-i fox.png" in refused.doc["error"]["hint"]


def test_the_proxy_refuses_to_continue(run, fake, fake_env, base_env) -> None:
    generate(run, {**fake_env, "GEMINI_API_KEY": GEMINI_KEY}, "a red fox in snow", "-m", "gemini-3-pro-image",
             "-o", "fox.png")
    proxy = {**base_env, "CLIPROXY_URL": fake.urls["cliproxy"], "CLIPROXY_API_KEY": "test-proxy-key"}
    sent = len(fake.requests)
    refused = run(main, "make it night", "--continue", "fox.png", "--backend", "cliproxy", env=proxy)
    assert refused.code == 2, refused.doc
    assert "-i fox.png" in refused.doc["error"]["hint"]
    assert len(fake.requests) == sent


def test_over_the_vertex_inline_limit_the_continue_is_refused(run, fake, fake_env, tmp_path) -> None:
    key_file = fake.write_service_account(tmp_path / "sa.json")
    env = {**fake_env, "GOOGLE_APPLICATION_CREDENTIALS": str(key_file)}
    fake.config.image_noise = True
    fake.config.image_pixels_override = (1800, 1800)             # a noisy PNG of ~9.7 MB
    generate(run, env, "static", "-m", "gemini-3-pro-image", "-o", "big.png")
    fake.config.image_noise = False
    sent = len(fake.requests)
    refused = run(main, "calmer", "--continue", "big.png", env=env)
    assert refused.code == 2, refused.doc
    assert "7 MB" in refused.doc["error"]["message"] and "Branch" in refused.doc["error"]["hint"]
    assert len(fake.requests) == sent


def test_mcp_continue_image_and_show_session(fake, fake_env) -> None:
    """The MCP tools run the same use cases: continue_image keeps context; show_session shows the chain."""
    import io

    from mediagen.app.choices import field_choices
    from mediagen.mcp.tools import ReportingConsole, run_tool
    from mediagen.mcp.toolset import build_specs

    env = {**fake_env, "GEMINI_API_KEY": GEMINI_KEY}
    specs = build_specs(field_choices({}))

    def call(tool, **arguments):
        result = run_tool(specs[tool], arguments, env=env, console=ReportingConsole(io.StringIO()))
        assert result.ok, result.doc
        return result.doc

    first = call("generate_image", prompt="a red fox in snow", model="gemini-3-pro-image", output_dir="out")
    path = first["images"][0]["path"]
    second = call("continue_image", prompt="make the sky stormier", continue_from=path)
    assert fake.context_log[-1]["verdict"] == "kept"
    session = second["images"][0]["session"]
    assert session["parent"] == "1" and second["continued"]["history_images"] == 1
    listed = call("list_sessions")
    assert listed["sessions"][0]["session_id"] == session["id"]
    shown = call("show_session", session_id=session["id"])
    assert shown["chains"] == ["1 -> 2"]
