"""Host and path selection for each surface."""
from __future__ import annotations

from mediagen.wire import endpoints


def test_vertex_hosts_follow_location() -> None:
    assert endpoints.vertex_host("global") == "https://aiplatform.googleapis.com"
    assert endpoints.vertex_host("us-central1") == "https://us-central1-aiplatform.googleapis.com"
    assert endpoints.vertex_host("eu") == "https://aiplatform.eu.rep.googleapis.com"
    assert endpoints.vertex_host("us-central1", "http://127.0.0.1:9/") == "http://127.0.0.1:9"


def test_vertex_model_urls() -> None:
    url = endpoints.vertex_model_url(project="p", location="global", model="gemini-3-pro-image",
                                     method="generateContent")
    assert url == ("https://aiplatform.googleapis.com/v1/projects/p/locations/global/publishers/google/models/"
                   "gemini-3-pro-image:generateContent")
    express = endpoints.vertex_model_url(project=None, location="us-central1", model="m", method="generateContent")
    assert express == "https://aiplatform.googleapis.com/v1/publishers/google/models/m:generateContent"
    assert endpoints.vertex_interactions_url(project="p").endswith("/v1beta1/projects/p/locations/global/interactions")
    assert endpoints.vertex_interactions_url(project=None).endswith("/v1beta1/interactions")


def test_gemini_and_gcs_urls() -> None:
    assert endpoints.gemini_model_url("https://g/", "v1beta", "m", "generateContent") == \
        "https://g/v1beta/models/m:generateContent"
    assert endpoints.gcs_object_url("http://h", "b", "a/b c.mp4") == "http://h/storage/v1/b/b/o/a%2Fb%20c.mp4"
    assert endpoints.split_gs_uri("gs://bucket/x/y.mp4") == ("bucket", "x/y.mp4")
    assert endpoints.gcs_base("127.0.0.1:9023") == "http://127.0.0.1:9023"


def test_express_mode_is_always_global_and_project_paths_use_their_locations_host() -> None:
    assert endpoints.vertex_host("us-central1", express=True) == "https://aiplatform.googleapis.com"
    assert endpoints.vertex_host("us-central1", "http://127.0.0.1:9", express=True) == "http://127.0.0.1:9"
    operation = "projects/p/locations/europe-west4/publishers/google/models/veo-3.1-generate-001"
    assert endpoints.path_location(operation) == "europe-west4"
    assert endpoints.path_location("publishers/google/models/m") is None
    assert endpoints.vertex_resource_url(operation, "fetchPredictOperation", express=False) == \
        f"https://europe-west4-aiplatform.googleapis.com/v1/{operation}:fetchPredictOperation"
    assert endpoints.vertex_resource_url(operation, "fetchPredictOperation", express=True) == \
        f"https://aiplatform.googleapis.com/v1/{operation}:fetchPredictOperation"
    assert endpoints.vertex_resource_url("projects/p/locations/eu/x", express=False) == \
        "https://aiplatform.eu.rep.googleapis.com/v1/projects/p/locations/eu/x"
    assert endpoints.vertex_publisher_model_url("veo-3.1-generate-001", location="us-central1").startswith(
        "https://us-central1-aiplatform.googleapis.com/v1beta1/")
    assert endpoints.vertex_publisher_model_url("veo-3.1-generate-001", location="us-central1", express=True) == \
        "https://aiplatform.googleapis.com/v1beta1/publishers/google/models/veo-3.1-generate-001"
