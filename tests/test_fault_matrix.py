"""The fault matrix: every fault the money-safety work names, on each surface and command it can reach.

A cell is (fault, surface, command). The fault is armed on the fake (or in the file system, or by killing
the process); the surface's command runs as a user would run it, and then, whatever the cell:

* at most one billable create was sent per user request (the fake's recorded creates; 429, 503, 4xx and
  redirects bill nothing);
* no credential appears in stdout, stderr or any file written (sidecars, ledger, job records, results files),
  and none was sent to a second host;
* every run printed exactly one JSON document, valid against the output contract;
* the run under test ended with the cell's exit code and error type;
* the ledger tells the truth: as many runs say they may have cost money (``succeeded``, ``unknown``,
  ``paid_not_saved``, ``expired``) as creates may have billed; ``unknown`` has ``actual_usd: null``; a run
  that cost nothing says ``failed`` with $0;
* the armed fault fired (a cell whose fault never happened proves nothing).

``design/money-safety.md`` (Fault matrix) records the size of the matrix and what it found.
"""
from __future__ import annotations

import io
import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlparse

import jsonschema
import pytest

from mediagen.cli import batch_gen, image_gen, jobs, storyboard, video_gen
from mediagen.transport import http
from tests.conftest import FAST_POLLS, RESULT_SCHEMA
from tests.money import (VEO_MODEL, VEO_OVERRIDE, assert_no_secret, assert_one_bill_per_request, billable_creates,
                         blocker, credentials_sent, final_ledger_lines, kill_mid_download, ledger_entries,
                         run_child)
from tests.test_video_gen import kill_while_polling

PLAIN_KEY = "plainGeminiSecret-3f9c2a71d0"      # no well-known key shape: only registering it can mask it
PROXY_KEY = "plain-proxy-secret-77c1b0"
MAINS = {"image_gen": image_gen.main, "video_gen": video_gen.main, "batch_gen": batch_gen.main, "jobs": jobs.main,
         "storyboard": storyboard.main}
COSTLY = ("succeeded", "unknown", "paid_not_saved", "expired")


@dataclass(frozen=True)
class Surface:
    """One API surface, the command that reaches it, its billable create and its poll."""

    name: str
    command: str
    service: str
    create: str
    poll: tuple[str, str] | None
    argv: tuple[str, ...]
    credential: str


SURFACES = {s.name: s for s in (
    Surface("gemini-image", "image_gen", "gemini", ":generateContent", None, ("a red fox",), "key"),
    Surface("imagen", "image_gen", "vertex", ":predict", None, ("a red fox", "-m", "imagen-4.0-generate-001"),
            "vertex"),
    Surface("proxy-image", "image_gen", "cliproxy", "/chat/completions", None, ("a red fox", "--backend", "cliproxy"),
            "proxy"),
    Surface("omni-video", "video_gen", "gemini", "/interactions", ("GET", "/interactions/"),
            ("a cat walking", "--duration", "4"), "key"),
    Surface("veo-vertex", "video_gen", "vertex", ":predictLongRunning", ("POST", ":fetchPredictOperation"),
            ("a cat walking", "--duration", "4"), "vertex"),
    Surface("veo-gemini", "video_gen", "gemini", ":predictLongRunning", ("GET", "/operations/"),
            ("a cat walking", "--duration", "4", "--model", VEO_MODEL), "veo-gemini"),
    Surface("batch-online", "batch_gen", "gemini", ":generateContent", None, ("{prompts}", "--approve"), "key"),
    Surface("batch-api", "batch_gen", "gemini", ":batchGenerateContent", ("GET", "/batches/"),
            ("{prompts}", "--approve", "--via", "batch-api"), "key"),
    Surface("storyboard", "storyboard", "gemini", "/interactions", ("GET", "/interactions/"), ("{board}", "--approve"),
            "key"),
)}
BOARD = ("version: 1\ntitle: Cat\nshots:\n  - {id: s1, prompt: a cat walks, duration: 4, transition: cut}\n"
         "  - {id: s2, prompt: a dog runs, duration: 4, transition: cut}\n")


@dataclass
class Step:
    """One run of a command: its exit code, its document and what it wrote."""

    code: int
    doc: dict[str, Any]
    stdout: str
    stderr: str

    @property
    def error_type(self) -> str | None:
        return self.doc["error"]["type"] if not self.doc.get("ok") else None

    @property
    def job_id(self) -> str:
        return self.doc.get("job_id") or self.doc["error"]["details"]["job_id"]


