"""A seeded fuzz test of everything a user (or a damaged disk) can hand the scripts.

Each case class has a generator that makes one random case and declares what that case must end
with: the exit code and the error types that are right for it (a catch-all that answered exit 2 to
everything would fail most of them). The classes: random flags and values (hostile ones included),
corrupt job records, sidecars, batch results files and storyboard manifests, non-UTF-8 and
wrong-type files, wrong-kind paths, bad URLs, keys and numbers in the environment, and a few runs as
child processes (a cp1252 console, a prompt on stdin, argv bytes that are not UTF-8).

For every case: never exit 1, never a traceback on stderr, exactly one JSON document on stdout (valid
against the output contract), no secret in any output, nothing sent that could bill, and the expected
exit code and error type. Cases run in-process (``main(argv, env=...)``) except the child-process
classes; the seed is fixed, so a failure names a case that can be run again.
"""
from __future__ import annotations

import io
import json
import os
import random
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import jsonschema
import pytest

import mediagen.app.image as image_use_case
from mediagen.cli import batch_gen, estimate_cost, gallery, image_gen, jobs, storyboard, video_gen
from tests.conftest import FAST_POLLS, RESULT_SCHEMA, ROOT
from tests.fake_google import media
from tests.money import billable_creates

SEED = 20261205
SECRET = "plainFuzzSecret-5d1e8a90c7"           # no well-known key shape: only registering it can mask it
MAINS = {"image_gen": image_gen.main, "video_gen": video_gen.main, "batch_gen": batch_gen.main,
         "storyboard": storyboard.main, "jobs": jobs.main, "gallery": gallery.main,
         "estimate_cost": estimate_cost.main}
HOSTILE = ("../../etc/passwd", "'; DROP TABLE jobs; --", "$(touch pwned)", "`id`", "%s%s%n", "{0}{1}", "${HOME}",
           "\u202eevil", "a\nb", "\x1b[31mred", "😀😀😀", "猫の写真", "قطة", "A" * 3000, "\\", '"', "{}", "[]", "null",
           "file:///etc/passwd", "http://169.254.169.254/latest", "C:\\Windows\\win.ini", "\x00nul", "\udcff",
           "CON", "NUL:", "a\rb", "\u200b", "<script>alert(1)</script>", "0x7fffffff", "1e309")
PROMPTS = ("a red fox in snow", "猫がコーヒーを飲む ☕", "a \"quoted\" 'prompt' with \\ backslashes", "😀 " * 50,
           "line one\nline two\n", "قطة على السطح", "<b>bold</b> & {json: true}", "x" * 4000, "\u202eright-to-left",
           "a prompt with\ttabs", "Ωmega ßtraße ĳ", "$(rm -rf ~) `id` %n ${PATH}")


@dataclass
class Case:
    """One fuzz case and what it must end with."""

    kind: str
    script: str
    argv: list[str]
    code: int
    types: tuple[str, ...] = ()                 # accepted error types; empty: success
    env: dict[str, str] = field(default_factory=dict)
    child: bool = False
    stdin: bytes = b""
    console: str | None = None                  # PYTHONIOENCODING of a child
    hidden: tuple[str, ...] = ()                # values no output may show
    check: Callable[[dict[str, Any]], bool] | None = None

    def accepts(self, code: int, error_type: str | None) -> bool:
        return code == self.code and (error_type in self.types if self.types else error_type is None)


def pick(rng: random.Random, values: Any) -> Any:
    return rng.choice(list(values))


def hostile(rng: random.Random, *, printable: bool = False) -> str:
    """A hostile value (``printable``: none that argv cannot carry or argparse takes for a flag)."""
    values = [v for v in HOSTILE if not printable or ("\x00" not in v and "\udcff" not in v)]
    return pick(rng, values)


def non_utf8(rng: random.Random) -> bytes:
    """Bytes that are not UTF-8: Latin-1 text, UTF-16 with its BOM, or binary."""
    return pick(rng, ("café crème, naïve\n".encode("cp1252"), "prompt: ☕ 猫\n".encode("utf-16"),
                      b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe" + bytes(rng.randrange(256) for _ in range(64)),
                      b"version: 1\ntitle: \xff\xfe\xfa\n"))


DEEP = "[" * 100_000 + "]" * 100_000              # valid JSON that no recursive parser can read


