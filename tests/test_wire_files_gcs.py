"""The Files API and Cloud Storage wire shapes: requests built and replies read, without sending anything."""
from __future__ import annotations

from requests.structures import CaseInsensitiveDict

from mediagen.wire import files, gcs

BASE = "http://127.0.0.1:1/"


def test_files_upload_requests() -> None:
    start = files.start_request(BASE, "v1beta", size=12, mime_type="application/jsonl", display_name="job-1")
    assert (start.method, start.url) == ("POST", "http://127.0.0.1:1/upload/v1beta/files")
    assert start.headers["X-Goog-Upload-Protocol"] == "resumable"
    assert start.headers["X-Goog-Upload-Command"] == "start"
    assert start.headers["X-Goog-Upload-Header-Content-Length"] == "12"
    assert start.headers["X-Goog-Upload-Header-Content-Type"] == "application/jsonl"
    assert start.json == {"file": {"displayName": "job-1"}} and not start.billable
    middle = files.chunk_request("http://s/u?id=1", 8, b"abcd", last=False)
    last = files.chunk_request("http://s/u?id=1", 12, b"", last=True)
    assert middle.headers["X-Goog-Upload-Command"] == "upload" and middle.headers["X-Goog-Upload-Offset"] == "8"
    assert middle.data == b"abcd" and middle.url == "http://s/u?id=1"
    assert last.headers["X-Goog-Upload-Command"] == "upload, finalize"
    assert files.query_request("http://s/u").headers == {"X-Goog-Upload-Command": "query"}


def test_files_replies() -> None:
    headers = CaseInsensitiveDict({"x-goog-upload-url": "http://s/u", "X-Goog-Upload-Size-Received": "42",
                                   "X-Goog-Upload-Status": "Final"})
    assert files.session_url(headers) == "http://s/u" and files.session_url({}) is None
    assert files.size_received(headers) == 42
    assert files.size_received({"X-Goog-Upload-Size-Received": "n/a"}) is None
    assert files.upload_status(headers) == "final" and files.upload_status({}) == "final"
    assert files.upload_status({"X-Goog-Upload-Status": "active"}) == "active"
    assert files.file_resource({"file": {"name": "files/a"}}) == {"name": "files/a"}
    assert files.file_resource({"name": "files/b"}) == {"name": "files/b"}
    assert files.file_state({"state": "PROCESSING"}) == "PROCESSING" and files.file_state({}) is None


def test_files_urls() -> None:
    assert files.get_request(BASE, "v1beta", "files/abc").url == "http://127.0.0.1:1/v1beta/files/abc"
    assert files.download_url(BASE, "v1beta", "files/abc") == "http://127.0.0.1:1/download/v1beta/files/abc:download"


def test_gcs_requests_and_object() -> None:
    down = gcs.download_request("localhost:4443", "bkt", "a b/c.mp4")
    assert down.url == "http://localhost:4443/storage/v1/b/bkt/o/a%20b%2Fc.mp4" and down.params == {"alt": "media"}
    up = gcs.upload_request(BASE, "bkt", "clips/c.mp4", b"data", "video/mp4")
    assert (up.method, up.url) == ("POST", "http://127.0.0.1:1/upload/storage/v1/b/bkt/o")
    assert up.params == {"uploadType": "media", "name": "clips/c.mp4"}
    assert up.headers == {"Content-Type": "video/mp4"} and up.data == b"data"
    assert gcs.object_name("clips/", "c.mp4") == "clips/c.mp4"
    assert gcs.object_name("", "c.mp4") == "c.mp4"
    assert gcs.object_name("clips", "c.mp4", "x/y.mp4") == "x/y.mp4"
    assert gcs.object_uri({"bucket": "b2", "name": "n2"}, "bkt", "n") == "gs://b2/n2"
    assert gcs.object_uri({}, "bkt", "n") == "gs://bkt/n"
