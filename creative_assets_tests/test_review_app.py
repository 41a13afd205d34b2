"""The review web app over HTTP (Starlette's TestClient): sign-in, CSRF, traversal, pages, images.

One module-scoped storage with real creatives (2 locales incl. RTL ar-AE x 2 products, 2 candidates);
the app reads it through a storage subclass that records every path it touches, so the traversal
tests can assert nothing outside the storage root is ever opened.
"""

from __future__ import annotations

import asyncio
import base64
import html
import io
import json
import re
import time
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs, unquote, urlsplit

import dagster as dg
import pytest
from PIL import Image
from starlette.testclient import TestClient

from creative_assets.partitions import UnitKey
from creative_assets.review.app import SESSION_COOKIE, ReviewSettings, _sign, create_app
from creative_assets.review.decisions import unit_events
from creative_assets.review.delivery import delivery_file_key, delivery_manifest_key
from creative_assets.review.service import ReviewService
from creative_assets.stages import ratio_dir
from creative_assets_tests.pipeline_helpers import pipeline_defs, register, run_range, small_brief
from resources.storage import LocalCreativeStorage

TOKEN = "correct-horse-battery-staple"
SECRET = "TOP-SECRET-OUTSIDE-STORAGE"


class SpyStorage(LocalCreativeStorage):
    """Local storage that records every filesystem path it resolves."""

    touched: ClassVar[list[Path]] = []

    def _path(self, key: str) -> Path:
        path = super()._path(key)
        SpyStorage.touched.append(path)
        return path


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Four generated units: en-US and ar-AE x 2 products, 2 candidates each."""
    tmp = tmp_path_factory.mktemp("review_app")
    root = tmp / "storage"
    (tmp / "secret.txt").write_text(SECRET)  # next to the storage root: must never be served
    (tmp / "home").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp / "home")) as instance:
        generating = LocalCreativeStorage(root=str(root))
        keys = register(generating, small_brief(tmp, locales=("en-US", "ar-AE"), candidates=2), instance)
        run_range(pipeline_defs(generating), instance, keys[0], keys[-1])
    storage = SpyStorage(root=str(root))
    units = {k: UnitKey.parse(k) for k in keys}
    return storage, units


@pytest.fixture(scope="module")
def app(site):
    storage, _units = site
    return create_app(storage, ReviewSettings(token=TOKEN))


def unit_of(site, locale: str, product: str) -> UnitKey:
    return next(u for u in site[1].values() if (u.locale, u.product_id) == (locale, product))


def sign_in(app, name: str = "Ana Reviewer") -> TestClient:
    client = TestClient(app, follow_redirects=False)
    r = client.post("/login", data={"name": name, "token": TOKEN, "next": "/"})
    assert r.status_code == 303, r.text
    return client


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
    storage, units = site
    client = TestClient(app, follow_redirects=False)
    r = client.get("/campaigns/summer-splash-2026?status=approved")
    assert r.status_code == 303
    location = urlsplit(r.headers["location"])
    assert location.path == "/login"
    assert parse_qs(location.query)["next"] == ["/campaigns/summer-splash-2026?status=approved"]
    unit = next(iter(units))
    assert client.get(f"/units/{unit}/creative/1/1x1.png").status_code == 303
    before = written(storage)
    r = client.post(f"/units/{unit}/approve", data={"content_hash": "x", "csrf": "x"})
    assert r.status_code == 401
    assert written(storage) == before
    login = client.get("/login?next=/campaigns/summer-splash-2026")
    assert login.status_code == 200 and 'name="token"' in login.text
    assert 'value="/campaigns/summer-splash-2026"' in login.text
    assert client.get("/healthz").text == "ok"


def test_wrong_token_or_missing_name_is_refused_without_cookie(app):
    client = TestClient(app, follow_redirects=False)
    r = client.post("/login", data={"name": "Mallory", "token": TOKEN + "x"})
    assert r.status_code == 401 and "not valid" in r.text
    assert "set-cookie" not in r.headers and not client.cookies
    r = client.post("/login", data={"name": "   ", "token": TOKEN})
    assert r.status_code == 401 and "Enter your name" in r.text
    assert "set-cookie" not in r.headers


def test_repeated_failures_are_rate_limited(site):
    app = create_app(site[0], ReviewSettings(token=TOKEN))  # its own failure counter
    client = TestClient(app, follow_redirects=False)
    codes = [client.post("/login", data={"name": "M", "token": f"guess-{i}"}).status_code for i in range(11)]
    assert codes[:10] == [401] * 10 and codes[10] == 429
    assert client.post("/login", data={"name": "M", "token": TOKEN}).status_code == 429


def test_login_sets_a_strict_httponly_session_cookie_and_follows_next(app):
    client = TestClient(app, follow_redirects=False)
    r = client.post(
        "/login?next=/campaigns/summer-splash-2026",
        data={"name": "  Ana   Reviewer ", "token": TOKEN, "next": "/campaigns/summer-splash-2026"},
    )
    assert r.status_code == 303 and r.headers["location"] == "/campaigns/summer-splash-2026"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    attributes = {a.strip().split("=")[0].lower(): a for a in cookie.split(";")[1:]}
    assert "httponly" in attributes and "path" in attributes
    assert attributes["samesite"].split("=")[1].lower() == "strict"
    page = client.get("/")
    assert page.status_code == 200 and '<span class="muted" id="reviewer">Ana Reviewer</span>' in page.text


def test_tampered_forged_or_expired_cookies_are_rejected(app):
    value = sign_in(app).cookies[SESSION_COOKIE]
    body, mac = value.rsplit(".", 1)
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["name"] = "Mallory"
    forged_body = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    other_key = ReviewSettings(token="another-token-entirely")
    expired = dict(payload, name="Ana Reviewer", exp=time.time() - 1)
    for bad in (
        f"{forged_body}.{mac}",  # payload changed, old MAC
        f"{body}.{'0' * len(mac)}",  # MAC changed
        _sign(other_key, payload),  # signed with another token
        _sign(ReviewSettings(token=TOKEN), expired),  # valid MAC, expired
        "garbage",
    ):
        client = TestClient(app, follow_redirects=False, cookies={SESSION_COOKIE: bad})
        r = client.get("/")
        assert r.status_code == 303 and r.headers["location"].startswith("/login"), bad


@pytest.mark.parametrize("target", ["//evil.com", "/\\evil.com", "https://evil.com/", "evil.com", ""])
def test_login_never_redirects_off_site(app, target):
    client = TestClient(app, follow_redirects=False)
    r = client.post("/login", params={"next": target}, data={"name": "Ana", "token": TOKEN, "next": target})
    assert r.status_code == 303 and r.headers["location"] == "/"
    page = client.get("/login", params={"next": target})
    assert 'name="next" value="/"' in page.text


def test_logout_needs_csrf_and_clears_the_cookie(app):
    client = sign_in(app)
    assert client.post("/logout").status_code == 403
    r = client.post("/logout", data={"csrf": csrf_of(client.get("/").text)})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert 'ca_review_session=""' in r.headers["set-cookie"] or "Max-Age=0" in r.headers["set-cookie"]


def test_a_copied_cookie_stops_working_after_sign_out(app):
    client = sign_in(app)
    copied = client.cookies.get("ca_review_session")
    assert client.post("/logout", data={"csrf": csrf_of(client.get("/").text)}).status_code == 303
    thief = TestClient(app, follow_redirects=False, cookies={"ca_review_session": copied})
    r = thief.get("/")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert sign_in(app).get("/").status_code == 200, "signing in again gives a fresh session"


# -- CSRF, origin, stale pages ---------------------------------------------------------------------
def test_actions_without_csrf_or_from_another_site_are_refused_and_write_nothing(app, site):
    storage, _units = site
    unit = unit_of(site, "ar-AE", "mango-mint")
    client = sign_in(app)
    page = client.get(f"/units/{unit}").text
    csrf = csrf_of(page)
    seen = ReviewService(storage).unit(unit).selected.content_hash
    other_csrf = csrf_of(sign_in(app, "Other").get("/").text)
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
    # a cross-site sign-in form is refused too
    anon = TestClient(app, follow_redirects=False)
    r = anon.post("/login", data={"name": "x", "token": TOKEN}, headers={"origin": "https://evil.example"})
    assert r.status_code == 403 and "set-cookie" not in r.headers


def test_stale_content_hash_is_a_conflict_with_a_clear_message(app, site):
    storage, _units = site
    unit = unit_of(site, "ar-AE", "mango-mint")
    client = sign_in(app)
    csrf = csrf_of(client.get(f"/units/{unit}").text)
    before = written(storage)
    r = client.post(f"/units/{unit}/approve", data={"csrf": csrf, "content_hash": "0" * 20})
    assert r.status_code == 409
    assert f"the creatives of {unit} changed since you opened the page; reload and review again" in r.text
    r = client.post(
        f"/units/{unit}/request-changes", data={"csrf": csrf, "content_hash": "0" * 20, "feedback": "x"}
    )
    assert r.status_code == 409 and "changed since you opened the page" in r.text
    # approving an alternate with the selected creative's hash (what the page showed) is refused too
    view = ReviewService(storage).unit(unit)
    selected, alternate = view.selected.content_hash, view.candidates[1].index + 1
    r = client.post(
        f"/units/{unit}/approve", data={"csrf": csrf, "content_hash": selected, "candidate": str(alternate)}
    )
    assert r.status_code == 409 and "must name the creative shown" in r.text
    r = client.post(f"/units/{unit}/approve", data={"csrf": csrf, "content_hash": selected, "candidate": "9"})
    assert r.status_code == 404
    r = client.post(f"/units/{unit}/approve", data={"csrf": csrf, "content_hash": selected, "candidate": "x"})
    assert r.status_code == 400
    r = client.post(f"/units/{unit}/request-changes", data={"csrf": csrf, "content_hash": selected})
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
    "/units/summer-splash-2026.en-US.Mango_Mint",  # bad slug
    "/units/summer-splash-2026.en-US..",
    "/units/summer-splash-2026.xx.mango-mint",  # bad locale
    "/units/..%2Fsummer-splash-2026.en-US.mango-mint",
    "/units/summer-splash-2026.en-US.not-in-the-brief",  # a valid slug, but no such unit
    "/units/other-campaign.en-US.mango-mint",
    "/campaigns/..",
    "/campaigns/%2E%2E",
    "/campaigns/..%2F..%2Fetc",
    "/campaigns/no-such-campaign",
    "/campaigns/Bad_Slug",
    "/../../secret.txt",
    "/%2E%2E/secret.txt",
]


def test_traversal_attempts_are_404_and_never_leave_storage(app, site):
    storage, _units = site
    client = sign_in(app)
    cookie = client.cookies[SESSION_COOKIE]
    root = Path(storage.root).resolve()
    SpyStorage.touched.clear()
    for path in TRAVERSALS:
        status, body = raw_get(app, path, cookie)
        assert status == 404, path
        assert SECRET.encode() not in body and b"root:" not in body
        # and through a real HTTP client (which normalizes literal dot segments first)
        r = client.get(path)
        assert r.status_code in (404, 200) and SECRET not in r.text, path
        assert r.status_code == 404 or urlsplit(str(r.url)).path in ("", "/"), path
    assert SpyStorage.touched, "the unit lookups did read storage"
    outside = [p for p in SpyStorage.touched if not p.is_relative_to(root)]
    assert outside == []
    # a bad unit in an action URL is a 404 too, before anything is written
    csrf = csrf_of(client.get("/").text)
    before = written(storage)
    for unit in ("summer-splash-2026.en-US.not-in-the-brief", "..%2F..%2Fx.y.z"):
        r = client.post(f"/units/{unit}/approve", data={"csrf": csrf, "content_hash": "0" * 20})
        assert r.status_code == 404, unit
    assert written(storage) == before


# -- pages -----------------------------------------------------------------------------------------
def test_pages_list_campaigns_units_creatives_scores_checks_and_copy(app, site):
    storage, units = site
    service = ReviewService(storage)
    client = sign_in(app)
    home = client.get("/")
    [campaign] = service.campaigns()
    assert home.status_code == 200
    assert (
        html.escape(campaign.name) in home.text and f'href="/campaigns/{campaign.campaign_id}"' in home.text
    )
    page = client.get(f"/campaigns/{campaign.campaign_id}").text
    for key in units:
        assert f'href="/units/{key}"' in page
        assert f'data-unit="{key}" data-status="needs_review"' in page
    assert "<h2>en-US</h2>" in page and "<h2>ar-AE</h2>" in page

    for key, unit in units.items():
        view = service.unit(unit)
        r = client.get(f"/units/{key}")
        assert r.status_code == 200
        text = r.text
        assert 'id="status" data-status="needs_review"' in text
        assert len(view.candidates) == 2
        for c in view.candidates:
            for ratio in ("1:1", "9:16", "16:9"):
                assert f'src="/units/{key}/creative/{c.index + 1}/{ratio_dir(ratio)}.png?w=' in text
            assert f"<td>{c.rank}</td><td>{c.index + 1}</td><td>{c.score:.3f}</td>" in text  # scores
            assert html.escape(c.copy["headline"]) in text
        alternate = view.candidates[1]
        assert f'id="alternate-{alternate.index + 1}"' in text
        assert f'name="content_hash" value="{alternate.content_hash}"' in text
        assert f'name="content_hash" value="{view.selected.content_hash}"' in text
        assert '<table id="checks">\n  <tr><th>Check</th><th>1:1</th><th>9:16</th><th>16:9</th></tr>' in text
        for name in ("copy_terms", "logo", "safe_zones", "text_legibility"):
            assert f"<tr><td>{name}</td>" in text  # compliance check results, one row per check
        direction = "rtl" if unit.locale == "ar-AE" else "ltr"
        copies = re.findall(r'<div class="copy" dir="(\w+)" lang="([\w-]+)">', text)
        assert copies == [(direction, unit.locale)] * 2
    assert 'dir="rtl"' in client.get(f"/units/{unit_of(site, 'ar-AE', 'mango-mint')}").text


def test_images_are_the_stored_pngs_and_thumbnails_are_jpeg(app, site):
    storage, _units = site
    unit = unit_of(site, "en-US", "mango-mint")
    view = ReviewService(storage).unit(unit)
    client = sign_in(app)
    for c in view.candidates:
        for ratio, key in c.files.items():
            url = f"/units/{unit}/creative/{c.index + 1}/{ratio_dir(ratio)}.png"
            r = client.get(url)
            assert r.status_code == 200 and r.headers["content-type"] == "image/png"
            assert r.content == storage.read_bytes(key)
            assert r.headers["x-content-type-options"] == "nosniff"
            thumb = client.get(url, params={"w": 200})
            assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
            with Image.open(io.BytesIO(thumb.content)) as im:
                assert im.format == "JPEG" and im.width <= 200
                assert im.width == 200 or im.height == 800
    url = f"/units/{unit}/creative/1/1x1.png"
    # a candidate's URL shows new pixels after a revision: browsers must revalidate, never reuse blindly
    full, thumb = client.get(url), client.get(url, params={"w": 300})
    for r in (full, thumb):
        assert r.headers["cache-control"] == "private, no-cache" and r.headers["etag"]
        again = client.get(str(r.url), headers={"if-none-match": r.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
    assert full.headers["etag"] != thumb.headers["etag"]
    changed = client.get(url, headers={"if-none-match": '"0123456789abcdef"'})
    assert changed.status_code == 200 and changed.content == full.content
    for bad in ("10", "5000", "abc", "-1"):
        assert client.get(url, params={"w": bad}).status_code == 400


def test_security_headers_on_every_response(app, site):
    client = sign_in(app)
    unit = unit_of(site, "en-US", "mango-mint")
    responses = [
        client.get("/"),
        client.get(f"/units/{unit}"),
        client.get(f"/units/{unit}/creative/1/1x1.png"),
        client.get("/units/no.such.unit"),
        client.get("/no-such-page"),
        client.get("/logout"),  # 405
        TestClient(app, follow_redirects=False).get("/login"),
    ]
    for r in responses:
        csp = r.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp, r.url
        assert "script-src" not in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "same-origin"


# -- decisions over HTTP ---------------------------------------------------------------------------
def test_approve_and_request_changes_over_http(app, site):
    storage, _units = site
    service = ReviewService(storage)
    client = sign_in(app, "Ana Reviewer")

    # approve the selected creative
    unit = unit_of(site, "en-US", "sparkling-citrus")
    view = service.unit(unit)
    csrf = csrf_of(client.get(f"/units/{unit}").text)
    r = client.post(
        f"/units/{unit}/approve",
        data={"csrf": csrf, "content_hash": view.selected.content_hash, "comment": "ship it"},
        headers={"origin": "http://testserver"},
    )
    assert r.status_code == 303 and r.headers["location"] == f"/units/{unit}?done=approved"
    page = client.get(r.headers["location"]).text
    assert "Approved and published" in page and 'data-status="approved"' in page
    [event] = unit_events(storage, unit)
    assert (event.action, event.actor, event.candidate, event.comment) == (
        "approve",
        "Ana Reviewer",
        view.selected.index,
        "ship it",
    )
    assert event.content_hash == view.selected.content_hash
    for ratio, key in view.selected.files.items():
        assert storage.read_bytes(delivery_file_key(unit, ratio)) == storage.read_bytes(key)

    # approve an alternate
    unit = unit_of(site, "en-US", "mango-mint")
    alternate = service.unit(unit).candidates[1]
    r = client.post(
        f"/units/{unit}/approve",
        data={"csrf": csrf, "content_hash": alternate.content_hash, "candidate": str(alternate.index + 1)},
    )
    assert r.status_code == 303
    manifest = json.loads(storage.read_text(delivery_manifest_key(unit)))
    assert manifest["alternate"] is True and manifest["candidate"] == alternate.index + 1
    assert "(alternate)" in client.get(f"/units/{unit}").text

    # request changes: the unit waits for its revision, and cannot be approved meanwhile
    unit = unit_of(site, "ar-AE", "sparkling-citrus")
    seen = service.unit(unit).selected.content_hash
    r = client.post(
        f"/units/{unit}/request-changes",
        data={"csrf": csrf, "content_hash": seen, "feedback": "  Bigger   logo, please "},
    )
    assert r.status_code == 303 and r.headers["location"] == f"/units/{unit}?done=changes_requested"
    page = client.get(r.headers["location"]).text
    assert 'data-status="regenerating"' in page and "Changes requested" in page
    assert 'id="approve-form"' not in page and "approve-alternate" not in page
    [event] = unit_events(storage, unit)
    assert (event.action, event.comment, event.actor) == (
        "request_changes",
        "Bigger logo, please",
        "Ana Reviewer",
    )
    r = client.post(f"/units/{unit}/approve", data={"csrf": csrf, "content_hash": seen})
    assert r.status_code == 409 and "being regenerated" in r.text
    listing = client.get("/campaigns/summer-splash-2026?status=approved").text
    assert listing.count('class="card unit"') == 2