# -- flags and values --------------------------------------------------------------------------------------

BASE_ARGS = {"image_gen": ["a red fox", "--dry-run"], "video_gen": ["a cat walking", "--dry-run"],
             "estimate_cost": ["image"], "jobs": ["list"]}
INT_FLAGS = {"image_gen": ("-n", "--seed", "--concurrency"), "video_gen": ("--duration", "-n", "--seed"),
             "jobs": ("--limit",), "estimate_cost": ("--count",)}
FLOAT_FLAGS = {"image_gen": ("--max-cost",), "video_gen": ("--max-cost", "--wait-timeout"),
               "jobs": ("--wait-timeout",)}
CHOICE_FLAGS = {"image_gen": ("--backend",), "video_gen": ("--backend", "--mode", "--mask-mode", "--resize-mode")}
CATALOG_FLAGS = {"image_gen": ("--aspect-ratio", "--image-size", "--thinking-level"),
                 "video_gen": ("--aspect-ratio", "--resolution")}


def unknown_flag(rng: random.Random, box: Path) -> Case:
    script = pick(rng, BASE_ARGS)
    flag = "--zz" + "".join(pick(rng, "abcdefgh-_0123é猫") for _ in range(rng.randint(1, 12)))
    extra = [flag] + ([hostile(rng, printable=True)] if rng.random() < 0.5 else [])
    return Case("unknown flag", script, [*BASE_ARGS[script], *extra], 2, ("usage",))


def bad_number(rng: random.Random, box: Path) -> Case:
    table = pick(rng, (INT_FLAGS, FLOAT_FLAGS))
    script = pick(rng, table)
    value = pick(rng, ("abc", "1,5", "", "five", "12abc", "$5", "½", "∞", "0x1g", "1..2", "٣.٣.٣", " "))
    if table is INT_FLAGS:
        value = pick(rng, (value, "1.5", "1e3", "nan"))
    return Case("bad number", script, [*BASE_ARGS[script], pick(rng, table[script]), value], 2, ("usage",))


def nan_flag(rng: random.Random, box: Path) -> Case:
    """NaN passes every comparison: as a cap it caps nothing, as a wait or a rate it breaks the loop using it."""
    value = pick(rng, ("nan", "NaN", "-nan", "+nan"))
    prompts = box / "prompts.txt"
    prompts.write_text("a red fox\n")
    script, argv = pick(rng, (("image_gen", [*BASE_ARGS["image_gen"], "--max-cost"]),
                              ("estimate_cost", ["video", "--max-cost"]),
                              ("video_gen", ["a cat walking", pick(rng, ("--max-cost", "--wait-timeout"))]),
                              ("jobs", ["wait", "vid-1", "--wait-timeout"]),
                              ("batch_gen", [str(prompts), "--approve", pick(rng, ("--rate", "--inline-limit-mb",
                                                                                   "--wait-timeout"))])))
    return Case("decimal flag not a number", script, [*argv, value], 2, ("usage",))


def upload_target(rng: random.Random, box: Path) -> Case:
    target = pick(rng, ("not-gs", "gs://", "gs:///x", "s3://bucket/x", "gs:/bucket", "/local/folder", "gs:"))
    argv = ["a cat walking", "--upload-gcs", target, *(["--dry-run"] if rng.random() < 0.5 else [])]
    return Case("upload target that cannot work", "video_gen", argv, 2, ("usage",))


def missing_value(rng: random.Random, box: Path) -> Case:
    script = pick(rng, ("image_gen", "video_gen"))
    flag = pick(rng, (*INT_FLAGS[script], *CATALOG_FLAGS[script], "-o", "--model", "--config", "--preset"))
    return Case("missing value", script, [*BASE_ARGS[script], flag], 2, ("usage",))


def bad_choice(rng: random.Random, box: Path) -> Case:
    script = pick(rng, CHOICE_FLAGS)
    value = hostile(rng, printable=True)
    return Case("bad choice", script, [*BASE_ARGS[script], pick(rng, CHOICE_FLAGS[script]), value], 2, ("usage",))


def bad_catalog_value(rng: random.Random, box: Path) -> Case:
    script = pick(rng, CATALOG_FLAGS)
    value = hostile(rng)
    argv = [*BASE_ARGS[script], f"{pick(rng, CATALOG_FLAGS[script])}={value}"]
    return Case("value the catalog refuses", script, argv, 2, ("invalid_request",))