@dataclass
class World:
    """The fake, the folders and the environments one cell runs in; it keeps every step."""

    fake: Any
    tmp: Path
    base_env: dict[str, str]
    monkeypatch: pytest.MonkeyPatch
    steps: list[Step] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.fake.gemini_api_keys.add(PLAIN_KEY)
        self.fake.cliproxy_keys.add(PROXY_KEY)
        self.key_file = self.fake.write_service_account(self.tmp / "sa.json")
        self.prompts = self.tmp / "prompts.txt"
        self.prompts.write_text("a red fox\na blue bird\n")
        self.board = self.tmp / "board.yaml"
        self.board.write_text(BOARD)

    def env(self, surface: Surface) -> dict[str, str]:
        env = {**self.base_env, **FAST_POLLS}
        if surface.credential == "vertex":
            return {**env, "GOOGLE_APPLICATION_CREDENTIALS": str(self.key_file)}
        if surface.credential == "proxy":
            return {**env, "CLIPROXY_URL": self.fake.urls["cliproxy"], "CLIPROXY_API_KEY": PROXY_KEY}
        if surface.credential == "veo-gemini":
            override = self.tmp / "veo-override.yaml"
            override.write_text(VEO_OVERRIDE)
            self.fake.config.gemini_veo_served = True
            env["MEDIAGEN_CATALOG_OVERRIDE"] = str(override)
        return {**env, "GEMINI_API_KEY": PLAIN_KEY}

    def argv(self, surface: Surface, *extra: str) -> list[str]:
        out = self.tmp / "out" / surface.name
        return [a.format(prompts=self.prompts, board=self.board) for a in surface.argv] + ["-o", str(out), *extra]

    def run(self, command: str, *argv: str, env: dict[str, str]) -> Step:
        out, err = io.StringIO(), io.StringIO()
        code = MAINS[command](list(argv), env=env, stdout=out, stderr=err)
        return self.keep(Step(code, json.loads(out.getvalue()), out.getvalue(), err.getvalue()))

    def child(self, command: str, *argv: str, env: dict[str, str], limit_bytes: int | None = None) -> Step:
        done = run_child(command, *argv, env=env, cwd=self.tmp, limit_bytes=limit_bytes)
        return self.keep(Step(done.code, done.doc, json.dumps(done.doc, ensure_ascii=False), done.stderr))

    def keep(self, step: Step) -> Step:
        self.steps.append(step)
        return step

    def go(self, surface: Surface, *extra: str, env: dict[str, str] | None = None) -> Step:
        return self.run(surface.command, *self.argv(surface, *extra), env=env or self.env(surface))

    def resume(self, surface: Surface, step: Step) -> Step:
        return self.run("jobs", "wait", step.job_id, env=self.env(surface))

    def ledger(self) -> list[dict[str, Any]]:
        return ledger_entries(self.base_env)


Play = Callable[[World, Surface], Step]


@dataclass(frozen=True)
class Cell:
    """A fault on a surface, and what its run must end with."""

    fault: str
    surface: str
    play: Play
    code: int
    error: str | None
    ledger: tuple[str, ...]
    known_bug: str | None = None               # a finding not fixed yet (the cell is expected to fail)

    @property
    def id(self) -> str:
        return f"{self.fault}|{self.surface}|{SURFACES[self.surface].command}"


# -- the faults --------------------------------------------------------------------------------------------

