"""Continuing a conversation from a saved result, and recording every result as a session turn.

``--continue RESULT`` finds RESULT's turn through its sidecar (``session``:
id, turn, parent), checks that the file is still the one the model returned
(its SHA-256), and rebuilds the history of that turn's branch from the session
store: for images the earlier ``contents`` verbatim (user turns as sent, model
turns as received, every part and ``thoughtSignature`` in order, thought parts
included, as google-genai's chat history re-sends them). The sidecar also
supplies the model, backend and format, so the continuation goes to the model
that issued the signatures.

History policy (design/decisions/0008): every earlier turn of the branch is
re-sent, priced as input tokens, and capped by ``--max-cost`` like any cost.
Over a surface's inline limit (Vertex: 7 MB per inline image; the Gemini API:
100 MB per request) the continuation is refused with a hint to branch from an
earlier turn or to start again with ``-i``: whether a signature stays valid
when its image is re-sent as a file reference is not documented.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mediagen.config.settings import Layer, Settings
from mediagen.core import errors
from mediagen.core.console import Console
from mediagen.ops.output import Sidecar, load_sidecar
from mediagen.ops.sessions import (Session, SessionRecord, SessionStore, media_refs, rebuild_content,
                                   store_content, store_for)

MB = 1024 * 1024
# What one continued request may carry inline: per image (Vertex) or in all (the Gemini API, 100 MB request).
INLINE_IMAGE_LIMITS = {"vertex": 7 * MB}
INLINE_REQUEST_LIMITS = {"gemini-api": 100 * 1000 * 1000}
INHERITED_IMAGE_KEYS = ("model", "backend", "location", "project_id", "aspect_ratio", "image_size", "thinking_level")
PROXY_HINT = ("CLIProxyAPI replaces or sanitises thought signatures, so the model would silently lose the earlier "
              "turns. Pass the earlier image as an input instead: -i {path} (a new conversation), or continue on "
              "the Gemini API or Vertex (--backend gemini-api|vertex).")


@dataclass
class Continuation:
    """The turn being continued and the history its branch re-sends."""

    source: Path
    session: SessionRecord
    turn: dict[str, Any]
    store: SessionStore
    history: list[dict[str, Any]] = field(default_factory=list)
    image_bytes: list[int] = field(default_factory=list)      # decoded size of each image in the history
    text_tokens: int = 0

    @property
    def history_images(self) -> int:
        return len(self.image_bytes)

    def describe(self) -> dict[str, Any]:
        """What the result says about the continued turn."""
        return {"session": self.session.session_id, "turn": self.turn["turn"], "from": str(self.source),
                "history_turns": len(self.history) // 2, "history_images": self.history_images}


# -- finding the turn a result came from ----------------------------------------------------------------

def locate(target: str, store: SessionStore, *, kind: str) -> tuple[Sidecar, SessionRecord, dict[str, Any]]:
    """The sidecar, session and turn of a saved result, or a ``UsageError`` (exit 2) saying what to do instead."""
    path = Path(target).expanduser()
    if not path.is_file():
        raise errors.UsageError(f"--continue {target}: file not found",
                                "Pass a result saved by mediagen (an image or clip with its .json sidecar).")
    sidecar = load_sidecar(path)
    ref = (sidecar.session if sidecar else None) or {}
    if not ref.get("id") or not ref.get("turn"):
        raise errors.UsageError(f"--continue {target}: no conversation is recorded for this file",
                                f"Only results saved by mediagen with a session can be continued; use it as an input "
                                f"instead: {_input_flag(kind)} {path}.", details={"file": str(path)})
    session = store.get(str(ref["id"]))
    turn = session.turn(str(ref["turn"]))
    _check_unchanged(path, sidecar, turn, kind)
    return sidecar, session, turn        # type: ignore[return-value]


def _check_unchanged(path: Path, sidecar: Sidecar | None, turn: dict[str, Any], kind: str) -> None:
    """A file edited or transcoded since it was saved is not the model's turn: refuse, offering it as an input."""
    digest = _sha256(path)
    known = {f.get("sha256") for f in turn.get("files") or []} | {getattr(sidecar, "sha256", None)}
    if digest in known:
        return
    raise errors.UsageError(
        f"--continue {path}: the file changed since mediagen saved it (its SHA-256 differs), so it is not the "
        "model's turn and continuing would re-send a turn the file no longer shows",
        f"Use it as an input instead (a new conversation): {_input_flag(kind)} {path}.",
        details={"file": str(path), "sha256": digest})


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _input_flag(kind: str) -> str:
    return "-i" if kind == "image" else "--video (or --extend-video)"


