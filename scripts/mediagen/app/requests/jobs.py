"""Queries of the job and session stores: ``jobs.py``, ``sessions.py`` and their MCP tools."""
from __future__ import annotations

from dataclasses import dataclass

from mediagen.app.requests import (CLI, DEFAULT_JOB_LIMIT, DEFAULT_WAIT_SECONDS, JOB_ACTIONS, MAX_WAIT_SECONDS, MCP,
                                   SESSION_ACTIONS, Where, arg)


@dataclass(frozen=True)
class JobQuery(Where):
    """List, check, wait for, download or cancel recorded jobs (``jobs.py``, MCP ``get_video`` and friends)."""

    action: str = arg("What to do with the job(s).", "list", choices=JOB_ACTIONS, setting=None)
    job_id: str | None = arg("Job id, as returned by start_video / extend_video or listed by list_jobs (ids from "
                             "video_gen.py and jobs.py work too).", setting=None)
    state: str | None = arg("list: only jobs in this state (or 'active').", setting=None)
    limit: int = arg("list: at most this many jobs (default 20).", DEFAULT_JOB_LIMIT, minimum=1, setting=None)
    wait_timeout: float | None = arg("wait: seconds before giving up (default 480).", faces=CLI, minimum=0,
                                     setting=None)
    wait_seconds: float | None = arg(
        f"How long to wait for the job in this call (0-{MAX_WAIT_SECONDS:.0f} s, default "
        f"{DEFAULT_WAIT_SECONDS:.0f}), sending progress notifications; a job still running then is returned "
        "with state 'running' (call again). 0 polls once.", faces=MCP, minimum=0, maximum=MAX_WAIT_SECONDS,
        setting=None)


@dataclass(frozen=True)
class SessionQuery(Where):
    """List conversation sessions, or show one as a tree of turns (``sessions.py``, MCP ``list_sessions`` and
    ``show_session``)."""

    action: str = arg("What to do: list the sessions, or show one.", "list", choices=SESSION_ACTIONS, setting=None)
    session_id: str | None = arg("Session id, as listed by list_sessions (or in a result's session.id).",
                                 setting=None)
    limit: int = arg("list: at most this many sessions (default 20).", DEFAULT_JOB_LIMIT, minimum=1, setting=None)
