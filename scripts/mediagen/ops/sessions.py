"""The durable session store: every generation's conversation, turn by turn, branchable.

A session is one JSON file (``<store>/<session_id>.json``, private, written
atomically under ``<session_id>.lock``, ``"schema": 1``) holding its turns.
Each turn names its ``parent`` turn (None for a first turn), so continuing an
earlier result starts a branch that carries only the history up to that
result. A turn keeps the exact ``content`` JSON sent (the user turn) and
received (the model turn, every part and ``thoughtSignature`` as returned),
except that inline media is stored once, by content hash, under
``<store>/media/`` and referenced from the content; rebuilding the history puts
the very same base64 text back. Like the job store, the files survive restarts
and any process (a script, ``jobs.py``, the MCP server) may append to them.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import secrets
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

from mediagen.config.settings import Settings
from mediagen.core import errors
from mediagen.core.files import atomic_path, atomic_write_bytes, atomic_write_text, describe_os_error, file_lock
from mediagen.core.paths import user_state_dir
from mediagen.core.resources import script_command
from mediagen.ops.records import Record
from mediagen.transport.bodies import Base64Of
from mediagen.wire.blobs import Blob

MEDIA_REF = "mediagen-media:sha256:"       # base64 of the stored bytes goes back here
TEXT_REF = "mediagen-text:sha256:"         # the stored text goes back here verbatim (non-canonical base64)


@dataclass(kw_only=True)
class Session:
    """Identity of one turn as results and sidecars name it."""

    session_id: str
    turn: str
    parent: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.session_id, "turn": self.turn, "parent": self.parent}


@dataclass(kw_only=True)
class SessionRecord(Record):
    """A session file: what kind of conversation it is, and its turns in the order they were made."""

    session_id: str
    kind: str = "image"
    created: str | None = None
    updated: str | None = None
    backend: str | None = None
    model: str | None = None
    turns: list[dict[str, Any]] = field(default_factory=list)

    def turn(self, turn_id: str) -> dict[str, Any]:
        """One turn by id, or ``UsageError`` naming how to see the session."""
        for item in self.turns:
            if item.get("turn") == turn_id:
                return item
        raise errors.UsageError(f"session {self.session_id} has no turn {turn_id}",
                                f"Run {script_command('sessions.py', 'show', self.session_id)} to see its turns.")

    def chain(self, turn_id: str) -> list[dict[str, Any]]:
        """The turns from the first one down to ``turn_id``: the history a continuation of it re-sends."""
        chain, seen = [], set()
        current: str | None = turn_id
        while current is not None and current not in seen:
            seen.add(current)
            item = self.turn(current)
            chain.append(item)
            current = item.get("parent")
        return list(reversed(chain))


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def new_session_id() -> str:
    """A sortable, unique id such as ``ses-20261205-114500-3fa9c1``."""
    return f"ses-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"


def default_session_dir(env: Mapping[str, str]) -> Path:
    """``$XDG_STATE_HOME/mediagen/sessions`` (``%LOCALAPPDATA%\\mediagen\\sessions`` on Windows)."""
    return user_state_dir(env) / "sessions"


def store_for(settings: Settings) -> SessionStore:
    """The store at ``session_store`` (config / ``MEDIAGEN_SESSION_STORE``) or the per-user default."""
    path = settings.get("session_store")
    return SessionStore(Path(path).expanduser() if path else default_session_dir(settings.env))


class SessionStore:
    """Session files ``<dir>/<id>.json`` with ``<id>.lock`` beside each, and media by hash in ``<dir>/media``."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.media = self.folder / "media"

    def path(self, session_id: str) -> Path:
        """The file of ``session_id`` (ids with path separators are refused)."""
        if not session_id or any(c in session_id for c in "/\\") or session_id.startswith("."):
            raise errors.UsageError(f"not a session id: {session_id!r}",
                                    f"Run {script_command('sessions.py', 'list')} to see session ids.")
        return self.folder / f"{session_id}.json"

    @contextmanager
    def locked(self, session_id: str, timeout: float = 30.0) -> Iterator[None]:
        """Hold the session's lock: one writer at a time, whichever process it is."""
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            with file_lock(self.folder / f"{session_id}.lock", timeout=timeout):
                yield
        except TimeoutError as exc:
            raise errors.StillRunning(f"session {session_id} is busy in another process",
                                      "Try again in a moment.") from exc

    def get(self, session_id: str) -> SessionRecord:
        """The session, ``UsageError`` when there is none, ``ConfigError`` naming a damaged file."""
        path = self.path(session_id)
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise errors.UsageError(f"no session {session_id} in {self.folder}",
                                    f"Run {script_command('sessions.py', 'list')} (or set MEDIAGEN_SESSION_STORE to "
                                    "the store that has it).") from exc
        except (OSError, ValueError) as exc:
            raise _damaged(path, str(exc)) from exc
        if not isinstance(doc, dict):
            raise _damaged(path, f"it holds a JSON {type(doc).__name__}, not an object")
        try:
            record = SessionRecord.from_json(doc)
        except TypeError as exc:
            raise _damaged(path, str(exc)) from exc
        problems = record.problems()
        if problems:
            raise _damaged(path, "; ".join(problems))
        return record

    def add_turn(self, session_id: str | None, turn: dict[str, Any], **meta: Any) -> Session:
        """Append ``turn`` (its ``parent`` set) to a session; a new session when ``session_id`` is None."""
        session_id = session_id or new_session_id()
        with self.locked(session_id):
            if self.path(session_id).exists():
                record = self.get(session_id)
            else:
                record = SessionRecord.of(session_id=session_id, created=now_iso(), **meta, turns=[])
            turn_id = str(len(record.turns) + 1)
            record.turns.append({"turn": turn_id, "created": now_iso(), **turn})
            record.set(updated=now_iso())
            self.write(record)
        return Session(session_id=session_id, turn=turn_id, parent=turn.get("parent"))

    def list(self) -> tuple[list[SessionRecord], list[str]]:
        """Every readable session, newest first, and the problems of the files that are not."""
        if not self.folder.is_dir():
            return [], []
        found, damaged = [], []
        for path in sorted(self.folder.glob("*.json")):
            try:
                found.append(self.get(path.stem))
            except errors.ConfigError as exc:
                damaged.append(exc.message)
            except errors.UsageError:
                continue                # vanished while listing
        return sorted(found, key=lambda r: r.updated or r.created or "", reverse=True), damaged

    def write(self, record: SessionRecord) -> None:
        text = json.dumps(record.to_json(), indent=1, ensure_ascii=False)
        try:
            atomic_write_text(self.path(record.session_id), text + "\n", private=True)
        except OSError as exc:
            raise errors.ConfigError(f"cannot write the session {record.session_id}: {describe_os_error(exc)}",
                                     "Check the session store folder (MEDIAGEN_SESSION_STORE).") from exc

    # -- media by content hash ----------------------------------------------------------------------

    def put_media(self, data: bytes) -> str:
        """Keep ``data`` once under its SHA-256 (private); return the hash."""
        digest = hashlib.sha256(data).hexdigest()
        path = self.media / digest
        if not path.exists():
            self.media.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(path, data, private=True)
        return digest

    def put_media_file(self, source: Path) -> str:
        """Keep the file ``source`` once under its SHA-256, copied without reading it whole; return the hash."""
        digest = hashlib.sha256()
        with open(source, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 16), b""):
                digest.update(block)
        path = self.media / digest.hexdigest()
        if not path.exists():
            self.media.mkdir(parents=True, exist_ok=True)
            with atomic_path(path, private=True) as tmp:
                shutil.copyfile(source, tmp)
        return digest.hexdigest()

    def media_bytes(self, digest: str) -> bytes:
        """The stored bytes of ``digest``, checked against it (a damaged copy is a ``ConfigError``)."""
        path = self.media / digest
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise _damaged(path, f"the media it names is missing ({describe_os_error(exc)})") from exc
        if hashlib.sha256(data).hexdigest() != digest:
            raise _damaged(path, "the stored media no longer matches its hash")
        return data


