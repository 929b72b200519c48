"""The shot list: its shots and references, loading with the JSON schema, cross-checks, prompts, fingerprints.

The format is ``schemas/shotlist.schema.json`` (described in the package
docstring). Loading checks the schema first, then what a schema cannot say
(unique ids, a first shot that is a cut, inputs only where the transition
allows them), and resolves input paths to absolute ones.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mediagen.core import errors
from mediagen.core.resources import SCHEMAS_DIR
from mediagen.core.yamlfile import read_yaml

SCHEMA_PATH = SCHEMAS_DIR / "shotlist.schema.json"
URI_PREFIXES = ("gs://", "http://", "https://", "data:")
# What a fix phrased as a command-line flag means in a shot list: a field of the shot ("{shot}." is
# replaced by ``shots[N].``), or a top-level field. Flags storyboard.py takes itself (--backend) stay.
SHOT_FIELDS = {"--duration": "{shot}.duration", "--resolution": "{shot}.resolution", "--model": "{shot}.model",
               "--preset": "{shot}.preset", "--image": "{shot}.image", "--reference-image": "{shot}.references",
               "--extend-video": "{shot}.transition: extend", "--aspect-ratio": "aspect_ratio"}
KEYFRAME_FIELDS = {"--model": "image_model", "--aspect-ratio": "aspect_ratio", "--preset": "preset"}
_FLAG = re.compile(r"(--[a-z][a-z-]*)(?:[ =]((?!--|(?:with|or|and|to|for|in|on)\b)[\w.:/+-]+))?")


@dataclass(frozen=True)
class Reference:
    """A reference image shared by shots: an existing file, or one to make from a prompt."""

    id: str
    kind: str
    path: str | None = None
    prompt: str | None = None


@dataclass(frozen=True)
class Shot:
    """One shot as the shot list gives it (``index`` counts from 1)."""

    index: int
    id: str
    prompt: str
    duration: int
    transition: str
    camera: str | None = None
    references: tuple[str, ...] = ()
    image: str | None = None
    keyframe: str | None = None
    preset: str | None = None
    model: str | None = None
    resolution: str | None = None

    @property
    def stem(self) -> str:
        """``NN-ID``: the start of every file name made for the shot."""
        return f"{self.index:02d}-{self.id}"


@dataclass
class ShotList:
    """A validated shot list; input paths are resolved to absolute ones."""

    path: Path
    title: str
    shots: list[Shot]
    style: str | None = None
    top: dict[str, Any] = field(default_factory=dict)        # aspect_ratio, backend, preset, model, resolution
    image_model: str | None = None
    references: dict[str, Reference] = field(default_factory=dict)
    sha256: str = ""

    def chains(self) -> list[list[Shot]]:
        """Runs of shots that depend on each other: a cut shot and the continue/extend shots after it."""
        chains: list[list[Shot]] = []
        for shot in self.shots:
            if shot.transition == "cut" or not chains:
                chains.append([shot])
            else:
                chains[-1].append(shot)
        return chains

    def dependents(self, index: int) -> list[int]:
        """Shots whose footage depends on shot ``index`` (the continue/extend shots right after it)."""
        found = []
        for shot in self.shots[index:]:
            if shot.transition == "cut":
                break
            found.append(shot.index)
        return found

    def full_prompt(self, shot: Shot) -> str:
        """The prompt sent for the shot: style notes, its text, its camera note."""
        return compose_prompt(self.style, shot.prompt, shot.camera)

    def fingerprint(self, shot: Shot) -> str:
        """A hash of everything that shapes a shot's footage (a change means it must be redone)."""
        refs = [(r, self.references[r].path or self.references[r].prompt, self.references[r].kind)
                for r in shot.references]
        doc = {"prompt": self.full_prompt(shot), "duration": shot.duration, "transition": shot.transition,
               "image": shot.image, "keyframe": shot.keyframe and compose_prompt(self.style, shot.keyframe),
               "references": refs, "preset": shot.preset, "model": shot.model, "resolution": shot.resolution,
               "top": self.top, "image_model": self.image_model}
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode("utf-8")).hexdigest()[:16]


def in_shotlist_terms(exc: errors.MediagenError, shot: Shot, fields: dict[str, str] | None = None) -> None:
    """Say a shot's problem in the shot list's words: ``--duration 8`` becomes ``shots[1].duration: 8``.

    Changes the message, the hint and the fixes in ``details`` in place (``shots[N]`` counts from 0, as YAML
    paths and the schema errors do).
    """
    table = {flag: name.replace("{shot}", f"shots[{shot.index - 1}]") for flag, name in
             (fields or SHOT_FIELDS).items()}

    def field(match: re.Match[str]) -> str:
        name = table.get(match.group(1))
        if name is None:
            return match.group(0)
        return f"{name}: {match.group(2)}" if match.group(2) and ":" not in name else name

    exc.message = _FLAG.sub(field, exc.message)
    exc.hint = _FLAG.sub(field, exc.hint)
    problems = exc.details.get("problems") if isinstance(exc.details, dict) else None
    for problem in problems if isinstance(problems, list) else []:
        if isinstance(problem, dict) and isinstance(problem.get("fix"), str):
            problem["fix"] = _FLAG.sub(field, problem["fix"])


