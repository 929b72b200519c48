"""The Interactions API, for Gemini Omni video (Gemini API and Vertex).

Bodies are snake_case throughout. Media go in ``input`` as content blocks
before the text; the text names them with prompt tags (``<FIRST_FRAME>``,
``<LAST_FRAME>``, ``<IMAGE_REF_n>``, ``<VIDEO_REF_n>``). Creates use
``background: true`` so the interaction id can be stored before polling. An
earlier Omni result is edited or extended through ``previous_interaction_id``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mediagen.wire.common import GenerationOutcome, MediaInput, MediaPayload

RUNNING_STATES = frozenset({"in_progress", "queued"})
SAFETY_WORDS = ("safety", "blocked", "prohibited", "responsible ai", "filtered")
# Every other status is a failure: those Google's SDK lists (google-genai 3.6.1 ``InteractionStatus``) and
# any it may add. ``idle`` and ``requires_continuation`` (stopped before the end) are never a finished video.
COMPLETED_STATES = frozenset({"completed"})
FAILED_STATES = frozenset({"failed", "incomplete", "cancelled", "budget_exceeded", "requires_action", "idle",
                           "requires_continuation"})


def media_block(item: MediaInput, kind: str) -> dict[str, Any]:
    """An ``image``/``video`` content block: inline base64, or a ``gs://`` URI on Vertex."""
    if item.gcs_uri:
        return {"type": kind, "mime_type": item.mime_type, "uri": item.gcs_uri}
    return {"type": kind, "mime_type": item.mime_type, "data": item.inline_data()}  # large: written in chunks


def tagged_prompt(prompt: str, *, first_frame: bool, last_frame: bool, references: int,
                  reference_videos: int) -> str:
    """Prefix the tags that bind input media to roles, unless the prompt already uses them."""
    tags = []
    if first_frame and "<FIRST_FRAME>" not in prompt:
        tags.append("<FIRST_FRAME>")
    if last_frame and "<LAST_FRAME>" not in prompt:
        tags.append("<LAST_FRAME>")
    tags += [f"<IMAGE_REF_{i}>" for i in range(references) if f"<IMAGE_REF_{i}>" not in prompt]
    tags += [f"<VIDEO_REF_{i}>" for i in range(reference_videos) if f"<VIDEO_REF_{i}>" not in prompt]
    return f"{' '.join(tags)} {prompt}".strip() if tags else prompt


def build_request(model: str, prompt: str, *, backend: str, first_frame: MediaInput | None = None,
                  last_frame: MediaInput | None = None, references: list[MediaInput] | None = None,
                  reference_videos: list[MediaInput] | None = None, video: MediaInput | None = None,
                  previous_interaction_id: str | None = None, task: str | None = None,
                  aspect_ratio: str | None = None, resolution: str | None = None, duration: int | None = None,
                  gcs_uri: str | None = None) -> dict[str, Any]:
    """The JSON body of a background Omni video interaction."""
    references = references or []
    reference_videos = reference_videos or []
    blocks: list[dict[str, Any]] = []
    for item in (first_frame, last_frame):
        if item is not None:
            blocks.append(media_block(item, "image"))
    blocks += [media_block(item, "image") for item in references]
    if video is not None:
        blocks.append(media_block(video, "video"))
    blocks += [media_block(item, "video") for item in reference_videos]
    text = tagged_prompt(prompt, first_frame=first_frame is not None, last_frame=last_frame is not None,
                         references=len(references), reference_videos=len(reference_videos))
    body: dict[str, Any] = {"model": model, "background": True}
    body["input"] = blocks + [{"type": "text", "text": text}] if blocks else text
    response_format: dict[str, Any] = {"type": "video"}
    for key, value in (("aspect_ratio", aspect_ratio), ("resolution", resolution),
                       ("duration", f"{int(duration)}s" if duration else None)):
        if value:
            response_format[key] = value
    if backend == "vertex" and gcs_uri:
        response_format.update({"delivery": "uri", "gcs_uri": gcs_uri})
    # The Gemini API documents an object; Vertex's docs use a one-element array.
    body["response_format"] = [response_format] if backend == "vertex" else response_format
    if previous_interaction_id:
        body["previous_interaction_id"] = previous_interaction_id
    if task:
        body["generation_config"] = {"video_config": {"task": task}}
    return body