def hostile_model(rng: random.Random, box: Path) -> Case:
    script = pick(rng, ("image_gen", "video_gen"))
    value = pick(rng, ("../../x", "x?key=1", "a b", "models/x/../y", "x#frag", "gemini\n", "x:generateContent",
                       "%2e%2e", "x/y", "\u202ex", "<m>", "x\x00y", "x;y"))
    return Case("model id that cannot be one", script, [*BASE_ARGS[script], "--model", value], 2,
                ("invalid_request",))


def valid_request(rng: random.Random, box: Path) -> Case:
    script = pick(rng, ("image_gen", "video_gen", "estimate_cost", "jobs", "gallery"))
    argv = {"image_gen": lambda: _image_flags(rng, [pick(rng, PROMPTS), pick(rng, ("--dry-run", "--estimate-cost"))]),
            "video_gen": lambda: _video_flags(rng, [pick(rng, PROMPTS), pick(rng, ("--dry-run", "--estimate-cost"))]),
            "estimate_cost": lambda: _image_flags(rng, ["image"]) if rng.random() < 0.5 else _video_flags(rng, ["video"]),
            "jobs": lambda: ["list", *(["--state", pick(rng, ("active", "succeeded", "zz"))] if rng.random() < .5 else [])],
            "gallery": lambda: [str(_folder(box / "empty")), "--title", pick(rng, PROMPTS)]}[script]()
    return Case("valid request", script, argv, 0)


