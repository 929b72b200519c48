"""Long-running video APIs behind one small interface: Veo operations and Omni interactions.

A provider builds the create request, reads the handle it returns, polls,
and names where results live. ``videojobs`` drives any provider the same way,
so ``jobs.py`` treats Veo operations and Omni interactions alike.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mediagen.config.settings import Settings
from mediagen.core import errors
from mediagen.ops.jobstore import VideoJob
from mediagen.transport.http import HttpRequest, Transport
from mediagen.wire import endpoints
from mediagen.wire import interactions as omni_wire
from mediagen.wire import veo as veo_wire
from mediagen.wire import replies
from mediagen.wire.common import GenerationOutcome



@dataclass
class PollResult:
    """A provider-neutral poll answer."""

    done: bool
    state: str
    outcome: GenerationOutcome | None = None
    error: dict[str, Any] | None = None


def provider_for(family: str | None, model_id: str) -> VeoProvider | OmniProvider:
    """Omni models use interactions; everything else video is Veo."""
    if family == "omni" or (family is None and model_id.startswith("gemini-omni")):
        return OmniProvider()
    return VeoProvider()


def _stream_json(transport: Transport, request: HttpRequest, auth: Any, shape: replies.Shape,
                 job: VideoJob) -> dict[str, Any]:
    """Send and check the answer (large base64 media stay out of memory); a bad answer names the job."""
    subject = replies.Subject(f"job {job.job_id} ({request.label})", "", "the job may have been billed")
    with transport.stream_body(request, auth) as body:
        return replies.read_reply(body, shape, subject)


class VeoProvider:
    """Veo: ``:predictLongRunning`` then operation GET (Gemini API) or ``:fetchPredictOperation`` (Vertex)."""

    name = "veo"
    method = "predictLongRunning"
    shape = replies.VEO_OPERATION

    def handle(self, doc: dict[str, Any]) -> str:
        name = veo_wire.operation_name(doc)
        if not name:
            raise errors.ServerError("the create call returned no operation name",
                                     "Nothing to resume; check the console of the project before retrying.",
                                     details={"keys": sorted(doc)})
        return name

    def poll_request(self, job: VideoJob, settings: Settings) -> HttpRequest:
        name = str(job.handle)
        if job.backend["name"] == "gemini-api":
            url = endpoints.gemini_url(settings["gemini_base_url"], settings["gemini_api_version"], name)
            return HttpRequest("GET", url, label="operations.get")
        # Polled where it was created: the host of the location in its name, or global in express mode.
        url = endpoints.vertex_resource_url(veo_wire.fetch_operation_resource(name), "fetchPredictOperation",
                                            express=job.express, override=settings.get("vertex_base_url"))
        return HttpRequest("POST", url, json=veo_wire.fetch_operation_body(name), label="fetchPredictOperation")

    def poll(self, job: VideoJob, settings: Settings, transport: Transport, auth: Any) -> PollResult:
        state = veo_wire.parse_operation(_stream_json(transport, self.poll_request(job, settings), auth,
                                                      self.shape, job))
        if not state.done:
            return PollResult(False, "running")
        if state.error:
            return PollResult(True, "failed", error=state.error)
        return PollResult(True, "succeeded", outcome=state.outcome)

    def cancel_request(self, job: VideoJob, settings: Settings) -> HttpRequest | None:
        return None      # Google documents no cancel for Veo operations


class OmniProvider:
    """Gemini Omni: a background interaction, then ``GET .../interactions/{id}``."""

    name = "omni"
    method = "interactions"
    shape = replies.INTERACTION

    def collection_url(self, backend: str, settings: Settings, project: str | None) -> str:
        if backend == "gemini-api":
            return endpoints.gemini_url(settings["gemini_base_url"], settings["gemini_api_version"], "interactions")
        return endpoints.vertex_interactions_url(project=project, override=settings.get("vertex_base_url"))

    def handle(self, doc: dict[str, Any]) -> str:
        interaction = omni_wire.interaction_id(doc)
        if not interaction:
            raise errors.ServerError("the interaction create call returned no id",
                                     "Nothing to resume; check the project before retrying.")
        return interaction

    def poll_request(self, job: VideoJob, settings: Settings) -> HttpRequest:
        backend = job.backend
        project = None if job.express else backend.get("project_id")
        url = f"{self.collection_url(backend['name'], settings, project)}/{job.handle}"
        return HttpRequest("GET", url, label="interactions.get")

    def poll(self, job: VideoJob, settings: Settings, transport: Transport, auth: Any) -> PollResult:
        state = omni_wire.parse_interaction(_stream_json(transport, self.poll_request(job, settings), auth,
                                                         self.shape, job))
        if not state.done:
            return PollResult(False, state.status)
        return self.result_of(state)

    @staticmethod
    def result_of(state: omni_wire.InteractionState) -> PollResult:
        """A finished interaction: succeeded, blocked (safety errors) or failed, naming its status."""
        if state.failed:
            blocked = any(omni_wire.is_safety_error(e) for e in state.errors)
            return PollResult(True, "blocked" if blocked else "failed", outcome=state.outcome, error=state.failure())
        return PollResult(True, "succeeded", outcome=state.outcome)

    def cancel_request(self, job: VideoJob, settings: Settings) -> HttpRequest | None:
        poll = self.poll_request(job, settings)
        return HttpRequest("POST", omni_wire.cancel_url(poll.url), json=omni_wire.cancel_body(),
                           label="interactions.cancel")


def describe_operation_error(error: dict[str, Any]) -> tuple[str, str]:
    """A message and a hint for a finished-with-error operation (gRPC integer or string codes)."""
    name = veo_wire.error_code_name(error)
    message = f"generation failed ({name}): {error.get('message', '')}".strip()
    hints = {
        "INVALID_ARGUMENT": "A parameter was refused: check the mode, duration and resolution rules "
                            "(--dry-run shows the request).",
        "RESOURCE_EXHAUSTED": "Quota exhausted: wait, or use another project.",
        "INTERNAL": "Google failed internally; failed generations are not billed. Try again later.",
        "UNAVAILABLE": "The service was unavailable; failed generations are not billed. Try again later.",
    }
    default = error.get("hint") or "Failed generations are not billed; adjust the request and try again."
    return message, hints.get(name, default)
