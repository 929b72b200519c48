"""The adaptive limiter and the online runner's worker pool: concurrency that follows the quota (fake clocks)."""
from __future__ import annotations

import math
import threading
import time

import pytest

from mediagen.cli.batch_gen import main
from mediagen.ops.batch.workers import ElasticPool
from mediagen.transport import limiter as lim
from mediagen.transport.limiter import AdaptiveLimiter
from tests.conftest import GEMINI_KEY


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_auto_mode_probes_fast_then_keeps_the_pace_the_server_accepted() -> None:
    clock = Clock()
    limiter = AdaptiveLimiter(clock=clock, margin_s=0.0)
    assert limiter.auto and limiter.concurrency == lim.MIN_CONCURRENCY and limiter.maximum == lim.MAX_CONCURRENCY
    first = limiter.pace()
    burst = [limiter.pace() for _ in range(lim.PROBE_BURST - 1)]                  # the first few go at once
    assert limiter._wait_time(0.0, 0.0) == pytest.approx(1 / lim.PROBE_RATE)      # then probing: 100 starts/s
    clock.now = 1.0
    assert limiter.rate(1.0) == pytest.approx(2 * lim.PROBE_RATE)                 # doubled after a clean window
    for start in [first, *burst]:
        limiter.answered(start, succeeded=True)
    assert limiter.latency == 1.0
    starts = [first]
    for _ in range(4):
        clock.now += 0.01                                                         # the probing pace: 200/s now
        starts.append(limiter.pace())
    limiter.throttled(starts[-1], 1.0)
    assert limiter.limit == 3                                                     # what the server accepted
    assert limiter._wait_time(clock.now, 0.0) == pytest.approx(0.97)              # a window after 1.01, no probing
    fixed = AdaptiveLimiter(8, clock=clock, margin_s=0.0)
    fixed.pace()
    assert not fixed.auto and fixed._wait_time(clock.now, 0.0) == 0.0             # --concurrency: unpaced until a 429


def test_auto_concurrency_grows_with_rate_and_latency_and_stays_under_the_maximum() -> None:
    clock = Clock()
    limiter = AdaptiveLimiter(clock=clock, rate=20, margin_s=0.05)
    start = limiter.pace()
    clock.now = 5.0
    assert limiter.wanted_workers() >= math.ceil(20 / 1.05 * 5.0)                 # before any answer: the elapsed time
    limiter.answered(start, succeeded=True)
    assert limiter.latency == pytest.approx(5.0)
    assert limiter._resize(5.0) == math.ceil(20 / 1.05 * 5.0 * lim.HEADROOM) + 20 + 2
    limiter.latency = 60.0                                                        # a slow model: capped
    assert limiter._resize(5.0) == lim.MAX_CONCURRENCY
    limiter.latency = 0.01                                                        # a fast one: one window's burst
    assert limiter._resize(5.0) == 1 + 20 + 2
    assert AdaptiveLimiter(clock=clock)._resize(0.0) == lim.MIN_CONCURRENCY       # the floor
    limiter.latency = 5.0
    before = limiter._resize(5.0)
    limiter.throttled(limiter.pace(), 1.0)                                        # a 429 lowers the pace...
    assert limiter.limit < 20 and limiter._resize(5.0) < before                   # ...and the concurrency with it
    assert AdaptiveLimiter(3, clock=clock)._resize(5.0) == 3                      # --concurrency 3 stays 3


def test_elastic_pool_follows_wanted_and_never_outgrows_the_queue() -> None:
    wanted = [2]
    gate = threading.Event()
    running: list[int] = []
    peak = [0]
    lock = threading.Lock()

    def task(n: int):
        def run() -> int:
            with lock:
                running.append(n)
                peak[0] = max(peak[0], len(running))
            gate.wait(5)
            time.sleep(0.01)
            with lock:
                running.remove(n)
            return n
        return run

    pool: ElasticPool[int] = ElasticPool(lambda: wanted[0])
    results: list[int] = []
    worker = threading.Thread(target=lambda: results.extend(pool.run([task(n) for n in range(40)])))
    worker.start()
    _until(lambda: len(running) == 2)
    time.sleep(0.15)
    assert len(running) == 2                                    # as many threads as wanted
    wanted[0] = 12
    _until(lambda: len(running) == 12)                          # the pool grows when the pace needs more
    wanted[0] = 3
    gate.set()
    worker.join(10)
    assert sorted(results) == list(range(40)) and pool.peak == 12 and peak[0] == 12
    small: ElasticPool[int] = ElasticPool(lambda: 50)
    assert sorted(small.run([lambda: 1, lambda: 2])) == [1, 2] and small.peak == 2   # never more than the items


def _until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_batch_without_concurrency_grows_past_the_old_default(run, fake, fake_env, tmp_path) -> None:
    fake.config.latency_s = 0.4
    source = tmp_path / "many.txt"
    source.write_text("".join(f"prompt {i}: a fox in the snow\n" for i in range(60)), encoding="utf-8")
    started = time.monotonic()
    result = run(main, str(source), "--approve", env={**fake_env, "GEMINI_API_KEY": GEMINI_KEY})
    assert result.code == 0 and result.doc["counts"]["succeeded"] == 60
    peak = int(result.stderr.split("up to ")[1].split()[0])
    assert peak > 16 and "auto, at most 256" in result.stderr   # the old fixed default was 16 at a time
    assert time.monotonic() - started < 16 * 0.4                # 60 items in fewer than 60/16 waves of 0.4 s