GENERIC_BODIES = {
    "html page": b"<!DOCTYPE html><html><head><title>Sign in</title></head><body>captive portal</body></html>",
    "truncated json": b'{"candidates": [{"content": {"parts": [{"inlineData": {"mimeType": "image/png", "da',
    "empty list": b"[]",
    "null": b"null",
    "a number": b"42",
    "not utf-8": b'{"name": "\xff\xfe\xfa", "candidates": [{"content": {"parts": [{"text": "\xff\xfe"}]}}]}',
}
WRONG_TYPES = {
    ":generateContent": b'{"candidates": [{"content": {"parts": [7, "x"]}}]}',
    ":predict": b'{"predictions": "yes"}',
    "/chat/completions": b'{"choices": 5}',
    "/interactions": b'{"id": 5, "status": ["done"]}',
    "/interactions/": b'{"id": "x", "status": 7}',
    ":predictLongRunning": b'{"name": 7, "done": "no"}',
    ":fetchPredictOperation": b'{"name": "operations/1", "done": "yes"}',
    ":batchGenerateContent": b'{"name": 5, "metadata": [], "state": 1}',
}
BAD_BASE64 = {
    ":generateContent": b'{"candidates": [{"content": {"parts": [{"inlineData": {"mimeType": "image/png", '
                        b'"data": "!!not*base64??"}}]}, "finishReason": "STOP"}]}',
    ":predict": b'{"predictions": [{"bytesBase64Encoded": "@@@", "mimeType": "image/png"}]}',
    "/chat/completions": b'{"choices": [{"message": {"images": [{"image_url": {"url": "data:image/png;base64,%%%"}}]},'
                         b' "finish_reason": "stop"}]}',
    "/interactions/": b'{"id": "x", "status": "completed", "steps": [{"type": "model_output", "content": '
                      b'[{"type": "video", "mime_type": "video/mp4", "data": "%%%"}]}]}',
    ":fetchPredictOperation": b'{"name": "operations/1", "done": true, "response": {"videos": '
                              b'[{"bytesBase64Encoded": "%%%", "mimeType": "video/mp4"}]}}',
}


def on_create(body: bytes | None = None, **fault: Any) -> Callable[[World, Surface], None]:
    """Arm a fault (a body, a status, a reset, a delay) on the surface's next create."""
    def arm(world: World, surface: Surface) -> None:
        world.fake.add_fault(service=surface.service, path_contains=surface.create, method="POST",
                             **({"body": body} if body is not None else {}), **fault)
    return arm


def on_poll(body: bytes | None = None, **fault: Any) -> Callable[[World, Surface], None]:
    """Arm a fault on the surface's next poll."""
    def arm(world: World, surface: Surface) -> None:
        method, path = surface.poll
        world.fake.add_fault(service=surface.service, path_contains=path, method=method,
                             **({"body": body} if body is not None else {}), **fault)
    return arm


def run_after(arm: Callable[[World, Surface], None]) -> Play:
    """Arm, then run the surface's command once."""
    def play(world: World, surface: Surface) -> Step:
        arm(world, surface)
        return world.go(surface)
    return play


def then_resume(arm: Callable[[World, Surface], None]) -> Play:
    """Arm, run (the run under test), then resume its job with ``jobs.py wait`` (it must finish)."""
    def play(world: World, surface: Surface) -> Step:
        arm(world, surface)
        step = world.go(surface)
        resumed = world.resume(surface, step)
        assert resumed.code == 0, resumed.doc
        return step
    return play


def cut_create(after_bytes: int) -> Callable[[World, Surface], None]:
    def arm(world: World, surface: Surface) -> None:
        world.fake.add_cut(service=surface.service, path_contains=surface.create, method="POST",
                           after_bytes=after_bytes)
    return arm


def cut_poll(after_bytes: int) -> Callable[[World, Surface], None]:
    def arm(world: World, surface: Surface) -> None:
        method, path = surface.poll
        world.fake.add_cut(service=surface.service, path_contains=path, method=method, after_bytes=after_bytes)
    return arm


def short_create(world: World, surface: Surface) -> None:
    world.fake.add_short_length(service=surface.service, path_contains=surface.create, method="POST", length=60)


def malformed_cells() -> list[Cell]:
    """Billed replies that cannot be used: on creates (possibly billed, never resent) and on polls (resumable)."""
    cells = []
    for name in ("gemini-image", "imagen", "proxy-image", "omni-video", "veo-vertex", "batch-api"):
        surface = SURFACES[name]
        bodies = {**GENERIC_BODIES, "wrong field types": WRONG_TYPES[surface.create]}
        if surface.create in BAD_BASE64:
            bodies["invalid base64"] = BAD_BASE64[surface.create]
        for fault, body in bodies.items():
            cells.append(Cell(fault, name, run_after(on_create(body)), 5, "bad_reply", ("unknown",)))
        cells.append(Cell("closed before Content-Length", name, run_after(cut_create(20)), 5, "network",
                          ("unknown",)))
    for name in ("omni-video", "veo-vertex"):
        path = SURFACES[name].poll[1]
        bodies = {**GENERIC_BODIES, "wrong field types": WRONG_TYPES[path], "invalid base64": BAD_BASE64[path]}
        for fault, body in bodies.items():
            cells.append(Cell(f"poll: {fault}", name, then_resume(on_poll(body)), 5, "bad_reply", ("succeeded",)))
        cells.append(Cell("poll: closed before Content-Length", name, then_resume(cut_poll(20)), 5, "network",
                          ("succeeded",)))
    return cells


