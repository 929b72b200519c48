"""Job records and sidecars on disk: files written before the schema version read, round-trip and keep unknowns."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mediagen.core import errors
from mediagen.ops.jobstore import BatchJob, JobRecord, JobStore, VideoJob, job_from_json
from mediagen.ops.output import Sidecar, read_sidecar, write_sidecar
from mediagen.ops.records import SCHEMA_FIELD, SCHEMA_VERSION

DATA = Path(__file__).parent / "data" / "records"
JOBS = sorted(DATA.glob("job-*.json"))
SIDECARS = sorted(DATA.glob("sidecar-*.json"))


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def with_schema(doc: dict) -> dict:
    return {SCHEMA_FIELD: SCHEMA_VERSION, **doc}


@pytest.mark.parametrize("path", JOBS, ids=lambda p: p.stem)
def test_job_records_of_the_previous_version_read_and_round_trip(path: Path) -> None:
    doc = load(path)
    record = job_from_json(doc)
    assert isinstance(record, BatchJob if doc["kind"] == "image-batch" else VideoJob)
    assert (record.job_id, record.state, record.polls) == (doc["job_id"], doc["state"], doc["polls"])
    assert record.schema == SCHEMA_VERSION and record.extra == {}
    written = record.to_json()
    assert written == with_schema(doc)
    assert list(written) == [SCHEMA_FIELD, *doc]                  # the same fields, in the same order


def test_typed_fields_of_the_captured_records() -> None:
    video = job_from_json(load(DATA / "job-video-omni.json"))
    assert isinstance(video, VideoJob) and video.provider == "omni" and video.location is None
    assert video.handle and video.outputs and video.outputs[0]["sidecar"].endswith(".json")
    assert video.first_poll_s == 0.0 and video.actual_usd == pytest.approx(0.40544)
    running = job_from_json(load(DATA / "job-video-running.json"))
    assert running.state == "running" and running.outputs is None and running.finished is None
    unknown = job_from_json(load(DATA / "job-video-create-unknown.json"))
    assert unknown.state == "unknown" and unknown.handle is None and unknown.error["status"] == 500
    batch = job_from_json(load(DATA / "job-image-batch.json"))
    assert isinstance(batch, BatchJob) and batch.handle.startswith("batches/") and len(batch.items) == 2
    assert batch.create_sent and batch.results_file.endswith("batch-results.jsonl")


def test_store_reads_old_files_and_writes_them_back_with_only_the_schema_added(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs")
    store.folder.mkdir()
    for path in JOBS:
        shutil.copy(path, store.folder / f"{load(path)['job_id']}.json")
    running = load(DATA / "job-video-running.json")
    record = store.get(running["job_id"], VideoJob)
    assert record.state == "running" and record.remote_state is None and "remote_state" not in running
    updated = store.update(running["job_id"], polls=record.polls + 1, last_poll="2030-01-01T00:00:00+00:00")
    on_disk = json.loads(store.path(running["job_id"]).read_text())
    assert on_disk == {**with_schema(running), "polls": running["polls"] + 1,
                       "last_poll": "2030-01-01T00:00:00+00:00", "updated": updated.updated}
    assert list(on_disk) == [SCHEMA_FIELD, *running, "last_poll"]          # a new field goes last
    assert len(store.list()) == len(JOBS) and [r.job_id for r in store.list("running")] == [running["job_id"]]
    with pytest.raises(errors.UsageError):
        store.get(running["job_id"], BatchJob)


def test_unknown_fields_and_newer_versions_survive_a_round_trip(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    doc = {**load(DATA / "job-video-running.json"), SCHEMA_FIELD: 7, "future": {"kept": True}}
    store.path(doc["job_id"]).write_text(json.dumps(doc))
    store.update(doc["job_id"], state="cancelled")
    again = json.loads(store.path(doc["job_id"]).read_text())
    assert again[SCHEMA_FIELD] == 7 and again["future"] == {"kept": True} and again["state"] == "cancelled"
    foreign = job_from_json({"job_id": "x-1", "kind": "audio", "voice": "calm"})
    assert type(foreign) is JobRecord and foreign.extra == {"voice": "calm"}
    with pytest.raises(AttributeError):
        foreign.set(_last_poll=1.0)                  # records hold only what is written to disk


def test_nulls_are_written_only_when_given(tmp_path: Path) -> None:
    created = JobStore(tmp_path).create(VideoJob.of(job_id="vid-1", location=None, polls=0))
    doc = json.loads((tmp_path / "vid-1.json").read_text())
    assert list(doc)[:3] == [SCHEMA_FIELD, "created", "job_id"] and doc["location"] is None
    assert "handle" not in doc and "usage" not in doc and doc["updated"] == created.updated
    created.set(usage=None)
    assert created.to_json()["usage"] is None


@pytest.mark.parametrize("path", SIDECARS, ids=lambda p: p.stem)
def test_sidecars_of_the_previous_version_read_and_round_trip(path: Path, tmp_path: Path) -> None:
    doc = load(path)
    media = tmp_path / doc["file"]
    shutil.copy(path, media.with_suffix(".json"))
    sidecar = read_sidecar(media)
    assert sidecar is not None and sidecar.kind == doc["kind"] and sidecar.prompt == doc["prompt"]
    assert sidecar.extra == {} and sidecar.to_json() == with_schema(doc)
    sidecar.set(batch={"key": "k", "line": 1, "index": 1, "via": "online"})
    written = json.loads(write_sidecar(media, sidecar).read_text())
    assert written == {**with_schema(doc), "batch": {"key": "k", "line": 1, "index": 1, "via": "online"}}
    assert list(written)[: len(doc) + 1] == [SCHEMA_FIELD, *doc]


def test_sidecar_fields_by_kind() -> None:
    video = Sidecar.from_json(load(DATA / "sidecar-video-omni.json"))
    assert video.omni["interaction_id"] == video.operation and video.duration_s == 4.0 and video.width is None
    image = Sidecar.from_json(load(DATA / "sidecar-image-batch-api.json"))
    assert image.batch["via"] == "batch-api" and image.location is None and "location" not in image.to_json()
    assert read_sidecar(Path("/nonexistent/file.png")) is None