def _folder(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _image_flags(rng: random.Random, argv: list[str]) -> list[str]:
    if rng.random() < 0.5:
        argv += ["--aspect-ratio", pick(rng, ("1:1", "16:9", "9:16", "4:3", "3:4"))]
    if rng.random() < 0.5:
        argv += ["-n", str(rng.randint(1, 4))]
    if rng.random() < 0.3:
        argv += ["--preset", pick(rng, ("draft", "icon", "poster", "thumbnail"))]
    if rng.random() < 0.3:
        argv += ["--max-cost", pick(rng, ("5", "inf", "1e6"))]
    return argv


def _video_flags(rng: random.Random, argv: list[str]) -> list[str]:
    if rng.random() < 0.5:
        argv += ["--duration", pick(rng, ("4", "6", "8"))]
    if rng.random() < 0.5:
        argv += ["--aspect-ratio", pick(rng, ("16:9", "9:16"))]
    if rng.random() < 0.4:
        argv += ["--resolution", pick(rng, ("720p", "1080p"))]
    if rng.random() < 0.3:
        argv += ["--negative-prompt", pick(rng, PROMPTS)]
    return argv


# -- corrupt records and sidecars ------------------------------------------------------------------------

RECORD_FIELDS = ("job_id", "kind", "state", "model", "backend", "handle", "polls", "outputs", "planned", "estimate",
                 "provider", "items", "output")


def damaged_json(rng: random.Random, good: dict[str, Any], fields: tuple[str, ...] = ()) -> bytes:
    """A JSON file a crash, a disk or a hand edit damaged (``fields``: the ones a wrong type may hit)."""
    fields = fields or tuple(good)
    choice = rng.randrange(9)
    if choice == 0:
        return json.dumps(pick(rng, ([1, 2], 42, "text", None, True, []))).encode()
    if choice == 1:
        text = json.dumps(good)
        return text[:rng.randrange(1, len(text))].encode()
    if choice == 2:
        return non_utf8(rng)
    if choice == 3:
        return b""
    if choice == 4:
        return DEEP.encode()
    if choice == 5:                             # a number JSON allows and no program expects
        return json.dumps({**good, pick(rng, fields): "HUGE"}).replace('"HUGE"', "1e400").encode()
    wrong = dict(good)
    for key in rng.sample(list(fields), k=min(len(fields), rng.randint(1, 3))):
        wrong[key] = pick(rng, ([1, 2], 7, "x", None, {"a": []}, True, -3.5))
    return json.dumps(wrong).encode()


def good_record(job_id: str) -> dict[str, Any]:
    return {"schema": 1, "job_id": job_id, "kind": "video", "state": "running", "provider": "omni",
            "backend": {"name": "gemini-api"}, "model": {"id": "gemini-omni-1.2-flash", "provider": "omni"},
            "handle": "v1_abc", "mode": "text_to_video", "prompt": "a cat", "polls": 2, "outputs": [],
            "estimate": {"estimate_usd": 0.4, "priced": True}, "output": {"folder": "out", "stem": "a-cat"}}


def corrupt_record(rng: random.Random, box: Path) -> Case:
    store = _folder(box / "state" / "mediagen" / "jobs")
    job_id = f"vid-fuzz-{rng.randrange(10**6):06d}"
    path = store / f"{job_id}.json"
    if rng.random() < 0.12:
        path.mkdir()
    else:
        path.write_bytes(damaged_json(rng, good_record(job_id)))
    if rng.random() < 0.3:
        return Case("corrupt job record", "jobs", ["list"], 0,
                    check=lambda doc: str(path) in json.dumps(doc.get("damaged")))
    action = pick(rng, ("status", "wait", "download", "cancel"))
    return Case("corrupt job record", "jobs", [action, job_id, "--wait-timeout", "0"], 3, ("damaged_record", "config"))


def corrupt_sidecar(rng: random.Random, box: Path) -> Case:
    clip = box / "clip.mp4"
    clip.write_bytes(media.fallback_mp4(2.0))
    sidecar = {"kind": "video", "prompt": "a cat", "model": {"id": "gemini-omni-1.2-flash"},
               "parameters": {"model": {"value": "gemini-omni-1.2-flash"}}, "backend": {"name": "gemini-api"}}
    data = damaged_json(rng, sidecar)
    if data in (b"", b"null") or data.startswith(b"{") and _loads(data) == sidecar:
        data = b"[1, 2]"
    clip.with_suffix(".json").write_bytes(data)
    if rng.random() < 0.35:
        return Case("corrupt sidecar", "gallery", [str(box)], 0)
    return Case("corrupt sidecar", "video_gen", ["it goes on", "--extend-video", str(clip), "--dry-run"], 2,
                ("usage",))


def _loads(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return None


def corrupt_results(rng: random.Random, box: Path) -> Case:
    prompts = box / "prompts.txt"
    prompts.write_text("a red fox\na blue bird\n")
    out = _folder(box / "batch")
    good = {"key": "k1", "state": "succeeded", "prompt": "a red fox", "files": [], "kind": "image"}
    lines = [damaged_json(rng, good) for _ in range(rng.randint(1, 4))]
    (out / "batch-results.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    return Case("corrupt batch results", "batch_gen", [str(prompts), "-o", str(out),
                                                       pick(rng, ("--dry-run", "--estimate-cost"))], 0)


def corrupt_manifest(rng: random.Random, box: Path) -> Case:
    shots = box / "shots.yaml"
    shots.write_text("version: 1\ntitle: Cat\nshots:\n  - {id: s1, prompt: a cat walks, duration: 4, transition: cut}\n")
    out = _folder(box / "board")
    good = {"version": 1, "created": "2026-12-01T00:00:00+00:00", "shots": [{"id": "s1", "state": "running"}],
            "references": {}}
    (out / "manifest.json").write_bytes(damaged_json(rng, good, ("shots", "references")))
    return Case("corrupt storyboard manifest", "storyboard", [str(shots), "-o", str(out), "--dry-run"], 3,
                ("config",))


# -- files: not UTF-8, the wrong type, the wrong kind of path --------------------------------------------

def non_utf8_file(rng: random.Random, box: Path) -> Case:
    path = box / pick(rng, ("input.yaml", "input.txt", "input.csv", "input.jsonl"))
    path.write_bytes(non_utf8(rng))
    role = pick(rng, ("config", "override", "shot list", "batch", "prompt", "credentials", "image prompt"))
    case = _file_role(role, path)
    case.kind = "file not UTF-8"
    return case


def _file_role(role: str, path: Path) -> Case:
    """Hand ``path`` to a script in ``role``, and what that must end with for a file that cannot be used."""
    if role == "config":
        return Case("", "image_gen", ["a red fox", "--dry-run", "--config", str(path)], 3, ("config",))
    if role == "override":
        return Case("", "image_gen", ["a red fox", "--dry-run"], 3, ("catalog",),
                    env={"MEDIAGEN_CATALOG_OVERRIDE": str(path)})
    if role == "shot list":
        return Case("", "storyboard", [str(path), "--dry-run"], 2, ("usage",))
    if role == "batch":
        return Case("", "batch_gen", [str(path), "--dry-run"], 2, ("usage",))
    if role in ("prompt", "image prompt"):
        script = "video_gen" if role == "prompt" else "image_gen"
        return Case("", script, ["--prompt-file", str(path), "--dry-run"], 2, ("usage",))
    return Case("", "image_gen", ["a red fox", "--dry-run"], 3, ("credentials",),
                env={"GOOGLE_APPLICATION_CREDENTIALS": str(path), "GEMINI_API_KEY": ""})


WRONG_TYPES = {
    "config": ("- a list\n- of things\n", "42\n", "projects: [1, 2]\n", "image: {count: many}\n", "max_cost: .nan\n",
               "default_project: nowhere\n"),
    "override": ("- 1\n- 2\n", "models: {a: 1}\n", "models:\n  - id: 7\n    pricing: []\n", "just text\n"),
    "shot list": ("- 1\n", "version: 1\n", "version: 1\ntitle: X\nshots: {a: 1}\n",
                  "version: 1\ntitle: X\nshots:\n  - {id: [1], prompt: 5, duration: soon, transition: cut}\n",
                  "version: 1\ntitle: X\nshots:\n  - {id: s1, prompt: a, duration: 4, transition: teleport}\n"),
    "batch": ('{"items": 5}', '{"defaults": [], "items": []}', "- {prompt: [1, 2]}\n", "- {prompt: ok, count: many}\n",
              '[{"prompt": "a", "seed": "x"}]', "- 42\n", '{"items": [{"kind": "hologram", "prompt": "x"}]}'),
}
SUFFIXES = {"config": ".yaml", "override": ".yaml", "shot list": ".yaml", "batch": ".yaml"}


def wrong_type_file(rng: random.Random, box: Path) -> Case:
    role = pick(rng, WRONG_TYPES)
    text = pick(rng, WRONG_TYPES[role])
    suffix = ".json" if role == "batch" and text.startswith(("{", "[")) else SUFFIXES[role]
    path = box / f"input{suffix}"
    path.write_text(text)
    case = _file_role(role, path)
    case.kind = "file of the wrong type"
    return case


def folder_for_a_file(rng: random.Random, box: Path) -> Case:
    folder = _folder(box / "a-folder.yaml")
    role = pick(rng, ("config", "override", "shot list", "batch", "prompt", "credentials", "input image",
                      "extend", "config env"))
    if role == "input image":
        case = Case("", "image_gen", ["a red fox", "--dry-run", "-i", str(folder)], 2, ("usage",))
    elif role == "extend":
        case = Case("", "video_gen", ["more", "--dry-run", "--extend-video", str(folder)], 2, ("usage",))
    elif role == "config env":
        case = Case("", "image_gen", ["a red fox", "--dry-run"], 3, ("config",), env={"MEDIAGEN_CONFIG": str(folder)})
    else:
        case = _file_role(role, folder)
    case.kind = "folder where a file belongs"
    return case


def file_for_a_folder(rng: random.Random, box: Path) -> Case:
    afile = box / "a-file"
    afile.write_text("not a folder\n")
    role = pick(rng, ("job store", "gallery", "image output", "ledger", "batch output", "gallery page",
                      "storyboard folder"))
    if role == "gallery page":
        return Case("file where a folder belongs", "gallery", [str(_folder(box / "shots")), "-o",
                                                              str(afile / "gallery.html")], 3, ("config",))
    if role == "storyboard folder":
        board = box / "board.yaml"
        board.write_text("version: 1\ntitle: Cat\nshots:\n  - {id: s1, prompt: a cat, duration: 4, transition: cut}\n")
        return Case("file where a folder belongs", "storyboard", [str(board), "--approve", "-o", str(afile)], 3,
                    ("config",))
    if role == "job store":
        argv = pick(rng, (["list"], ["status", "vid-1"], ["wait", "vid-1"]))
        return Case("file where a folder belongs", "jobs", argv, 3, ("config",), env={"MEDIAGEN_JOB_STORE": str(afile)})
    if role == "gallery":
        return Case("file where a folder belongs", "gallery", [str(afile)], 2, ("usage",))
    if role == "image output":                   # a real run: refused before anything is sent
        return Case("file where a folder belongs", "image_gen", ["a red fox", "-o", str(afile / "sub")], 3, ("config",))
    if role == "ledger":
        return Case("file where a folder belongs", "image_gen", ["a red fox"], 3, ("config",),
                    env={"MEDIAGEN_LEDGER": str(afile / "ledger.jsonl")})
    prompts = box / "prompts.txt"
    prompts.write_text("a red fox\n")
    return Case("file where a folder belongs", "batch_gen", [str(prompts), "--approve", "-o", str(afile)], 3,
                ("config",))


# -- the environment -----------------------------------------------------------------------------------------

URL_VARIABLES = ("GOOGLE_GEMINI_BASE_URL", "GOOGLE_VERTEX_BASE_URL", "STORAGE_EMULATOR_HOST", "CLIPROXY_URL")
KEY_VARIABLES = ("GEMINI_API_KEY", "GOOGLE_API_KEY", "CLIPROXY_API_KEY", "GOOGLE_OAUTH_ACCESS_TOKEN")
NUMBER_VARIABLES = ("MEDIAGEN_POLL_INTERVAL_S", "MEDIAGEN_POLL_FIRST_S", "MEDIAGEN_MAX_COST",
                    "MEDIAGEN_PROGRESS_INTERVAL_S", "MEDIAGEN_URL_DEADLINE_S")
SEGMENT_VARIABLES = ("GOOGLE_CLOUD_PROJECT", "GOOGLE_CLOUD_LOCATION", "MEDIAGEN_GEMINI_API_VERSION")


def marker(rng: random.Random) -> str:
    return "zq" + "".join(pick(rng, "abcdefghjkmnpqrstuvwxyz23456789") for _ in range(10))


def bad_url(rng: random.Random, box: Path) -> Case:
    mark = marker(rng)
    value = pick(rng, (f"not a url {mark}", f"ftp://{mark}", f"http://{mark} x", f"https://{mark}:port/",
                       f"{mark}.example.com", f"http//{mark}", f"https://{mark}\n.example", f"file:///{mark}",
                       f"://{mark}"))
    variable = pick(rng, URL_VARIABLES)
    env = {variable: value, **({"CLIPROXY_URL": "http://127.0.0.1:9"} if variable != "CLIPROXY_URL" else {})}
    argv = ["a red fox", *(["--dry-run"] if rng.random() < 0.5 else [])]
    return Case("URL in the environment that is not one", "image_gen", argv, 3, ("config",), env=env, hidden=(mark,))


def bad_key(rng: random.Random, box: Path) -> Case:
    first, second = marker(rng), marker(rng)
    key = first + pick(rng, ("\n", "\t", "\r", "\x07", "\x1b", "\x7f")) + second
    variable = pick(rng, KEY_VARIABLES)
    backend = {"GEMINI_API_KEY": "gemini-api", "GOOGLE_API_KEY": "gemini-api", "CLIPROXY_API_KEY": "cliproxy",
               "GOOGLE_OAUTH_ACCESS_TOKEN": "vertex"}[variable]
    env = {variable: key, "GOOGLE_CLOUD_PROJECT": "fuzz-project", "CLIPROXY_URL": "http://127.0.0.1:9"}
    argv = ["a red fox", "--backend", backend, *(["--dry-run"] if rng.random() < 0.5 else [])]
    return Case("key with a control character", "image_gen", argv, 3, ("config",), env=env, hidden=(first, second))


def bad_number_env(rng: random.Random, box: Path) -> Case:
    """A setting that must be a number of seconds or dollars; refused before anything is sent, even for real."""
    value = pick(rng, ("soon", "", "5s", "1,5", "nan", "NaN", "-nan", "five", "∞", "0x10", "-1", "-0.5", "inf"))
    variable = pick(rng, NUMBER_VARIABLES)
    script, argv = pick(rng, (("image_gen", ["a red fox"]), ("video_gen", ["a cat walking", "--no-wait"])))
    argv += ["--dry-run"] if rng.random() < 0.5 else []
    if value.strip() == "":                     # empty counts as unset
        return Case("number in the environment that is not one", "image_gen", ["a red fox", "--dry-run"], 0,
                    env={variable: value})
    return Case("number in the environment that is not one", script, argv, 3, ("config",), env={variable: value})


def hostile_job_id(rng: random.Random, box: Path) -> Case:
    job_id = pick(rng, ("../x", "a/b", "a\\b", ".hidden", "x\x00y", "x" * 300, "vid-1\n", "..", "*", "vid-?"))
    action = pick(rng, ("status", "wait", "download", "cancel"))
    return Case("job id that cannot be one", "jobs", [action, job_id, "--wait-timeout", "0"], 2, ("usage",))


def bad_segment_env(rng: random.Random, box: Path) -> Case:
    variable = pick(rng, SEGMENT_VARIABLES)
    value = pick(rng, ("../other", "p?x=1", "a b", "p#frag", "x/y", "%2e%2e", "p\\q", "@evil.example"))
    env = {variable: value, "GOOGLE_OAUTH_ACCESS_TOKEN": "ya29.fuzz-token-abcdef"}
    if variable != "GOOGLE_CLOUD_PROJECT":
        env["GOOGLE_CLOUD_PROJECT"] = "fuzz-project"
    backend = "gemini-api" if variable == "MEDIAGEN_GEMINI_API_VERSION" else "vertex"
    return Case("URL part in the environment that is not one", "image_gen",
                ["a red fox", "--dry-run", "--backend", backend, "-m", "zz-unknown-model"], 3, ("config",), env=env)


# -- child processes: consoles, stdin, argv bytes -----------------------------------------------------------

def cp1252_console(rng: random.Random, box: Path) -> Case:
    prompt = pick(rng, ("猫がコーヒーを飲む ☕", "قطة على السطح", "😀 party", "Ωmega ĳ ß"))
    choice = rng.randrange(3)
    if choice == 0:
        return Case("cp1252 console", "image_gen", [prompt, "--dry-run"], 0, child=True, console="cp1252")
    if choice == 1:
        return Case("cp1252 console", "video_gen", [prompt, "--dry-run", f"--zz-{prompt}"], 2, ("usage",), child=True,
                    console="cp1252")
    return Case("cp1252 console", "image_gen", [prompt, "--dry-run", "--aspect-ratio", prompt], 2, ("invalid_request",),
                child=True, console="cp1252")


def prompt_on_stdin(rng: random.Random, box: Path) -> Case:
    data = pick(rng, (b"\xff\xfe a fox", "café".encode("cp1252"), b"", "a cat ☕".encode()))
    ok = data.strip() and _utf8(data)
    return Case("prompt on stdin", "image_gen", ["-", "--dry-run"], 0 if ok else 2, () if ok else ("usage",),
                child=True, stdin=data)


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def argv_bytes(rng: random.Random, box: Path) -> Case:
    raw = pick(rng, (b"caf\xe9", b"\xff\xfe", b"ok \x80 no"))
    return Case("argv not UTF-8", "image_gen", [os.fsdecode(raw), "--dry-run"], 2, ("usage",), child=True)


# -- the case list ------------------------------------------------------------------------------------------

GENERATORS: tuple[tuple[Callable[[random.Random, Path], Case], int], ...] = (
    (unknown_flag, 14), (bad_number, 20), (nan_flag, 12), (upload_target, 8), (missing_value, 10), (bad_choice, 12),
    (bad_catalog_value, 16), (hostile_model, 14), (valid_request, 40), (corrupt_record, 30), (corrupt_sidecar, 16),
    (corrupt_results, 12), (corrupt_manifest, 10), (non_utf8_file, 20), (wrong_type_file, 24),
    (folder_for_a_file, 16), (file_for_a_folder, 16), (bad_url, 14), (bad_key, 12), (bad_number_env, 12),
    (bad_segment_env, 10), (hostile_job_id, 10), (cp1252_console, 4), (prompt_on_stdin, 4), (argv_bytes, 2),
)


def make_cases(root: Path) -> list[tuple[Path, Case]]:
    """Every case, from the fixed seed: ``(its folder, the case)``."""
    made = []
    for generator, count in GENERATORS:
        for n in range(count):
            box = _folder(root / f"{generator.__name__}-{n:02d}")
            made.append((box, generator(random.Random(f"{SEED}/{generator.__name__}/{n}"), box)))
    return made


# -- running and judging ---------------------------------------------------------------------------------

@dataclass
class Ran:
    code: int
    stdout: str
    stderr: str


def run_case(case: Case, env: dict[str, str], box: Path) -> Ran:
    if not case.child:
        out, err = io.StringIO(), io.StringIO()
        code = MAINS[case.script](list(case.argv), env=env, stdout=out, stderr=err)
        return Ran(code, out.getvalue(), err.getvalue())
    child_env = {**env, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    if case.console:
        child_env["PYTHONIOENCODING"] = case.console
    argv = [os.fsencode(a) for a in case.argv]
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / f"{case.script}.py"), *argv], input=case.stdin,
                          env=child_env, cwd=box, capture_output=True, timeout=60)
    return Ran(done.returncode, done.stdout.decode("utf-8"), done.stderr.decode("utf-8", "replace"))


