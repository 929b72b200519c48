"""Human-facing progress on stderr, and the warnings list of the JSON result.

Scripts hand their stderr stream to a ``Console``; the package never touches
``sys.stderr`` itself. Everything written is redacted first. Without a
terminal (a pipe, a log, an agent reading the output) polling updates are
thinned to one line per state change or per ``progress_interval_s``
(the ``progress_interval_s`` setting), and lines said ``info_once`` (the
backend choice) are said once however many plans repeat them.
"""
from __future__ import annotations

import threading
import time
from typing import Callable, TextIO

from mediagen.core.redaction import redact_text

DEFAULT_PROGRESS_INTERVAL_S = 15.0


class Console:
    """Writes progress lines to stderr and remembers warnings for stdout's JSON."""

    def __init__(self, stream: TextIO, *, quiet: bool = False, clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.quiet = quiet
        self.warnings: list[str] = []
        self.progress_interval_s = DEFAULT_PROGRESS_INTERVAL_S
        self._clock = clock
        self._started = clock()
        self._bar_open = False
        self._lock = threading.Lock()
        self._said: set[str] = set()
        self._shown_at: dict[str, float] = {}

    @property
    def is_tty(self) -> bool:
        isatty = getattr(self.stream, "isatty", None)
        return bool(isatty and isatty())

    def info(self, message: str) -> None:
        """A progress line (suppressed with ``quiet``)."""
        if not self.quiet:
            self._write(f"mediagen: {message}")

    def info_once(self, message: str) -> None:
        """A progress line said at most once per run (plans of several shots repeat it)."""
        with self._lock:
            if message in self._said:
                return
            self._said.add(message)
        self.info(message)

    def warn(self, message: str) -> None:
        """A warning: shown on stderr and returned in the result's ``warnings``."""
        message = redact_text(message)
        if message not in self.warnings:
            self.warnings.append(message)
            self._write(f"mediagen: warning: {message}")

    def progress(self, state: str, elapsed_s: float, fraction: float | None = None) -> None:
        """One polling update: a redrawn bar on a terminal, else a line when ``state`` is new or an interval passed."""
        if self.quiet:
            return
        text = f"{state} - {elapsed_s:5.0f}s elapsed"
        if self.is_tty:
            bar = ""
            if fraction is not None:
                filled = int(max(0.0, min(1.0, fraction)) * 20)
                bar = "[" + "#" * filled + "." * (20 - filled) + "] "
            self.stream.write(f"\rmediagen: {bar}{text}   ")
            self.stream.flush()
            self._bar_open = True
        elif self._due(state):
            self._write(f"mediagen: {text}")

    def _due(self, state: str) -> bool:
        """True when ``state`` was not shown in the last ``progress_interval_s`` (a new state always is)."""
        now = self._clock()
        with self._lock:
            last = self._shown_at.get(state)
            if last is not None and now - last < self.progress_interval_s:
                return False
            self._shown_at[state] = now
            return True

    def elapsed(self) -> float:
        return self._clock() - self._started

    def _write(self, line: str) -> None:
        if self._bar_open:
            self.stream.write("\n")
            self._bar_open = False
        self.stream.write(redact_text(line) + "\n")
        self.stream.flush()
