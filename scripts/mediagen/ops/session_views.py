"""Sessions as people read them: a one-line summary, a tree of turns, and the chains from first to last turn.

A session's turns form a tree (each names its parent); every path from a first
turn to a turn nobody continued is a chain, written ``1 -> 2 -> 3``. Two
chains that share a beginning are branches.
"""
from __future__ import annotations

from typing import Any, Iterable

from mediagen.ops.sessions import SessionRecord

ARROW = " -> "


def children(turns: Iterable[dict[str, Any]]) -> dict[str | None, list[str]]:
    """Turn ids by parent (None: the first turns), in the order they were made."""
    found: dict[str | None, list[str]] = {}
    for turn in turns:
        found.setdefault(turn.get("parent"), []).append(str(turn.get("turn")))
    return found


def chains(turns: list[dict[str, Any]]) -> list[str]:
    """Every path from a first turn to a turn with no continuation, as ``"1 -> 2 -> 3"``."""
    below = children(turns)
    paths: list[str] = []

    def walk(turn_id: str, path: list[str]) -> None:
        path = [*path, turn_id]
        if not below.get(turn_id):
            paths.append(ARROW.join(path))
        for child in below.get(turn_id, []):
            walk(child, path)

    for root in below.get(None, []):
        walk(root, [])
    return paths


def turn_cost(turn: dict[str, Any]) -> float | None:
    """A turn's actual cost (its estimate when the actual one is unknown)."""
    cost = turn.get("cost") or {}
    value = cost.get("actual_usd", cost.get("estimate_usd"))
    return float(value) if isinstance(value, (int, float)) else None


def summary(record: SessionRecord) -> dict[str, Any]:
    """One session in a listing: what it is, how long, what it cost, where its newest result is."""
    turns = record.turns
    costs = [c for c in (turn_cost(t) for t in turns) if c is not None]
    latest = next((f.get("path") for t in reversed(turns) for f in t.get("files") or []), None)
    return {"session_id": record.session_id, "kind": record.kind, "model": record.model,
            "backend": record.backend, "created": record.created, "updated": record.updated,
            "turns": len(turns), "branches": len(chains(turns)), "cost_usd": round(sum(costs), 6) if costs else None,
            "first_prompt": turns[0].get("prompt") if turns else None, "latest_file": latest}


def detail(record: SessionRecord) -> dict[str, Any]:
    """One session in full: every turn with its prompt, files and cost, the chains, and a text tree."""
    turns = [_turn_view(t) for t in record.turns]
    return {"session": {**summary(record), "turns": turns}, "chains": chains(record.turns),
            "tree": tree_lines(record.turns)}


def _turn_view(turn: dict[str, Any]) -> dict[str, Any]:
    view = {"turn": turn.get("turn"), "parent": turn.get("parent"), "created": turn.get("created"),
            "prompt": turn.get("prompt"), "files": [f.get("path") for f in turn.get("files") or []],
            "cost_usd": turn_cost(turn)}
    for key in ("interaction_id", "job_id", "mode", "note"):
        if turn.get(key):
            view[key] = turn[key]
    return view


def tree_lines(turns: list[dict[str, Any]]) -> list[str]:
    """The turns as an indented tree: ``turn N: "prompt" -> file ($cost)``, continuations below."""
    by_id = {str(t.get("turn")): t for t in turns}
    below = children(turns)
    lines: list[str] = []

    def walk(turn_id: str, depth: int) -> None:
        turn = by_id[turn_id]
        files = ", ".join(str(f.get("path")) for f in turn.get("files") or []) or "no file"
        cost = turn_cost(turn)
        shown = f"${cost:.4f}" if cost is not None else "unpriced"
        lines.append(f"{'  ' * depth}turn {turn_id}: {turn.get('prompt')!r} -> {files} ({shown})")
        for child in below.get(turn_id, []):
            walk(child, depth + 1)

    for root in below.get(None, []):
        walk(root, 0)
    return lines
