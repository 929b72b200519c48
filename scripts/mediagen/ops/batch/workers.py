"""Worker threads that grow and shrink with what the limiter's pace needs.

The online runner hands its image items to an ``ElasticPool``: it keeps as
many threads as ``wanted()`` says (the limiter's concurrency, sized from the
measured latency and the allowed rate), never more than the items still
queued. A thread beyond the wanted number leaves after its current item.
"""
from __future__ import annotations

import collections
import threading
from typing import Callable, Generic, TypeVar

T = TypeVar("T")
CHECK_S = 0.05        # how often the pool looks at ``wanted()`` while items are queued


class ElasticPool(Generic[T]):
    """Runs tasks on a number of threads that follows ``wanted()``; tasks must not raise."""

    def __init__(self, wanted: Callable[[], int], name: str = "worker") -> None:
        self.wanted = wanted
        self.name = name
        self.peak = 0
        self._cond = threading.Condition()
        self._live = 0
        self._queue: collections.deque[Callable[[], T]] = collections.deque()
        self._results: list[T] = []
        self._error: BaseException | None = None

    def run(self, tasks: list[Callable[[], T]]) -> list[T]:
        """Run every task; return their results in the order they finished."""
        with self._cond:
            self._queue.extend(tasks)
            while len(self._results) < len(tasks):
                if self._error is not None:
                    raise self._error
                self._grow()
                self._cond.wait(CHECK_S)
            return list(self._results)

    def _grow(self) -> None:
        target = min(max(1, self.wanted()), len(self._queue) + self._live)
        while self._live < target and self._queue:
            self._live += 1
            self.peak = max(self.peak, self._live)
            threading.Thread(target=self._work, name=f"{self.name}-{self._live}", daemon=True).start()

    def _work(self) -> None:
        while True:
            with self._cond:
                if not self._queue or self._live > max(1, self.wanted()):
                    self._live -= 1
                    self._cond.notify_all()
                    return
                task = self._queue.popleft()
            try:
                result = task()
            except BaseException as exc:  # noqa: BLE001 - a lost result would leave run() waiting forever
                with self._cond:
                    self._error = exc
                    self._live -= 1
                    self._cond.notify_all()
                return
            with self._cond:
                self._results.append(result)
                self._cond.notify_all()