def inherited_layer(name: str, sidecar: Sidecar, keys: tuple[str, ...]) -> Layer:
    """Defaults from the continued result's sidecar: its model and backend first, then its format."""
    params = sidecar.parameters or {}
    values: dict[str, Any] = {}
    for key in keys:
        entry = params.get(key)
        value = entry.get("value") if isinstance(entry, dict) else entry
        if value is not None:
            values[key] = value
    values["model"] = (sidecar.model or {}).get("id") or values.get("model")
    backend = sidecar.backend or {}
    values["backend"] = backend.get("name") or values.get("backend")
    if backend.get("project_id"):
        values.setdefault("project_id", backend["project_id"])
    if sidecar.location:
        values.setdefault("location", sidecar.location)
    return Layer(name, {k: v for k, v in values.items() if v is not None})


# -- images ------------------------------------------------------------------------------------------------

def continue_image(settings: Settings) -> tuple[Settings, Continuation | None]:
    """For ``continue_from``: the settings with the result's defaults layered in, and its continuation."""
    target = settings.get("continue_from")
    if not target:
        return settings, None
    store = store_for(settings)
    sidecar, session, turn = locate(str(target), store, kind="image")
    if settings.get("images"):
        raise errors.UsageError("--continue and -i cannot be combined yet: the new turn is the prompt",
                                "Drop -i to continue, or drop --continue to start a new conversation with the "
                                "images as inputs.")
    cont = Continuation(Path(str(target)), session, turn, store)
    _load_history(cont)
    layer = inherited_layer(f"session:{session.session_id}#{turn['turn']}", sidecar, INHERITED_IMAGE_KEYS)
    return settings.with_layers([layer]), cont


def _load_history(cont: Continuation) -> None:
    """The branch's contents in order (user, model, user, model ...), media put back verbatim."""
    for item in cont.session.chain(cont.turn["turn"]):
        for key in ("user_content", "model_content"):
            stored = item.get(key)
            if not isinstance(stored, dict):
                raise errors.UsageError(
                    f"turn {item.get('turn')} of session {cont.session.session_id} has no {key.replace('_', ' ')} "
                    "to re-send (it was not made by a conversational image model)",
                    f"Use the result as an input instead: -i {cont.source}.")
            content = rebuild_content(cont.store, stored)
            cont.history.append(content)
            cont.image_bytes += [len(cont.store.media_bytes(ref)) for ref in media_refs(stored)]
            cont.text_tokens += _text_tokens(content)