def reply_edge_cells() -> list[Cell]:
    """An empty 200, an error inside a 200, a Content-Length that claims less, a slow drip."""
    gemini = "gemini-image"
    return [
        Cell("empty 200", gemini, run_after(on_create(b"")), 5, "bad_reply", ("unknown",)),
        Cell("error inside a 200", gemini, run_after(on_create(b'{"error": {"code": 500, "message": "backend", '
                                                             b'"status": "INTERNAL"}}')), 5, "bad_reply",
             ("unknown",)),
        Cell("Content-Length lie (short)", gemini, run_after(short_create), 5, "bad_reply", ("unknown",)),
        Cell("Content-Length lie (short)", "omni-video", run_after(short_create), 5, "bad_reply", ("unknown",)),
        Cell("slow drip", gemini, drip_create, 0, None, ("succeeded",)),
    ]


def drip_create(world: World, surface: Surface) -> Step:
    world.fake.set_drip(0.02, chunk_bytes=2048, path_contains=surface.create)
    step = world.go(surface)
    assert len(world.fake.requests_for(path_contains=surface.create)) == 1
    return step


# -- downloads ---------------------------------------------------------------------------------------------

def second_host(world: World, service: str) -> Callable[[Any], str]:
    """The same fake reached as ``localhost``: another origin, which must never see a credential."""
    port = urlparse(world.fake.urls[service]).port

    def location(req) -> str:
        path = "/_blob/" + req.path.split("/files/")[1].split(":")[0] if ":download" in req.path else req.path
        return f"http://localhost:{port}{path}" + (f"?{req.query_string}" if req.query_string else "")
    return location


def redirect_download(world: World, surface: Surface) -> Step:
    world.fake.add_redirect(service="gemini", path_contains=":download", location=second_host(world, "gemini"))
    return world.go(surface)


def redirect_gcs(world: World, surface: Surface) -> Step:
    world.fake.config.gcs_require_auth = False                  # a signed URL needs no token
    world.fake.add_redirect(service="gcs", path_contains="/o/", method="GET", location=second_host(world, "gcs"))
    return world.go(surface, "--storage-uri", "gs://bucket/out/")


def redirect_create(world: World, surface: Surface) -> Step:
    world.fake.add_redirect(service=surface.service, path_contains=surface.create, method="POST", status=307,
                            location=second_host(world, surface.service))
    return world.go(surface)


def download_edge(arm: Callable[[Any], None], *, resume: bool = False) -> Play:
    def play(world: World, surface: Surface) -> Step:
        arm(world.fake)
        step = world.go(surface)
        if resume:
            resumed = world.run("jobs", "download", step.job_id, env=world.env(surface))
            assert resumed.code == 0, resumed.doc
        return step
    return play


def drip_download(fake) -> None:
    fake.set_drip(0.005, chunk_bytes=16384)


def expire(fake) -> None:
    fake.config.file_expired = True


def html_download(fake) -> None:
    fake.add_fault(service="gemini", path_contains="/_blob/", method="GET", body=b"<html>Sign in</html>")


def cut_download(fake) -> None:
    fake.add_cut(service="gemini", path_contains="/_blob/", method="GET", after_bytes=4096)


def short_download(fake) -> None:
    fake.add_short_length(service="gemini", path_contains="/_blob/", method="GET", length=20000)


def expire_during_resume(world: World, surface: Surface) -> Step:
    env = world.env(surface)
    started = world.go(surface, "--no-wait")
    out = world.tmp / "out" / surface.name
    world.fake.set_drip(0.05, chunk_bytes=2048)
    kill_mid_download(started.job_id, env, out, world.tmp)
    world.fake.set_drip(None)
    world.fake.config.file_expired = True
    return world.resume(surface, started)


