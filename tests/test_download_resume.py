"""Downloads survive kills: the final name is reserved by its ``.part`` and the job record, never by a 0-byte file."""
from __future__ import annotations

from pathlib import Path

from mediagen.cli.jobs import main as jobs_main
from mediagen.cli.video_gen import main as video_main
from tests.money import VEO_MODEL, files_in, kill_mid_download, ledger_entries, veo_env


def test_a_killed_download_resumes_into_its_planned_name(run, fake, omni_env, tmp_path) -> None:
    env = veo_env(omni_env, fake, tmp_path)
    out = tmp_path / "videos"
    started = run(video_main, "a cat walking", "--model", VEO_MODEL, "-o", str(out / "clip.mp4"), "--no-wait",
                  env=env)
    job_id = started.doc["job_id"]
    fake.set_drip(0.05, chunk_bytes=2048)
    written = kill_mid_download(job_id, env, out, tmp_path)
    fake.set_drip(None)
    assert [n for n in files_in(out) if not n.startswith(".")] == []       # no 0-byte file under the final name
    other = run(video_main, "a dog running", "--model", VEO_MODEL, "-o", str(out / "clip.mp4"), env=env)
    assert other.code == 0, other.doc
    assert Path(other.doc["videos"][0]["path"]).name == "clip-2.mp4"       # the .part reserves clip.mp4
    resumed = run(jobs_main, "wait", job_id, env=env)
    assert resumed.code == 0, resumed.doc
    video = Path(resumed.doc["videos"][0]["path"])
    assert video == out / "clip.mp4" and video.stat().st_size > written
    assert files_in(out) == ["clip-2.json", "clip-2.mp4", "clip.json", "clip.mp4"]
    blobs = [r for r in fake.requests if r.path.startswith("/_blob/")]
    assert blobs[-1].headers.get("range", "bytes=0-") != "bytes=0-"        # the same partial file, continued
    finals = [e for e in ledger_entries(env) if e["run_id"] == job_id and e["status"] == "succeeded"]
    assert len(finals) == 1
    again = run(jobs_main, "download", job_id, env=env)
    assert again.code == 0 and again.doc["videos"] == resumed.doc["videos"]
    assert len([e for e in ledger_entries(env) if e["run_id"] == job_id and e["status"] == "succeeded"]) == 1


def test_a_name_another_unfinished_job_planned_is_not_offered(tmp_path) -> None:
    from mediagen.ops import downloads
    from mediagen.ops.jobstore import JobStore, VideoJob
    from mediagen.wire.common import MediaPayload

    store, folder = JobStore(tmp_path / "jobs"), tmp_path / "videos"
    common = {"state": "downloading", "model": {"id": "m"}, "backend": {"name": "gemini-api"},
              "output": {"folder": str(folder), "stem": "clip"}}
    store.create(VideoJob.of(job_id="vid-a", planned=[str(folder / "clip.mp4")], **common))
    second = store.create(VideoJob.of(job_id="vid-b", **common))
    media = [MediaPayload("video/mp4", uri="https://example.test/v.mp4")]
    paths = downloads.planned_paths(second, media, store, settings=None)
    assert paths == [folder / "clip-2.mp4"] and (folder / ".clip-2.mp4.part").is_file()
    assert store.get("vid-b").planned == [str(folder / "clip-2.mp4")]
    assert not (folder / "clip.mp4").exists() and not (folder / "clip-2.mp4").exists()
