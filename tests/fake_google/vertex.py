"""Vertex AI (aiplatform.googleapis.com) on one port.

The real host encodes the location (``{L}-aiplatform.googleapis.com``,
``aiplatform.googleapis.com`` for global); here the location is taken from
the path. Serves ``/v1`` and ``/v1beta1`` project paths and the express
(API-key, no project) paths ``/{v}/publishers/google/models/...`` and
``/v1beta1/interactions``.
"""

from __future__ import annotations

from . import gcs, generate, imagen, interactions, veo, vertex_batch
from .common import (ApiError, Request, Response, Router, api_key, bad_request, bearer, camelize, google_error,
                     json_response)
from .models import (IMAGE_MODELS, VERTEX_IMAGE_IDS, VERTEX_IMAGEN_IDS, VERTEX_OMNI_IDS, VERTEX_RETIRED_IDS,
                     VERTEX_TEXT_IDS, VERTEX_VEO_IDS)

V = r"(?P<v>v1|v1beta1)"
PL = r"projects/(?P<p>[^/]+)/locations/(?P<l>[^/]+)"
M = r"(?P<m>[^/:]+)"
EXPRESS_PROJECT = "fake-express-project"   # UNCERTAIN: the project an express key is bound to
EXPRESS_LOCATION = "us-central1"
GCS_INPUT_LIMIT = 30 * 1024 * 1024      # an image referenced by gs:// URI (google-media-apis.md §1.3)


