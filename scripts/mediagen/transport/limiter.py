"""Adaptive pacing of billable requests: a start pace and a concurrency that follow the quota.

``AdaptiveLimiter`` decides when a request may start and how many may be in
flight; ``PacedTransport`` sends its billable requests (and their 429 retries)
through one. Batch runs share a limiter between their worker threads.

With a fixed concurrency (``--concurrency N``) only N bounds the requests until
the first 429. In *auto* mode (the default) nothing is known in advance: the
first ``PROBE_BURST`` requests start at once, then new ones at a probing pace
(``PROBE_RATE`` per second, doubling every window without a 429), and the
concurrency follows what the pace needs, from the
measured latency: about ``rate x latency`` requests in flight, never above
``MAX_CONCURRENCY``. Either way a 429 sets the pace to what the server accepted.
"""
from __future__ import annotations

import collections
import contextlib
import math
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from mediagen.transport.http import HttpRequest, RetryPolicy, Transport

MAX_CONCURRENCY = 256        # auto mode never has more requests in flight (nor connections open)
MIN_CONCURRENCY = 16         # auto mode's floor (as many as the old fixed default)
PROBE_BURST = 8              # auto mode: the first starts go at once (the old fixed default let 16 go)...
PROBE_RATE = 100.0           # ...then this many a second until the first 429, doubled every window
MARGIN_S = 0.05              # slack on the window for the gap between "started here" and "arrived there"
HEADROOM = 1.25              # in-flight requests allowed over rate x latency (latency varies)
LATENCY_WEIGHT = 0.3         # weight of the newest answer in the latency average


@dataclass
class _Start:
    """One request start the limiter counts (``rejected`` on a 429; ``answered`` once any answer came)."""

    at: float
    rejected: bool = False
    answered: bool = False


