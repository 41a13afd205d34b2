"""A small OpenID Connect provider on loopback for the tests: discovery document, JWKS, an
authorization endpoint (it signs in the configured user at once, no form) and a token endpoint that
checks the client's secret, the redirect URI and the PKCE verifier (S256), and returns an RS256-signed
ID token (joserfc). Knobs let a test make it misbehave: another audience, an expired token, a
signature from a key that is not in the JWKS, or the nonce of an earlier sign-in.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey

CLIENT_ID = "creative-assets-review"
CLIENT_SECRET = "loopback-client-secret"


class OIDCProvider:
    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key-1", "use": "sig", "alg": "RS256"})
        self.rogue_key = RSAKey.generate_key(
            2048, parameters={"kid": "test-key-1"}
        )  # same kid, not published
        self.user = {"sub": "u-1001", "email": "olga@example.com", "name": "Olga OIDC", "groups": []}
        self.codes: dict[str, dict] = {}
        self.issued_nonces: list[str] = []
        self.requests: list[tuple[str, str]] = []
        # misbehaviour knobs (reset by the tests)
        self.audience: str | None = None
        self.lifetime = 300
        self.sign_with_rogue_key = False
        self.nonce_override: str | None = None
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.issuer = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> OIDCProvider:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def reset(self) -> None:
        self.audience, self.lifetime, self.sign_with_rogue_key, self.nonce_override = None, 300, False, None

    def id_token(self, nonce: str) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": self.user["sub"],
            "aud": self.audience or CLIENT_ID,
            "iat": now - 5 if self.lifetime > 0 else now - 600,
            "exp": now + self.lifetime,
            "nonce": self.nonce_override or nonce,
            "email": self.user["email"],
            "email_verified": True,
            "name": self.user["name"],
            "groups": list(self.user["groups"]),
        }
        key = self.rogue_key if self.sign_with_rogue_key else self.key
        return jwt.encode({"alg": "RS256", "kid": "test-key-1"}, claims, key)

    def _handler(self):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _json(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                provider.requests.append(("GET", url.path))
                if url.path == "/.well-known/openid-configuration":
                    self._json(
                        200,
                        {
                            "issuer": provider.issuer,
                            "authorization_endpoint": f"{provider.issuer}/authorize",
                            "token_endpoint": f"{provider.issuer}/token",
                            "jwks_uri": f"{provider.issuer}/jwks",
                            "response_types_supported": ["code"],
                            "subject_types_supported": ["public"],
                            "id_token_signing_alg_values_supported": ["RS256"],
                            "code_challenge_methods_supported": ["S256"],
                            "token_endpoint_auth_methods_supported": [
                                "client_secret_basic",
                                "client_secret_post",
                            ],
                        },
                    )
                elif url.path == "/jwks":
                    self._json(200, {"keys": [provider.key.as_dict(private=False)]})
                elif url.path == "/authorize":
                    q = {k: v[-1] for k, v in parse_qs(url.query).items()}
                    if (
                        q.get("client_id") != CLIENT_ID
                        or q.get("response_type") != "code"
                        or q.get("code_challenge_method") != "S256"
                        or not q.get("code_challenge")
                        or not q.get("nonce")
                        or not q.get("state")
                        or "openid" not in q.get("scope", "").split()
                    ):
                        self._json(400, {"error": "invalid_request", "got": q})
                        return
                    code = secrets.token_urlsafe(16)
                    provider.codes[code] = q
                    provider.issued_nonces.append(q["nonce"])
                    target = f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q['state']})}"
                    self.send_response(302)
                    self.send_header("Location", target)
                    self.end_headers()
                else:
                    self._json(404, {"error": "not found"})

            def do_POST(self) -> None:
                provider.requests.append(("POST", self.path))
                if urlsplit(self.path).path != "/token":
                    self._json(404, {"error": "not found"})
                    return
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                form = {k: v[-1] for k, v in parse_qs(body).items()}
                auth = self.headers.get("Authorization", "")
                if auth.startswith("Basic "):
                    client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
                else:
                    client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
                if (client_id, secret) != (CLIENT_ID, CLIENT_SECRET):
                    self._json(401, {"error": "invalid_client"})
                    return
                pending = provider.codes.pop(form.get("code", ""), None)
                if pending is None or form.get("grant_type") != "authorization_code":
                    self._json(400, {"error": "invalid_grant"})
                    return
                if form.get("redirect_uri") != pending["redirect_uri"]:
                    self._json(400, {"error": "invalid_grant", "error_description": "redirect_uri"})
                    return
                verifier = form.get("code_verifier", "")
                challenge = (
                    base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
                )
                if challenge != pending["code_challenge"]:
                    self._json(
                        400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
                    )
                    return
                self._json(
                    200,
                    {
                        "access_token": secrets.token_urlsafe(16),
                        "token_type": "Bearer",
                        "expires_in": 300,
                        "id_token": provider.id_token(pending["nonce"]),
                    },
                )

        return Handler