def upload_refused(world: World, surface: Surface) -> Step:
    world.fake.add_fault(service="gcs", path_contains="/upload/", method="POST", status=403)
    step = world.go(surface, "--upload-gcs", "gs://bucket/out/")
    assert Path(step.doc["videos"][0]["path"]).is_file() and any("gs://bucket/out/" in w for w in step.doc["warnings"])
    return step


def upload_impossible(world: World, surface: Surface) -> Step:
    return world.go(surface, "--upload-gcs", "gs://bucket/out/")


def download_cells() -> list[Cell]:
    veo = "veo-gemini"
    return [
        Cell("Cloud Storage upload refused after paying", "veo-vertex", upload_refused, 0, None, ("succeeded",)),
        Cell("upload target the credential cannot write", "omni-video", upload_impossible, 2, "usage", ()),
        Cell("redirect to a second host (API key)", veo, redirect_download, 0, None, ("succeeded",)),
        Cell("redirect to a second host (bearer token)", "veo-vertex", redirect_gcs, 0, None, ("succeeded",)),
        Cell("redirect of a create to a second host", "gemini-image", redirect_create, 3, "credentials", ("failed",)),
        Cell("slow drip", veo, download_edge(drip_download), 0, None, ("succeeded",)),
        Cell("download: html page", veo, download_edge(html_download, resume=True), 5, "bad_reply", ("succeeded",)),
        Cell("download: closed before Content-Length", veo, download_edge(cut_download), 0, None, ("succeeded",)),
        Cell("download: Content-Length lie (short)", veo, download_edge(short_download, resume=True), 5, "bad_reply",
             ("succeeded",)),
        Cell("expired file", veo, download_edge(expire), 5, "expired", ("expired",)),
        Cell("expired file during resume", veo, expire_during_resume, 5, "expired", ("expired",)),
    ]


# -- folders that cannot be written ---------------------------------------------------------------------

def unwritable(what: str) -> Play:
    """Output folder, ledger or job store under a regular file (ENOTDIR, whoever runs the test)."""
    def play(world: World, surface: Surface) -> Step:
        under = blocker(world.tmp) / "sub"
        env = world.env(surface)
        if what == "output":
            return world.run(surface.command, *world.argv(surface)[:-1], str(under / "out"), env=env)
        variable = {"ledger": "MEDIAGEN_LEDGER", "job store": "MEDIAGEN_JOB_STORE"}[what]
        return world.go(surface, env={**env, variable: str(under / "x")})
    return play


def full_disk(world: World, surface: Surface) -> Step:
    """A child whose files cannot grow past 64 KB (EFBIG, as a full disk); videos are then fetched again."""
    world.fake.config.image_noise = True
    world.fake.config.image_pixels_override = (400, 400)            # ~480 KB: past the 64 KB "disk"
    world.fake.config.batch_polls_until_done = 0
    env = world.env(surface)
    step = world.child(surface.command, *world.argv(surface), env=env, limit_bytes=64 * 1024)
    if surface.command == "video_gen":
        resumed = world.run("jobs", "download", step.job_id, env=env)
        assert resumed.code == 0, resumed.doc
    return step


def folder_cells() -> list[Cell]:
    cells = [Cell("unwritable output folder", name, unwritable("output"), 3, "config", ())
             for name in ("gemini-image", "omni-video", "batch-online", "batch-api", "storyboard")]
    cells += [Cell("unwritable ledger", name, unwritable("ledger"), 3, "config", ())
              for name in ("gemini-image", "veo-vertex")]
    cells.append(Cell("unwritable job store", "omni-video", unwritable("job store"), 3, "config", ()))
    cells += [Cell("full output folder", "gemini-image", full_disk, 10, "paid_not_saved", ("paid_not_saved",)),
              Cell("full output folder", "veo-gemini", full_disk, 10, "paid_not_saved", ("succeeded",)),
              Cell("full output folder", "batch-api", full_disk, 10, "paid_not_saved", ("paid_not_saved",))]
    return cells


# -- the transport: 429 storms, 5xx, timeouts, resets ------------------------------------------------------

def read_timeout(on: str) -> Play:
    """A create (or poll) answered after the read timeout (shortened for the test; the fake's delay is longer)."""
    def play(world: World, surface: Surface) -> Step:
        world.monkeypatch.setattr(http, "READ_TIMEOUT_S", 0.3)
        world.monkeypatch.setattr(http, "POLL_READ_TIMEOUT_S", 0.3)
        (on_create if on == "create" else on_poll)(delay_s=0.6)(world, surface)
        step = world.go(surface)
        time.sleep(0.4)                         # the fake answers the abandoned request before the next cell
        return step
    return play