def compose_prompt(style: str | None, text: str, camera: str | None = None) -> str:
    """``"<style>. <text>. Camera: <camera>."`` (style first, so every shot shares it)."""
    parts = [style, text, f"Camera: {camera}" if camera else None]
    return " ".join(_sentence(p) for p in parts if p and p.strip())


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if text[-1] in ".!?" else text + "."


def load_shotlist(path: Path, cwd: Path) -> ShotList:
    """Read, schema-check and cross-check a shot list; errors name the file and the field."""
    raw = _read_yaml(path)
    problems = schema_problems(raw)
    if problems:
        raise errors.UsageError(f"shot list {path} is invalid: {problems[0]}",
                                f"Fix the named field (format: {SCHEMA_PATH.name} in scripts/mediagen/schemas/).",
                                details={"file": str(path), "problems": problems})
    base = path.resolve().parent
    refs = {r["id"]: _reference(r, cwd, base, path) for r in raw.get("references") or []}
    shots = [_shot(i, s, cwd, base, path) for i, s in enumerate(raw["shots"], start=1)]
    shotlist = ShotList(path=path, title=raw["title"], shots=shots, style=raw.get("style"),
                        top={k: raw[k] for k in ("aspect_ratio", "backend", "preset", "model", "resolution")
                             if raw.get(k)},
                        image_model=raw.get("image_model"), references=refs,
                        sha256=hashlib.sha256(path.read_bytes()).hexdigest())
    _cross_check(shotlist)
    return shotlist


def _read_yaml(path: Path) -> Any:
    return read_yaml(path, error=errors.UsageError, what="shot list")


def schema_problems(data: Any) -> list[str]:
    """Every schema violation as ``"field/path: message"`` (empty when valid)."""
    import jsonschema

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    found = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '(top level)'}: {e.message}" for e in found]


def _reference(raw: dict[str, Any], cwd: Path, base: Path, path: Path) -> Reference:
    where = f"references/{raw['id']}"
    local = _resolve_input(raw["path"], cwd, base, path, where) if raw.get("path") else None
    return Reference(raw["id"], raw.get("kind", "asset"), local, raw.get("prompt"))


def _shot(index: int, raw: dict[str, Any], cwd: Path, base: Path, path: Path) -> Shot:
    image = _resolve_input(raw["image"], cwd, base, path, f"shots/{index}/image") if raw.get("image") else None
    return Shot(index=index, id=raw["id"], prompt=raw["prompt"], duration=int(raw["duration"]),
                transition=raw["transition"], camera=raw.get("camera"),
                references=tuple(raw.get("references") or ()), image=image, keyframe=raw.get("keyframe"),
                preset=raw.get("preset"), model=raw.get("model"), resolution=raw.get("resolution"))


def _resolve_input(text: str, cwd: Path, base: Path, path: Path, where: str) -> str:
    """URIs as given; a relative path against the working directory, then the shot list's folder."""
    if text.startswith(URI_PREFIXES):
        return text
    given = Path(text).expanduser()
    candidates = [given] if given.is_absolute() else [cwd / given, base / given]
    for candidate in candidates:
        if candidate.is_file():
            return str(candidate.resolve())
    raise errors.UsageError(f"shot list {path}: {where}: file {text} not found",
                            f"Looked in {' and '.join(str(c.parent) for c in candidates)}; fix the path.")


def _cross_check(shotlist: ShotList) -> None:
    """What the schema cannot say: unique ids, the first shot is a cut, inputs only where they fit."""
    where = f"shot list {shotlist.path}"
    seen: set[str] = set()
    for shot in shotlist.shots:
        if shot.id in seen:
            raise errors.UsageError(f"{where}: two shots have the id {shot.id}", "Give every shot its own id.")
        seen.add(shot.id)
        _check_shot(shotlist, shot, where)


def _check_shot(shotlist: ShotList, shot: Shot, where: str) -> None:
    """One shot's references exist, and its inputs fit its transition."""
    missing = [r for r in shot.references if r not in shotlist.references]
    if missing:
        raise errors.UsageError(f"{where}: shot {shot.id} names unknown reference {missing[0]}",
                                f"Define it under references: (known: {', '.join(shotlist.references) or 'none'}).")
    if shot.transition != "cut" and shot.index == 1:
        raise errors.UsageError(f"{where}: the first shot ({shot.id}) is '{shot.transition}', but there is "
                                "no previous shot", "Make the first shot a cut.")
    if shot.transition != "cut" and (shot.image or shot.keyframe):
        raise errors.UsageError(f"{where}: shot {shot.id} is '{shot.transition}', so its first frame comes "
                                "from the previous shot; it cannot also have image/keyframe",
                                "Drop image/keyframe, or make the shot a cut.")
    if shot.image and shot.keyframe:
        raise errors.UsageError(f"{where}: shot {shot.id} has both image and keyframe",
                                "Keep one: image (an existing file) or keyframe (a prompt).")
