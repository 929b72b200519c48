"""A local CLIProxyAPI (router-for-me/CLIProxyAPI) serving Gemini image models.

Mimics cliproxyapi-and-clinvoker.md §1-§2.1, §4, §6: unauthenticated ``/``
and ``/healthz``; key via ``Authorization: Bearer``, ``X-Goog-Api-Key``,
``X-Api-Key`` or ``?key=``; 401 with a *string* ``error``; OpenAI chat
completions translated to Gemini and back (images as data URIs in
``message.images[]``); SSE streaming; Gemini-native passthrough on
``/v1beta/models/{m}:generateContent``; ``:predictLongRunning`` answers an
empty 200 (the real handler writes nothing).
"""

from __future__ import annotations

import json
import re
from typing import Any

from . import generate
from .common import ApiError, Request, Response, Router, json_response, text_response
from .models import CLIPROXY_MODELS, IMAGE_MODELS

ENDPOINTS = ["POST /v1/chat/completions", "POST /v1/completions", "GET /v1/models"]


def _openai_error(status: int, message: str, type_: str, code: str | None = None, param: str | None = None) -> Response:
    err: dict[str, Any] = {"message": message, "type": type_}
    if code:
        err["code"] = code
    if param:
        err["param"] = param
    return json_response({"error": err}, status=status)


