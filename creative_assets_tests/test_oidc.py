"""OpenID Connect sign-in against a real provider on loopback (creative_assets_tests/oidc_server.py):
the review app runs in process (Starlette's TestClient) and Authlib's client talks to the provider
over real HTTP. Success, wrong audience, expired token, bad signature, replayed nonce, replayed state."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from starlette.testclient import TestClient

from creative_assets.brief import load_brief
from creative_assets.brief_store import register_brief
from creative_assets.identity.config import GroupRoles, IdentitySettings, OIDCSettings
from creative_assets.identity.oidc import OIDCClient
from creative_assets.identity.store import IdentityStore
from creative_assets.review.app import OIDC_STATE_COOKIE, SESSION_COOKIE, create_app
from creative_assets_tests.helpers import SUMMER
from creative_assets_tests.oidc_server import CLIENT_ID, CLIENT_SECRET, OIDCProvider
from resources.storage import LocalCreativeStorage


@pytest.fixture(scope="module")
def provider():
    idp = OIDCProvider().start()
    try:
        yield idp
    finally:
        idp.stop()


@pytest.fixture
def world(tmp_path, provider):
    provider.reset()
    provider.user = {
        "sub": "u-1001",
        "email": "olga@example.com",
        "name": "Olga OIDC",
        "groups": ["aurora-approvers"],
    }
    storage = LocalCreativeStorage(root=str(tmp_path / "storage"))
    register_brief(storage, load_brief(SUMMER), SUMMER.read_bytes())  # an aurora-beverages campaign
    store = IdentityStore.open(f"sqlite:///{tmp_path / 'identity.sqlite'}")
    oidc_settings = OIDCSettings(
        issuer=provider.issuer,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        group_roles=GroupRoles.parse(
            {"admins": ["ca-admins"], "groups": {"aurora-approvers": {"aurora-beverages": "approver"}}}
        ),
    )
    settings = IdentitySettings(db_url="unused", oidc=oidc_settings)
    app = create_app(storage, store, settings, oidc=OIDCClient(oidc_settings, store))
    return app, store, provider


def start(client: TestClient) -> tuple[str, dict]:
    """/auth/oidc/start -> the provider's authorize URL; follow it over HTTP to the callback URL."""
    r = client.get("/auth/oidc/start", params={"next": "/campaigns/summer-splash-2026"})
    assert r.status_code == 303
    authorize = r.headers["location"]
    q = {k: v[-1] for k, v in parse_qs(urlsplit(authorize).query).items()}
    assert q["code_challenge_method"] == "S256" and q["nonce"] and q["state"] and "openid" in q["scope"]
    idp = httpx.get(authorize, follow_redirects=False, timeout=10)
    assert idp.status_code == 302, idp.text
    callback = urlsplit(idp.headers["location"])
    assert callback.path == "/auth/oidc/callback"
    return f"{callback.path}?{callback.query}", q


def test_success_creates_the_account_maps_groups_to_roles_and_rotates_the_session(world):
    app, store, provider = world
    client = TestClient(app, follow_redirects=False, cookies={SESSION_COOKIE: "pre-login-value"})
    callback, _q = start(client)
    r = client.get(callback)
    assert (
        r.status_code == 200
        and 'http-equiv="refresh" content="0;url=/campaigns/summer-splash-2026"' in r.text
    )
    value = r.cookies.get(SESSION_COOKIE) or client.cookies.get(SESSION_COOKIE)
    assert value and value != "pre-login-value"
    assert ("POST", "/token") in provider.requests and ("GET", "/jwks") in provider.requests
    user = store.user("olga@example.com")
    assert user["source"] == "oidc" and user["roles"] == {"aurora-beverages": "approver"}
    assert user["groups"] == ["aurora-approvers"] and user["password_hash"] is None
    page = client.get("/campaigns/summer-splash-2026")
    assert page.status_code == 200 and "Olga OIDC" in page.text
    records = [r["action"] for r in store.audit_records()]
    assert "signin.success" in records and "role.change" in records
    # the IdP's groups are the truth at every sign-in: leaving the group removes the role
    provider.user["groups"] = []
    client.get(start(client)[0])
    assert store.user("olga@example.com")["roles"] == {}


@pytest.mark.parametrize(
    ("knob", "message"),
    [
        ({"audience": "another-app"}, "issued for another application (aud)"),
        ({"lifetime": -120}, "the ID token is not valid"),
        ({"sign_with_rogue_key": True}, "signature is not valid"),
    ],
    ids=["wrong-audience", "expired", "bad-signature"],
)
def test_invalid_id_tokens_are_refused(world, knob, message):
    app, store, provider = world
    for name, value in knob.items():
        setattr(provider, name, value)
    client = TestClient(app, follow_redirects=False)
    callback, _q = start(client)
    r = client.get(callback)
    assert r.status_code == 401 and message in r.text
    assert SESSION_COOKIE not in r.cookies and store.user("olga@example.com") is None
    failure = store.audit_records()[-1]
    assert failure["action"] == "signin.failure" and failure["outcome"] == "failed"
    assert message in failure["details"]


def test_a_replayed_nonce_or_state_is_refused(world):
    app, _store, provider = world
    client = TestClient(app, follow_redirects=False)
    callback, first = start(client)
    assert client.get(callback).status_code == 200  # the first sign-in consumes its nonce and state
    # the same callback again, even with the state cookie put back: its state was used
    client.cookies.set(OIDC_STATE_COOKIE, first["state"], path="/auth/oidc")
    r = client.get(callback)
    assert r.status_code == 401 and "unknown, used or expired" in r.text
    # a fresh sign-in whose ID token carries the earlier sign-in's nonce (a replayed token)
    provider.nonce_override = first["nonce"]
    callback, _q = start(client)
    r = client.get(callback)
    assert r.status_code == 401 and "nonce" in r.text
    # a callback from another browser (no state cookie) is refused too
    provider.reset()
    callback, _q = start(TestClient(app, follow_redirects=False))
    r = TestClient(app, follow_redirects=False).get(callback)
    assert r.status_code == 401 and "state mismatch" in r.text


def test_replayed_nonce_is_refused_even_with_a_matching_request(world):
    """The store refuses a nonce it accepted before, whatever the pending request says."""
    _app, store, _provider = world
    assert store.use_nonce("n-1") is True
    assert store.use_nonce("n-1") is False
