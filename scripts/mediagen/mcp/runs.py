"""Background runs of the MCP server: storyboards and batches started now, collected by later calls.

A start tool prices and gates the run in the call itself (so a refusal comes
back at once), then hands ``Prepared.start`` to a worker thread and returns a
run id. A get tool waits for the thread at most 50 s per call. The runs'
durable state lives where the scripts keep it (the storyboard manifest, the
batch results file, the job store), so a run lost with this process is
resumed by starting it again, never paid twice.
"""
from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from mediagen.app.outcome import Outcome
from mediagen.core import errors
from mediagen.core.console import Console


@dataclass
class Run:
    """One background run: its thread's outcome or error, and its latest progress line."""

    run_id: str
    kind: str
    console: Console
    started: float = field(default_factory=time.monotonic)
    done: threading.Event = field(default_factory=threading.Event)
    outcome: Outcome | None = None
    error: BaseException | None = None


class LineConsole(Console):
    """A console that also remembers its latest line, for ``get_*`` progress."""

    def __init__(self, stream, on_line: Callable[[str], None]) -> None:     # noqa: ANN001 - any text stream
        super().__init__(stream)
        self._on_line = on_line

    def _write(self, line: str) -> None:
        super()._write(line)
        self._on_line(line.removeprefix("mediagen: "))


class Runs:
    """The runs this server process started."""

    def __init__(self) -> None:
        self._runs: dict[str, Run] = {}
        self._latest: dict[str, str] = {}
        self._lock = threading.Lock()

    def console_for(self, stream) -> tuple[str, Console]:        # noqa: ANN001 - any text stream
        """A new run id and the console its run writes to."""
        run_id = f"run-{secrets.token_hex(4)}"
        return run_id, LineConsole(stream, lambda line: self._latest.__setitem__(run_id, line))

    def start(self, run_id: str, kind: str, console: Console, work: Callable[[], Outcome]) -> Run:
        """Run ``work`` in a daemon thread under ``run_id``."""
        run = Run(run_id, kind, console)

        def target() -> None:
            try:
                run.outcome = work()
            except BaseException as exc:  # noqa: BLE001 - reported by the next get call
                run.error = exc
            finally:
                run.done.set()

        with self._lock:
            self._runs[run_id] = run
        threading.Thread(target=target, name=run_id, daemon=True).start()
        return run

    def wait(self, run_id: str, kind: str, seconds: float, tick: Callable[[str, float], None]) -> Run:
        """The run after waiting up to ``seconds`` for it, calling ``tick(latest line, elapsed)`` every second."""
        with self._lock:
            run = self._runs.get(run_id)
        if run is None or run.kind != kind:
            raise errors.UsageError(f"no {kind} run {run_id} in this server process",
                                    f"Runs live as long as the server process. Call start_{kind} again with the "
                                    "same arguments: finished work is kept and running jobs are resumed, never "
                                    "paid twice.")
        deadline = time.monotonic() + seconds
        while not run.done.wait(timeout=max(0.0, min(1.0, deadline - time.monotonic()))):
            tick(self.latest(run_id), time.monotonic() - run.started)
            if time.monotonic() >= deadline:
                break
        return run

    def latest(self, run_id: str) -> str:
        """The run's latest progress line."""
        return self._latest.get(run_id, "started")