def _damaged(path: Path, problem: str) -> errors.ConfigError:
    return errors.ConfigError(f"the session file {path} is damaged: {problem}",
                              "Inspect the file, then repair or move it away; "
                              f"{script_command('sessions.py', 'list')} shows the other sessions.",
                              details={"file": str(path), "problem": problem})


# -- contents: stored with media by reference, rebuilt verbatim ------------------------------------------

def store_content(store: SessionStore, content: Any) -> Any:
    """``content`` as JSON to keep: inline media replaced by references, spooled strings made plain."""
    if isinstance(content, dict):
        return {key: _stored_value(store, key, value) for key, value in content.items()}
    if isinstance(content, list):
        return [store_content(store, item) for item in content]
    return _plain(content)


def _stored_value(store: SessionStore, key: str, value: Any) -> Any:
    if key in ("inlineData", "inline_data") and isinstance(value, dict) and value.get("data") is not None:
        return {k: (_media_ref(store, v) if k == "data" else store_content(store, v)) for k, v in value.items()}
    return store_content(store, value)


def _plain(value: Any) -> Any:
    if isinstance(value, Blob):
        return b"".join(value.chunks()).decode("ascii")
    return value


def _media_ref(store: SessionStore, value: Any) -> str:
    """A reference to the decoded media; the raw text itself when re-encoding would not give it back."""
    if isinstance(value, Base64Of):         # a large input sent from its bytes or its file: stored as it is
        data = value.data
        return MEDIA_REF + (store.put_media_file(data) if isinstance(data, Path) else store.put_media(data))
    text = _plain(value)
    data = base64.b64decode(text)
    if base64.b64encode(data).decode("ascii") == text:
        return MEDIA_REF + store.put_media(data)
    return TEXT_REF + store.put_media(text.encode("ascii"))


def rebuild_content(store: SessionStore, content: Any) -> Any:
    """Stored JSON back to the exact content: each media reference becomes its base64 text again."""
    if isinstance(content, dict):
        return {key: rebuild_content(store, value) for key, value in content.items()}
    if isinstance(content, list):
        return [rebuild_content(store, item) for item in content]
    if isinstance(content, str) and content.startswith(MEDIA_REF):
        return base64.b64encode(store.media_bytes(content[len(MEDIA_REF):])).decode("ascii")
    if isinstance(content, str) and content.startswith(TEXT_REF):
        return store.media_bytes(content[len(TEXT_REF):]).decode("ascii")
    return content


def media_refs(content: Any) -> list[str]:
    """The media hashes a stored content references, in order."""
    if isinstance(content, dict):
        return [ref for value in content.values() for ref in media_refs(value)]
    if isinstance(content, list):
        return [ref for item in content for ref in media_refs(item)]
    if isinstance(content, str) and content.startswith((MEDIA_REF, TEXT_REF)):
        return [content.split(":", 2)[2]]
    return []
