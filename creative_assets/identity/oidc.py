"""OpenID Connect sign-in: authorization code flow with PKCE (S256), ``state`` and ``nonce``, through
Authlib's HTTPX client; the ID token is validated with joserfc against the provider's JWKS (signature,
``iss``, ``aud``/``azp``, ``exp``/``iat``, ``nonce``), and a nonce is accepted only once.
"""

from __future__ import annotations

import secrets
import time

import httpx
from authlib.integrations.httpx_client import AsyncOAuth2Client
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from creative_assets.identity.config import OIDCSettings
from creative_assets.identity.store import IdentityStore

ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384"]
METADATA_TTL = 3600.0


class OIDCError(Exception):
    """A sign-in that failed; the message is safe to show and to audit."""


class OIDCClient:
    def __init__(self, settings: OIDCSettings, store: IdentityStore, *, timeout: float = 10.0):
        self.settings = settings
        self.store = store
        self.timeout = timeout
        self._metadata: dict | None = None
        self._jwks: KeySet | None = None
        self._fetched = 0.0

    async def _get_json(self, url: str) -> dict:
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            r = await client.get(url)
            r.raise_for_status()
            return r.json()

    async def metadata(self) -> dict:
        if self._metadata is None or time.time() - self._fetched > METADATA_TTL:
            doc = await self._get_json(f"{self.settings.issuer}/.well-known/openid-configuration")
            if doc.get("issuer", "").rstrip("/") != self.settings.issuer:
                raise OIDCError("the provider's discovery document names another issuer")
            self._metadata, self._jwks, self._fetched = doc, None, time.time()
        return self._metadata

    async def keys(self, refresh: bool = False) -> KeySet:
        if self._jwks is None or refresh:
            self._jwks = KeySet.import_key_set(await self._get_json((await self.metadata())["jwks_uri"]))
        return self._jwks

    def _client(self, redirect_uri: str) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self.settings.client_id,
            client_secret=self.settings.client_secret,
            scope=self.settings.scopes,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            timeout=self.timeout,
        )

    async def begin(self, redirect_uri: str, next_url: str) -> tuple[str, str]:
        """The provider's authorization URL and the state (the caller binds it to the browser)."""
        meta = await self.metadata()
        state, nonce, verifier = (
            secrets.token_urlsafe(32),
            secrets.token_urlsafe(32),
            secrets.token_urlsafe(48),
        )
        async with self._client(redirect_uri) as client:
            url, _ = client.create_authorization_url(
                meta["authorization_endpoint"], state=state, code_verifier=verifier, nonce=nonce
            )
        self.store.save_oidc_request(state, nonce, verifier, next_url)
        return url, state

    async def finish(
        self, redirect_uri: str, params: dict[str, str], browser_state: str | None
    ) -> tuple[dict, str]:
        """Exchange the code and validate the ID token; returns (claims, next URL)."""
        if params.get("error"):
            raise OIDCError(f"the identity provider refused the sign-in: {params['error'][:80]}")
        state = params.get("state", "")
        if not state or not browser_state or not secrets.compare_digest(state, browser_state):
            raise OIDCError("the sign-in was not started in this browser (state mismatch)")
        pending = self.store.take_oidc_request(state)
        if pending is None:
            raise OIDCError("the sign-in request is unknown, used or expired; start again")
        if not params.get("code"):
            raise OIDCError("the identity provider sent no authorization code")
        meta = await self.metadata()
        async with self._client(redirect_uri) as client:
            try:
                token = await client.fetch_token(
                    meta["token_endpoint"], code=params["code"], code_verifier=pending["code_verifier"]
                )
            except Exception as exc:  # Authlib raises OAuthError, httpx its own: both mean no sign-in
                raise OIDCError(f"the code exchange failed: {str(exc)[:120]}") from exc
        if not token.get("id_token"):
            raise OIDCError("the token response has no ID token")
        claims = await self.validate_id_token(token["id_token"], pending["nonce"])
        return claims, pending["next_url"]

    async def validate_id_token(self, id_token: str, nonce: str) -> dict:
        try:
            try:
                decoded = jwt.decode(id_token, await self.keys(), algorithms=ALGORITHMS)
            except JoseError as exc:  # an unknown key id: the provider may have rotated its keys
                if "key" not in str(exc).lower():
                    raise
                decoded = jwt.decode(id_token, await self.keys(refresh=True), algorithms=ALGORITHMS)
        except (JoseError, ValueError) as exc:
            raise OIDCError(f"the ID token's signature is not valid ({type(exc).__name__})") from exc
        claims = decoded.claims
        registry = jwt.JWTClaimsRegistry(
            leeway=60,
            iss={"essential": True, "value": self.settings.issuer},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
        )
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise OIDCError(
                f"the ID token is not valid: {exc.error} {exc.description or ''}".strip()
            ) from exc
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.settings.client_id not in audiences:
            raise OIDCError("the ID token was issued for another application (aud)")
        if len(audiences) > 1 and claims.get("azp") != self.settings.client_id:
            raise OIDCError("the ID token's authorized party is another application (azp)")
        if not claims.get("nonce") or not secrets.compare_digest(str(claims["nonce"]), nonce):
            raise OIDCError("the ID token does not belong to this sign-in (nonce mismatch)")
        if not self.store.use_nonce(str(claims["nonce"])):
            raise OIDCError("the ID token was used before (replayed nonce)")
        return claims

    def account(self, claims: dict, ip: str) -> int:
        """Create or update the account for validated claims; returns its user id."""
        groups = claims.get(self.settings.groups_claim) or []
        groups = [str(g) for g in groups] if isinstance(groups, list) else []
        roles, is_admin = self.settings.group_roles.roles_for(groups)
        login = claims.get("email") if claims.get("email_verified", True) else None
        login = login or claims.get("preferred_username") or claims["sub"]
        name = claims.get("name") or claims.get("preferred_username") or login
        subject = f"{self.settings.issuer} {claims['sub']}"
        return self.store.upsert_oidc_user(subject, str(login), str(name), groups, roles, is_admin, ip)