class VertexService:
    def __init__(self, fake):
        self.fake = fake
        r = self.router = Router()
        gen = r"(?P<method>generateContent|streamGenerateContent|predict|predictLongRunning)"
        r.add("POST", rf"/{V}/{PL}/publishers/google/models/{M}:{gen}", self.model_method, generation=True)
        r.add("POST", rf"/{V}/{PL}/publishers/google/models/{M}:(?P<method>[A-Za-z]+)", self.model_method)
        r.add("POST", rf"/{V}/publishers/google/models/{M}:{gen}", self.express_method, generation=True)
        r.add("POST", rf"/{V}/publishers/google/models/{M}:(?P<method>[A-Za-z]+)", self.express_method)
        r.add("GET", rf"/{V}/publishers/google/models/{M}", self.publisher_model)
        r.add("GET", rf"/{V}/{PL}/publishers/google/models/{M}", self.publisher_model_project)
        r.add("POST", rf"/{V}/{PL}/batchPredictionJobs", self.batch_create, generation=True)
        r.add("GET", rf"/{V}/{PL}/batchPredictionJobs", self.batch_list)
        r.add("GET", rf"/{V}/{PL}/batchPredictionJobs/(?P<jid>[0-9]+)", self.batch_get)
        r.add("POST", rf"/{V}/{PL}/batchPredictionJobs/(?P<jid>[0-9]+):cancel", self.batch_cancel)
        r.add("POST", rf"/v1beta1/{PL}/interactions", self.ix_create, generation=True)
        r.add("POST", r"/v1beta1/interactions", self.ix_create_express, generation=True)
        for prefix, fn_suffix in ((rf"/v1beta1/{PL}/interactions", ""), (r"/v1beta1/interactions", "_express")):
            r.add("GET", prefix + r"/(?P<iid>[^/:]+)", getattr(self, "ix_get" + fn_suffix))
            r.add("POST", prefix + r"/(?P<iid>[^/:]+)/cancel", getattr(self, "ix_cancel" + fn_suffix))
            r.add("DELETE", prefix + r"/(?P<iid>[^/:]+)", getattr(self, "ix_delete" + fn_suffix))

    def no_route(self, req: Request) -> Response:
        return google_error(404, f"The requested URL {req.path} was not found on this server.")

    # -- auth ---------------------------------------------------------------------------------------

    def auth(self, req: Request) -> None:
        token = bearer(req)
        if token:
            if self.fake.token_valid(token):
                return
            raise ApiError(google_error(
                401, "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie "
                     "or other valid authentication credential. See https://developers.google.com/identity/sign-in/"
                     "web/devconsole-project.",
                details=[{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "ACCESS_TOKEN_TYPE_UNSUPPORTED",
                          "domain": "googleapis.com", "metadata": {"service": "aiplatform.googleapis.com",
                                                                   "method": "google.cloud.aiplatform.v1.PredictionService"}}]))
        key = api_key(req)
        if key:
            if key in self.fake.express_keys:
                return
            raise ApiError(google_error(
                400, "API key not valid. Please pass a valid API key.",
                details=[{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
                          "domain": "googleapis.com", "metadata": {"service": "aiplatform.googleapis.com"}}]))
        raise ApiError(google_error(
            401, "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie "
                 "or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/"
                 "devconsole-project.",
            details=[{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "CREDENTIALS_MISSING",
                      "domain": "googleapis.com", "metadata": {"service": "aiplatform.googleapis.com"}}]))

    # -- models ---------------------------------------------------------------------------------------

    def _not_found(self, resource: str) -> ApiError:
        return ApiError(google_error(
            404, f"Publisher Model `{resource}` was not found or your project does not have access to it. Please "
                 "ensure you are using a valid model version. For more information, see: "
                 "https://cloud.google.com/vertex-ai/generative-ai/docs/learn/model-versions"))

    def kind(self, m: str) -> str | None:
        if m in VERTEX_RETIRED_IDS:
            return None
        if m in VERTEX_IMAGE_IDS or m in VERTEX_TEXT_IDS:
            return "gemini"
        if m in VERTEX_IMAGEN_IDS:
            return "imagen"
        if m in VERTEX_VEO_IDS:
            return "veo"
        if m in VERTEX_OMNI_IDS:
            return "omni"
        return None

    def check_model(self, m: str, project: str | None, location: str | None) -> str:
        resource = (f"projects/{project}/locations/{location}/publishers/google/models/{m}" if project
                    else f"publishers/google/models/{m}")
        kind = self.kind(m)
        if kind is None:
            raise self._not_found(resource)
        global_only = (kind == "omni") or (m in IMAGE_MODELS and IMAGE_MODELS[m].global_only) \
            or m.startswith("gemini-3") or m.startswith("gemini-nano-banana")
        if global_only and location is not None and location != "global":
            raise self._not_found(resource)
        return kind

    def publisher_model(self, req: Request, v: str, m: str) -> Response:
        self.auth(req)
        self.check_model(m, None, None)
        return json_response(self._publisher_resource(m))

    def publisher_model_project(self, req: Request, v: str, p: str, l: str, m: str) -> Response:
        self.auth(req)
        self.check_model(m, p, l)
        return json_response(self._publisher_resource(m))

    @staticmethod
    def _publisher_resource(m: str) -> dict:
        return {"name": f"publishers/google/models/{m}", "versionId": "001", "openSourceCategory": "PROPRIETARY",
                "launchStage": "PUBLIC_PREVIEW" if "preview" in m or m.endswith("-exp") else "GA",
                "publisherModelTemplate": f"projects/{{project}}/locations/{{location}}/publishers/google/models/{m}"}

    # -- methods ---------------------------------------------------------------------------------------

    def model_method(self, req: Request, v: str, p: str, l: str, m: str, method: str) -> Response:
        self.auth(req)
        return self._method(req, v, m, method, p, l)

    def express_method(self, req: Request, v: str, m: str, method: str) -> Response:
        self.auth(req)
        return self._method(req, v, m, method, None, None)

    def _method(self, req: Request, v: str, m: str, method: str, p: str | None, l: str | None) -> Response:
        if method not in ("generateContent", "streamGenerateContent", "countTokens", "predict",
                          "predictLongRunning", "fetchPredictOperation"):
            return google_error(404, f"Method not found: {method}")
        kind = self.check_model(m, p, l)
        wrong = google_error(400, f"Model {m} does not support method {method}.", status="FAILED_PRECONDITION")
        body = req.json()
        if method in ("generateContent", "streamGenerateContent", "countTokens"):
            if kind == "omni" and method != "countTokens":
                raise ApiError(google_error(400, "This model only supports Interactions API."))
            if kind != "gemini":
                return wrong
            if method == "countTokens":
                return json_response(generate.count_tokens(body))
            g = generate.validate(body, m, "vertex", file_lookup=self.gcs_lookup)
            resp = generate.build_response(self.fake, g, m, "vertex")
            if method == "generateContent":
                return json_response(resp)
            chunks = generate.stream_chunks(resp)
            if req.q("alt") == "sse":
                import json as _json
                text = "".join(f"data: {_json.dumps(c)}\r\n\r\n" for c in chunks)
                return Response(200, text.encode(), [("Content-Type", "text/event-stream")])
            return json_response(chunks)
        if method == "predict":
            if kind != "imagen":
                return wrong
            return json_response(imagen.predict(self.fake, m, body, "vertex"))
        if kind != "veo":
            return wrong
        if method == "predictLongRunning":
            spec = veo.validate_create(self.fake, "vertex", m, body, v)
            return json_response(veo.create_operation(self.fake, "vertex", m, spec,
                                                      project=p or EXPRESS_PROJECT,
                                                      location=l or EXPRESS_LOCATION))
        # fetchPredictOperation: a typed message, so the proto name operation_name is accepted too.
        body = camelize(body) if isinstance(body, dict) else body
        if not isinstance(body, dict) or not isinstance(body.get("operationName"), str):
            raise bad_request("* FetchPredictOperationRequest.operation_name: operation_name is required\n",
                              "operation_name")
        name = body["operationName"]
        if f"/models/{m}/operations/" not in name:
            raise bad_request(f"operationName {name} does not belong to model {m}.", "operation_name")
        return json_response(veo.poll(self.fake, name, "vertex"))

    def gcs_lookup(self, uri: str) -> dict | None:
        """A ``fileData.fileUri``: a gs:// object must exist (and fit the 30 MB limit); Files API URIs are
        Gemini API only. Other (https) URLs are fetched by Vertex itself and not checked here."""
        if not uri.startswith("gs://") and ("generativelanguage" in uri or "/files/" in uri):
            raise bad_request(f"fileData.fileUri {uri} is a Gemini Files API URI; Vertex reads gs:// or https URIs.",
                              "contents.parts.file_data.file_uri")
        if not uri.startswith("gs://"):
            return None
        data = gcs.get_gs_uri(self.fake, uri)
        if data is None:
            raise ApiError(google_error(400, f"Cannot fetch content from the provided URL {uri}: the object does not "
                                             "exist or the Vertex AI service agent cannot read it."))
        if len(data) > GCS_INPUT_LIMIT:
            raise bad_request(f"The file {uri} is larger than the {GCS_INPUT_LIMIT // (1024 * 1024)} MB allowed for "
                              "an image.", "contents.parts.file_data.file_uri")
        return {"data": data}

    # -- batch prediction --------------------------------------------------------------------------------

    def batch_create(self, req: Request, v: str, p: str, l: str) -> Response:
        self.auth(req)
        return vertex_batch.create(self.fake, req, p, l)

    def batch_list(self, req: Request, v: str, p: str, l: str) -> Response:
        self.auth(req)
        return vertex_batch.list_(self.fake, req, p, l)

    def batch_get(self, req: Request, v: str, p: str, l: str, jid: str) -> Response:
        self.auth(req)
        return vertex_batch.get(self.fake, jid)

    def batch_cancel(self, req: Request, v: str, p: str, l: str, jid: str) -> Response:
        self.auth(req)
        return vertex_batch.cancel(self.fake, jid)

    # -- interactions ----------------------------------------------------------------------------------

    def ix_create(self, req: Request, p: str, l: str) -> Response:
        self.auth(req)
        return interactions.create(self.fake, req, "vertex", version="v1beta1", project=p, location=l)

    def ix_create_express(self, req: Request) -> Response:
        self.auth(req)
        return interactions.create(self.fake, req, "vertex", version="v1beta1")

    def ix_get(self, req: Request, p: str, l: str, iid: str) -> Response:
        self.auth(req)
        return interactions.get(self.fake, req, "vertex", iid)

    def ix_get_express(self, req: Request, iid: str) -> Response:
        self.auth(req)
        return interactions.get(self.fake, req, "vertex", iid)

    def ix_cancel(self, req: Request, p: str, l: str, iid: str) -> Response:
        self.auth(req)
        return interactions.cancel(self.fake, "vertex", iid)

    def ix_cancel_express(self, req: Request, iid: str) -> Response:
        self.auth(req)
        return interactions.cancel(self.fake, "vertex", iid)

    def ix_delete(self, req: Request, p: str, l: str, iid: str) -> Response:
        self.auth(req)
        return interactions.delete(self.fake, "vertex", iid)

    def ix_delete_express(self, req: Request, iid: str) -> Response:
        self.auth(req)
        return interactions.delete(self.fake, "vertex", iid)