class AdaptiveLimiter:
    """Starts paced by a sliding window learned from 429 answers; concurrency fixed or following the pace.

    A 429 marks its request as rejected and sets the pace to the number of
    requests the server may be counting: those started in the last window,
    plus older ones still unanswered (a slow connection can reach the server
    late), minus the rejected ones. When the server asks for a wait longer
    than the window (a per-minute quota), new starts hold for that long too.
    Later 429s can only lower the pace. A pace that ran ``recover_s`` without a
    429 is "proven"; after a later dip (e.g. network jitter) the pace climbs
    back to it, one request per ``recover_s``, but never probes above it.

    ``concurrency=None`` is auto mode (see the module docstring).
    """

    def __init__(self, concurrency: int | None = None, rate: float | None = None, *, margin_s: float = MARGIN_S,
                 recover_s: float = 2.0, notify: Callable[[str], None] | None = None,
                 clock: Callable[[], float] = time.monotonic, maximum: int = MAX_CONCURRENCY,
                 probe_rate: float = PROBE_RATE) -> None:
        self.auto = concurrency is None
        self.maximum = max(1, int(maximum if concurrency is None else concurrency))
        self.concurrency = min(MIN_CONCURRENCY, self.maximum) if self.auto else self.maximum
        self.window = 1.0
        self.limit: int | None = None
        if rate:
            self.limit, self.window = (int(rate), 1.0) if rate >= 1 else (1, 1.0 / rate)
        self.proven: int | None = None
        self.margin_s = margin_s
        self.recover_s = recover_s
        self.probe_rate = probe_rate
        self.throttles = 0
        self.latency: float | None = None
        self.peak_concurrency = self.concurrency
        self.halted: str | None = None
        self._notify = notify or (lambda message: None)
        self._clock = clock
        self._cond = threading.Condition()
        self._active = 0
        self._starts: collections.deque[_Start] = collections.deque()
        self._first: float | None = None
        self._pause_until = 0.0
        self._last_throttle: float | None = None

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the ``concurrency`` slots (in auto mode, as many as the pace needs)."""
        with self._cond:
            while self._active >= self._resize(self._clock()):
                self._cond.wait(0.1 if self.auto else None)
            self._active += 1
        try:
            yield
        finally:
            with self._cond:
                self._active -= 1
                self._cond.notify_all()

    def pace(self, not_before: float = 0.0) -> _Start:
        """Wait until a request may start (and not before ``not_before``); record the start."""
        with self._cond:
            while True:
                now = self._clock()
                wait = self._wait_time(now, not_before)
                if wait <= 0:
                    start = _Start(now)
                    self._starts.append(start)
                    self._first = now if self._first is None else self._first
                    return start
                self._cond.wait(wait)

    def _wait_time(self, now: float, not_before: float) -> float:
        self._recover(now)
        wait = max(not_before, self._pause_until) - now
        if self.limit is None:
            return max(wait, self._probe_wait(now))
        self._prune(now)
        accepted = [s for s in self._starts if not s.rejected]
        if len(accepted) >= self.limit:
            wait = max(wait, accepted[len(accepted) - self.limit].at + self.window + self.margin_s - now)
        return wait

    def _probe_wait(self, now: float) -> float:
        """Auto mode before the first 429: starts spaced at the probing rate (no wait with a fixed concurrency)."""
        if not self.auto or len(self._starts) < PROBE_BURST:
            return 0.0
        return self._starts[-1].at + 1.0 / self.rate(now) - now

    def rate(self, now: float) -> float:
        """Starts per second the pace allows now: the learned (or given) limit, else the probing rate."""
        if self.limit is not None:
            return self.limit / (self.window + self.margin_s)
        if self._first is None:
            return self.probe_rate
        return self.probe_rate * 2 ** min(16.0, (now - self._first) / self.window)

    def _resize(self, now: float) -> int:
        """Auto mode: enough slots for the pace over the measured latency (plus one window's burst)."""
        if self.auto:
            latency = self.latency
            if latency is None:         # nothing answered yet: the latency is at least the time since the first start
                latency = now - self._first if self._first is not None else 0.0
            wanted = math.ceil(self.rate(now) * latency * HEADROOM) + (self.limit or 0) + 2
            self.concurrency = max(MIN_CONCURRENCY, min(self.maximum, wanted))
            self.peak_concurrency = max(self.peak_concurrency, self.concurrency)
        return self.concurrency

    def wanted_workers(self) -> int:
        """How many worker threads the pace needs now (the slots, plus a few saving their results)."""
        with self._cond:
            return self._resize(self._clock()) + (4 if self.auto else 0)

    def _prune(self, now: float) -> None:
        horizon = now - (self.window + self.margin_s) * 2
        while self._starts and self._starts[0].at < horizon and self._starts[0].answered:
            self._starts.popleft()

    def answered(self, start: _Start, *, succeeded: bool = False) -> None:
        """The server answered the request of ``start`` (a success also updates the measured latency)."""
        with self._cond:
            start.answered = True
            if succeeded and not start.rejected:
                took = max(0.0, self._clock() - start.at)
                self.latency = took if self.latency is None else (
                    (1 - LATENCY_WEIGHT) * self.latency + LATENCY_WEIGHT * took)
            self._cond.notify_all()

    def throttled(self, start: _Start, delay: float | None) -> None:
        """A request got 429: lower the pace to what the server accepted, pause for its delay."""
        with self._cond:
            now = self._clock()
            start.rejected = True
            self.throttles += 1
            self._last_throttle = now
            since = now - self.window - self.margin_s
            observed = max(1, sum(1 for s in self._starts if not s.rejected and (s.at >= since or not s.answered)))
            if self.limit is None or observed < self.limit:
                self.limit = observed
                self._notify(f"rate limited (HTTP 429): pacing new requests to {observed} per "
                             f"{self.window:g}s, as the server accepted")
            if delay and delay > self.window + self.margin_s:
                # A longer wait than one window means a longer quota (per minute): everyone holds.
                self._pause_until = max(self._pause_until, now + min(float(delay), 60.0))
            self._cond.notify_all()

    def _recover(self, now: float) -> None:
        if self.limit is None:
            return
        if self._last_throttle is not None and now - self._last_throttle < self.recover_s:
            return
        self.proven = max(self.proven or 0, self.limit)
        if self.limit < self.proven:
            self.limit += 1
            self._last_throttle = now

    def halt(self, reason: str) -> None:
        """Stop starting new items (e.g. a quota that retries cannot clear)."""
        with self._cond:
            self.halted = self.halted or reason
            self._cond.notify_all()


class PacedTransport(Transport):
    """A transport whose billable requests (and their 429 retries) go through an ``AdaptiveLimiter``."""

    def __init__(self, limiter: AdaptiveLimiter, *, retry: RetryPolicy,
                 announce: Callable[[str], None] | None = None, session: Any = None) -> None:
        super().__init__(session, retry=retry, on_retry=self._retrying, sleep=self._wait)
        self.limiter = limiter
        self._announce = announce or (lambda message: None)
        self._start: _Start | None = None

    def send(self, request: HttpRequest, auth: Any = None, *, stream: bool = False) -> Any:
        """Billable requests take a slot and a paced start; others go straight through."""
        if not request.billable:
            self._start = None
            return super().send(request, auth, stream=stream)
        with self.limiter.slot():
            self._start = self.limiter.pace()
            try:
                response = super().send(request, auth, stream=stream)
            except BaseException:
                self.limiter.answered(self._start)
                raise
            self.limiter.answered(self._start, succeeded=True)
            return response

    def _retrying(self, request: HttpRequest, attempt: int, delay: float, reason: str) -> None:
        if self._start is not None:
            self.limiter.answered(self._start)
            if reason == "HTTP 429":
                self.limiter.throttled(self._start, delay)
        self._announce(f"{request.label or request.method}: {reason}; retrying in {delay:.1f}s "
                       f"(attempt {attempt + 1})")

    def _wait(self, delay: float) -> None:
        if self._start is None:
            time.sleep(delay)
            return
        self._start = self.limiter.pace(not_before=time.monotonic() + delay)
