"""Google's OAuth 2.0 token endpoint (``POST /token``).

Grants (google-media-apis.md §5.3):

* ``urn:ietf:params:oauth:grant-type:jwt-bearer``: the ``assertion`` is a
  service-account JWT; the fake checks RS256, the signature against the key
  it wrote with ``write_service_account``, ``iss``, ``aud`` (always
  ``https://oauth2.googleapis.com/token``, sdk-observations.md §5), ``exp``
  and a ``cloud-platform`` scope.
* ``refresh_token``: ``client_id``/``client_secret``/``refresh_token`` of a
  user registered by ``write_authorized_user``/``write_cliproxy_token_file``.

Errors use the OAuth shape ``{"error": "...", "error_description": "..."}``.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.parse
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from .common import Request, Response, Router, json_response

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
AUDIENCE = "https://oauth2.googleapis.com/token"
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"


def _oauth_error(error: str, description: str, status: int = 400) -> Response:
    return json_response({"error": error, "error_description": description}, status=status)


def _b64url(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


class OAuthService:
    def __init__(self, fake):
        self.fake = fake
        r = self.router = Router()
        r.add("POST", r"/token", self.token)
        r.add("POST", r"/revoke", self.revoke)

    def no_route(self, req: Request) -> Response:
        return json_response({"error": "not_found", "error_description": f"No such endpoint {req.path}"}, 404)

    def _form(self, req: Request) -> dict[str, str]:
        ctype = (req.header("content-type") or "").lower()
        if "json" in ctype:
            data = req.try_json()
            return {k: str(v) for k, v in data.items()} if isinstance(data, dict) else {}
        parsed = urllib.parse.parse_qs(req.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {k: v[0] for k, v in parsed.items()}

    def token(self, req: Request) -> Response:
        form = self._form(req)
        grant = form.get("grant_type")
        if grant == JWT_GRANT:
            return self._jwt_grant(form.get("assertion", ""))
        if grant == "refresh_token":
            return self._refresh_grant(form)
        if not grant:
            return _oauth_error("invalid_request", "Missing required parameter: grant_type")
        return _oauth_error("unsupported_grant_type", f"Invalid grant_type: {grant}")

    def _issue(self, scope: str | None = None) -> Response:
        token = self.fake._mint_token()
        out: dict[str, Any] = {"access_token": token, "expires_in": self.fake.config.token_expires_in,
                               "token_type": "Bearer"}
        if scope:
            out["scope"] = scope
        return json_response(out)

    def _jwt_grant(self, assertion: str) -> Response:
        parts = assertion.split(".")
        if len(parts) != 3:
            return _oauth_error("invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and "
                                                 "in a reasonable timeframe.")
        try:
            header = json.loads(_b64url(parts[0]))
            claims = json.loads(_b64url(parts[1]))
            signature = _b64url(parts[2])
        except Exception:
            return _oauth_error("invalid_grant", "Invalid JWT: could not decode the assertion.")
        if header.get("alg") != "RS256":
            return _oauth_error("invalid_grant", f"Invalid JWT: unsupported algorithm {header.get('alg')!r}; "
                                                 "expected RS256.")
        iss = claims.get("iss")
        with self.fake._lock:
            sa = self.fake._service_accounts.get(iss)
        if sa is None:
            return _oauth_error("invalid_grant", "Invalid grant: account not found")
        try:
            sa["public_key"].verify(signature, f"{parts[0]}.{parts[1]}".encode("ascii"), padding.PKCS1v15(),
                                    hashes.SHA256())
        except InvalidSignature:
            return _oauth_error("invalid_grant", "Invalid JWT Signature.")
        if claims.get("aud") != AUDIENCE:
            return _oauth_error("invalid_grant", f"Invalid JWT: audience must be {AUDIENCE}, got "
                                                 f"{claims.get('aud')!r}.")
        now = time.time()
        exp, iat = claims.get("exp"), claims.get("iat")
        if not isinstance(exp, (int, float)) or not isinstance(iat, (int, float)) or exp <= now - 300 \
                or iat > now + 300 or exp - iat > 3600 + 60:
            return _oauth_error("invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and "
                                                 "in a reasonable timeframe. Check your iat and exp values in the "
                                                 "JWT claim.")
        scope = claims.get("scope") or ""
        if CLOUD_PLATFORM not in scope.split():
            return _oauth_error("invalid_scope", f"The fake only grants tokens with the {CLOUD_PLATFORM} scope; got "
                                                 f"{scope!r}.")
        return self._issue()

    def _refresh_grant(self, form: dict[str, str]) -> Response:
        rt = form.get("refresh_token")
        if not rt:
            return _oauth_error("invalid_request", "Missing required parameter: refresh_token")
        with self.fake._lock:
            user = self.fake._authorized_users.get(rt)
        if not form.get("client_id"):
            return _oauth_error("invalid_request", "Missing required parameter: client_id")
        if user is None:
            return _oauth_error("invalid_grant", "Token has been expired or revoked.")
        if form.get("client_id") != user["client_id"] or form.get("client_secret") != user["client_secret"]:
            return _oauth_error("invalid_client", "The OAuth client was not found.", status=401)
        return self._issue(scope=f"{CLOUD_PLATFORM} openid https://www.googleapis.com/auth/userinfo.email")

    def revoke(self, req: Request) -> Response:
        form = self._form(req)
        token = form.get("token") or req.q("token")
        with self.fake._lock:
            self.fake._minted.pop(token or "", None)
            self.fake._authorized_users.pop(token or "", None)
        return json_response({})