def judge(case: Case, ran: Ran) -> list[str]:
    """What is wrong with how a case ended (empty: nothing)."""
    problems = []
    try:
        doc = json.loads(ran.stdout)
        jsonschema.validate(doc, RESULT_SCHEMA)
    except (ValueError, jsonschema.ValidationError) as exc:
        return [f"not one valid JSON document ({str(exc)[:120]}): {ran.stdout[:200]!r} / {ran.stderr[-300:]!r}"]
    error_type = (doc.get("error") or {}).get("type")
    if ran.code == 1:
        problems.append("exit 1")
    if "Traceback" in ran.stderr:
        problems.append("traceback")
    if not case.accepts(ran.code, error_type):
        message = (doc.get("error") or {}).get("message", "")
        problems.append(f"ended {ran.code}/{error_type}, expected {case.code}/{case.types}: {message[:160]}")
    if case.check is not None and ran.code == case.code and not case.check(doc):
        problems.append("the document lacks what the case checks")
    for secret in (SECRET, *case.hidden):
        if secret in ran.stdout or secret in ran.stderr:
            problems.append(f"a secret or hidden value in the output: {secret[:12]}...")
    return problems


@pytest.fixture
def fuzz_env(fake, fake_env) -> dict[str, str]:
    fake.gemini_api_keys.add(SECRET)
    return {**fake_env, **FAST_POLLS, "GEMINI_API_KEY": SECRET}


