"""Progress without a terminal: one line per state change or per interval, and the backend said once."""
from __future__ import annotations

import io

import yaml

from mediagen.cli import image_gen, storyboard, video_gen
from mediagen.config.settings import CODE_DEFAULTS, ENV_VARS, resolve_settings
from mediagen.core.console import Console


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_100_second_wait_prints_a_handful_of_lines_not_one_per_poll() -> None:
    stream, clock = io.StringIO(), Clock()
    console = Console(stream, clock=clock)
    for second in range(0, 100, 2):                      # a poll every 2 s for 100 s
        clock.now = float(second)
        console.progress("job vid-1: running", clock.now, second / 120)
    clock.now = 100.0
    console.progress("job vid-1: succeeded", 100.0, 1.0)
    lines = stream.getvalue().splitlines()
    assert len(lines) <= 100 / 15 + 2, lines
    assert "running" in lines[0] and "succeeded" in lines[-1]


def test_every_state_change_is_shown_at_once_and_states_are_timed_apart() -> None:
    stream, clock = io.StringIO(), Clock()
    console = Console(stream, clock=clock)
    console.progress_interval_s = 10
    for state in ("job a: pending", "job a: running", "job b: running", "job a: running", "job a: succeeded"):
        console.progress(state, clock.now)
        clock.now += 1
    assert [line.split(" - ")[0] for line in stream.getvalue().splitlines()] == [
        "mediagen: job a: pending", "mediagen: job a: running", "mediagen: job b: running", "mediagen: job a: succeeded"]


def test_a_terminal_still_redraws_every_update() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Tty()
    console = Console(stream)
    for second in range(5):
        console.progress("job a: running", second, 0.1)
    assert stream.getvalue().count("\r") == 5


def test_the_interval_is_a_setting_with_a_15_second_default(tmp_path) -> None:
    assert ENV_VARS["progress_interval_s"] == ("MEDIAGEN_PROGRESS_INTERVAL_S",)
    assert CODE_DEFAULTS["progress_interval_s"] == 15
    settings = resolve_settings({}, {"MEDIAGEN_PROGRESS_INTERVAL_S": "2.5"})
    assert settings["progress_interval_s"] == 2.5
    config = tmp_path / "mediagen.yaml"
    config.write_text("version: 1\nprogress_interval_s: 30\n")
    assert resolve_settings({}, {}, config_path=str(config))["progress_interval_s"] == 30


def test_a_real_wait_without_a_tty_is_thinned(run, fake, omni_env) -> None:
    fake.config.interaction_polls_until_done = 20         # 20 polls, 50 ms apart
    quiet = run(video_gen.main, "a cat walking", env={**omni_env, "MEDIAGEN_PROGRESS_INTERVAL_S": "30"})
    assert quiet.code == 0, quiet.doc
    polls = [line for line in quiet.stderr.splitlines() if ": in_progress -" in line]
    assert len(polls) == 1, quiet.stderr
    chatty = run(video_gen.main, "a cat walking", env={**omni_env, "MEDIAGEN_PROGRESS_INTERVAL_S": "0"})
    assert len([line for line in chatty.stderr.splitlines() if ": in_progress -" in line]) >= 10


def test_a_storyboard_says_its_backend_once(run, fake, omni_env, tmp_path) -> None:
    path = tmp_path / "board.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "title": "Fox", "references": [{"id": "fox", "prompt": "a fox"}],
                                    "shots": [
        {"id": "a", "prompt": "a fox wakes", "duration": 4, "transition": "cut", "keyframe": "a fox asleep",
         "references": ["fox"]},
        {"id": "b", "prompt": "it stretches", "duration": 4, "transition": "continue"},
        {"id": "c", "prompt": "it runs", "duration": 4, "transition": "cut"},
        {"id": "d", "prompt": "it jumps", "duration": 4, "transition": "cut"}]}))
    for argv in (("--estimate-cost",), ("--approve",)):
        result = run(storyboard.main, str(path), *argv, env=omni_env)
        assert result.code == 0, result.doc
        backend_lines = [line for line in result.stderr.splitlines() if line.startswith("mediagen: backend ")]
        assert len(backend_lines) == 1, result.stderr


def test_an_image_run_still_says_its_backend(run, fake, omni_env) -> None:
    result = run(image_gen.main, "a red fox", env=omni_env)
    assert [line for line in result.stderr.splitlines() if line.startswith("mediagen: backend gemini-api")]
