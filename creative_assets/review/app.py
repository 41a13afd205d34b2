"""The review web app (``creative-assets review``): Starlette + Jinja2, both shipped with
dagster-webserver.

Access: one shared review token (``CREATIVE_ASSETS_REVIEW_TOKEN``). A reviewer signs in with their
name and the token and gets an HMAC-signed, HttpOnly, SameSite=Strict session cookie; the name is what
decisions record as *who*. *Sign out* revokes the session in this process; rotating the token ends
every session. Every state-changing request is a POST carrying a per-session CSRF token
(and, when the browser sends one, an Origin that must be this app). URLs carry unit keys, candidate
numbers and ratios only: they are validated and files are looked up in the manifests, so no URL can
name an arbitrary storage key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import math
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from PIL import Image
from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from creative_assets.partitions import UnitKey
from creative_assets.review.decisions import DamagedEvent
from creative_assets.review.service import ReviewError, ReviewService, UnitView
from creative_assets.review.throttle import LoginThrottle, ThrottlePolicy
from creative_assets.slugs import is_slug
from creative_assets.stages import ratio_dir
from resources.storage import CreativeStorage

SESSION_COOKIE = "ca_review_session"
TEMPLATES = Path(__file__).parent / "templates"
MAX_FORM_BYTES = 64 * 1024
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
STATUS_LABELS = {
    "needs_review": "Needs review",
    "approved": "Approved",
    "regenerating": "Changes requested",
    "not_generated": "Not generated",
}


@dataclass(frozen=True)
class ReviewSettings:
    token: str
    session_hours: float = 12.0
    secure_cookie: bool = False  # set when served over HTTPS (behind a TLS proxy)
    throttle: ThrottlePolicy = field(default_factory=ThrottlePolicy)

    def __post_init__(self) -> None:
        if len(self.token) < 12:
            raise ValueError("the review token must be at least 12 characters")

    @property
    def key(self) -> bytes:
        return hashlib.sha256(b"creative-assets review session:" + self.token.encode()).digest()


# -- sessions and CSRF (HMAC over a small JSON payload; rotating the token signs everyone out) -----
def _sign(settings: ReviewSettings, payload: dict) -> str:
    body = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")
    mac = hmac.new(settings.key, body.encode(), hashlib.sha256).hexdigest()
    return f"{body}.{mac}"


def _unsign(settings: ReviewSettings, value: str | None) -> dict | None:
    if not value or "." not in value:
        return None
    body, mac = value.rsplit(".", 1)
    if not hmac.compare_digest(mac, hmac.new(settings.key, body.encode(), hashlib.sha256).hexdigest()):
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except ValueError:
        return None
    if not isinstance(payload, dict) or payload.get("exp", 0) < time.time():
        return None
    return payload


def csrf_token(settings: ReviewSettings, session: dict) -> str:
    return hmac.new(settings.key, f"csrf:{session['sid']}".encode(), hashlib.sha256).hexdigest()


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths (no ``//host`` or ``/\\host`` tricks) are valid redirects."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


def _thumbnail(data: bytes, width: int) -> bytes:
    with Image.open(io.BytesIO(data)) as im:
        im = im.convert("RGB")
        im.thumbnail((width, width * 4), Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=82)
    return buf.getvalue()


def create_app(storage: CreativeStorage, settings: ReviewSettings) -> Starlette:
    service = ReviewService(storage)
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    env.globals.update(ratio_dir=ratio_dir, STATUS_LABELS=STATUS_LABELS, quote=quote)
    thumbs: OrderedDict[tuple[str, int], bytes] = OrderedDict()
    throttle = LoginThrottle(settings.throttle)
    signed_out: dict[str, float] = {}  # session id -> expiry: sessions ended by "Sign out"

    def render(request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
        session = request.state.session
        html = env.get_template(name).render(
            session=session,
            csrf=csrf_token(settings, session) if session else "",
            request=request,
            **context,
        )
        return HTMLResponse(html, status_code=status)

    def error(request: Request, message: str, status: int) -> HTMLResponse:
        return render(request, "error.html", status=status, message=message)

    async def form(request: Request) -> dict[str, str]:
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            raise ReviewError("form too large", 413)
        parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        return {k: v[-1] for k, v in parsed.items()}

    def same_origin(request: Request) -> bool:
        origin = request.headers.get("origin") or request.headers.get("referer")
        if not origin or origin == "null":
            return origin is None
        return urlsplit(origin).netloc == request.headers.get("host", "")

    async def require_post(request: Request) -> dict[str, str]:
        data = await form(request)
        session = request.state.session
        expected = csrf_token(settings, session)
        if not same_origin(request) or not hmac.compare_digest(data.get("csrf", ""), expected):
            raise ReviewError("the form's security token is missing or stale; reload the page and retry", 403)
        return data

    def parse_unit(request: Request) -> UnitKey:
        try:
            unit = UnitKey.parse(request.path_params["unit"])
        except ValueError as exc:
            raise ReviewError(f"no such unit: {exc}", 404) from exc
        service.require_unit(unit)
        return unit

    # -- pages -----------------------------------------------------------------------------------
    async def login(request: Request) -> Response:
        next_url = _safe_next(request.query_params.get("next"))
        if request.method == "GET":
            return render(request, "login.html", next=next_url, message="")
        client = request.client.host if request.client else "?"

        def too_many(wait: float) -> Response:
            seconds = max(1, math.ceil(wait))
            response = render(
                request,
                "login.html",
                status=429,
                next=next_url,
                message=f"Too many failed sign-ins; try again in {seconds} s.",
            )
            response.headers["Retry-After"] = str(seconds)
            return response

        if (wait := throttle.ip_retry_after(client)) > 0:  # before reading the body
            return too_many(wait)
        data = await form(request)
        if not same_origin(request):
            return render(
                request, "login.html", status=403, next=next_url, message="Cross-site sign-in refused."
            )
        name = " ".join(data.get("name", "").split())[:80]
        if (wait := throttle.retry_after(name, client)) > 0:
            return too_many(wait)
        if not hmac.compare_digest(data.get("token", "").encode(), settings.token.encode()) or not name:
            if name:
                throttle.failure(name, client)
            message = "Enter your name." if not name else "That token is not valid."
            return render(request, "login.html", status=401, next=next_url, message=message)
        throttle.success(name, client)
        session = {
            "name": name,
            "sid": secrets.token_hex(16),
            "exp": time.time() + settings.session_hours * 3600,
        }
        response = RedirectResponse(_safe_next(data.get("next")), status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            _sign(settings, session),
            max_age=int(settings.session_hours * 3600),
            httponly=True,
            samesite="strict",
            secure=settings.secure_cookie,
            path="/",
        )
        return response

    async def logout(request: Request) -> Response:
        await require_post(request)
        session = request.state.session
        signed_out[session["sid"]] = session["exp"]  # a copied cookie stops working here too
        for sid in [sid for sid, exp in signed_out.items() if exp < time.time()]:
            del signed_out[sid]
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    async def campaigns(request: Request) -> Response:
        rows = []
        for c in service.campaigns():
            counts: dict[str, int] = {}
            for unit in c.units:
                status = service.unit(unit, full=False).status
                counts[status] = counts.get(status, 0) + 1
            rows.append((c, counts))
        return render(request, "campaigns.html", rows=rows)

    async def campaign(request: Request) -> Response:
        campaign_id = request.path_params["campaign"]
        if not is_slug(campaign_id):
            raise ReviewError("no such campaign", 404)
        c = service.campaign(campaign_id)
        wanted = request.query_params.get("status")
        units: list[UnitView] = [service.unit(u, full=False) for u in c.units]
        shown = [u for u in units if not wanted or u.status == wanted]
        by_locale: dict[str, list[UnitView]] = {}
        for u in shown:
            by_locale.setdefault(u.unit.locale, []).append(u)
        counts: dict[str, int] = {}
        for u in units:
            counts[u.status] = counts.get(u.status, 0) + 1
        return render(request, "campaign.html", campaign=c, by_locale=by_locale, counts=counts, wanted=wanted)

    async def unit_page(request: Request) -> Response:
        view = service.unit(parse_unit(request))
        done = request.query_params.get("done")
        return render(request, "unit.html", view=view, done=done)

    async def approve(request: Request) -> Response:
        unit = parse_unit(request)
        data = await require_post(request)
        candidate = data.get("candidate", "")
        if candidate and not candidate.isdigit():
            raise ReviewError("candidate must be a number", 400)
        service.approve(
            unit,
            request.state.session["name"],
            data.get("content_hash", ""),
            int(candidate) - 1 if candidate else None,
            data.get("comment", ""),
        )
        return RedirectResponse(f"/units/{unit}?done=approved", status_code=303)

    async def request_changes(request: Request) -> Response:
        unit = parse_unit(request)
        data = await require_post(request)
        service.request_changes(
            unit, request.state.session["name"], data.get("content_hash", ""), data.get("feedback", "")
        )
        return RedirectResponse(f"/units/{unit}?done=changes_requested", status_code=303)

    async def creative_image(request: Request) -> Response:
        unit = parse_unit(request)
        number, ratio_name = request.path_params["candidate"], request.path_params["ratio"]
        view = service.unit(unit, full=False)
        if view.status == "not_generated":
            raise ReviewError("no creatives", 404)
        chosen = view.candidate(number - 1)
        ratio = next((r for r in chosen.files if ratio_dir(r) == ratio_name), None)
        if ratio is None:
            raise ReviewError("no such ratio", 404)
        width = request.query_params.get("w", "")
        if width and (not width.isdigit() or not 32 <= int(width) <= 1600):
            raise ReviewError("w must be 32..1600", 400)
        # The URL names a candidate slot, whose pixels change when the unit is regenerated: browsers must
        # revalidate every time (a cheap 304 while the manifest's hash is unchanged), never show a cached
        # earlier revision next to a form that approves the new one.
        etag = f'"{chosen.content[ratio][:32]}{"-w" + width if width else ""}"'
        headers = {"Cache-Control": "private, no-cache", "ETag": etag}
        if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
            return Response(status_code=304, headers=headers)
        if width:
            cache_key = (chosen.content[ratio], int(width))
            if cache_key not in thumbs:
                thumbs[cache_key] = _thumbnail(storage.read_bytes(chosen.files[ratio]), int(width))
                while len(thumbs) > 512:
                    thumbs.popitem(last=False)
            return Response(thumbs[cache_key], media_type="image/jpeg", headers=headers)
        return Response(storage.read_bytes(chosen.files[ratio]), media_type="image/png", headers=headers)

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    # -- middleware: session, errors, headers ----------------------------------------------------
    public = {"/login", "/healthz"}

    def guarded(endpoint):
        async def handler(request: Request) -> Response:
            session = _unsign(settings, request.cookies.get(SESSION_COOKIE))
            request.state.session = None if session and session.get("sid") in signed_out else session
            try:
                if request.url.path not in public and request.state.session is None:
                    if request.method != "GET":
                        raise ReviewError("sign in first", 401)
                    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                    return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
                response = await endpoint(request)
            except ReviewError as exc:
                response = error(request, str(exc), exc.status)
            except DamagedEvent as exc:  # a hand-edited or truncated decision file: say which
                response = error(request, str(exc), 500)
            return response

        return handler

    unit_path = "/units/{unit:str}"
    routes = [
        Route("/", guarded(campaigns)),
        Route("/login", guarded(login), methods=["GET", "POST"]),
        Route("/logout", guarded(logout), methods=["POST"]),
        Route("/healthz", guarded(healthz)),
        Route("/campaigns/{campaign:str}", guarded(campaign)),
        Route(unit_path, guarded(unit_page)),
        Route(f"{unit_path}/approve", guarded(approve), methods=["POST"]),
        Route(f"{unit_path}/request-changes", guarded(request_changes), methods=["POST"]),
        Route(f"{unit_path}/creative/{{candidate:int}}/{{ratio:str}}.png", guarded(creative_image)),
    ]
    app = Starlette(routes=routes)

    async def not_found(request: Request, exc: Exception) -> Response:
        return PlainTextResponse("not found", status_code=404)

    app.add_exception_handler(404, not_found)
    app.add_middleware(BodyLimit, max_bytes=MAX_FORM_BYTES)  # inside SecurityHeaders: 413s get them too
    app.add_middleware(SecurityHeaders)
    return app


class _BodyTooLarge(Exception):
    pass


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` on every route *before* they are read: by the
    ``Content-Length`` header when there is one (413 without reading a byte), else while the body
    streams in (a chunked upload is cut off at the limit). The app never buffers more."""

    def __init__(self, app, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        lengths = [v for k, v in scope.get("headers", []) if k.lower() == b"content-length"]
        if lengths:
            if len(lengths) > 1 or not lengths[0].isdigit():
                await self._refuse(send, 400, "bad Content-Length")
                return
            if int(lengths[0]) > self.max_bytes:
                await self._refuse(send, 413, "request body too large")
                return
        received = 0
        started = False

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await self._refuse(send, 413, "request body too large")

    async def _refuse(self, send, status: int, text: str) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(text)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": text.encode()})


class SecurityHeaders:
    """Security headers on every response, including Starlette's own 404/405 answers."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