def _text_tokens(content: dict[str, Any]) -> int:
    """Input tokens of a content's text parts (4 characters a token, rounded up: an estimate)."""
    texts = [p["text"] for p in content.get("parts") or [] if isinstance(p, dict) and isinstance(p.get("text"), str)]
    return sum(-(-len(t) // 4) for t in texts)


def check_image_target(cont: Continuation, backend: str, surface: str, model_id: str) -> None:
    """Refuse (exit 2) a continuation the backend or model cannot keep context for, before anything is sent."""
    if backend == "cliproxy":
        raise errors.UsageError("--continue is not available through CLIProxyAPI",
                                PROXY_HINT.format(path=cont.source))
    if surface != "generateContent":
        raise errors.UsageError(f"{model_id} has no conversation to continue (it is not a Gemini image model)",
                                f"Use the result as an input instead: -i {cont.source}.")
    made_by = cont.session.model
    if made_by and made_by != model_id:
        raise errors.UsageError(f"{cont.source} was made by {made_by}; its thought signatures are valid for that "
                                f"model only, not {model_id}",
                                f"Drop --model to continue with {made_by}, or start anew with -i {cont.source}.")
    if cont.session.backend and cont.session.backend != backend:
        raise errors.UsageError(f"{cont.source} was made on {cont.session.backend}; continue it there",
                                f"Drop --backend (the result's own backend is the default), or start anew on "
                                f"{backend} with -i {cont.source}.")
    _check_inline(cont, backend)


def _check_inline(cont: Continuation, backend: str) -> None:
    per_image = INLINE_IMAGE_LIMITS.get(backend)
    total = sum(-(-4 * size // 3) for size in cont.image_bytes)
    over = [size for size in cont.image_bytes if per_image and size > per_image]
    limit = INLINE_REQUEST_LIMITS.get(backend)
    if not over and not (limit and total > limit):
        return
    what = (f"an image of {max(over) / MB:.1f} MB (Vertex takes at most 7 MB per inline image)" if over else
            f"{total / 1e6:.0f} MB of inline images (the Gemini API takes at most 100 MB per request)")
    raise errors.UsageError(
        f"--continue {cont.source}: the history of {len(cont.history) // 2} turn(s) holds {what}",
        "Branch from an earlier, smaller turn (--continue on that result), or start a new conversation with the "
        f"result as an input: -i {cont.source}. (Re-sending history through the Files API or a bucket is not "
        "done: whether thought signatures survive a file reference is not documented.)")


def prepare_request(cont: Continuation | None, request: dict[str, Any], surface: str) -> None:
    """Check a continuation against the normalized ``request`` and add what its history costs (no-op without)."""
    if cont is None:
        return
    check_image_target(cont, request["backend"], surface, request["model"])
    request.update(pricing_keys(cont))


def pricing_keys(cont: Continuation | None) -> dict[str, int]:
    """The normalized request's history fields (what the re-sent turns cost as input tokens)."""
    if cont is None:
        return {}
    return {"history_images": cont.history_images, "history_tokens": cont.text_tokens}


# -- recording results -------------------------------------------------------------------------------------

class Recorder:
    """Records each call's result as a turn: one session per run, each call its own branch of the parent."""

    def __init__(self, store: SessionStore, continuation: Continuation | None, *, kind: str, backend: str,
                 model: str, console: Console) -> None:
        self.store = store
        self.session_id = continuation.session.session_id if continuation else None
        self.parent = continuation.turn["turn"] if continuation else None
        self.meta = {"kind": kind, "backend": backend, "model": model}
        self.console = console
        self._turns: dict[Any, Session] = {}

    def turn(self, key: Any, turn: dict[str, Any], file: dict[str, Any]) -> dict[str, Any] | None:
        """The session reference for a saved file of call ``key`` (the turn is written on its first file).

        A session that cannot be written is a warning: the paid result is safe, it just cannot be continued.
        """
        try:
            known = self._turns.get(key)
            if known is None:
                known = self._new_turn(turn, file)
                self._turns[key] = known
            else:
                self._add_file(known, file)
        except (errors.MediagenError, OSError) as exc:
            self.console.warn(f"the conversation of {file.get('path')} was not recorded ({exc}); it cannot be "
                              "continued with --continue, only used as an input")
            return None
        return known.to_dict()

    def _new_turn(self, turn: dict[str, Any], file: dict[str, Any]) -> Session:
        for key in ("user_content", "model_content"):
            if turn.get(key) is not None:
                turn[key] = store_content(self.store, turn[key])
        session = self.store.add_turn(self.session_id, {"parent": self.parent, **turn, "files": [file]},
                                      **self.meta)
        self.session_id = session.session_id
        return session

    def _add_file(self, session: Session, file: dict[str, Any]) -> None:
        with self.store.locked(session.session_id):
            record = self.store.get(session.session_id)
            record.turn(session.turn).setdefault("files", []).append(file)
            self.store.write(record)


def recorder_for(plan: Any, console: Console) -> Recorder:
    """The recorder of an image plan's results (its continuation's session, or a new one)."""
    return Recorder(store_for(plan.settings), plan.conversation, kind="image", backend=plan.choice.backend,
                    model=plan.model_id, console=console)


def image_turn(plan: Any, index: int, outcome: Any, info: dict[str, Any]) -> tuple[dict, dict]:
    """What a saved image's turn keeps: the user turn as sent, the model turn as received, prompt and cost."""
    contents = (plan.http_requests[index].json or {}).get("contents") or []
    turn = {"prompt": plan.prompt, "user_content": contents[-1] if contents else None,
            "model_content": outcome.content, "response_id": outcome.response_id, "usage": outcome.usage or None,
            "cost": {"estimate_usd": plan.estimate.per_item_usd,
                     "actual_usd": plan.estimate.per_item_usd if plan.estimate.priced else None},
            "parameters": {k: plan.request.get(k) for k in ("aspect_ratio", "image_size") if plan.request.get(k)}}
    file = {"path": str(info["path"]), "sha256": info["sha256"], "mime_type": info["mime_type"]}
    return turn, file


# -- videos (Gemini Omni) ----------------------------------------------------------------------------------

VEO_HINT = ("Veo has no conversational edit. Instead: extend the clip (--extend-video {path}), edit it with a mask "
            "(--video {path} --mask MASK, Vertex), or make it with Gemini Omni (--model gemini-omni-1.2-flash) so "
            "its results can be continued.")
CONFLICTS = ("extend_video", "image", "last_frame", "video", "mask", "remix", "references")


def check_video_target(settings: Settings, provider: str, backend: str) -> None:
    """Refuse (exit 2) a video continuation nothing can honour: a Veo clip, conflicting inputs, a changed file."""
    target = str(settings["continue_from"])
    given = [key for key in CONFLICTS if settings.get(key) and settings.source(key) == "cli"]
    if given:
        raise errors.UsageError(f"--continue cannot be combined with --{given[0].replace('_', '-')}",
                                "The continued clip is the input; drop the other input (or drop --continue).")
    if provider != "omni":
        raise errors.UsageError(f"--continue {target}: the clip was made by Veo, which cannot continue a "
                                "conversation", VEO_HINT.format(path=target))
    path = Path(target).expanduser()
    sidecar = load_sidecar(path) if path.is_file() else None
    if sidecar is None:
        raise errors.UsageError(f"--continue {target}: no mediagen sidecar says how this clip was made",
                                f"Edit or extend it as an uploaded clip instead: --extend-video {target}.")
    if sidecar.sha256 and _sha256(path) != sidecar.sha256:
        raise errors.UsageError(
            f"--continue {target}: the file changed since mediagen saved it (its SHA-256 differs), so it is not the "
            "model's turn", f"Send it as an uploaded clip instead (a new conversation): --extend-video {target}.",
            details={"file": str(path)})


def continue_mode(settings: Settings) -> str:
    """The mode of a video continuation: ``--mode edit|extend`` when given (sent as the task), else edit."""
    forced = settings.get("mode")
    if forced and forced not in ("edit", "extend"):
        raise errors.ValidationError(f"--continue takes --mode edit or --mode extend, not {forced}",
                                     "Drop --mode (the prompt says what to change), or use edit or extend.")
    return forced or "edit"


def check_edit_source(caps: dict[str, Any], model_id: str, target: str, seconds: float | None,
                      gone: str | None) -> None:
    """Refuse (exit 2, before sending) a fallback whose clip is outside the model's edit-source limits."""
    limits = caps.get("edit_source_seconds") or {}
    low, high = limits.get("min"), limits.get("max")
    if seconds is None or (low is None or seconds >= low) and (high is None or seconds <= high):
        return
    uncertain = " (an UNCERTAIN limit from third parties)" if limits.get("uncertain") else ""
    raise errors.ValidationError(
        f"the stored interaction {gone} behind {target} is gone, and the clip ({seconds:.1f} s) cannot be sent "
        f"instead: {model_id} edits uploaded clips of {low}-{high} s{uncertain}",
        "Nothing was sent or billed. Trim the clip to fit and pass it with --extend-video, or generate a new clip.",
        details={"seconds": seconds, "limits": {"min": low, "max": high}})


def video_session(plan: Any) -> dict[str, Any]:
    """The session a video result joins: the continued (or extended) clip's, under its turn; else a new one."""
    target = plan.settings.get("continue_from") or plan.settings.get("extend_video")
    sidecar = (plan.extend_source or {}).get("sidecar") if target else None
    ref = (getattr(sidecar, "session", None) or {}) if sidecar is not None else {}
    body = plan.create.json if plan.create is not None else None
    return {"id": ref.get("id"), "parent": ref.get("turn"), "user_content": _without_media(body)}


def _without_media(value: Any) -> Any:
    """A request body as sent, long media strings replaced by their hash (kept for the record, not re-sent)."""
    if isinstance(value, dict):
        return {k: _without_media(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_media(v) for v in value]
    if isinstance(value, str) and len(value) > 256:
        return f"sha256:{hashlib.sha256(value.encode('ascii', 'replace')).hexdigest()} ({len(value)} characters)"
    return value


def record_video_turn(record: Any, videos: list[dict[str, Any]], actual: float | None, settings: Settings,
                      console: Console) -> dict[str, Any] | None:
    """Record a finished video job as a turn (None for jobs that join no session, e.g. storyboard shots)."""
    session = getattr(record, "session", None)
    if not isinstance(session, dict):
        return None
    turn = {"parent": session.get("parent"), "prompt": record.prompt, "mode": record.mode,
            "provider": record.provider, "job_id": record.job_id, "user_content": session.get("user_content"),
            "interaction_id": record.handle if record.provider == "omni" else None, "usage": record.usage,
            "cost": {"estimate_usd": record.estimate.get("estimate_usd"), "actual_usd": actual},
            "files": [{"path": v["path"], "sha256": v.get("sha256"), "mime_type": v.get("mime_type")}
                      for v in videos]}
    if (record.extend_source or {}).get("fallback"):
        turn["note"] = record.extend_source["fallback"]
    try:
        ref = store_for(settings).add_turn(session.get("id"), turn, kind="video", backend=record.backend.get("name"),
                                           model=record.model.get("id"))
    except (errors.MediagenError, OSError) as exc:
        console.warn(f"the conversation of job {record.job_id} was not recorded ({exc}); its clip can still be "
                     "extended, but not listed as a session turn")
        return None
    return ref.to_dict()