def test_fuzzed_inputs_end_cleanly_with_the_expected_error(fake, fuzz_env, tmp_path) -> None:
    cases = make_cases(tmp_path / "cases")
    failures, exit_1, tracebacks = [], 0, 0
    for box, case in cases:
        fake.clear()
        env = {**fuzz_env, "XDG_STATE_HOME": str(box / "state"), **case.env}
        ran = run_case(case, env, box)
        exit_1 += ran.code == 1
        tracebacks += "Traceback" in ran.stderr
        problems = judge(case, ran)
        if billable_creates(fake):
            problems.append("something that may bill was sent")
        if problems:
            failures.append(f"{box.name} [{case.kind}] {case.script} {case.argv!r:.160} env={case.env!r:.120}: "
                            + "; ".join(problems))
    assert len(cases) >= 300
    assert not failures, (f"{len(failures)} of {len(cases)} cases failed ({exit_1} exit 1, {tracebacks} tracebacks):\n"
                          + "\n".join(failures))


def test_the_expectations_are_specific(tmp_path) -> None:
    """A script that answered exit 2 (or 3, or 0) to everything would fail most classes."""
    cases = [case for _, case in make_cases(tmp_path / "cases")]
    for code, error_type in ((2, "usage"), (2, "invalid_request"), (3, "config"), (0, None)):
        passing = sum(case.accepts(code, error_type) for case in cases)
        assert passing < len(cases) * 0.4, (code, error_type, passing)
    assert {case.code for case in cases} >= {0, 2, 3}


def test_a_real_internal_bug_still_exits_1(monkeypatch, fuzz_env) -> None:
    """The face's handling of a bug: exit 1, type internal, one document, a one-line note and no traceback."""
    def broken(*args: Any, **kwargs: Any) -> Any:
        return 1 / 0

    monkeypatch.setattr(image_use_case, "generate_image", broken)     # the face imports it when it runs
    out, err = io.StringIO(), io.StringIO()
    code = image_gen.main(["a red fox", "--dry-run"], env=fuzz_env, stdout=out, stderr=err)
    doc = json.loads(out.getvalue())
    jsonschema.validate(doc, RESULT_SCHEMA)
    assert code == 1 and doc["exit_code"] == 1 and doc["error"]["type"] == "internal", doc
    assert "ZeroDivisionError" in doc["error"]["message"] and "bug" in doc["error"]["hint"]
    assert "Traceback" not in err.getvalue() and "internal error" in err.getvalue()
