"""The review web app over HTTP (Starlette's TestClient): accounts and sessions, brand-scoped access,
every route x every role, staged approvals, CSRF, traversal, pages, images, the JSON API and tokens.

One module-scoped storage with real creatives of brand A (Aurora: 2 locales incl. RTL ar-AE x 2
products, 2 candidates; its kit declares brand -> legal with separation of duties) and a registered,
not generated, campaign of brand B (Terra). The app reads storage through a subclass that records
every path it touches, so the traversal tests can assert nothing outside the storage root is opened.
"""

from __future__ import annotations

import asyncio
import html
import io
import json
import re
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs, unquote, urlsplit

import dagster as dg
import pytest
import sqlalchemy as sa
from PIL import Image
from starlette.testclient import TestClient

from creative_assets.brief import load_brief
from creative_assets.brief_store import register_brief
from creative_assets.identity import db
from creative_assets.identity.config import IdentitySettings
from creative_assets.identity.store import IdentityStore
from creative_assets.layout import delivery_file_key, delivery_manifest_key, ratio_dir
from creative_assets.review.app import ROUTES, SESSION_COOKIE, create_app
from creative_assets.review.decisions import unit_events
from creative_assets.review.service import Actor, ReviewService
from creative_assets.units import UnitKey
from creative_assets_tests.helpers import TRAIL
from creative_assets_tests.pipeline_helpers import pipeline_defs, register, run_range, small_brief
from creative_assets_tests.review_helpers import BRAND_A, BRAND_B, PASSWORD, PEOPLE, populate, staged_kits
from resources.brand_kits import BrandKitLibrary
from resources.storage import LocalCreativeStorage

SECRET = "TOP-SECRET-OUTSIDE-STORAGE"
CAMPAIGN_A, CAMPAIGN_B = "summer-splash-2026", "trail-ready-2026"


class SpyStorage(LocalCreativeStorage):
    """Local storage that records every filesystem path it resolves."""

    touched: ClassVar[list[Path]] = []

    def _path(self, key: str) -> Path:
        path = super()._path(key)
        SpyStorage.touched.append(path)
        return path


