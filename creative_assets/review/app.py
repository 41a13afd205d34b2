"""The review web app (``creative-assets review``): Starlette + Jinja2, both shipped with
dagster-webserver.

Access: accounts (creative_assets/identity): local accounts with Argon2id passwords, OpenID Connect
sign-in against the company IdP, and service accounts with scoped API tokens (``Authorization: Bearer``,
``/api/`` routes only). A browser session is a random id in an HttpOnly, SameSite=Strict cookie; the
server keeps only its hash, rotates it on every sign-in, expires it (absolute and idle) and revokes it
on *Sign out*. Every route declares the permission it needs (``ROUTES``); brand permissions are checked
against the brand of the campaign the URL names, and a brand the account does not belong to answers
exactly like a campaign that does not exist (404). Every state-changing browser request is a POST
carrying the session's CSRF token (and, when the browser sends one, an Origin that must be this app).
URLs carry unit keys, candidate numbers and ratios only: they are validated and files are looked up in
the manifests, so no URL can name an arbitrary storage key. Security-relevant actions are appended
to the hash-chained audit log with who, when, from where and what.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from PIL import Image
from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Route

from creative_assets.credentials import VerifyPolicy
from creative_assets.identity.config import IdentitySettings
from creative_assets.identity.passwords import PasswordPolicyError, verify_password
from creative_assets.identity.roles import BRAND_ROLES, Permission, Principal
from creative_assets.identity.store import IdentityError, IdentityStore
from creative_assets.layout import ratio_dir
from creative_assets.review import approvals, webfonts
from creative_assets.review.approvals import ApprovalRefused
from creative_assets.review.decisions import DamagedEvent
from creative_assets.review.delivery import delivered_manifest
from creative_assets.review.service import Actor, ReviewError, ReviewService, UnitView
from creative_assets.settings import dagster_ui_url
from creative_assets.slugs import is_slug
from creative_assets.storage_protocol import Storage
from creative_assets.units import UnitKey

SESSION_COOKIE = "ca_review_session"
OIDC_STATE_COOKIE = "ca_oidc_state"
TEMPLATES = Path(__file__).parent / "templates"
MAX_FORM_BYTES = 64 * 1024
NOT_FOUND = "Not found."
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; media-src 'self'; font-src 'self'; "
    "style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
STATUS_LABELS = {
    "needs_review": "Needs review",
    "approved": "Approved",
    "regeneration_requested": "Regeneration requested",
    "regenerating": "Regenerating",
    "not_generated": "Not generated",
    "blocked": "Blocked",
}
ROLE_LABELS = {
    "viewer": "Viewer",
    "reviewer": "Reviewer",
    "approver": "Approver",
    "brand_admin": "Brand admin",
    "admin": "Admin",
}


@dataclass(frozen=True)
class RouteSpec:
    """One route: what it needs (``permission``) and where the brand it is checked against comes
    from (``brand_from``: the ``campaign``, ``unit`` or ``brand`` path parameter; None: no brand)."""

    path: str
    endpoint: str
    permission: Permission
    methods: tuple[str, ...] = ("GET",)
    brand_from: str | None = None


UNIT = "/units/{unit:str}"
#: every route of the app and the permission it declares (tests walk them all x every role)
ROUTES = (
    RouteSpec("/healthz", "healthz", Permission.public),
    RouteSpec("/fonts/{name:str}", "font_file", Permission.public),
    RouteSpec("/login", "login", Permission.public, ("GET", "POST")),
    RouteSpec("/auth/oidc/start", "oidc_start", Permission.public),
    RouteSpec("/auth/oidc/callback", "oidc_callback", Permission.public),
    RouteSpec("/logout", "logout", Permission.signed_in, ("POST",)),
    RouteSpec("/account/password", "change_password", Permission.signed_in, ("GET", "POST")),
    RouteSpec("/account/sessions", "my_sessions", Permission.signed_in, ("GET", "POST")),
    RouteSpec("/", "campaigns", Permission.signed_in),
    RouteSpec("/campaigns/{campaign:str}", "campaign", Permission.view, brand_from="campaign"),
    RouteSpec(UNIT, "unit_page", Permission.view, brand_from="unit"),
    RouteSpec(
        f"{UNIT}/creative/{{candidate:int}}/{{ratio:str}}.png",
        "creative_image",
        Permission.view,
        brand_from="unit",
    ),
    RouteSpec(
        f"{UNIT}/motion/{{candidate:int}}/{{name:str}}",
        "motion_file",
        Permission.view,
        brand_from="unit",
    ),
    RouteSpec(f"{UNIT}/request-changes", "request_changes", Permission.request_changes, ("POST",), "unit"),
    RouteSpec(f"{UNIT}/approve", "approve", Permission.approve, ("POST",), "unit"),
    RouteSpec(f"{UNIT}/reopen", "reopen", Permission.approve, ("POST",), "unit"),
    RouteSpec("/brands/{brand:str}/members", "members", Permission.manage_members, ("GET", "POST"), "brand"),
    RouteSpec("/audit", "audit_page", Permission.read_audit),
    RouteSpec("/api/campaigns", "api_campaigns", Permission.view),
    RouteSpec(f"/api{UNIT}", "api_unit", Permission.view, brand_from="unit"),
    RouteSpec(f"/api{UNIT}/approve", "api_approve", Permission.approve, ("POST",), "unit"),
    RouteSpec(
        f"/api{UNIT}/request-changes", "api_request_changes", Permission.request_changes, ("POST",), "unit"
    ),
)


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


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "?"


def create_app(
    storage: Storage,
    identity: IdentityStore,
    settings: IdentitySettings,
    *,
    oidc=None,
    brand_kits: Path | None = None,
    credentials: VerifyPolicy | None = None,
    ui_url: str | None = None,
) -> Starlette:
    """The review app. ``oidc``: an :class:`~creative_assets.identity.oidc.OIDCClient` (None: local
    accounts only); ``credentials``: how delivery verifies Content Credentials (C2PA); ``ui_url``:
    the Dagster UI that run ids link to (default ``$CREATIVE_ASSETS_UI_URL``)."""
    ui_base = (ui_url or dagster_ui_url()).rstrip("/")
    service = ReviewService(storage, credentials, brand_kits)
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    env.globals.update(
        ratio_dir=ratio_dir,
        STATUS_LABELS=STATUS_LABELS,
        ROLE_LABELS=ROLE_LABELS,
        STATE_LABELS=approvals.STATE_LABELS,
        quote=quote,
        FONT_CSS=webfonts.font_face_css(),
        run_url=lambda run_id: f"{ui_base}/runs/{quote(run_id, safe='')}",
    )
    env.filters["utc"] = lambda ts: datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M")
    thumbs: OrderedDict[tuple[str, int], bytes] = OrderedDict()
    session_seconds = int(identity.session_seconds)

    def render(request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
        principal: Principal | None = getattr(request.state, "principal", None)
        html = env.get_template(name).render(
            session=principal,
            csrf=getattr(request.state, "csrf", "") or "",
            request=request,
            oidc_label=settings.oidc.label if settings.oidc else "",
            local_login=settings.local_login,
            **context,
        )
        return HTMLResponse(html, status_code=status)

    def error(request: Request, message: str, status: int) -> Response:
        message = NOT_FOUND if status == 404 else message  # one answer for "missing" and "not yours"
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": message}, status_code=status)
        return render(request, "error.html", status=status, message=message)

    def audit(request: Request, action: str, **kwargs) -> None:
        principal = getattr(request.state, "principal", None)
        identity.audit(action, principal.login if principal else "anonymous", _client_ip(request), **kwargs)

    async def form(request: Request) -> dict[str, str]:
        if hasattr(request.state, "form"):
            return request.state.form
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            raise ReviewError("form too large", 413)
        parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        request.state.form = {k: v[-1] for k, v in parsed.items()}
        return request.state.form

    async def json_body(request: Request) -> dict:
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            raise ReviewError("body too large", 413)
        try:
            data = json.loads(body or b"{}")
        except ValueError as exc:
            raise ReviewError("the body must be JSON", 400) from exc
        if not isinstance(data, dict):
            raise ReviewError("the body must be a JSON object", 400)
        return data

    def same_origin(request: Request) -> bool:
        origin = request.headers.get("origin") or request.headers.get("referer")
        if not origin or origin == "null":
            return origin is None
        return urlsplit(origin).netloc == request.headers.get("host", "")

    def set_session_cookie(response: Response, value: str) -> None:
        response.set_cookie(
            SESSION_COOKIE,
            value,
            max_age=session_seconds,
            httponly=True,
            samesite="strict",
            secure=settings.secure_cookie,
            path="/",
        )

    def actor(request: Request) -> Actor:
        p: Principal = request.state.principal
        return Actor(login=p.login, name=p.display_name, groups=p.groups)

    def parse_unit(request: Request) -> UnitKey:
        try:
            unit = UnitKey.parse(request.path_params["unit"])
        except ValueError as exc:
            raise ReviewError(NOT_FOUND, 404) from exc
        service.require_unit(unit)
        return unit

    def resolve_brand(request: Request, source: str | None) -> str | None:
        """The brand a URL's resource belongs to; 404 when there is no such resource."""
        if source is None:
            return None
        if source == "campaign":
            campaign_id = request.path_params["campaign"]
            brand = service.brand_of(campaign_id) if is_slug(campaign_id) else None
        elif source == "unit":
            try:
                unit = UnitKey.parse(request.path_params["unit"])
            except ValueError:
                brand = None
            else:
                brand = service.brand_of(unit.campaign_id)
        else:
            slug = request.path_params["brand"]
            brand = slug if is_slug(slug) and service.kit(slug) is not None else None
        if brand is None:
            raise ReviewError(NOT_FOUND, 404)
        return brand

    def visible_campaigns(principal: Principal):
        return [c for c in service.campaigns() if principal.sees(c.brand)]

    # -- sign-in ---------------------------------------------------------------------------------
    async def login(request: Request) -> Response:
        next_url = _safe_next(request.query_params.get("next"))
        if request.method == "GET":
            return render(request, "login.html", next=next_url, message="")
        data = await form(request)
        if not same_origin(request):
            return render(
                request, "login.html", status=403, next=next_url, message="Cross-site sign-in refused."
            )
        if not settings.local_login:
            return render(
                request, "login.html", status=403, next=next_url, message="Sign in with your company account."
            )
        ip = _client_ip(request)
        principal, wait = identity.authenticate_password(data.get("login", ""), data.get("password", ""), ip)
        if wait:
            message = f"Too many attempts; try again in {int(wait) + 1} seconds."
            response = render(request, "login.html", status=429, next=next_url, message=message)
            response.headers["Retry-After"] = str(int(wait) + 1)
            return response
        if principal is None:
            message = "The account name or password is not valid."
            return render(request, "login.html", status=401, next=next_url, message=message)
        value, _csrf = identity.create_session(
            principal.user_id, ip, "password", replaces=request.cookies.get(SESSION_COOKIE)
        )
        target = "/account/password" if principal.must_change_password else _safe_next(data.get("next"))
        response = RedirectResponse(target, status_code=303)
        set_session_cookie(response, value)
        return response

    def redirect_uri(request: Request) -> str:
        if settings.oidc and settings.oidc.redirect_url:
            return settings.oidc.redirect_url
        return f"{request.url.scheme}://{request.headers.get('host', '')}/auth/oidc/callback"

    async def oidc_start(request: Request) -> Response:
        if oidc is None:
            raise ReviewError(NOT_FOUND, 404)
        url, state = await oidc.begin(redirect_uri(request), _safe_next(request.query_params.get("next")))
        response = RedirectResponse(url, status_code=303)
        # Lax, not Strict: the provider's redirect back is a cross-site top-level navigation
        response.set_cookie(
            OIDC_STATE_COOKIE,
            state,
            max_age=600,
            httponly=True,
            samesite="lax",
            secure=settings.secure_cookie,
            path="/auth/oidc",
        )
        return response

    async def oidc_callback(request: Request) -> Response:
        from creative_assets.identity.oidc import OIDCError

        if oidc is None:
            raise ReviewError(NOT_FOUND, 404)
        ip = _client_ip(request)
        try:
            claims, next_url = await oidc.finish(
                redirect_uri(request), dict(request.query_params), request.cookies.get(OIDC_STATE_COOKIE)
            )
            user_id = oidc.account(claims, ip)
        except OIDCError as exc:
            identity.audit("signin.failure", "oidc", ip, outcome="failed", method="oidc", reason=str(exc))
            response = render(request, "login.html", status=401, next="/", message=f"Sign-in failed: {exc}")
            response.delete_cookie(OIDC_STATE_COOKIE, path="/auth/oidc")
            return response
        if identity.principal(user_id) is None:
            identity.audit(
                "signin.failure",
                str(claims.get("email") or claims["sub"]),
                ip,
                outcome="failed",
                method="oidc",
                reason="disabled",
            )
            return render(
                request,
                "login.html",
                status=401,
                next="/",
                message="Sign-in failed: the account is disabled.",
            )
        value, _csrf = identity.create_session(
            user_id, ip, "oidc", replaces=request.cookies.get(SESSION_COOKIE)
        )
        # a same-site page that moves on: a redirect chain begun at the provider would not carry the
        # SameSite=Strict cookie to the next page
        response = render(request, "continue.html", next=_safe_next(next_url))
        set_session_cookie(response, value)
        response.delete_cookie(OIDC_STATE_COOKIE, path="/auth/oidc")
        return response

    async def logout(request: Request) -> Response:
        identity.revoke_session(request.cookies.get(SESSION_COOKIE, ""), ip=_client_ip(request))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    async def change_password(request: Request) -> Response:
        principal: Principal = request.state.principal
        user = identity.user(principal.login)
        if user is None or user["source"] != "local":
            raise ReviewError(
                "this account signs in through the identity provider; change the password there", 400
            )
        if request.method == "GET":
            return render(request, "password.html", message="", forced=principal.must_change_password)
        data = request.state.form
        if not verify_password(user["password_hash"], data.get("current", "")):
            audit(
                request,
                "password.change",
                outcome="failed",
                target=principal.login,
                reason="wrong current password",
            )
            return render(
                request,
                "password.html",
                status=400,
                message="The current password is not right.",
                forced=principal.must_change_password,
            )
        if data.get("new", "") != data.get("confirm", ""):
            return render(
                request,
                "password.html",
                status=400,
                message="The new passwords differ.",
                forced=principal.must_change_password,
            )
        try:
            identity.set_password(
                principal.login, data.get("new", ""), actor=principal.login, ip=_client_ip(request)
            )
        except (PasswordPolicyError, IdentityError) as exc:
            return render(
                request,
                "password.html",
                status=400,
                message=str(exc).capitalize() + ".",
                forced=principal.must_change_password,
            )
        # every session of the account was ended; this browser gets a new one
        value, _csrf = identity.create_session(principal.user_id, _client_ip(request), "password")
        response = RedirectResponse("/?done=password", status_code=303)
        set_session_cookie(response, value)
        return response

    async def my_sessions(request: Request) -> Response:
        principal: Principal = request.state.principal
        message = ""
        current = request.cookies.get(SESSION_COOKIE, "")
        if request.method == "POST":
            ended = identity.revoke_own_session(
                principal.user_id,
                request.state.form.get("session", ""),
                ip=_client_ip(request),
                current=current,
            )
            message = f"{ended} session(s) ended."
        sessions = identity.active_sessions(principal.user_id)
        mine = hashlib.sha256(current.encode()).hexdigest()[:16]
        return render(request, "sessions.html", sessions=sessions, current=mine, message=message)

    # -- pages -----------------------------------------------------------------------------------
    async def campaigns(request: Request) -> Response:
        principal: Principal = request.state.principal
        rows = []
        for c in visible_campaigns(principal):
            counts: dict[str, int] = {}
            for unit in c.units:
                status = service.unit(unit, full=False).status
                counts[status] = counts.get(status, 0) + 1
            rows.append((c, counts))
        admin_brands = [
            b
            for b in sorted({c.brand for c in service.campaigns()} | set(principal.roles))
            if b != "*" and principal.can(Permission.manage_members, b)
        ]
        return render(
            request,
            "campaigns.html",
            rows=rows,
            admin_brands=admin_brands,
            done=request.query_params.get("done"),
        )

    async def campaign(request: Request) -> Response:
        c = service.campaign(request.path_params["campaign"])
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

    def allowed_stages(principal: Principal, view: UnitView, action: str) -> list[str]:
        """The stages ``principal`` may take ``action`` on now (what the page offers)."""
        if not principal.can(Permission.approve, view.brand):
            return []
        out = []
        for name in view.policy.names:
            try:
                approvals.check(
                    view.policy,
                    view.stages,
                    action,
                    name,
                    principal.login,
                    principal.groups,
                    view.chosen_hash or "",
                )
                out.append(name)
            except ApprovalRefused:
                pass
        return out

    async def unit_page(request: Request) -> Response:
        principal: Principal = request.state.principal
        view = service.unit(parse_unit(request))
        return render(
            request,
            "unit.html",
            view=view,
            done=request.query_params.get("done"),
            can_request=principal.can(Permission.request_changes, view.brand),
            approvable=allowed_stages(principal, view, "approve") if view.status == "needs_review" else [],
            reopenable=allowed_stages(principal, view, "reopen"),
        )

    async def decide(request: Request, action: str, data: dict) -> tuple[UnitKey, object]:
        unit = parse_unit(request)
        brand = service.brand_of(unit.campaign_id)
        before = delivered_manifest(storage, unit)
        stage = str(data.get("stage") or "") or None
        try:
            if action == "approve":
                candidate = str(data.get("candidate") or "")
                if candidate and not candidate.isdigit():
                    raise ReviewError("candidate must be a number", 400)
                event = service.approve(
                    unit,
                    actor(request),
                    str(data.get("content_hash", "")),
                    int(candidate) - 1 if candidate else None,
                    str(data.get("comment", "")),
                    stage=stage,
                )
            elif action == "reopen":
                event = service.reopen(unit, actor(request), stage or "", str(data.get("reason", "")))
            else:
                event = service.request_changes(
                    unit,
                    actor(request),
                    str(data.get("content_hash", "")),
                    str(data.get("feedback", "")),
                    stage=stage,
                )
        except ReviewError as exc:
            if exc.status in (403, 409):
                audit(
                    request,
                    f"decision.{action}",
                    outcome="denied",
                    brand=brand,
                    target=str(unit),
                    stage=stage,
                    reason=str(exc),
                )
            raise
        details = {
            "decision": event.id,
            "stage": event.stage,
            "candidate": event.candidate,
            "content_hash": event.content_hash,
        }
        audit(request, f"decision.{action}", brand=brand, target=str(unit), **details)
        after = delivered_manifest(storage, unit)
        if before is not None and (after is None or after["approval"]["id"] != before["approval"]["id"]):
            audit(
                request,
                "delivery.withdraw",
                brand=brand,
                target=str(unit),
                approval=before["approval"]["id"],
                reason=action,
            )
        if event.delivered:
            audit(
                request,
                "delivery.publish",
                brand=brand,
                target=str(unit),
                decision=event.id,
                files=sorted(event.delivered.values()),
            )
        return unit, event

    async def approve(request: Request) -> Response:
        unit, event = await decide(request, "approve", request.state.form)
        done = "approved" if event.delivered else "stage_approved"
        return RedirectResponse(f"/units/{unit}?done={done}", status_code=303)

    async def reopen(request: Request) -> Response:
        unit, _event = await decide(request, "reopen", request.state.form)
        return RedirectResponse(f"/units/{unit}?done=reopened", status_code=303)

    async def request_changes(request: Request) -> Response:
        unit, _event = await decide(request, "request_changes", request.state.form)
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

    async def motion_file(request: Request) -> Response:
        """A candidate's video (``<placement>.mp4|webp|gif``) for the unit page's ``<video>``; like the
        stills, revalidated on every view (its slot's bytes change when the unit is regenerated)."""
        unit = parse_unit(request)
        number, name = request.path_params["candidate"], request.path_params["name"]
        view = service.unit(unit, full=False)
        if view.status == "not_generated":
            raise ReviewError("no creatives", 404)
        chosen = view.candidate(number - 1)
        found = next((m for m in chosen.motion if m["name"] == name), None)
        if found is None:
            raise ReviewError("no such video", 404)
        etag = f'"{found["sha256"][:32]}"'
        headers = {"Cache-Control": "private, no-cache", "ETag": etag, "Accept-Ranges": "none"}
        if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
            return Response(status_code=304, headers=headers)
        media = {"mp4": "video/mp4", "webp": "image/webp", "gif": "image/gif"}[found["container"]]
        return Response(storage.read_bytes(found["key"]), media_type=media, headers=headers)

    async def members(request: Request) -> Response:
        principal: Principal = request.state.principal
        brand = request.path_params["brand"]
        message = ""
        if request.method == "POST":
            data = request.state.form
            role = data.get("role", "")
            try:
                if role not in [r.value for r in BRAND_ROLES] + ["none"]:
                    raise IdentityError(f"{role!r} is not a brand role")
                identity.set_role(
                    data.get("login", ""),
                    brand,
                    None if role == "none" else role,
                    actor=principal.login,
                    ip=_client_ip(request),
                )
                message = f"{data.get('login', '')}: {ROLE_LABELS.get(role, 'no role')} in {brand}."
            except (IdentityError, ValueError) as exc:
                return render(
                    request,
                    "members.html",
                    status=400,
                    brand=brand,
                    members=identity.members(brand),
                    message=str(exc),
                    error=True,
                    roles=BRAND_ROLES,
                )
        return render(
            request,
            "members.html",
            brand=brand,
            members=identity.members(brand),
            message=message,
            error=False,
            roles=BRAND_ROLES,
        )

    async def audit_page(request: Request) -> Response:
        principal: Principal = request.state.principal
        known = sorted({c.brand for c in service.campaigns()} | {b for b in principal.roles if b != "*"})
        brands = None if principal.is_admin else [b for b in known if principal.can(Permission.read_audit, b)]
        since = request.query_params.get("since", "")
        records = identity.audit_records(since=since or None, brands=brands, limit=300, newest_first=True)
        problems = identity.verify_audit() if principal.is_admin else None
        return render(request, "audit.html", records=records, problems=problems, since=since, brands=brands)

    # -- the JSON API (service accounts' tokens, or a browser session for reading) ----------------
    def unit_json(view: UnitView) -> dict:
        return {
            "unit": str(view.unit),
            "brand": view.brand,
            "status": view.status,
            "revision": view.revision,
            "brief_version": view.brief_version,
            "stages": {
                n: {"state": s.state, "by": s.decision.actor if s.decision else None}
                for n, s in view.stages.items()
            },
            "missing_stages": view.missing_stages,
            "candidates": [
                {"candidate": c.index + 1, "rank": c.rank, "score": c.score, "content_hash": c.content_hash}
                for c in view.candidates
            ],
            "delivery": {r: f["key"] for r, f in (view.delivery or {}).get("files", {}).items()} or None,
        }

    async def api_campaigns(request: Request) -> Response:
        principal: Principal = request.state.principal
        out = []
        for c in visible_campaigns(principal):
            units = [service.unit(u, full=False) for u in c.units]
            out.append(
                {
                    "campaign": c.campaign_id,
                    "name": c.name,
                    "brand": c.brand,
                    "brief_version": c.brief_version,
                    "units": [
                        {"unit": str(u.unit), "status": u.status, "missing_stages": u.missing_stages}
                        for u in units
                    ],
                }
            )
        return JSONResponse({"campaigns": out})

    async def api_unit(request: Request) -> Response:
        return JSONResponse(unit_json(service.unit(parse_unit(request))))

    async def api_approve(request: Request) -> Response:
        unit, event = await decide(request, "approve", await json_body(request))
        return JSONResponse(
            {
                "decision": event.id,
                "stage": event.stage,
                "delivered": event.delivered,
                "unit": unit_json(service.unit(unit)),
            }
        )

    async def api_request_changes(request: Request) -> Response:
        unit, event = await decide(request, "request_changes", await json_body(request))
        return JSONResponse(
            {"decision": event.id, "stage": event.stage, "unit": unit_json(service.unit(unit))}
        )

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def font_file(request: Request) -> Response:
        """A bundled Noto font (review/webfonts.py): public, like the sign-in page that uses it."""
        name = request.path_params["name"]
        path = webfonts.font_path(name)
        if path is None:
            return PlainTextResponse(NOT_FOUND, status_code=404)
        return FileResponse(
            path,
            media_type=webfonts.media_type(name),
            headers={"Cache-Control": "public, max-age=604800", "Access-Control-Allow-Origin": "*"},
        )

    # -- the guard: who is asking, may they, CSRF, errors ----------------------------------------
    def authenticate(request: Request) -> None:
        request.state.principal, request.state.csrf, request.state.via = None, "", None
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            principal = identity.authenticate_token(header[7:].strip())
            request.state.via = "token" if principal else "bad-token"
            request.state.principal = principal
            return
        info = identity.session(request.cookies.get(SESSION_COOKIE))
        if info is not None:
            request.state.principal, request.state.csrf, request.state.via = (
                info.principal,
                info.csrf,
                "session",
            )

    def guarded(spec: RouteSpec, endpoint):
        is_api = spec.path.startswith("/api/")

        async def handler(request: Request) -> Response:
            authenticate(request)
            principal: Principal | None = request.state.principal
            try:
                if spec.permission is Permission.public:
                    return await endpoint(request)
                if request.state.via in ("token", "bad-token") and not is_api:
                    raise ReviewError("API tokens are accepted on /api/ routes only", 401)
                if principal is None:
                    if request.state.via == "bad-token":
                        audit(request, "token.rejected", outcome="denied", target=request.url.path)
                    if request.method != "GET" or is_api:
                        raise ReviewError("sign in first", 401)
                    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                    return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
                if principal.must_change_password and spec.endpoint not in ("change_password", "logout"):
                    if request.method != "GET" or is_api:
                        raise ReviewError("change the one-time password first", 403)
                    return RedirectResponse("/account/password", status_code=303)
                if request.method == "POST" and request.state.via == "session":
                    if is_api:
                        raise ReviewError("API writes need an API token (Authorization: Bearer)", 401)
                    data = await form(request)
                    if not same_origin(request) or not hmac.compare_digest(
                        data.get("csrf", ""), request.state.csrf
                    ):
                        raise ReviewError(
                            "the form's security token is missing or stale; reload the page and retry", 403
                        )
                brand = resolve_brand(request, spec.brand_from)
                if brand is not None and not principal.sees(brand):
                    audit(request, "access.denied", outcome="denied", brand=brand, target=request.url.path)
                    raise ReviewError(NOT_FOUND, 404)  # exactly what a campaign that does not exist answers
                if not principal.can(spec.permission, brand):
                    audit(
                        request,
                        "access.denied",
                        outcome="denied",
                        brand=brand or "",
                        target=request.url.path,
                        needs=spec.permission.value,
                    )
                    raise ReviewError("your role does not allow this", 403)
                return await endpoint(request)
            except ReviewError as exc:
                return error(request, str(exc), exc.status)
            except DamagedEvent as exc:  # a hand-edited or truncated decision file: say which
                return error(request, str(exc), 500)

        return handler

    endpoints = {name: fn for name, fn in locals().items() if callable(fn)}
    routes = []
    for spec in ROUTES:
        route = Route(spec.path, guarded(spec, endpoints[spec.endpoint]), methods=list(spec.methods))
        route.spec = spec  # tests walk every route and its declared permission
        routes.append(route)
    app = Starlette(routes=routes)

    async def not_found(request: Request, exc: Exception) -> Response:
        return PlainTextResponse(NOT_FOUND, status_code=404)

    app.add_exception_handler(404, not_found)
    app.add_middleware(BodyLimit, max_bytes=MAX_FORM_BYTES)  # inside SecurityHeaders: 413s get them too
    app.add_middleware(SecurityHeaders)
    app.state.identity = identity
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
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
