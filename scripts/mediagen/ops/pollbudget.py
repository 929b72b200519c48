"""One poll schedule per process: concurrent jobs share at most ``polls_per_minute`` polls (default 60).

Every job keeps its own schedule (``lro.Schedule``), but before each poll it
books a slot here. A slot is granted at the time the job asked for when the
process has polls to spare, else at the earliest time that keeps both limits:
at most ``per_minute`` polls in any 61 s (a second of slack for the time a
poll takes to reach the server), and at most two in any
``120 / per_minute`` s (2 s at the default), so the polls of many jobs are
spread out rather than spent in a burst. One job polling every 2 s is never
held back; twenty share one poll a second, each in turn.
"""
from __future__ import annotations

import bisect
import threading
import time
from typing import Any, Callable

DEFAULT_POLLS_PER_MINUTE = 60
BURST = 2                       # polls allowed in the short window
SLACK_S = 1.0                   # the minute is counted a second longer: a poll reaches the server after its slot


class PollBudget:
    """Slots for polls, shared by the jobs of one process (thread-safe; times on ``clock``)."""

    def __init__(self, per_minute: float = DEFAULT_POLLS_PER_MINUTE,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = float(per_minute)
        self.clock = clock
        self._slots: list[float] = []
        self._lock = threading.Lock()

    def limits(self) -> tuple[tuple[float, int], ...]:
        """(window seconds, polls allowed in any such window)."""
        per_minute = max(1.0, self.per_minute)
        return (60.0 + SLACK_S, int(per_minute)), (60.0 * BURST / per_minute, BURST)

    def book(self, at: float) -> float:
        """Book the earliest slot at or after ``at`` that keeps the limits; return its time."""
        with self._lock:
            now = self.clock()
            self._slots = self._slots[bisect.bisect_left(self._slots, now - 60.0 - SLACK_S):]
            slot = max(at, now)
            while True:
                later = self._conflict(slot)
                if later is None:
                    bisect.insort(self._slots, slot)
                    return slot
                slot = later

    def release(self, slot: float) -> None:
        """Give back a slot that will not be used (the job stopped waiting)."""
        with self._lock:
            index = bisect.bisect_left(self._slots, slot)
            if index < len(self._slots) and self._slots[index] == slot:
                del self._slots[index]

    def _conflict(self, slot: float) -> float | None:
        """None when ``slot`` fits; else the next time a booked slot leaves one of the windows."""
        for window, allowed in self.limits():
            # Only slots closer than one window can share a window with ``slot``.
            near = self._slots[bisect.bisect_right(self._slots, slot - window):
                               bisect.bisect_left(self._slots, slot + window)]
            if len(near) < allowed:
                continue
            position = bisect.bisect_right(near, slot)
            merged = near[:position] + [slot] + near[position:]
            # every run of allowed + 1 consecutive slots with ``slot`` in it must span at least the window
            for first in range(max(0, position - allowed), min(position, len(merged) - allowed - 1) + 1):
                if merged[first + allowed] - merged[first] < window:
                    return min(s + window for s in near if s + window > slot)
        return None


_SHARED = PollBudget()


def shared_budget(settings: Any, clock: Any = None) -> PollBudget | None:
    """The process's budget, set to the ``polls_per_minute`` setting; None for a clock other than real time."""
    if clock is not None and getattr(clock, "monotonic", time.monotonic) is not time.monotonic:
        return None
    value = settings.get("polls_per_minute")
    _SHARED.per_minute = float(value) if value else DEFAULT_POLLS_PER_MINUTE
    return _SHARED
