"""The long-running-job driver: poll schedules, the wait loop on a fake clock, finishing once."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from mediagen.core import errors
from mediagen.ops import batch_api, lro, videojobs
from mediagen.ops.jobstore import JobStore, VideoJob


class FakeClock(lro.Clock):
    """Time that moves only when the loop sleeps (wall = monotonic + 1000)."""

    def __init__(self) -> None:
        self.now = 0.0
        super().__init__(sleep=self._sleep, monotonic=lambda: self.now, wall=lambda: self.now + 1000.0)

    def _sleep(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Answer:
    done: bool
    state: str


def test_video_schedule_is_two_then_four_then_eight_seconds() -> None:
    schedule = videojobs.SCHEDULE
    assert [schedule.interval(t) for t in (0, 59.9, 60, 179.9, 180, 3600)] == [2, 2, 4, 4, 8, 8]
    assert schedule.fixed_at("0.2").interval(500) == 0.2 and schedule.fixed_at(None) == schedule
    assert videojobs.FIRST_POLL_S == {"veo": 10.0, "omni": 8.0}


def test_batch_schedule_is_ten_then_thirty_then_sixty_seconds() -> None:
    schedule = batch_api.SCHEDULE
    assert [schedule.interval(t) for t in (0, 59, 60, 599, 600, 7200)] == [10, 10, 30, 30, 60, 60]
    assert batch_api.FIRST_POLL_S == 5.0 and schedule.fixed_at(3).interval(0) == 3.0


def _job(tmp_path: Path, clock: FakeClock, first_poll_s: float = 10.0) -> tuple[JobStore, VideoJob]:
    store = JobStore(tmp_path)
    record = store.create(VideoJob.of(job_id="vid-1", state="running", handle="operations/1", polls=0,
                                      first_poll_s=first_poll_s, submitted_epoch=clock.wall()))
    return store, record


def _driver(answers: list[Answer], polled: list[float], clock: FakeClock) -> lro.Driver:
    def poll(record):
        polled.append(clock.now)
        return answers.pop(0)

    def still_running(record, waited):
        return errors.StillRunning(f"still running after {waited:.0f}s", "wait again")

    return lro.Driver(poll=poll, report=lambda record, answer: None,
                      finish=lambda answer: {"state": answer.state}, still_running=still_running)


def test_wait_polls_on_the_schedule_and_finishes(tmp_path: Path) -> None:
    clock = FakeClock()
    store, record = _job(tmp_path, clock)
    answers = [Answer(False, "running")] * 40 + [Answer(True, "succeeded")]
    polled: list[float] = []
    timing = lro.Timing.starting(lro.first_poll_at(record, 10.0, clock), videojobs.SCHEDULE, 1000.0, clock)
    doc = lro.wait_until_done(record, store, _driver(list(answers), polled, clock), timing)
    assert doc == {"state": "succeeded"}
    gaps = [round(b - a, 6) for a, b in zip(polled, polled[1:])]
    assert polled[0] == 10.0                                   # the model family's usual minimum time
    assert gaps[:30] == [2.0] * 30 and gaps[30:] == [4.0] * 10  # 2 s for the first minute, then 4 s
    stored = store.get("vid-1")
    assert stored.polls == 41 and stored.remote_state == "succeeded" and "_last_poll" not in stored.to_json()


def test_deadline_raises_still_running_and_poll_now_polls_once(tmp_path: Path) -> None:
    clock = FakeClock()
    store, record = _job(tmp_path, clock)
    polled: list[float] = []
    timing = lro.Timing.starting(lro.first_poll_at(record, 10.0, clock), videojobs.SCHEDULE, 5.0, clock)
    with pytest.raises(errors.StillRunning, match="after 5s"):
        lro.wait_until_done(record, store, _driver([Answer(False, "running")], polled, clock), timing)
    assert polled == [] and clock.now == 5.0                   # slept to the deadline, never polled
    now = lro.Timing.starting(lro.first_poll_at(record, 10.0, clock), videojobs.SCHEDULE, 0.0, clock,
                              poll_now=True)
    with pytest.raises(errors.StillRunning):
        lro.wait_until_done(record, store, _driver([Answer(False, "running")] * 3, polled, clock), now)
    assert polled == [5.0] and store.get("vid-1").polls == 1  # status: exactly one poll, at once


def test_an_answer_in_hand_finishes_without_polling(tmp_path: Path) -> None:
    clock = FakeClock()
    store, record = _job(tmp_path, clock)
    polled: list[float] = []
    timing = lro.Timing.starting(0.0, videojobs.SCHEDULE, 0.0, clock)
    doc = lro.wait_until_done(record, store, _driver([], polled, clock), timing, Answer(True, "succeeded"))
    assert doc == {"state": "succeeded"} and polled == [] and store.get("vid-1").polls == 0


def test_finish_once_skips_a_job_another_process_finished(tmp_path: Path) -> None:
    clock = FakeClock()
    store, _ = _job(tmp_path, clock)
    saved: list[str] = []

    def save(record):
        saved.append(record.job_id)
        return store.update(record.job_id, state="succeeded")

    assert lro.finish_once(store, "vid-1", save, lambda r: {"state": r.state}) == {"state": "succeeded"}
    assert lro.finish_once(store, "vid-1", save, lambda r: {"state": r.state}) == {"state": "succeeded"}
    assert saved == ["vid-1"]


def test_a_create_that_may_have_started_is_never_resent() -> None:
    assert lro.may_have_started(errors.RequestTimeout("t", "h"))
    assert lro.may_have_started(errors.ServerError("s", "h", status=500))
    assert not lro.may_have_started(errors.ServerError("s", "h", status=503))
    assert not lro.may_have_started(errors.ClientError("c", "h", status=400))


# -- the process's poll budget ---------------------------------------------------------------------

def test_twenty_jobs_share_sixty_polls_a_minute_and_one_job_keeps_its_schedule() -> None:
    clock = FakeClock()
    budget = lro.PollBudget(60, clock=clock.monotonic)
    polls: dict[int, list[float]] = {job: [] for job in range(20)}
    booked = sorted((budget.book(10.0), job) for job in range(20))     # all want their first poll at 10 s
    while booked and booked[0][0] < 600:
        at, job = booked.pop(0)
        clock.now = at
        polls[job].append(at)
        booked = sorted(booked + [(budget.book(at + 2.0), job)])        # each asks for its next poll 2 s later
    times = sorted(t for each in polls.values() for t in each)
    assert max(sum(1 for t in times if start <= t < start + 60) for start in times) == 60
    assert all(len(each) >= 25 for each in polls.values())              # every job gets its turn
    alone = lro.PollBudget(60, clock=clock.monotonic)
    mine = [alone.book(700.0 + 2 * n) for n in range(40)]
    assert mine == [700.0 + 2 * n for n in range(40)]                   # one job every 2 s: never held back


def test_a_busy_budget_delays_the_poll_and_a_slot_past_the_deadline_is_given_back(tmp_path: Path) -> None:
    clock = FakeClock()
    store, record = _job(tmp_path, clock)
    budget = lro.PollBudget(60, clock=clock.monotonic)
    other_jobs = [budget.book(10.0), budget.book(10.0)]                 # two polls at 10 s fill its 2 s window
    assert other_jobs == [10.0, 10.0]
    polled: list[float] = []
    timing = lro.Timing.starting(lro.first_poll_at(record, 10.0, clock), videojobs.SCHEDULE, 100.0, clock,
                                 budget=budget)
    answers = [Answer(False, "running"), Answer(True, "succeeded")]
    assert lro.wait_until_done(record, store, _driver(answers, polled, clock), timing) == {"state": "succeeded"}
    assert polled == [12.0, 14.0]
    short = lro.Timing.starting(clock.now + 10.0, videojobs.SCHEDULE, 11.0, clock, budget=budget)
    budget.book(clock.now + 10.0), budget.book(clock.now + 10.0)
    with pytest.raises(errors.StillRunning):
        lro.wait_until_done(record, store, _driver([], polled, clock), short)
    assert budget._slots == [10.0, 10.0, 12.0, 14.0, 24.0, 24.0] and polled == [12.0, 14.0]  # 26 s given back


def test_the_shared_budget_follows_the_setting_and_stays_out_of_fake_clocks() -> None:
    settings = {"polls_per_minute": 120}
    budget = lro.shared_budget(settings)
    assert budget is lro.shared_budget({}) and budget.per_minute == 60  # one per process; default 60
    assert lro.shared_budget(settings).per_minute == 120
    assert lro.shared_budget(settings, FakeClock()) is None
    assert lro.shared_budget(settings, lro.Clock()) is budget
    lro.shared_budget({})
