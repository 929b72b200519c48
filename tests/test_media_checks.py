"""Media are checked before success is reported: the bytes must be what the answer declared, and decode."""
from __future__ import annotations

import base64
import struct
from pathlib import Path

import pytest

from mediagen.cli.image_gen import main as image_main
from mediagen.cli.jobs import main as jobs_main
from mediagen.cli.video_gen import main as video_main
from mediagen.core import errors
from mediagen.ops import frames
from tests.fake_google import media
from tests.money import VEO_MODEL, files_in, ledger_entries, veo_env

NO_MOOV = (struct.pack(">I4s4sI4s4s", 24, b"ftyp", b"isom", 0x200, b"isom", b"mp41")
           + struct.pack(">I4s", 8 + 64, b"mdat") + bytes(64))


def creates(fake, suffix: str) -> list:
    return [r for r in fake.requests if r.method == "POST" and r.path.endswith(suffix)]


@pytest.mark.parametrize("case, body", [("html", b"<html><body>Sign in to continue</body></html>"),
                                        ("empty", b""), ("no moov box", NO_MOOV)])
def test_a_download_that_is_not_a_video_fails_and_can_be_fetched_again(run, fake, omni_env, tmp_path, case,
                                                                        body) -> None:
    env = veo_env(omni_env, fake, tmp_path)
    out = tmp_path / "videos"
    fake.add_fault(service="gemini", path_contains="/_blob/", method="GET", body=body)
    result = run(video_main, "a cat walking", "--model", VEO_MODEL, "-o", str(out), env=env)
    assert result.code == 5, result.doc
    error = result.doc["error"]
    job_id = error["details"]["job_id"]
    assert error["type"] == "bad_reply" and "may have been billed" in error["message"] and job_id in error["message"]
    assert f"download {job_id}" in error["hint"]
    assert files_in(out) == []                          # nothing under a final name, no part left behind
    again = run(jobs_main, "download", job_id, env=env)
    assert again.code == 0, again.doc
    assert frames.probe(Path(again.doc["videos"][0]["path"]))["streams"]
    assert len(creates(fake, ":predictLongRunning")) == 1


@pytest.mark.parametrize("mime, data", [("image/png", b"this is text, not a picture"),
                                        ("image/jpeg", media.image_bytes(16, 16, "image/png")),
                                        ("image/png", media.image_bytes(16, 16, "image/png")[:40])])
def test_an_inline_image_that_is_not_what_it_declares_fails(run, fake, omni_env, tmp_path, mime, data) -> None:
    encoded = base64.b64encode(data).decode()
    body = ('{"candidates": [{"content": {"parts": [{"inlineData": {"mimeType": "%s", "data": "%s"}}]}, '
            '"finishReason": "STOP"}]}' % (mime, encoded))
    fake.add_fault(service="gemini", path_contains=":generateContent", body=body)
    out = tmp_path / "images"
    result = run(image_main, "a red fox", "-o", str(out), env=omni_env)
    assert result.code == 5, result.doc
    error = result.doc["error"]
    assert error["type"] == "bad_reply" and "may have been billed" in error["message"]
    assert "request 1 of 1" in error["message"] and mime in error["message"]
    assert [n for n in files_in(out) if not n.startswith(".")] == []
    assert ledger_entries(omni_env)[-1]["status"] == "unknown"


def test_an_inline_video_that_is_not_one_fails(run, fake, vertex_env, tmp_path) -> None:
    body = ('{"name": "projects/p/locations/us-central1/publishers/google/models/m/operations/1", "done": true, '
            '"response": {"videos": [{"bytesBase64Encoded": "%s", "mimeType": "video/mp4"}]}}'
            % base64.b64encode(NO_MOOV).decode())
    fake.add_fault(service="vertex", path_contains=":fetchPredictOperation", body=body)
    out = tmp_path / "videos"
    result = run(video_main, "a cat walking", "-o", str(out), env=vertex_env)
    assert result.code == 5 and result.doc["error"]["type"] == "bad_reply", result.doc
    assert "moov" in result.doc["error"]["message"]
    assert files_in(out) == []


def test_the_fake_serves_videos_a_player_accepts(tmp_path) -> None:
    from mediagen.ops import mediacheck

    for name, data in (("fallback.mp4", media.fallback_mp4(4.0)), ("synthetic.mp4", media.synthetic_bytes(300_000)),
                       ("clip.mp4", media.mp4_bytes(2.0))):
        path = tmp_path / name
        path.write_bytes(data)
        mediacheck.check_media(path, "video/mp4")


def test_a_video_cut_short_fails_and_can_be_fetched_again(run, fake, omni_env, tmp_path) -> None:
    clip = tmp_path / "cut.mp4"
    clip.write_bytes(media.mp4_bytes(2.0)[:20000])                 # ftyp and moov, most of mdat missing
    from mediagen.ops import mediacheck
    with pytest.raises(errors.BadReply, match="cut short"):
        mediacheck.check_media(clip, "video/mp4")
    env = veo_env(omni_env, fake, tmp_path)
    out = tmp_path / "videos"
    fake.add_short_length(service="gemini", path_contains="/_blob/", method="GET", length=20000)
    result = run(video_main, "a cat walking", "--model", VEO_MODEL, "-o", str(out), env=env)
    assert result.code == 5 and result.doc["error"]["type"] == "bad_reply", result.doc
    job_id = result.doc["error"]["details"]["job_id"]
    assert "cut short" in result.doc["error"]["message"] and f"download {job_id}" in result.doc["error"]["hint"]
    assert files_in(out) == []
    again = run(jobs_main, "download", job_id, env=env)
    assert again.code == 0, again.doc
    assert frames.probe(Path(again.doc["videos"][0]["path"]))["streams"]
    assert len(creates(fake, ":predictLongRunning")) == 1


@pytest.mark.parametrize("fmt, mime", [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp"),
                                       ("GIF", "image/gif")])
def test_images_whole_or_cut_short_from_header_and_trailer(tmp_path, fmt, mime) -> None:
    """A whole image passes with its size (read from the header); one cut short fails, whatever its format."""
    import io

    from PIL import Image

    from mediagen.ops.mediacheck import check_media

    buffer = io.BytesIO()
    Image.effect_noise((64, 48), 40).convert("RGB").save(buffer, fmt)
    whole = tmp_path / f"whole.{fmt.lower()}"
    whole.write_bytes(buffer.getvalue())
    assert check_media(whole, mime) == {"width": 64, "height": 48}
    cut = tmp_path / f"cut.{fmt.lower()}"
    cut.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) * 3 // 5])
    with pytest.raises(errors.BadReply):
        check_media(cut, mime)
