"""Human-facing progress on stderr, and the warnings list of the JSON result.

Scripts hand their stderr stream to a ``Console``; the package never touches
``sys.stderr`` itself. Everything written is redacted first.
"""
from __future__ import annotations

import time
from typing import TextIO

from mediagen.core.redaction import redact_text


class Console:
    """Writes progress lines to stderr and remembers warnings for stdout's JSON."""

    def __init__(self, stream: TextIO, *, quiet: bool = False) -> None:
        self.stream = stream
        self.quiet = quiet
        self.warnings: list[str] = []
        self._started = time.monotonic()
        self._bar_open = False

    @property
    def is_tty(self) -> bool:
        isatty = getattr(self.stream, "isatty", None)
        return bool(isatty and isatty())

    def info(self, message: str) -> None:
        """A progress line (suppressed with ``quiet``)."""
        if not self.quiet:
            self._write(f"mediagen: {message}")

    def warn(self, message: str) -> None:
        """A warning: shown on stderr and returned in the result's ``warnings``."""
        message = redact_text(message)
        if message not in self.warnings:
            self.warnings.append(message)
            self._write(f"mediagen: warning: {message}")

    def progress(self, state: str, elapsed_s: float, fraction: float | None = None) -> None:
        """One polling update: a redrawn bar on a terminal, a plain line otherwise."""
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
        else:
            self._write(f"mediagen: {text}")

    def elapsed(self) -> float:
        return time.monotonic() - self._started

    def _write(self, line: str) -> None:
        if self._bar_open:
            self.stream.write("\n")
            self._bar_open = False
        self.stream.write(redact_text(line) + "\n")
        self.stream.flush()
