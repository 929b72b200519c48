"""A fake Google service for tests: real HTTP servers on 127.0.0.1 that speak
the wire formats of the Gemini API, Vertex AI, Google OAuth, Cloud Storage and
a local CLIProxyAPI.

Test fixture only; product code under ``scripts/`` must never import it.

    from tests.fake_google import FakeGoogle

    with FakeGoogle() as fake:
        fake.urls["gemini"]          # http://127.0.0.1:PORT
        fake.config.image_outcome = "image_safety"
        fake.add_fault("gemini", ":generateContent", status=429, retry_delay="2s")

The specification is /work/shared/reference/google-media-apis.md (§11),
sdk-observations.md, gemini-omni-and-veo-status.md (§2, §5) and
cliproxyapi-and-clinvoker.md (§1, §2.1, §4, §6).
"""

from .server import SERVICES, Config, FakeGoogle, Recorded

__all__ = ["FakeGoogle", "Config", "Recorded", "SERVICES"]
