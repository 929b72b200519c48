"""The job store's index: jobs.py list reads one page, and a lost or damaged index heals into the same listing."""
from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from mediagen.cli.jobs import main as jobs_main
from mediagen.ops import jobstore
from mediagen.ops.jobindex import INDEX_NAME
from mediagen.ops.jobstore import JobStore, VideoJob

STATES = ("succeeded", "running", "failed", "submitting")


def fill(store: JobStore, count: int, *, shuffled: bool = False) -> list[str]:
    """``count`` jobs, one a second (out of creation order when ``shuffled``); their ids newest first."""
    order = list(range(count))
    if shuffled:
        order = order[::2] + order[1::2]
    for n in order:
        store.create(VideoJob.of(job_id=f"vid-{n:05d}", created=f"2026-12-01T00:{n // 60:02d}:{n % 60:02d}+00:00",
                                 state="submitting", prompt=f"clip {n}",
                                 model={"id": "veo-3.1-generate-preview"}, backend={"name": "vertex"}))
        store.update(f"vid-{n:05d}", state=STATES[n % len(STATES)])
    return [f"vid-{n:05d}" for n in reversed(range(count))]


def ids(store: JobStore, state: str | None = None, limit: int | None = None) -> list[str]:
    return [r.job_id for r in store.list(state, limit=limit)]


def test_a_page_reads_only_its_own_records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = JobStore(tmp_path)
    newest = fill(store, 300)
    assert ids(store) == newest                                       # builds the index once
    read: list[Path] = []
    original = jobstore.read_record
    monkeypatch.setattr(jobstore, "read_record", lambda path, **kw: read.append(path) or original(path, **kw))
    assert ids(store, limit=20) == newest[:20] and len(read) == 20
    read.clear()
    running = [i for i in newest if int(i[4:]) % len(STATES) == 1]
    assert ids(store, "running", limit=5) == running[:5] and len(read) == 5
    assert ids(store, "active", limit=8) == [i for i in newest if int(i[4:]) % 4 in (1, 3)][:8]


@pytest.mark.parametrize("damage", ["deleted", "garbage", "torn last line", "cut at a line", "middle line",
                                    "empty"])
def test_a_lost_or_damaged_index_heals_into_the_same_listing(tmp_path: Path, damage: str) -> None:
    store = JobStore(tmp_path)
    fill(store, 120, shuffled=True)
    expected = {state: ids(store, state) for state in (None, "running", "active")}
    index = tmp_path / INDEX_NAME
    text = index.read_text()
    lines = text.splitlines(keepends=True)
    broken = {"deleted": None, "garbage": "\x00\xff not json \n" * 3, "torn last line": text[:-7],
              "cut at a line": "".join(lines[: len(lines) // 2]), "empty": "",
              "middle line": "".join(lines[:-3] + ['{"job_id": "vid-00001", "oops"\n'] + lines[-2:])}[damage]
    if broken is None:
        index.unlink()
    else:
        index.write_text(broken)
    assert {state: ids(store, state) for state in expected} == expected
    assert ids(store, limit=7) == expected[None][:7]
    assert json.loads(index.read_text().splitlines()[-1])["count"] == 120      # healed on disk
    assert store.index._consistent()


def test_records_changed_behind_the_index_are_still_listed_right(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    newest = fill(store, 30)
    (tmp_path / f"{newest[0]}.json").unlink()                         # deleted by hand
    copied = json.loads((tmp_path / f"{newest[5]}.json").read_text())
    copied.update(job_id="vid-99999", created="2027-01-01T00:00:00+00:00")
    (tmp_path / "vid-99999.json").write_text(json.dumps(copied))     # copied in by hand
    assert ids(store, limit=3) == ["vid-99999", newest[1], newest[2]]
    before = store.get(newest[3]).state
    with store.index.recording(newest[3], None, "cancelled", before):
        pass                                                         # killed between the index line and the record
    assert newest[3] in ids(store, before) and newest[3] not in ids(store, "cancelled")


def test_concurrent_writers_keep_the_index_whole(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    ids(store)                                                       # an (empty) index exists from the start

    def worker(n: int) -> None:
        for k in range(15):
            job = f"vid-{n}-{k:02d}"
            store.create(VideoJob.of(job_id=job, created=f"2026-12-01T01:00:{k:02d}+00:00", state="submitting",
                                     model={"id": "veo-3.1-generate-preview"}, backend={"name": "vertex"}))
            store.update(job, state="running")
            store.update(job, polls=1)                                 # not a state change: no index line

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = [json.loads(x) for x in (tmp_path / INDEX_NAME).read_text().splitlines()]
    assert len(lines) == 1 + 6 * 15 * 2 and lines[-1]["count"] == 90
    assert store.index._consistent()
    listed = ids(store, "running")
    assert len(listed) == 90 and listed == sorted(listed, key=lambda j: (j[-2:], j), reverse=True)


def test_jobs_list_shows_the_newest_page(run, base_env, tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs")
    newest = fill(store, 45)
    result = run(jobs_main, "list", "--limit", "5", env={**base_env, "MEDIAGEN_JOB_STORE": str(store.folder)})
    assert result.code == 0 and [j["job_id"] for j in result.doc["jobs"]] == newest[:5]


def test_a_damaged_file_is_named_on_every_page_whatever_the_filter(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    newest = fill(store, 60)
    (tmp_path / "vid-torn.json").write_text('{"job_id": "vid-torn", "sta')
    (tmp_path / "vid-a-list.json").write_text("[1, 2]")
    for state in (None, "running", "active"):
        records, damaged = store.scan(state, limit=5)
        assert len(records) == 5 and sorted(d.path.name for d in damaged) == ["vid-a-list.json", "vid-torn.json"]
    assert [r.job_id for r in store.scan(limit=5)[0]] == newest[:5]