@dataclass
class InteractionState:
    """One poll's answer: the status and, when finished, the outcome or errors."""

    interaction_id: str | None
    status: str
    outcome: GenerationOutcome | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.status not in RUNNING_STATES

    @property
    def failed(self) -> bool:
        """Finished without success: any status not known to be running or completed."""
        return self.done and self.status not in COMPLETED_STATES

    def failure(self) -> dict[str, Any]:
        """The error of a failed interaction, naming its status (its first error when it gave one)."""
        if self.errors:
            return {**self.errors[0], "status": self.status}
        known = "" if self.status in FAILED_STATES else " (a status mediagen does not know)"
        return {"code": self.status, "status": self.status,
                "message": f"the interaction ended with status '{self.status}'{known} and no finished video",
                "hint": "Nothing was saved. Check the project's usage for a charge before generating again."}


def interaction_id(doc: dict[str, Any]) -> str | None:
    """The id of a created interaction (what later polls and cancels address)."""
    value = doc.get("id")
    return str(value) if value else None


def cancel_url(interaction_url: str) -> str:
    """``.../interactions/{id}`` -> ``.../interactions/{id}/cancel`` (POSTed with ``cancel_body()``)."""
    return f"{interaction_url}/cancel"


def cancel_body() -> dict[str, Any]:
    """The (empty) body of an interaction cancel request."""
    return {}


def is_safety_error(error: dict[str, Any]) -> bool:
    """Whether an interaction error means safety filters stopped the generation."""
    text = f"{error.get('code', '')} {error.get('message', '')}".lower()
    return any(word in text for word in SAFETY_WORDS)


def parse_interaction(doc: dict[str, Any]) -> InteractionState:
    """Status and, once finished, the videos, text, usage and errors of the model's latest turn.

    The turn is read as Google's SDK reads it: every ``model_output`` step after
    the last ``user_input`` step (a video may sit in an earlier step than the
    closing text), or the legacy ``outputs`` list, which is one model output.
    """
    state = InteractionState(doc.get("id"), str(doc.get("status") or "in_progress").lower())
    state.errors = [e for e in doc.get("errors") or [] if isinstance(e, dict)]
    if not state.done:
        return state
    outcome = GenerationOutcome(usage=doc.get("usage") or {}, model_version=doc.get("model"),
                                response_id=doc.get("id"))
    texts: list[str] = []
    for step in latest_model_outputs(doc):
        if isinstance(step.get("error"), dict):
            state.errors.append(step["error"])
        _read_content(step.get("content"), outcome, texts)
    if not outcome.media and isinstance(doc.get("output_video"), dict):
        video = doc["output_video"]
        outcome.media.append(MediaPayload(video.get("mime_type") or "video/mp4", video.get("data"),
                                          uri=video.get("uri")))
    outcome.text = "\n".join(texts)
    outcome.filtered_reasons = [str(e.get("message") or e.get("code")) for e in state.errors]
    state.outcome = outcome
    return state


def latest_model_outputs(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``model_output`` steps after the last ``user_input`` step, in order.

    A reply without ``steps`` is the legacy shape (before May 2026): its
    ``outputs`` list holds the content blocks of one model output.
    """
    steps = doc.get("steps")
    if not isinstance(steps, list):
        outputs = doc.get("outputs")
        return [{"type": "model_output", "content": outputs}] if isinstance(outputs, list) and outputs else []
    turn: list[dict[str, Any]] = []
    for step in reversed(steps):
        kind = step.get("type") if isinstance(step, dict) else None
        if kind == "user_input":
            break
        if kind == "model_output":
            turn.append(step)
    return turn[::-1]


def _read_content(content: Any, outcome: GenerationOutcome, texts: list[str]) -> None:
    """Add a step's videos (inline data or uri) to ``outcome`` and its text blocks to ``texts``."""
    for block in content if isinstance(content, list) else []:
        if not isinstance(block, dict):
            continue
        kind, mime = block.get("type"), block.get("mime_type") or ""
        if kind == "video" or mime.startswith("video/"):
            if block.get("data") is not None:
                outcome.media.append(MediaPayload(mime or "video/mp4", block["data"]))
            elif block.get("uri"):
                outcome.media.append(MediaPayload(mime or "video/mp4", uri=block["uri"]))
        elif kind == "text" and isinstance(block.get("text"), str):
            texts.append(block["text"])


def file_id_from_uri(uri: str) -> str | None:
    """``.../v1beta/files/abc:download?alt=media`` -> ``abc`` (Files API URIs only)."""
    marker = "/files/"
    if marker not in uri:
        return None
    tail = uri.split(marker, 1)[1]
    return tail.split(":", 1)[0].split("?", 1)[0] or None


def video_output_tokens(usage: dict[str, Any]) -> int:
    """Output video tokens from an Interactions usage block."""
    for item in usage.get("output_tokens_by_modality") or []:
        if isinstance(item, dict) and str(item.get("modality", "")).lower() == "video":
            return int(item.get("tokens") or 0)
    return 0