def transport_cells() -> list[Cell]:
    cells = []
    for name in ("gemini-image", "omni-video", "veo-vertex", "batch-api", "storyboard"):
        done = ("succeeded",) * (2 if name == "storyboard" else 1)        # a storyboard of two shots
        cells.append(Cell("429 storm that clears", name, run_after(on_create(status=429, retry_delay=0.01, times=3)),
                          0, None, done))
        cells.append(Cell("503 on create", name, run_after(on_create(status=503, retry_delay=0.01)), 0, None, done))
    for name in ("gemini-image", "omni-video"):
        cells.append(Cell("429 storm that lasts", name,
                          run_after(on_create(status=429, retry_delay=0.01, times=None)), 5, "rate_limited",
                          ("failed",)))
        cells.append(Cell("503 storm that lasts", name,
                          run_after(on_create(status=503, retry_delay=0.01, times=None)), 5, "server_error",
                          ("failed",)))
        cells.append(Cell("connection reset on create", name, run_after(on_create(reset=True)), 5, "network",
                          ("unknown",)))
    for name in ("gemini-image", "imagen", "proxy-image", "omni-video", "veo-vertex", "batch-api"):
        cells.append(Cell("500 on create", name, run_after(on_create(status=500)), 5, "server_error", ("unknown",)))
    cells.append(Cell("500 on create", "batch-online", run_after(on_create(status=500)), 5, "server_error",
                      ("succeeded", "unknown")))
    cells.append(Cell("500 on create", "storyboard", run_after(on_create(status=500)), 5, "generation_failed",
                      ("succeeded", "unknown")))
    for name in ("gemini-image", "omni-video", "veo-vertex"):
        cells.append(Cell("read timeout on create", name, read_timeout("create"), 6, "timeout", ("unknown",)))
    for name in ("omni-video", "veo-vertex"):
        cells.append(Cell("read timeout on a poll", name, read_timeout("poll"), 0, None, ("succeeded",)))
    return cells


# -- processes: kill -9, concurrent writers, token expiry --------------------------------------------------

def kill_mid_poll(world: World, surface: Surface) -> Step:
    record = kill_while_polling(world.env(surface), world.tmp)
    return world.run("jobs", "wait", record["job_id"], env=world.env(surface))


def kill_during_download(world: World, surface: Surface) -> Step:
    started = world.go(surface, "--no-wait")
    world.fake.set_drip(0.05, chunk_bytes=2048)
    kill_mid_download(started.job_id, world.env(surface), world.tmp / "out" / surface.name, world.tmp)
    world.fake.set_drip(None)
    return world.resume(surface, started)