class Clock:
    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Four generated units of brand A; one registered campaign of brand B."""
    tmp = tmp_path_factory.mktemp("review_app")
    root = tmp / "storage"
    (tmp / "secret.txt").write_text(SECRET)  # next to the storage root: must never be served
    (tmp / "home").mkdir()
    kits = staged_kits(tmp)
    with dg.instance_for_test(temp_dir=str(tmp / "home")) as instance:
        generating = LocalCreativeStorage(root=str(root))
        keys = register(
            generating, small_brief(tmp, locales=("en-US", "ar-AE"), candidates=2, motion=True), instance
        )
        defs = pipeline_defs(generating, brand_kits=BrandKitLibrary(root=str(kits)))
        run_range(defs, instance, keys[0], keys[-1])
    register_brief(generating, load_brief(TRAIL), TRAIL.read_bytes())  # brand B: registered only
    storage = SpyStorage(root=str(root))
    units = {k: UnitKey.parse(k) for k in keys}
    return storage, units, kits, tmp


@pytest.fixture(scope="module")
def identity(site):
    store = IdentityStore.open(f"sqlite:///{site[3] / 'identity.sqlite'}")
    populate(store)
    return store


@pytest.fixture(scope="module")
def app(site, identity):
    storage, _units, kits, _tmp = site
    return create_app(storage, identity, IdentitySettings(db_url="unused"), brand_kits=kits)


def unit_of(site, locale: str, product: str) -> UnitKey:
    return next(u for u in site[1].values() if (u.locale, u.product_id) == (locale, product))


def sign_in(app, login: str = "bruno@example.com") -> TestClient:
    client = TestClient(app, follow_redirects=False)
    r = client.post("/login", data={"login": login, "password": PASSWORD, "next": "/"})
    assert r.status_code == 303, r.text
    return client


def session_for(identity, login: str) -> TestClient:
    """A signed-in client without a password round trip (for the many route x role requests)."""
    value, _ = identity.create_session(identity.user(login)["id"], "testclient", "password")
    return value


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]{64})"', page).group(1)


def written(storage) -> set[str]:
    """Every decision and delivery file in storage."""
    return {*storage.list_keys("reviews"), *storage.list_keys("approved")}


def raw_get(app, raw_path: str, cookie: str = "") -> tuple[int, bytes]:
    """GET exactly ``raw_path`` (HTTP clients normalize ``..`` segments; attackers need not)."""
    path, _, query = raw_path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": unquote(path),
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"cookie", f"{SESSION_COOKIE}={cookie}".encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


# -- sign-in ---------------------------------------------------------------------------------------
def test_unauthenticated_requests_go_to_login(app, site):
    storage, units, *_ = site
    client = TestClient(app, follow_redirects=False)
    r = client.get(f"/campaigns/{CAMPAIGN_A}?status=approved")
    assert r.status_code == 303
    location = urlsplit(r.headers["location"])
    assert location.path == "/login"
    assert parse_qs(location.query)["next"] == [f"/campaigns/{CAMPAIGN_A}?status=approved"]
    unit = next(iter(units))
    assert client.get(f"/units/{unit}/creative/1/1x1.png").status_code == 303
    before = written(storage)
    r = client.post(f"/units/{unit}/approve", data={"content_hash": "x", "csrf": "x"})
    assert r.status_code == 401
    assert written(storage) == before
    login = client.get(f"/login?next=/campaigns/{CAMPAIGN_A}")
    assert login.status_code == 200 and 'name="password"' in login.text
    assert f'value="/campaigns/{CAMPAIGN_A}"' in login.text
    assert client.get("/healthz").text == "ok"
    assert client.get("/api/campaigns").status_code == 401


def test_wrong_password_unknown_and_disabled_accounts_get_the_same_answer(site, identity, tmp_path):
    store = IdentityStore.open(f"sqlite:///{tmp_path / 'identity.sqlite'}")
    populate(store, {k: PEOPLE[k] for k in ("vera@example.com", "rita@example.com")})
    store.set_disabled("rita@example.com")
    app = create_app(site[0], store, IdentitySettings(db_url="unused"), brand_kits=site[2])
    answers = set()
    for login, password in (
        ("vera@example.com", PASSWORD + "x"),  # wrong password
        ("nobody-here@example.com", PASSWORD),  # no such account
        ("rita@example.com", PASSWORD),  # disabled
    ):
        client = TestClient(app, follow_redirects=False)
        r = client.post("/login", data={"login": login, "password": password})
        assert r.status_code == 401 and "set-cookie" not in r.headers and not client.cookies
        answers.add(re.search(r'id="login-error">([^<]*)<', r.text).group(1))
    assert answers == {"The account name or password is not valid."}
    failures = [r for r in store.audit_records() if r["action"] == "signin.failure"]
    assert [(r["actor"], r["outcome"]) for r in failures] == [
        ("vera@example.com", "failed"),
        ("nobody-here@example.com", "failed"),
        ("rita@example.com", "failed"),
    ]
    assert all(r["ip"] == "testclient" for r in failures)


def test_sign_in_throttling_backs_off_per_account_and_address_for_real_and_unknown_accounts(site, tmp_path):
    clock = Clock()
    store = IdentityStore(IdentityStore.open(f"sqlite:///{tmp_path / 'identity.sqlite'}").engine, clock=clock)
    populate(store, {"vera@example.com": PEOPLE["vera@example.com"]})
    app = create_app(site[0], store, IdentitySettings(db_url="unused"), brand_kits=site[2])
    client = TestClient(app, follow_redirects=False)

    def attempt(login, password):
        return client.post("/login", data={"login": login, "password": password})

    for login in ("vera@example.com", "ghost@example.com"):  # the same behaviour: nothing to enumerate
        codes = [attempt(login, f"guess-{i}-xxxxxxxx").status_code for i in range(4)]
        assert codes == [401, 401, 401, 401]
        blocked = attempt(login, PASSWORD)
        assert blocked.status_code == 429 and blocked.headers["retry-after"] == "2"
        clock.now += 1.5  # exponential: 1 s after the 4th failure, then 2 s, 4 s, ...
        assert attempt(login, "guess-again-xxxxxx").status_code == 401
        r = attempt(login, PASSWORD)
        assert r.status_code == 429 and int(r.headers["retry-after"]) == 3
        clock.now += 3
    assert attempt("vera@example.com", PASSWORD).status_code == 303, "after the wait the right password works"
    # an hour without failures and the counter starts again (ghost's was never reset by a success)
    clock.now += 3601
    assert [attempt("ghost@example.com", f"again-{i}-xxxxxxxx").status_code for i in range(4)] == [401] * 4
    assert attempt("ghost@example.com", "and-again-xxxxxxx").status_code == 429
    # another account from the same address is not blocked by vera's failures
    assert attempt("other@example.com", "x" * 12).status_code == 401
    assert any(r["action"] == "signin.throttled" for r in store.audit_records())


def test_login_sets_a_strict_httponly_session_cookie_rotates_it_and_follows_next(app, identity):
    client = TestClient(app, follow_redirects=False)
    r = client.post(
        f"/login?next=/campaigns/{CAMPAIGN_A}",
        data={"login": "  Bruno@Example.com ", "password": PASSWORD, "next": f"/campaigns/{CAMPAIGN_A}"},
    )
    assert r.status_code == 303 and r.headers["location"] == f"/campaigns/{CAMPAIGN_A}"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    attributes = {a.strip().split("=")[0].lower(): a for a in cookie.split(";")[1:]}
    assert "httponly" in attributes and "path" in attributes
    assert attributes["samesite"].split("=")[1].lower() == "strict"
    first = client.cookies[SESSION_COOKIE]
    page = client.get("/")
    assert (
        page.status_code == 200 and 'id="reviewer" data-login="bruno@example.com">Bruno Brand<' in page.text
    )
    # signing in again gives a new session id and ends the one the browser had
    client.post("/login", data={"login": "bruno@example.com", "password": PASSWORD})
    second = client.cookies[SESSION_COOKIE]
    assert second != first
    assert (
        TestClient(app, follow_redirects=False, cookies={SESSION_COOKIE: first}).get("/").status_code == 303
    )
    # the server keeps only hashes of session ids
    with identity.engine.connect() as conn:
        stored = {r.id_hash for r in conn.execute(sa.select(db.sessions))}
    assert first not in stored and second not in stored


def test_forged_or_expired_sessions_are_rejected(site, tmp_path):
    clock = Clock()
    store = IdentityStore(
        IdentityStore.open(f"sqlite:///{tmp_path / 'identity.sqlite'}").engine, clock=clock, idle_minutes=30
    )
    populate(store, {"vera@example.com": PEOPLE["vera@example.com"]})
    app = create_app(site[0], store, IdentitySettings(db_url="unused"), brand_kits=site[2])
    value, _ = store.create_session(store.user("vera@example.com")["id"], "ip", "password")
    ok = TestClient(app, follow_redirects=False, cookies={SESSION_COOKIE: value})
    assert ok.get("/").status_code == 200
    for bad in (value[:-1] + ("A" if value[-1] != "A" else "B"), "garbage", "", "x" * 500):
        r = TestClient(app, follow_redirects=False, cookies={SESSION_COOKIE: bad}).get("/")
        assert r.status_code == 303 and r.headers["location"].startswith("/login"), bad
    clock.now += 29 * 60
    assert ok.get("/").status_code == 200, "activity keeps the session alive"
    clock.now += 31 * 60
    assert ok.get("/").status_code == 303, "30 minutes idle end it"
    value, _ = store.create_session(store.user("vera@example.com")["id"], "ip", "password")
    ok = TestClient(app, follow_redirects=False, cookies={SESSION_COOKIE: value})
    for _ in range(25):  # active all the time, but the absolute lifetime (12 h) still ends it
        clock.now += 29 * 60
        ok.get("/")
    assert ok.get("/").status_code == 303


@pytest.mark.parametrize("target", ["//evil.com", "/\\evil.com", "https://evil.com/", "evil.com", ""])
def test_login_never_redirects_off_site(app, target):
    client = TestClient(app, follow_redirects=False)
    r = client.post(
        "/login",
        params={"next": target},
        data={"login": "vera@example.com", "password": PASSWORD, "next": target},
    )
    assert r.status_code == 303 and r.headers["location"] == "/"
    page = client.get("/login", params={"next": target})
    assert 'name="next" value="/"' in page.text


def test_sign_out_needs_csrf_and_revokes_the_session(app):
    client = sign_in(app)
    assert client.post("/logout").status_code == 403
    copied = client.cookies.get(SESSION_COOKIE)
    r = client.post("/logout", data={"csrf": csrf_of(client.get("/").text)})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert f'{SESSION_COOKIE}=""' in r.headers["set-cookie"] or "Max-Age=0" in r.headers["set-cookie"]
    thief = TestClient(app, follow_redirects=False, cookies={SESSION_COOKIE: copied})
    r = thief.get("/")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert sign_in(app).get("/").status_code == 200, "signing in again gives a fresh session"


def test_users_see_their_sessions_and_end_the_others(app, identity):
    laptop, phone, tablet = (sign_in(app, "vera@example.com") for _ in range(3))
    page = laptop.get("/account/sessions").text
    refs = re.findall(r'<tr data-ref="([0-9a-f]{16})">', page)
    assert len(refs) >= 3 and page.count("this browser") == 1
    phone_ref = re.search(
        r'<tr data-ref="([0-9a-f]{16})">(?:(?!</tr>).)*this browser',
        phone.get("/account/sessions").text,
        re.S,
    ).group(1)
    assert phone_ref in refs
    csrf = csrf_of(page)
    r = laptop.post("/account/sessions", data={"csrf": csrf, "session": phone_ref})
    assert r.status_code == 200 and "1 session(s) ended." in r.text
    assert phone.get("/").status_code == 303 and tablet.get("/").status_code == 200
    r = laptop.post("/account/sessions", data={"csrf": csrf, "session": "others"})
    assert tablet.get("/").status_code == 303 and laptop.get("/").status_code == 200
    assert (
        laptop.post("/account/sessions", data={"csrf": csrf, "session": "'; drop"}).text.count(
            "0 session(s) ended."
        )
        == 1
    )
    ended = [
        r
        for r in identity.audit_records()
        if r["action"] == "signout.other" and r["actor"] == "vera@example.com"
    ]
    assert [json.loads(r["details"])["ref"] for r in ended][-2:] == [phone_ref, "others"]


def test_the_one_time_password_must_be_changed_first(site, tmp_path):
    store = IdentityStore.open(f"sqlite:///{tmp_path / 'identity.sqlite'}")
    password = store.first_run_admin()
    assert password and store.first_run_admin() is None, "only on an empty database"
    app = create_app(site[0], store, IdentitySettings(db_url="unused"), brand_kits=site[2])
    client = TestClient(app, follow_redirects=False)
    r = client.post("/login", data={"login": "admin", "password": password})
    assert r.status_code == 303 and r.headers["location"] == "/account/password"
    assert client.get("/").headers["location"] == "/account/password"
    page = client.get("/account/password")
    assert 'id="one-time"' in page.text
    csrf = csrf_of(page.text)
    r = client.post(
        "/account/password", data={"csrf": csrf, "current": password, "new": "short", "confirm": "short"}
    )
    assert r.status_code == 400 and "at least 12 characters" in r.text
    r = client.post(
        "/account/password",
        data={"csrf": csrf, "current": password, "new": "password1234", "confirm": "password1234"},
    )
    assert r.status_code == 400 and "too common" in r.text
    new = "a-long-and-private-phrase"
    r = client.post("/account/password", data={"csrf": csrf, "current": password, "new": new, "confirm": new})
    assert r.status_code == 303
    assert client.get("/").status_code == 200
    fresh = TestClient(app, follow_redirects=False)
    assert fresh.post("/login", data={"login": "admin", "password": password}).status_code == 401
    assert fresh.post("/login", data={"login": "admin", "password": new}).headers["location"] == "/"


# -- brand-scoped access ---------------------------------------------------------------------------
def test_a_user_sees_only_their_brands_and_other_brands_look_like_nothing(app, site, identity):
    storage, units, *_ = site
    unit = next(iter(units.values()))
    tom = TestClient(
        app, follow_redirects=False, cookies={SESSION_COOKIE: session_for(identity, "tom@example.com")}
    )
    home = tom.get("/").text
    assert f'data-campaign="{CAMPAIGN_B}"' in home and f'data-campaign="{CAMPAIGN_A}"' not in home
    missing_campaign = tom.get("/campaigns/no-such-campaign")
    missing_unit = tom.get(f"/units/{CAMPAIGN_A.replace('summer', 'winter')}.en-US.mango-mint")
    for path in (
        f"/campaigns/{CAMPAIGN_A}",
        f"/units/{unit}",
        f"/units/{unit}/creative/1/1x1.png",
        f"/units/{unit}/creative/1/1x1.png?w=200",
    ):
        r = tom.get(path)
        assert r.status_code == 404 and r.text == missing_campaign.text == missing_unit.text, path
    api = tom.get(f"/api/units/{unit}")
    assert api.status_code == 404 and api.json() == tom.get("/api/units/no-such.en-US.x").json() == {
        "error": "Not found."
    }
    assert [c["campaign"] for c in tom.get("/api/campaigns").json()["campaigns"]] == [CAMPAIGN_B]
    before = written(storage)
    csrf = csrf_of(home)
    r = tom.post(f"/units/{unit}/approve", data={"csrf": csrf, "content_hash": "0" * 20})
    assert r.status_code == 404 and r.text == missing_campaign.text
    assert written(storage) == before
    denied = [
        r
        for r in identity.audit_records()
        if r["action"] == "access.denied" and r["actor"] == "tom@example.com"
    ]
    assert denied and all(r["brand"] == BRAND_A and r["outcome"] == "denied" for r in denied)
    nobody = TestClient(
        app, follow_redirects=False, cookies={SESSION_COOKIE: session_for(identity, "nobody@example.com")}
    )
    assert "No campaigns for your brands yet" in nobody.get("/").text


#: the role each persona has in brand A (None: none); what the route table must allow, written here
#: independently of the app's own table
PERSONAS = {
    "anonymous": None,
    "nobody@example.com": None,
    "tom@example.com": None,  # approver of brand B only
    "vera@example.com": "viewer",
    "rita@example.com": "reviewer",
    "bruno@example.com": "approver",
    "abby@example.com": "brand_admin",
    "root@example.com": "admin",
}
LEVEL = {None: 0, "viewer": 1, "reviewer": 2, "approver": 3, "brand_admin": 4, "admin": 5}
NEEDS = {"view": 1, "request_changes": 2, "approve": 3, "manage_members": 4, "read_audit": 4}


#: the highest role each persona has in any brand (for routes without a brand: lists, the audit log)
ANYWHERE = {**PERSONAS, "tom@example.com": "approver"}


def expected(persona: str, permission: str, branded: bool = True) -> bool:
    if permission == "public":
        return True
    if persona == "anonymous":
        return False
    if permission == "signed_in":
        return True
    if permission == "admin":
        return persona == "root@example.com"
    return LEVEL[(PERSONAS if branded else ANYWHERE)[persona]] >= NEEDS[permission]


def test_every_route_declares_a_permission_and_refuses_every_role_without_it(app, site, identity):
    """Walk the app's routes x every persona: each route refuses (401/403/404, or the sign-in page)
    every persona lacking its permission, and lets the others past the guard."""
    storage, _units, *_ = site
    unit = unit_of(site, "en-US", "mango-mint")
    selected = ReviewService(storage).unit(unit).selected  # the candidate whose videos exist
    params = {
        "unit": str(unit),
        "campaign": CAMPAIGN_A,
        "brand": BRAND_A,
        "candidate": str(selected.index + 1),
        "ratio": "1x1",
        "name": selected.motion[0]["name"],
    }
    declared = {}
    for route in app.routes:
        spec = getattr(route, "spec", None)
        assert spec is not None, f"{route.path} declares no permission"
        declared[route.path] = spec
    assert set(declared) == {s.path for s in ROUTES}
    cookies = {p: session_for(identity, p) for p in PERSONAS if p != "anonymous"}
    before = written(storage)
    checked = 0
    for path, spec in declared.items():
        url = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: params[m.group(1)], path)
        for method in spec.methods:
            for persona in PERSONAS:
                client = TestClient(app, follow_redirects=False)
                headers = {}
                data = None
                if persona != "anonymous":
                    client.cookies.set(SESSION_COOKIE, cookies[persona])
                if method == "POST":
                    if url.startswith("/api/"):
                        continue  # API writes take tokens: test_api_tokens_*
                    if persona != "anonymous":
                        csrf = csrf_of(client.get("/account/password").text)
                        # a request the guard must judge, but that changes nothing when it passes
                        data = {"csrf": csrf, "content_hash": "0" * 20, "role": "bogus", "current": "wrong"}
                    if spec.endpoint == "logout":
                        data = {"csrf": "wrong"} if persona != "anonymous" else None
                r = client.request(method, url, data=data, headers=headers)
                to_login = r.status_code == 303 and r.headers["location"].startswith("/login")
                refused = r.status_code in (401, 403, 404) or to_login
                allowed = expected(persona, spec.permission.value, spec.brand_from is not None)
                if spec.endpoint == "logout" and persona != "anonymous":
                    assert r.status_code == 403 and "security token" in r.text, (persona, url)
                elif spec.permission.value == "public":  # answers on its own terms, never "sign in"
                    assert not to_login and "sign in first" not in r.text, (persona, method, url)
                elif allowed:
                    assert not refused, (persona, method, url, r.status_code, r.text[:300])
                else:
                    assert refused, (persona, method, url, r.status_code)
                    if persona in ("nobody@example.com", "tom@example.com") and spec.brand_from:
                        assert r.status_code == 404, "no membership: the same 404 as a missing campaign"
                    elif persona != "anonymous":
                        assert r.status_code in (401, 403), (persona, url, r.status_code)
                checked += 1
    assert checked > 100
    assert written(storage) == before, "no request of the walk changed anything"


# -- CSRF, origin, stale pages ---------------------------------------------------------------------
def test_actions_without_csrf_or_from_another_site_are_refused_and_write_nothing(app, site):
    storage, *_ = site
    unit = unit_of(site, "ar-AE", "mango-mint")
    client = sign_in(app)
    page = client.get(f"/units/{unit}").text
    csrf = csrf_of(page)
    seen = ReviewService(storage, brand_kits=site[2]).unit(unit).selected.content_hash
    other_csrf = csrf_of(sign_in(app, "lena@example.com").get("/").text)
    before = written(storage)
    attempts = [
        ("approve", {"content_hash": seen}, {}),
        ("approve", {"content_hash": seen, "csrf": ""}, {}),
        ("approve", {"content_hash": seen, "csrf": other_csrf}, {}),  # another session's token
        ("approve", {"content_hash": seen, "csrf": csrf}, {"origin": "https://evil.example"}),
        ("approve", {"content_hash": seen, "csrf": csrf}, {"origin": "null"}),
        ("approve", {"content_hash": seen, "csrf": csrf}, {"referer": "https://evil.example/units/x"}),
        ("request-changes", {"content_hash": seen, "feedback": "make it red"}, {}),
        (
            "request-changes",
            {"content_hash": seen, "feedback": "red", "csrf": csrf},
            {"origin": "http://evil"},
        ),
    ]
    for action, data, headers in attempts:
        r = client.post(f"/units/{unit}/{action}", data=data, headers=headers)
        assert r.status_code == 403, (action, data, headers)
        assert "security token" in r.text
    assert written(storage) == before and unit_events(storage, unit) == []
    anon = TestClient(app, follow_redirects=False)
    r = anon.post(
        "/login",
        data={"login": "bruno@example.com", "password": PASSWORD},
        headers={"origin": "https://evil.example"},
    )
    assert r.status_code == 403 and "set-cookie" not in r.headers


def test_stale_content_hash_is_a_conflict_with_a_clear_message(app, site):
    storage, *_ = site
    unit = unit_of(site, "ar-AE", "mango-mint")
    client = sign_in(app)
    csrf = csrf_of(client.get(f"/units/{unit}").text)
    before = written(storage)
    r = client.post(f"/units/{unit}/approve", data={"csrf": csrf, "content_hash": "0" * 20})
    assert r.status_code == 409
    assert f"the creatives of {unit} changed since you opened the page; reload and review again" in r.text
    rita = sign_in(app, "rita@example.com")
    rcsrf = csrf_of(rita.get(f"/units/{unit}").text)
    r = rita.post(
        f"/units/{unit}/request-changes", data={"csrf": rcsrf, "content_hash": "0" * 20, "feedback": "x"}
    )
    assert r.status_code == 409 and "changed since you opened the page" in r.text
    view = ReviewService(storage, brand_kits=site[2]).unit(unit)
    selected, alternate = view.selected.content_hash, view.candidates[1].index + 1
    r = client.post(
        f"/units/{unit}/approve", data={"csrf": csrf, "content_hash": selected, "candidate": str(alternate)}
    )
    assert r.status_code == 409 and "must name the creative shown" in r.text
    r = client.post(f"/units/{unit}/approve", data={"csrf": csrf, "content_hash": selected, "candidate": "9"})
    assert r.status_code == 404
    r = client.post(f"/units/{unit}/approve", data={"csrf": csrf, "content_hash": selected, "candidate": "x"})
    assert r.status_code == 400
    r = rita.post(f"/units/{unit}/request-changes", data={"csrf": rcsrf, "content_hash": selected})
    assert r.status_code == 400 and "feedback is required" in r.text
    assert written(storage) == before


# -- traversal -------------------------------------------------------------------------------------
TRAVERSALS = [
    "/units/..%2F..%2Fetc%2Fpasswd",
    "/units/..%2F..%2Fsecret.txt",
    "/units/%2E%2E",
    "/units/a.b/creative/1/../../x.png",
    "/units/a.b/creative/1/%2E%2E%2F%2E%2E%2Fx.png",
    "/units/summer-splash-2026.en-US.mango-mint/creative/1/..%2F..%2F..%2F..%2Fsecret.txt",
    "/units/summer-splash-2026.en-US.mango-mint/creative/1/../../../../../secret.txt",
    "/units/summer-splash-2026.en-US.mango-mint/creative/1/..png",
    "/units/summer-splash-2026.en-US.mango-mint/creative/1/1x1%2F..%2F..png",
    "/units/summer-splash-2026.en-US.mango-mint/creative/0/1x1.png",
    "/units/summer-splash-2026.en-US.mango-mint/creative/3/1x1.png",
    "/units/summer-splash-2026.en-US.mango-mint/creative/1/4x5.png",
    "/units/summer-splash-2026.en-US.mango-mint/creative/-1/1x1.png",
    "/units/summer-splash-2026.en-US.Mango_Mint",
    "/units/summer-splash-2026.en-US..",
    "/units/summer-splash-2026.xx.mango-mint",
    "/units/..%2Fsummer-splash-2026.en-US.mango-mint",
    "/units/summer-splash-2026.en-US.not-in-the-brief",
    "/units/other-campaign.en-US.mango-mint",
    "/campaigns/..",
    "/campaigns/%2E%2E",
    "/campaigns/..%2F..%2Fetc",
    "/campaigns/no-such-campaign",
    "/campaigns/Bad_Slug",
    "/brands/..%2F..%2Fetc/members",
    "/brands/no-such-brand/members",
    "/../../secret.txt",
    "/%2E%2E/secret.txt",
]


def test_traversal_attempts_are_404_and_never_leave_storage(app, site, identity):
    storage, *_ = site
    cookie = session_for(identity, "abby@example.com")
    client = TestClient(app, follow_redirects=False, cookies={SESSION_COOKIE: cookie})
    root = Path(storage.root).resolve()
    SpyStorage.touched.clear()
    for path in TRAVERSALS:
        status, body = raw_get(app, path, cookie)
        assert status == 404, path
        assert SECRET.encode() not in body and b"root:" not in body
        r = client.get(path)
        assert r.status_code in (404, 200) and SECRET not in r.text, path
        assert r.status_code == 404 or urlsplit(str(r.url)).path in ("", "/"), path
    assert SpyStorage.touched, "the unit lookups did read storage"
    outside = [p for p in SpyStorage.touched if not p.is_relative_to(root)]
    assert outside == []
    csrf = csrf_of(client.get("/").text)
    before = written(storage)
    for unit in ("summer-splash-2026.en-US.not-in-the-brief", "..%2F..%2Fx.y.z"):
        r = client.post(f"/units/{unit}/approve", data={"csrf": csrf, "content_hash": "0" * 20})
        assert r.status_code == 404, unit
    assert written(storage) == before


# -- pages -----------------------------------------------------------------------------------------
def test_pages_list_campaigns_units_stages_creatives_scores_checks_and_copy(app, site, identity):
    storage, units, kits, _ = site
    service = ReviewService(storage, brand_kits=kits)
    client = TestClient(
        app, follow_redirects=False, cookies={SESSION_COOKIE: session_for(identity, "vera@example.com")}
    )
    home = client.get("/")
    campaign = service.campaign(CAMPAIGN_A)
    assert home.status_code == 200
    assert html.escape(campaign.name) in home.text and f'href="/campaigns/{CAMPAIGN_A}"' in home.text
    page = client.get(f"/campaigns/{CAMPAIGN_A}").text
    for key in units:
        assert f'href="/units/{key}"' in page
        assert f'data-unit="{key}" data-status="needs_review"' in page
    assert "<h2>en-US</h2>" in page and "<h2>ar-AE</h2>" in page

    for key, unit in units.items():
        view = service.unit(unit)
        text = client.get(f"/units/{key}").text
        assert 'id="status" data-status="needs_review"' in text
        assert '<li data-stage="brand" data-state="pending">' in text and 'data-stage="legal"' in text
        assert "Delivery waits for: brand, legal" in text
        assert 'id="approve-form"' not in text and 'id="changes-form"' not in text, "a viewer decides nothing"
        for c in view.candidates:
            for ratio in ("1:1", "9:16", "16:9"):
                assert f'src="/units/{key}/creative/{c.index + 1}/{ratio_dir(ratio)}.png?w=' in text
            assert f"<td>{c.rank}</td><td>{c.index + 1}</td><td>{c.score:.3f}</td>" in text
            assert html.escape(c.copy["headline"]) in text
        assert '<table id="checks">\n  <tr><th>Check</th><th>1:1</th><th>9:16</th><th>16:9</th></tr>' in text
        for name in ("copy_terms", "logo", "safe_zones", "text_legibility"):
            assert f"<tr><td>{name}</td>" in text
        direction = "rtl" if unit.locale == "ar-AE" else "ltr"
        copies = re.findall(r'<div class="copy" dir="(\w+)" lang="([\w-]+)">', text)
        assert copies == [(direction, unit.locale)] * 2
    bruno = TestClient(
        app, follow_redirects=False, cookies={SESSION_COOKIE: session_for(identity, "bruno@example.com")}
    )
    text = bruno.get(f"/units/{next(iter(units))}").text
    assert 'id="approve-form"' in text and 'name="stage" value="brand"' in text and "· Brand</button>" in text
    lena = TestClient(
        app, follow_redirects=False, cookies={SESSION_COOKIE: session_for(identity, "lena@example.com")}
    )
    assert 'id="approve-form"' not in lena.get(f"/units/{next(iter(units))}").text, "legal comes after brand"


def test_images_are_the_stored_pngs_and_thumbnails_are_jpeg(app, site, identity):
    storage, _units, kits, _ = site
    unit = unit_of(site, "en-US", "mango-mint")
    view = ReviewService(storage, brand_kits=kits).unit(unit)
    client = TestClient(
        app, follow_redirects=False, cookies={SESSION_COOKIE: session_for(identity, "vera@example.com")}
    )
    for c in view.candidates:
        for ratio, key in c.files.items():
            url = f"/units/{unit}/creative/{c.index + 1}/{ratio_dir(ratio)}.png"
            r = client.get(url)
            assert r.status_code == 200 and r.headers["content-type"] == "image/png"
            assert r.content == storage.read_bytes(key)
            thumb = client.get(url, params={"w": 200})
            assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
            with Image.open(io.BytesIO(thumb.content)) as im:
                assert im.format == "JPEG" and im.width <= 200
    url = f"/units/{unit}/creative/1/1x1.png"
    full, thumb = client.get(url), client.get(url, params={"w": 300})
    for r in (full, thumb):
        assert r.headers["cache-control"] == "private, no-cache" and r.headers["etag"]
        again = client.get(str(r.url), headers={"if-none-match": r.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
    for bad in ("10", "5000", "abc", "-1"):
        assert client.get(url, params={"w": bad}).status_code == 400


def test_security_headers_on_every_response(app, site, identity):
    client = TestClient(
        app, follow_redirects=False, cookies={SESSION_COOKIE: session_for(identity, "vera@example.com")}
    )
    unit = unit_of(site, "en-US", "mango-mint")
    responses = [
        client.get("/"),
        client.get(f"/units/{unit}"),
        client.get(f"/units/{unit}/creative/1/1x1.png"),
        client.get("/units/no.such.unit"),
        client.get("/no-such-page"),
        client.get("/logout"),  # 405
        client.get("/api/campaigns"),
        TestClient(app, follow_redirects=False).get("/login"),
    ]
    for r in responses:
        csp = r.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp, r.url
        assert "script-src" not in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "same-origin"
    assert responses[0].headers["cache-control"] == "no-store", "pages with campaign data are not cached"


# -- staged approvals over HTTP --------------------------------------------------------------------
def test_two_stage_approval_with_separation_of_duties_then_reopen(app, site, identity):
    storage, _units, kits, _ = site
    service = ReviewService(storage, brand_kits=kits)
    unit = unit_of(site, "en-US", "sparkling-citrus")
    view = service.unit(unit)
    bruno, lena, dual, rita, vera = (
        sign_in(app, f"{n}@example.com") for n in ("bruno", "lena", "dual", "rita", "vera")
    )
    csrf = {c: csrf_of(c.get(f"/units/{unit}").text) for c in (bruno, lena, dual, rita, vera)}
    seen = view.selected.content_hash

    def post(client, action, **data):
        return client.post(
            f"/units/{unit}/{action}", data={"csrf": csrf[client], "content_hash": seen, **data}
        )

    assert post(vera, "request-changes", feedback="x").status_code == 403  # viewers decide nothing
    assert post(rita, "approve", stage="brand").status_code == 403  # reviewers do not approve
    r = post(lena, "approve", stage="legal")
    assert r.status_code == 409 and "comes after brand: approve that first" in r.text
    r = post(lena, "approve", stage="brand")
    assert r.status_code == 403 and "approved by brand-team; you are not one of them" in r.text

    r = post(dual, "approve", stage="brand", comment="on brand")
    assert r.status_code == 303 and r.headers["location"].endswith("done=stage_approved")
    page = dual.get(r.headers["location"]).text
    assert "Delivery waits for: legal" in page and 'data-stage="brand" data-state="approved"' in page
    assert not storage.exists(delivery_manifest_key(unit)), "no delivery before the last stage"
    r = post(dual, "approve", stage="legal")
    assert r.status_code == 409 and "separation of duties" in r.text
    r = post(lena, "approve", stage="legal")
    assert r.status_code == 303 and r.headers["location"].endswith("done=approved")
    page = lena.get(r.headers["location"]).text
    assert 'data-status="approved"' in page and "Approved and published" in page
    manifest = json.loads(storage.read_text(delivery_manifest_key(unit)))
    assert [(s["stage"], s["by"]) for s in manifest["approval_stages"]] == [
        ("brand", "dual@example.com"),
        ("legal", "lena@example.com"),
    ]
    for ratio, key in view.selected.files.items():
        assert storage.read_bytes(delivery_file_key(unit, ratio)) == storage.read_bytes(key)
    events = unit_events(storage, unit)
    assert [(e.action, e.stage, e.actor_login) for e in events] == [
        ("approve", "brand", "dual@example.com"),
        ("approve", "legal", "lena@example.com"),
    ]

    # reopening the earlier stage withdraws the delivery and sends both stages back to review
    r = bruno.post(
        f"/units/{unit}/reopen", data={"csrf": csrf[bruno], "stage": "brand", "reason": "logo too small"}
    )
    assert r.status_code == 303
    after = service.unit(unit)
    assert after.status == "needs_review" and not storage.exists(delivery_manifest_key(unit))
    assert {s.state for s in after.stages.values()} == {"needs_review"}
    assert "stage brand was reopened by bruno@example.com" in after.stages["legal"].reason
    actions = [
        (r["actor"], r["action"], r["target"]) for r in identity.audit_records() if r["target"] == str(unit)
    ]
    assert actions[-5:] == [
        ("dual@example.com", "decision.approve", str(unit)),
        ("lena@example.com", "decision.approve", str(unit)),
        ("lena@example.com", "delivery.publish", str(unit)),
        ("bruno@example.com", "decision.reopen", str(unit)),
        ("bruno@example.com", "delivery.withdraw", str(unit)),
    ]
    assert any(
        r["action"] == "decision.approve" and r["outcome"] == "denied" for r in identity.audit_records()
    )


def test_approving_an_alternate_then_request_changes_over_http(app, site):
    storage, _units, kits, _ = site
    service = ReviewService(storage, brand_kits=kits)
    bruno, lena, rita = (sign_in(app, f"{n}@example.com") for n in ("bruno", "lena", "rita"))
    unit = unit_of(site, "en-US", "mango-mint")
    alternate = service.unit(unit).candidates[1]
    for client, stage in ((bruno, "brand"), (lena, "legal")):
        csrf = csrf_of(client.get(f"/units/{unit}").text)
        r = client.post(
            f"/units/{unit}/approve",
            data={
                "csrf": csrf,
                "content_hash": alternate.content_hash,
                "candidate": str(alternate.index + 1),
                "stage": stage,
            },
        )
        assert r.status_code == 303, r.text
    manifest = json.loads(storage.read_text(delivery_manifest_key(unit)))
    assert manifest["alternate"] is True and manifest["candidate"] == alternate.index + 1

    unit = unit_of(site, "ar-AE", "sparkling-citrus")
    seen = service.unit(unit).selected.content_hash
    csrf = csrf_of(rita.get(f"/units/{unit}").text)
    r = rita.post(
        f"/units/{unit}/request-changes",
        data={"csrf": csrf, "content_hash": seen, "feedback": "  Bigger   logo "},
    )
    assert r.status_code == 303 and r.headers["location"] == f"/units/{unit}?done=changes_requested"
    page = rita.get(r.headers["location"]).text
    assert 'data-status="regeneration_requested"' in page and 'id="approve-form"' not in page
    assert "Regeneration requested" in page and "Regenerating" not in page
    [event] = unit_events(storage, unit)
    assert (event.action, event.comment, event.actor, event.actor_login) == (
        "request_changes",
        "Bigger logo",
        "Rita Reviewer",
        "rita@example.com",
    )
    bcsrf = csrf_of(bruno.get(f"/units/{unit}").text)
    r = bruno.post(f"/units/{unit}/approve", data={"csrf": bcsrf, "content_hash": seen, "stage": "brand"})
    assert r.status_code == 409 and "being regenerated" in r.text


# -- brand admins, the audit page, API tokens ------------------------------------------------------
def test_brand_admin_manages_members_of_their_brand_only(app, identity):
    abby = sign_in(app, "abby@example.com")
    page = abby.get(f"/brands/{BRAND_A}/members")
    assert page.status_code == 200 and 'data-login="bruno@example.com"' in page.text
    assert 'data-login="tom@example.com"' not in page.text
    csrf = csrf_of(page.text)
    r = abby.post(
        f"/brands/{BRAND_A}/members", data={"csrf": csrf, "login": "tom@example.com", "role": "viewer"}
    )
    assert r.status_code == 200 and 'data-login="tom@example.com"' in r.text
    assert identity.user("tom@example.com")["roles"] == {BRAND_A: "viewer", BRAND_B: "approver"}
    assert abby.get(f"/brands/{BRAND_B}/members").status_code == 404
    r = abby.post(
        f"/brands/{BRAND_A}/members", data={"csrf": csrf, "login": "tom@example.com", "role": "admin"}
    )
    assert r.status_code == 400 and identity.user("tom@example.com")["is_admin"] is False
    r = abby.post(
        f"/brands/{BRAND_A}/members", data={"csrf": csrf, "login": "tom@example.com", "role": "none"}
    )
    assert identity.user("tom@example.com")["roles"] == {BRAND_B: "approver"}
    changes = [
        r
        for r in identity.audit_records()
        if r["action"] == "role.change" and r["actor"] == "abby@example.com"
    ]
    assert [json.loads(r["details"])["role"] for r in changes] == ["viewer", "none"]
    assert all(r["brand"] == BRAND_A and r["target"] == "tom@example.com" for r in changes)


def test_audit_page_admin_sees_all_and_a_verified_chain_brand_admin_their_brand(app, identity):
    root = sign_in(app, "root@example.com")
    page = root.get("/audit")
    assert page.status_code == 200 and "Hash chain verified" in page.text
    assert 'data-action="signin.success"' in page.text and 'data-action="account.create"' in page.text
    abby = sign_in(app, "abby@example.com")
    page = abby.get("/audit").text
    assert "Records of aurora-beverages" in page and "Hash chain verified" not in page
    rows = re.findall(
        r'<tr data-action="([^"]+)"><td>\d+</td><td>[^<]*</td><td>[^<]*</td><td>[^<]*</td><td>[^<]*</td><td>[^<]*</td><td>([^<]*)</td>',
        page,
    )
    assert rows and {brand for _action, brand in rows} == {BRAND_A}
    assert sign_in(app, "bruno@example.com").get("/audit").status_code == 403


def test_api_tokens_are_scoped_hashed_revocable_and_api_only(app, site, identity):
    storage, _units, _kits, _ = site
    identity.add_user("ci-bot", kind="service", source="service", groups=("brand-team",))
    identity.set_role("ci-bot", BRAND_A, "approver")
    read = identity.create_token("ci-bot", ["read"], note="dashboards")
    approve = identity.create_token("ci-bot", ["approve"], days=1)
    with identity.engine.connect() as conn:
        hashes = [r.token_hash for r in conn.execute(sa.select(db.api_tokens))]
    assert all(t.split(".", 1)[1] not in hashes for t in (read, approve)), "only hashes are stored"
    client = TestClient(app, follow_redirects=False)
    auth = {"Authorization": f"Bearer {read}"}
    listed = client.get("/api/campaigns", headers=auth).json()["campaigns"]
    assert [c["campaign"] for c in listed] == [CAMPAIGN_A]
    unit = unit_of(site, "ar-AE", "mango-mint")
    view = client.get(f"/api/units/{unit}", headers=auth).json()
    assert view["missing_stages"] == ["brand", "legal"]
    seen = view["candidates"][0]["content_hash"]
    r = client.post(f"/api/units/{unit}/approve", headers=auth, json={"content_hash": seen, "stage": "brand"})
    assert r.status_code == 403, "a read token cannot approve"
    assert client.get("/", headers=auth).status_code == 401, "tokens work on /api/ only"
    r = client.post(
        f"/api/units/{unit}/approve",
        headers={"Authorization": f"Bearer {approve}"},
        json={"content_hash": seen, "stage": "brand"},
    )
    assert r.status_code == 200 and r.json()["unit"]["missing_stages"] == ["legal"]
    assert unit_events(storage, unit)[-1].actor_login == "ci-bot"
    token_id = approve.removeprefix("cat_").split(".")[0]
    identity.revoke_token(token_id)
    assert client.get("/api/campaigns", headers={"Authorization": f"Bearer {approve}"}).status_code == 401
    assert client.get("/api/campaigns", headers={"Authorization": f"Bearer {approve}x"}).status_code == 401
    actions = [r["action"] for r in identity.audit_records()]
    assert "token.create" in actions and "token.revoke" in actions and "token.rejected" in actions
    # a session may read the API but not write through it (writes need a token: no CSRF on bearer)
    bruno = sign_in(app)
    assert bruno.get(f"/api/units/{unit}").status_code == 200
    assert bruno.post(f"/api/units/{unit}/approve", json={"content_hash": seen}).status_code == 401


# -- cascade without a run: a new brand kit, a new brief version (last: it changes the module's site)
def test_a_new_brand_kit_or_brief_version_sends_approvals_back_and_the_sensor_withdraws(
    app, site, monkeypatch
):
    import yaml

    from sensors.approvals import approval_cascade_sensor

    storage, _units, kits, tmp = site
    service = ReviewService(storage, brand_kits=kits)
    unit = unit_of(site, "ar-AE", "mango-mint")
    seen = service.unit(unit).selected.content_hash

    def approve_all(service):
        for stage, who in (("brand", "dual@example.com"), ("legal", "lena@example.com")):
            if service.unit(unit).stages[stage].state != "approved":  # the API test approved brand
                name, _roles, groups, _admin = PEOPLE[who]
                service.approve(unit, Actor(who, name, groups), seen, stage=stage)
        assert service.unit(unit).status == "approved"

    approve_all(service)
    monkeypatch.setenv("CREATIVE_ASSETS_BRAND_KITS", str(kits))

    def sensor():
        with dg.instance_for_test() as instance:
            return approval_cascade_sensor(
                dg.build_sensor_context(instance=instance, resources={"storage": storage})
            )

    assert sensor().skip_reason, "nothing is stale yet"
    assert storage.exists(delivery_manifest_key(unit))
    path = kits / BRAND_A / "brand.yaml"
    original = path.read_text()
    data = yaml.safe_load(original)
    data["palette"]["accent"] = "#123456"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    try:
        view = ReviewService(storage, brand_kits=kits).unit(unit)
        assert {s.state for s in view.stages.values()} == {"needs_review"}
        assert "brand kit changed" in view.stages["brand"].reason
        sensor()
        assert not storage.exists(delivery_manifest_key(unit)), "the stale delivery is withdrawn"
        assert unit_events(storage, unit)[-1].action == "withdraw"
    finally:
        path.write_text(original)
    # approved again on the restored kit, then a new brief version is registered: back to review
    service = ReviewService(storage, brand_kits=kits)
    approve_all(service)
    brief = small_brief(tmp / "v2", locales=("en-US", "ar-AE"), candidates=2)
    data = yaml.safe_load(brief.read_text())
    data["name"] = data["name"] + " (v2)"
    brief.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    record, created = register_brief(storage, load_brief(brief), brief.read_bytes())
    assert created and record.version == 2
    assert {s.state for s in service.unit(unit).stages.values()} == {"needs_review"}
    # approving again while the stale delivery is still up: it is withdrawn at the first stage and
    # the last stage publishes the new approval
    stale = json.loads(storage.read_text(delivery_manifest_key(unit)))["approval"]["id"]
    approve_all(service)
    assert json.loads(storage.read_text(delivery_manifest_key(unit)))["approval"]["id"] != stale
    assert [e.action for e in unit_events(storage, unit)][-3:] == ["withdraw", "approve", "approve"]
    assert sensor().skip_reason, "the new delivery is current"


# -- web fonts and links to the Dagster UI ----------------------------------------------------------
def test_pages_serve_the_bundled_noto_fonts_per_script_and_nothing_else(app, site):
    from creative_assets.review import webfonts

    client = sign_in(app)
    unit = unit_of(site, "ar-AE", "mango-mint")
    page = client.get(f"/units/{unit}")
    assert "font-src 'self'" in page.headers["content-security-policy"]
    css = re.search(r'<style id="webfonts">(.*?)</style>', page.text, re.S).group(1)
    faces = re.findall(r"@font-face \{[^}]*\}", css)
    urls = set(re.findall(r'url\("(/fonts/[^"]+)"\)', css))
    assert faces and all("unicode-range:" in f for f in faces), "every face is loaded only for its script"
    assert {"/fonts/NotoSansArabic-Regular.ttf", "/fonts/NotoSansCJKjp-Regular.otf"} <= urls
    assert ":lang(zh-CN)" in css and "NotoSansCJKsc-Regular.otf" in css, "Han by the copy's language"
    anonymous = TestClient(app, follow_redirects=False)
    for url in sorted(urls):
        r = anonymous.get(url)  # public, like the sign-in page that uses them
        name = url.rsplit("/", 1)[1]
        assert r.status_code == 200 and r.content == (webfonts.FONTS_DIR / name).read_bytes()
        assert r.headers["content-type"] == webfonts.media_type(name)
    for bad in ("OFL.txt", "README.md", "..%2Fsecret.txt", "NotoSans-Regular.ttf.bak"):
        assert anonymous.get(f"/fonts/{bad}").status_code == 404


def test_run_ids_link_to_the_dagster_ui(site, identity, monkeypatch):
    storage, _units, kits, _tmp = site
    monkeypatch.setenv("CREATIVE_ASSETS_UI_URL", "https://dagster.example.com/prefix/")
    linked = create_app(storage, identity, IdentitySettings(db_url="unused"), brand_kits=kits)
    client = sign_in(linked)
    unit = unit_of(site, "en-US", "mango-mint")
    page = client.get(f"/units/{unit}").text
    lineage = re.search(r'<dl class="kv panel" id="lineage">(.*?)</dl>', page, re.S).group(1)
    links = re.findall(r'<a class="run-link" href="([^"]+)"[^>]*><code>([^<]+)</code></a>', lineage)
    assert links and all(href == f"https://dagster.example.com/prefix/runs/{run}" for href, run in links)


# -- motion ----------------------------------------------------------------------------------------
def test_the_unit_page_plays_the_selected_videos_with_the_still_as_poster(app, site):
    storage, *_ = site
    unit = unit_of(site, "en-US", "mango-mint")
    best = ReviewService(storage).unit(unit).selected
    [video] = [m for m in best.motion if m["container"] == "mp4"]
    client = sign_in(app)
    page = client.get(f"/units/{unit}").text
    n = best.index + 1
    src = f"/units/{unit}/motion/{n}/{video['name']}"
    poster = f"/units/{unit}/creative/{n}/{ratio_dir(video['poster'])}.png?w=600"
    tag = re.search(r"<video[^>]*>", page, re.S).group(0)
    assert f'src="{src}"' in tag and f'poster="{poster}"' in tag and "loop" in tag and "muted" in tag
    assert "C2PA TEST-signed, verified" in page  # the video's own credential, as the stage verified it
    r = client.get(src)
    assert r.status_code == 200 and r.headers["content-type"] == "video/mp4"
    assert r.content == storage.read_bytes(video["key"])
    assert client.get(poster).status_code == 200  # the poster is the candidate's still
    assert client.get(src, headers={"if-none-match": r.headers["etag"]}).status_code == 304
    assert client.get(f"/units/{unit}/motion/{n}/no-such.mp4").status_code == 404
