"""Use case: list conversation sessions and show one as a tree (``sessions.py``; MCP ``list_sessions``,
``show_session``). Free and local: nothing is sent."""
from __future__ import annotations

from mediagen.app.context import Context
from mediagen.app.generation import resolve
from mediagen.app.outcome import Outcome
from mediagen.app.requests import SessionQuery
from mediagen.core import errors
from mediagen.core.resources import script_command
from mediagen.ops.session_views import detail, summary
from mediagen.ops.sessions import store_for


def session_command(query: SessionQuery, ctx: Context) -> Outcome:
    """``sessions.py list`` (newest first) or ``sessions.py show ID`` (every turn, the chains, a tree)."""
    settings = resolve(query, ctx, None)
    store = store_for(settings)
    if query.action == "list":
        found, damaged = store.list()
        document = {"store": str(store.folder), "sessions": [summary(s) for s in found[: query.limit]],
                    "total": len(found)}
        if damaged:
            document["damaged"] = damaged
        return Outcome(document)
    if not query.session_id:
        raise errors.UsageError("show needs a session id",
                                f"Run {script_command('sessions.py', 'list')} to see the session ids.")
    return Outcome({"store": str(store.folder), **detail(store.get(query.session_id))})
