"""Long-running jobs, driven one way: record, create once, poll on a schedule, finish once.

Video jobs (Veo operations, Omni interactions) and Gemini Batch API jobs share
this skeleton. A job is recorded before its create request and its handle
right after it, before any poll; ``wait_until_done`` polls from any process
(never sending the create again) until the job is done or the deadline passes
(``StillRunning``: the job keeps running and can be resumed); ``finish_once``
saves the results under the job's lock, so two processes never download (or
bill the ledger) twice. Each kind of job supplies a ``Driver``: how to poll,
how to report a poll, how to finish, and what "still running" says. The jobs
of one process book their polls in one ``PollBudget`` (``ops/pollbudget.py``),
so many concurrent jobs never poll more than the ``polls_per_minute`` setting.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Protocol, TypeVar

from mediagen.config.credentials import BackendChoice, choose_backend
from mediagen.config.settings import Layer, Settings
from mediagen.core import errors
from mediagen.core.errors import may_have_started as may_have_started      # callers reach it through lro
from mediagen.ops.jobstore import TERMINAL_STATES, JobRecord, JobStore, now_iso
from mediagen.ops.pollbudget import PollBudget
from mediagen.ops.pollbudget import shared_budget as shared_budget      # the drivers' callers book through lro


@dataclass
class Clock:
    """Injectable time, so tests and benchmarks can run a schedule fast."""

    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time


@dataclass(frozen=True)
class Schedule:
    """Seconds between polls, by the time since the first poll: ``steps`` of (until, every), then ``then``.

    ``fixed`` (the ``poll_interval_s`` setting) replaces the whole schedule.
    """

    steps: tuple[tuple[float, float], ...]
    then: float
    fixed: float | None = None

    def interval(self, since_first_poll_s: float) -> float:
        """How long to wait after a poll made ``since_first_poll_s`` after the first one."""
        if self.fixed:
            return float(self.fixed)
        for until, every in self.steps:
            if since_first_poll_s < until:
                return every
        return self.then

    def fixed_at(self, interval: Any) -> Schedule:
        """This schedule, or one fixed ``interval`` when one is configured."""
        return Schedule(self.steps, self.then, float(interval) if interval else None)


@dataclass
class Submitted:
    """A job whose create call was accepted: its record, and an answer the create call already carried."""

    record: JobRecord
    initial: Any = None

    @property
    def job_id(self) -> str:
        """The recorded job's id."""
        return self.record.job_id


def record_accepted(store: JobStore, job_id: str, handle: str, **changes: Any) -> JobRecord:
    """Record the handle the create call returned, before any poll."""
    return store.update(job_id, state="running", handle=handle, **changes, submitted=now_iso(),
                        submitted_epoch=time.time())


def resume_choice(record: JobRecord, settings: Settings, kind: str) -> BackendChoice:
    """The backend and credential to poll a recorded job with (the job's backend and project)."""
    backend = record.backend
    layer = {"backend": backend["name"]}
    if backend.get("project_id"):
        layer["project_id"] = backend["project_id"]
    return choose_backend(settings.with_layers([Layer(f"job:{record.job_id}", layer)]), kind=kind)


def first_poll_at(record: JobRecord, first_s: float, clock: Clock) -> float:
    """Monotonic time of the first poll: ``first_s`` after submission (now, if that has passed)."""
    submitted = float(record.submitted_epoch or clock.wall())
    return clock.monotonic() + max(0.0, submitted + first_s - clock.wall())


def elapsed_s(record: JobRecord, clock: Clock) -> float:
    """Seconds since the job was submitted (for progress lines)."""
    return clock.wall() - float(record.submitted_epoch or clock.wall())


class Answer(Protocol):
    """What the loop needs from one poll's answer."""

    done: bool
    state: str


A = TypeVar("A", bound=Answer)


@dataclass
class Driver(Generic[A]):
    """One kind of job: how to poll it, report a poll, finish it, and say it is still running."""

    poll: Callable[[JobRecord], A]
    report: Callable[[JobRecord, A], None]
    finish: Callable[[A], dict[str, Any]]
    still_running: Callable[[JobRecord, float], errors.StillRunning]


@dataclass
class Timing:
    """When to poll: the first poll, the schedule after it, and the deadline (all on ``clock``)."""

    first_at: float
    schedule: Schedule
    deadline: float
    clock: Clock = field(default_factory=Clock)
    poll_now: bool = False          # poll once even past the deadline (jobs.py status/download)
    budget: PollBudget | None = None   # the process's shared poll budget (None: this job polls on its own)

    @classmethod
    def starting(cls, first_at: float, schedule: Schedule, timeout_s: float, clock: Clock, *,
                 poll_now: bool = False, budget: PollBudget | None = None) -> Timing:
        """A timing whose deadline is ``timeout_s`` from now; with ``poll_now`` the first poll is now."""
        now = clock.monotonic()
        return cls(now if poll_now else first_at, schedule, now + timeout_s, clock, poll_now, budget)

    def next_poll(self, last_poll: float | None) -> float:
        """Monotonic time of the next poll, given when the last one ended (None before the first)."""
        if last_poll is None:
            return self.first_at
        return last_poll + self.schedule.interval(max(0.0, last_poll - self.first_at))

    def book(self, last_poll: float | None) -> float:
        """The next poll's time, booked in the shared budget (later than the schedule's when polls are scarce)."""
        wanted = self.next_poll(last_poll)
        return self.budget.book(wanted) if self.budget is not None else wanted

    def unbook(self, slot: float) -> None:
        """Give back a booked slot that will not be used."""
        if self.budget is not None:
            self.budget.release(slot)


def wait_until_done(record: JobRecord, store: JobStore, driver: Driver[A], timing: Timing,
                    initial: A | None = None) -> dict[str, Any]:
    """Poll until the job is done, then finish it; past the deadline raise the driver's ``StillRunning``.

    ``initial`` is an answer already in hand (a create call that answered
    synchronously): a done one is finished without polling.
    """
    clock = timing.clock
    started = clock.monotonic()
    answer, last_poll = initial, None
    while answer is None or not answer.done:
        next_at = timing.book(last_poll)
        if next_at > timing.deadline and not (timing.poll_now and last_poll is None):
            timing.unbook(next_at)
            clock.sleep(max(0.0, timing.deadline - clock.monotonic()))
            raise driver.still_running(record, clock.monotonic() - started)
        clock.sleep(max(0.0, next_at - clock.monotonic()))
        answer = driver.poll(record)
        record = store.update(record.job_id, polls=record.polls + 1, last_poll=now_iso(), remote_state=answer.state)
        last_poll = clock.monotonic()
        driver.report(record, answer)
    return driver.finish(answer)


def finish_once(store: JobStore, job_id: str, save: Callable[[Any], JobRecord],
                outcome: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    """Run ``save`` on the record under the job's lock, unless another process already finished it.

    ``outcome`` turns the final record into the stdout fields (or raises the error its state means).
    """
    with store.locked(job_id):
        record = store.get(job_id)
        if record.state not in TERMINAL_STATES:
            record = save(record)
    return outcome(record)
