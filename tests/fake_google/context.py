"""Multi-turn image conversations: thought signatures issued, remembered and checked.

Gemini 3 image models keep context across turns only when the client sends
the model's earlier turns back verbatim, ``thoughtSignature`` values included
(field-news-2026-12.md §2). Google answers 200 either way, so a client that
drops or rewrites a signature cannot tell from the status. This fake can:

* every model turn it returns is remembered under each signature it carries,
  with the conversation (the request's ``contents``) that led to it;
* every request's ``contents`` is judged: ``fresh`` (no model turn: a new
  conversation), ``kept`` (every model turn is one this fake issued, byte for
  byte and in order, each preceded by exactly the history that produced it)
  or ``lost`` (anything else; ``reason`` says what);
* the verdict is appended to ``fake.context_log`` (with the depth in turns and
  the bill the fake computes from its own price table) and shown in the reply
  text, so a test asserts that context was kept, not just that the call worked.
"""
from __future__ import annotations

import json
from typing import Any

from .common import rand_b64

# The fake's own price table (USD per 1M tokens: input, output image tokens), Gemini API list prices
# (google-media-apis.md §8.1). Used only for ``billed_usd``: what the fake says it charged.
PRICES = {"gemini-3-pro-image": (2.00, 120.0), "gemini-3-pro-image-preview": (2.00, 120.0),
          "gemini-3.1-flash-image": (0.50, 60.0), "gemini-3.1-flash-image-preview": (0.50, 60.0),
          "gemini-nano-banana-2.1": (0.50, 60.0), "gemini-3.1-flash-lite-image": (0.50, 60.0),
          "gemini-2.5-flash-image": (0.30, 30.0)}
INPUT_IMAGE_TOKENS = 560


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def signatures(content: dict) -> list[str]:
    """The thought signatures of one content, in part order."""
    return [p["thoughtSignature"] for p in content.get("parts") or []
            if isinstance(p, dict) and isinstance(p.get("thoughtSignature"), str)]


def new_signature() -> str:
    """An opaque signature, long enough that a truncated copy never matches."""
    return rand_b64(48)


def judge(fake, contents: list[dict]) -> dict[str, Any]:
    """The verdict on a request's ``contents`` (camelCase, as validated)."""
    model_turns = [i for i, c in enumerate(contents) if isinstance(c, dict) and c.get("role") == "model"]
    if not model_turns:
        return {"verdict": "fresh", "turns": 1, "reason": "no earlier model turn was sent"}
    issued = fake.state.issued_turns
    conversation = None
    for index in model_turns:
        sent = contents[index]
        sigs = signatures(sent)
        if not sigs:
            return _lost(index, "the model turn carries no thoughtSignature")
        turn = issued.get(sigs[0])
        if turn is None:
            return _lost(index, "its signature was never issued (rewritten, truncated or a placeholder)")
        if _canon(sent) != _canon(turn["content"]):
            return _lost(index, "the model turn differs from what was returned (parts, order or signatures)")
        if _canon(contents[:index]) != _canon(turn["history"]):
            return _lost(index, "the model turn is not preceded by the history that produced it")
        conversation = conversation or turn["conversation"]
        if turn["conversation"] != conversation:
            return _lost(index, "the model turns come from different conversations")
    return {"verdict": "kept", "turns": len(model_turns) + 1, "conversation": conversation,
            "signatures": [s for i in model_turns for s in signatures(contents[i])]}


def _lost(index: int, reason: str) -> dict[str, Any]:
    return {"verdict": "lost", "turns": 1, "reason": f"contents[{index}]: {reason}"}


def remember(fake, contents: list[dict], content: dict, verdict: dict[str, Any]) -> None:
    """Remember a model turn just issued under each of its signatures."""
    if not signatures(content):
        return
    conversation = verdict.get("conversation") or rand_b64(9)
    turn = {"content": json.loads(_canon(content)), "history": json.loads(_canon(contents)),
            "conversation": conversation, "turn": verdict["turns"]}
    with fake._lock:
        for sig in signatures(content):
            fake.state.issued_turns[sig] = turn


def billed_usd(model_id: str, usage: dict) -> float | None:
    """What the fake charges for one answer: input tokens, and each output image at its quoted list price.

    Google quotes image output per image (1120 tokens at $120 / 1M is "$0.134"), so the image is billed at
    the token price rounded to the tenth of a cent, as the price list shows it.
    """
    prices = PRICES.get(model_id)
    if prices is None:
        return None
    image_out = sum(d.get("tokenCount", 0) for d in usage.get("candidatesTokensDetails") or []
                    if d.get("modality") == "IMAGE")
    return round(usage.get("promptTokenCount", 0) * prices[0] / 1e6 + round(image_out * prices[1] / 1e6, 3), 6)


def log(fake, service: str, model_id: str, verdict: dict[str, Any], usage: dict) -> dict[str, Any]:
    """Append the verdict for one answered request to ``fake.context_log``."""
    entry = {"service": service, "model": model_id, **verdict, "billed_usd": billed_usd(model_id, usage),
             "prompt_tokens": usage.get("promptTokenCount", 0)}
    with fake._lock:
        fake.context_log.append(entry)
    return entry


def note(verdict: dict[str, Any]) -> str:
    """The words the reply text carries, so the verdict is visible in the result too."""
    if verdict["verdict"] == "kept":
        return f" (context kept: turn {verdict['turns']})"
    if verdict["verdict"] == "lost":
        return f" (context lost: {verdict['reason']})"
    return ""