def concurrent_images(world: World, surface: Surface) -> Step:
    """Four runs at once into one folder, one ledger: four files, four complete ledger runs."""
    steps: list[Step] = []
    prompts = ("a red fox", "a blue bird", "a green frog", "a grey cat")
    threads = [threading.Thread(target=lambda p=p: steps.append(world.run(
        "image_gen", p, "-o", str(world.tmp / "out" / "shared"), env=world.env(surface)))) for p in prompts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    files = {step.doc["images"][0]["path"] for step in steps if step.code == 0}
    assert len(files) == 4, [step.doc for step in steps]
    return steps[0]


def concurrent_waits(world: World, surface: Surface) -> Step:
    """Two ``jobs.py wait`` on one job at once: one download, one final ledger line, the same file for both."""
    world.fake.config.interaction_polls_until_done = 3
    started = world.go(surface, "--no-wait")
    steps: list[Step] = []
    threads = [threading.Thread(target=lambda: steps.append(world.resume(surface, started))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert [s.code for s in steps] == [0, 0], [s.doc for s in steps]
    assert steps[0].doc["videos"][0]["path"] == steps[1].doc["videos"][0]["path"]
    succeeded = [e for e in world.ledger() if e["status"] == "succeeded"]
    assert len(succeeded) == 1, succeeded
    return steps[0]


def token_expiry_mid_poll(world: World, surface: Surface) -> Step:
    world.fake.config.operation_polls_until_done = 4
    fake = world.fake

    def revoke() -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not fake.requests_for(path_contains=surface.poll[1]):
            time.sleep(0.005)
        fake.revoke_tokens()
    watcher = threading.Thread(target=revoke, daemon=True)
    watcher.start()
    step = world.go(surface)
    watcher.join(5)
    assert any(r.status == 401 for r in fake.requests), "the token never expired"
    return step


def token_expiry_on_create(world: World, surface: Surface) -> Step:
    world.fake.add_fault(service=surface.service, path_contains=surface.create, method="POST", status=401)
    step = world.go(surface)
    assert len(world.fake.requests_for(path_contains="/token")) >= 2, "the token was never refreshed"
    return step


def process_cells() -> list[Cell]:
    return [
        Cell("kill -9 mid-poll", "omni-video", kill_mid_poll, 0, None, ("succeeded",)),
        Cell("kill -9 mid-poll", "veo-vertex", kill_mid_poll, 0, None, ("succeeded",)),
        Cell("kill -9 mid-download", "veo-gemini", kill_during_download, 0, None, ("succeeded",)),
        Cell("concurrent writers", "gemini-image", concurrent_images, 0, None, ("succeeded",) * 4),
        Cell("concurrent writers", "omni-video", concurrent_waits, 0, None, ("succeeded",)),
        Cell("token expiry mid-poll", "veo-vertex", token_expiry_mid_poll, 0, None, ("succeeded",)),
        Cell("token expiry on create", "imagen", token_expiry_on_create, 0, None, ("succeeded",)),
    ]


CELLS = malformed_cells() + reply_edge_cells() + download_cells() + folder_cells() + transport_cells() + \
    process_cells()


# -- the invariants ----------------------------------------------------------------------------------------

@pytest.fixture
def world(fake, fake_env, tmp_path, monkeypatch) -> World:
    return World(fake, tmp_path, fake_env, monkeypatch)


def assert_truthful_ledger(world: World, expected: tuple[str, ...]) -> None:
    finals = final_ledger_lines(world.base_env)
    assert tuple(sorted(e["status"] for e in finals.values())) == tuple(sorted(expected)), finals
    for entry in finals.values():
        if entry["status"] == "unknown":
            assert entry["actual_usd"] is None, entry
        elif entry["status"] in COSTLY:
            assert entry["actual_usd"] > 0, entry
        else:
            assert not entry.get("actual_usd"), entry
    costly = [e for e in finals.values() if e["status"] in COSTLY]
    assert len(costly) == len(billable_creates(world.fake)), (finals, billable_creates(world.fake))


def assert_no_credential_left_home(fake) -> None:
    for request in fake.requests:
        if request.headers.get("host", "").startswith("localhost"):
            assert not {"x-goog-api-key", "authorization"} & set(request.headers), request.path


def params() -> list[Any]:
    return [pytest.param(cell, id=cell.id, marks=[pytest.mark.xfail(strict=True, reason=cell.known_bug)]
                         if cell.known_bug else []) for cell in CELLS]


@pytest.mark.parametrize("cell", params())
def test_cell(world: World, cell: Cell) -> None:
    surface = SURFACES[cell.surface]
    step = cell.play(world, surface)
    assert (step.code, step.error_type) == (cell.code, cell.error), step.doc
    for each in world.steps:
        jsonschema.validate(each.doc, RESULT_SCHEMA)        # exactly one document (json.loads took it whole)
        assert "Traceback" not in each.stderr, each.stderr
    secrets = credentials_sent(world.fake) | {PLAIN_KEY, PROXY_KEY, _private_key_line(world.key_file)}
    assert_no_secret(secrets, [s.stdout + s.stderr for s in world.steps], world.tmp, skip=(world.key_file,))
    assert_one_bill_per_request(world.fake)
    assert_no_credential_left_home(world.fake)
    assert_truthful_ledger(world, cell.ledger)
    assert world.fake.faults_pending() == 0 or cell.fault.endswith("lasts"), "the fault never fired"
    assert world.fake.edges_pending() == 0, "the edge fault never fired"


def _private_key_line(key_file: Path) -> str:
    pem = json.loads(key_file.read_text())["private_key"]
    return pem.splitlines()[5]


def test_the_matrix_is_the_size_design_says() -> None:
    text = (Path(__file__).resolve().parents[1] / "design" / "money-safety.md").read_text()
    assert f"{len(CELLS)} cells" in text