class CliProxyService:
    def __init__(self, fake):
        self.fake = fake
        r = self.router = Router()
        r.add("GET", r"/", self.root)
        r.add("GET", r"/healthz", self.healthz)
        r.add("GET", r"/v1/models", self.models)
        r.add("POST", r"/v1/chat/completions", self.chat, generation=True)
        r.add("GET", r"/v1beta/models", self.gemini_models)
        r.add("GET", r"/v1beta/models/(?P<m>[^/:]+)", self.gemini_model)
        r.add("POST", r"/v1beta/models/(?P<m>[^/:]+):(?P<method>[A-Za-z]+)", self.passthrough, generation=True)

    def no_route(self, req: Request) -> Response:
        return text_response("404 page not found", status=404)   # gin's default

    def auth(self, req: Request) -> None:
        auth = req.header("authorization")
        key = None
        if auth:
            parts = auth.split(None, 1)
            key = parts[1].strip() if len(parts) == 2 and parts[0].lower() == "bearer" else auth.strip()
        key = key or req.header("x-goog-api-key") or req.header("x-api-key") or req.q("key") or req.q("auth_token")
        if not key:
            raise ApiError(json_response({"error": "Missing API key"}, status=401))
        if key not in self.fake.cliproxy_keys:
            raise ApiError(json_response({"error": "Invalid API key"}, status=401))

    # -- unauthenticated ---------------------------------------------------------------------------

    def root(self, req: Request) -> Response:
        return json_response({"message": "CLI Proxy API Server", "endpoints": ENDPOINTS})

    def healthz(self, req: Request) -> Response:
        return json_response({"status": "ok"})

    # -- models ----------------------------------------------------------------------------------------

    def models(self, req: Request) -> Response:
        self.auth(req)
        data = [{"id": mid, "object": "model", "created": 1750000000, "owned_by": "google"}
                for mid in CLIPROXY_MODELS]
        return json_response({"object": "list", "data": data})

    def gemini_models(self, req: Request) -> Response:
        self.auth(req)
        return json_response({"models": [self._gemini_model(mid) for mid in CLIPROXY_MODELS]})

    def gemini_model(self, req: Request, m: str) -> Response:
        self.auth(req)
        if m not in CLIPROXY_MODELS:
            return self._unknown(m)
        return json_response(self._gemini_model(m))

    @staticmethod
    def _gemini_model(mid: str) -> dict:
        methods = ["generateContent", "countTokens"] if mid in IMAGE_MODELS else \
            ["generateContent", "streamGenerateContent", "countTokens"]
        return {"name": f"models/{mid}", "displayName": mid, "supportedGenerationMethods": methods}

    def _unknown(self, model: str) -> Response:
        return _openai_error(400, f"unknown provider for model {model}", "invalid_request_error",
                             "model_not_found", "model")

    # -- chat completions ------------------------------------------------------------------------------

    def chat(self, req: Request) -> Response:
        self.auth(req)
        try:
            body = json.loads(req.body or b"null")
        except json.JSONDecodeError as exc:
            return _openai_error(400, f"Invalid request: {exc}", "invalid_request_error")
        if not isinstance(body, dict):
            return _openai_error(400, "Invalid request: body must be a JSON object", "invalid_request_error")
        model = body.get("model")
        if not isinstance(model, str) or model not in CLIPROXY_MODELS:
            return self._unknown(model if isinstance(model, str) else "")
        gemini_req = self._translate(body)
        underlying = CLIPROXY_MODELS[model]
        try:
            g = generate.validate(gemini_req, underlying, "gemini")
        except ApiError as exc:
            return exc.response   # upstream JSON errors pass through verbatim
        resp = generate.build_response(self.fake, g, underlying, "gemini", response_model=model)
        if body.get("stream"):
            return self._stream(resp)
        return json_response(self._to_openai(resp))

    @staticmethod
    def _translate(body: dict) -> dict:
        """OpenAI chat request -> Gemini generateContent body (§1.1)."""
        gc: dict[str, Any] = {}
        if isinstance(body.get("generationConfig"), dict):
            gc.update(body["generationConfig"])
        mods = [str(m).upper() for m in body.get("modalities") or [] if str(m).lower() in ("text", "image")]
        if mods:
            gc["responseModalities"] = mods
        ic = body.get("image_config")
        if isinstance(ic, dict):
            img = dict(gc.get("imageConfig") or {})
            if isinstance(ic.get("aspect_ratio"), str):
                img["aspectRatio"] = ic["aspect_ratio"]
            if isinstance(ic.get("image_size"), str):
                img["imageSize"] = ic["image_size"]
            if img:
                gc["imageConfig"] = img
        for src, dst in (("temperature", "temperature"), ("top_p", "topP"), ("top_k", "topK")):
            if src in body:
                gc[dst] = body[src]
        mt = body.get("max_completion_tokens", body.get("max_tokens"))
        if mt is not None:
            gc["maxOutputTokens"] = mt
        contents: list[dict] = []
        system: list[dict] = []
        messages = body.get("messages") or []
        for msg in messages:
            if not isinstance(msg, dict):
                continue
            role = msg.get("role")
            parts = _parts(msg.get("content"))
            if role in ("system", "developer") and len(messages) > 1:
                system.extend(p for p in parts if "text" in p)
                continue
            if not parts:
                continue
            contents.append({"role": "model" if role == "assistant" else "user", "parts": parts})
        if contents and contents[-1]["role"] == "model":
            contents.pop()   # the proxy drops a trailing model turn (no prefill)
        out: dict[str, Any] = {"contents": contents}
        if system:
            out["systemInstruction"] = {"parts": system}
        if gc:
            out["generationConfig"] = gc
        return out

    @staticmethod
    def _to_openai(resp: dict) -> dict:
        """Gemini response -> OpenAI chat.completion (§1.2)."""
        choices = []
        for i, cand in enumerate(resp.get("candidates") or []):
            texts, reasoning, images = [], [], []
            for part in (cand.get("content") or {}).get("parts") or []:
                if "text" in part:
                    (reasoning if part.get("thought") else texts).append(part["text"])
                blob = part.get("inlineData") or part.get("inline_data")
                if blob and blob.get("data"):
                    mime = blob.get("mimeType") or blob.get("mime_type") or "image/png"
                    # Thought images are NOT filtered by the proxy ([INFERRED] in the reference).
                    images.append({"type": "image_url", "image_url": {"url": f"data:{mime};base64,{blob['data']}"},
                                   "index": len(images)})
            reason = str(cand.get("finishReason") or "stop").lower()
            msg: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts else None,
                                   "reasoning_content": "".join(reasoning) if reasoning else None, "tool_calls": None}
            if images:
                msg["images"] = images
            choices.append({"index": i, "message": msg, "finish_reason": reason, "native_finish_reason": reason})
        out: dict[str, Any] = {"id": resp.get("responseId"), "object": "chat.completion", "created": 0,
                               "model": resp.get("modelVersion"), "choices": choices}
        usage = resp.get("usageMetadata")
        if usage:
            out["usage"] = {"completion_tokens": usage.get("candidatesTokenCount", 0),
                            "total_tokens": usage.get("totalTokenCount", 0),
                            "prompt_tokens": usage.get("promptTokenCount", 0)}
            if usage.get("thoughtsTokenCount"):
                out["usage"]["completion_tokens_details"] = {"reasoning_tokens": usage["thoughtsTokenCount"]}
        return out

    def _stream(self, resp: dict) -> Response:
        """SSE per §1.3: one chunk per Gemini part; finish_reason only on the last."""
        base = {"id": resp.get("responseId"), "object": "chat.completion.chunk", "created": 0,
                "model": resp.get("modelVersion")}
        events: list[dict] = []
        cands = resp.get("candidates") or []
        if cands:
            cand = cands[0]
            parts = (cand.get("content") or {}).get("parts") or [{}]
            for i, part in enumerate(parts):
                delta: dict[str, Any] = {"role": "assistant", "content": None, "reasoning_content": None,
                                         "tool_calls": None}
                if "text" in part:
                    delta["reasoning_content" if part.get("thought") else "content"] = part["text"]
                blob = part.get("inlineData")
                if blob:
                    delta["images"] = [{"type": "image_url", "image_url": {
                        "url": f"data:{blob.get('mimeType', 'image/png')};base64,{blob['data']}"}, "index": 0}]
                last = i == len(parts) - 1
                native = str(cand.get("finishReason") or "stop").lower()
                finish = None
                if last:
                    finish = "max_tokens" if native == "max_tokens" else "stop"
                chunk = dict(base, choices=[{"index": 0, "delta": delta, "finish_reason": finish,
                                              "native_finish_reason": native if last else None}])
                if last and resp.get("usageMetadata"):
                    u = resp["usageMetadata"]
                    chunk["usage"] = {"completion_tokens": u.get("candidatesTokenCount", 0),
                                      "total_tokens": u.get("totalTokenCount", 0),
                                      "prompt_tokens": u.get("promptTokenCount", 0)}
                events.append(chunk)
        text = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
        return Response(200, text.encode(), [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")])

    # -- Gemini-native passthrough -----------------------------------------------------------------

    def passthrough(self, req: Request, m: str, method: str) -> Response:
        self.auth(req)
        if method not in ("generateContent", "streamGenerateContent", "countTokens"):
            return Response(200, b"")   # the real handler's switch has no default branch
        if m not in CLIPROXY_MODELS:
            return self._unknown(m)
        body = req.json()
        if method == "countTokens":
            return json_response(generate.count_tokens(body))
        if isinstance(body, dict):
            body = {k: v for k, v in body.items() if k != "model"}
        underlying = CLIPROXY_MODELS[m]
        g = generate.validate(body, underlying, "gemini")
        resp = generate.build_response(self.fake, g, underlying, "gemini", response_model=m)
        if method == "generateContent":
            return json_response(resp)
        chunks = generate.stream_chunks(resp)
        if req.q("alt") == "sse" or req.q("$alt") == "sse":
            text = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks)
            return Response(200, text.encode(), [("Content-Type", "text/event-stream")])
        return json_response(chunks)


def _parts(content: Any) -> list[dict]:
    """OpenAI message content -> Gemini parts; non-data image URLs are silently dropped."""
    if isinstance(content, str):
        return [{"text": content}] if content else []
    parts: list[dict] = []
    if not isinstance(content, list):
        return parts
    for item in content:
        if not isinstance(item, dict):
            continue
        t = item.get("type")
        if t == "text" and item.get("text"):
            parts.append({"text": item["text"]})
        elif t in ("image_url", "video_url"):
            url = (item.get(t) or {}).get("url", "") if isinstance(item.get(t), dict) else ""
            m = re.match(r"data:([^;]+);base64,(.*)", url, re.S)
            if m:   # the proxy splits on the first ';' - anything else has none and is dropped
                parts.append({"inlineData": {"mime_type": m.group(1), "data": m.group(2)},
                              "thoughtSignature": "skip_thought_signature_validator"})
    return parts
