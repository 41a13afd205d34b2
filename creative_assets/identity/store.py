"""The identity store: accounts, brand memberships, sessions, API tokens, sign-in throttling, OIDC
login state and the audit log, over the identity database (:mod:`creative_assets.identity.db`).

Secrets are never stored: sessions and API tokens by SHA-256 (they are 256-bit random values),
passwords by Argon2id. Every security-relevant change appends a hash-chained audit record.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from creative_assets import audit as chain
from creative_assets.identity import db
from creative_assets.identity.passwords import check_policy, hash_password, needs_rehash, verify_password
from creative_assets.identity.roles import ALL_BRANDS, BRAND_ROLES, TOKEN_SCOPES, Principal, Role, parse_role

TOKEN_PREFIX = "cat_"
FREE_FAILURES = 3  # per account and address before the backoff starts
MAX_BACKOFF = 15 * 60.0
IP_FAILURES = 50  # per address, over every account (password spraying)
FORGET_FAILURES_AFTER = 3600.0  # a counter with no failure for an hour starts again from zero
OIDC_REQUEST_TTL = 600.0


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def normalize_login(login: str) -> str:
    return " ".join((login or "").split()).lower()[:254]


class IdentityError(ValueError):
    """A management request that cannot be done (unknown account, bad role, policy)."""


@dataclass
class SessionInfo:
    principal: Principal
    csrf: str
    method: str
    expires_at: float


class IdentityStore:
    def __init__(
        self,
        engine: Engine,
        *,
        session_hours: float = 12.0,
        idle_minutes: float = 30.0,
        clock: Callable[[], float] = time.time,
    ):
        self.engine = engine
        self.session_seconds = session_hours * 3600
        self.idle_seconds = idle_minutes * 60
        self.clock = clock

    @classmethod
    def open(cls, url: str, schema: str = "identity", **kwargs) -> IdentityStore:
        """Connect and apply any pending migration."""
        engine = db.make_engine(url, schema)
        db.upgrade(engine)
        return cls(engine, **kwargs)

    # -- accounts --------------------------------------------------------------------------------
    def _user(self, conn, login: str) -> sa.Row | None:
        return conn.execute(sa.select(db.users).where(db.users.c.login == normalize_login(login))).first()

    def user(self, login: str) -> dict | None:
        with self.engine.connect() as conn:
            row = self._user(conn, login)
            return self._user_dict(conn, row) if row else None

    def _user_dict(self, conn, row) -> dict:
        roles = {
            m.brand: m.role
            for m in conn.execute(sa.select(db.memberships).where(db.memberships.c.user_id == row.id))
        }
        return {**row._asdict(), "groups": json.loads(row.groups), "roles": roles}

    def users(self) -> list[dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(db.users).order_by(db.users.c.login)).all()
            return [self._user_dict(conn, r) for r in rows]

    def count_users(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(db.users)).scalar_one()

    def add_user(
        self,
        login: str,
        *,
        display_name: str | None = None,
        password: str | None = None,
        kind: str = "human",
        source: str = "local",
        is_admin: bool = False,
        groups: tuple[str, ...] = (),
        must_change_password: bool = False,
        actor: str = "cli",
        ip: str = "",
    ) -> int:
        login = normalize_login(login)
        if not login or len(login) < 2:
            raise IdentityError("an account name needs at least 2 characters")
        if password is not None:
            check_policy(password, login)
        now = self.clock()
        with self.engine.begin() as conn:
            if self._user(conn, login) is not None:
                raise IdentityError(f"an account named {login!r} exists")
            user_id = _insert_user(
                conn,
                now,
                login=login,
                display_name=(display_name or login)[:120],
                kind=kind,
                source=source,
                password_hash=hash_password(password) if password is not None else None,
                must_change_password=must_change_password,
                is_admin=is_admin,
                groups=groups,
            )
            self._audit(
                conn, "account.create", actor, ip, target=login, kind=kind, source=source, admin=is_admin
            )
        return user_id

    def set_disabled(self, login: str, disabled: bool = True, *, actor: str = "cli", ip: str = "") -> None:
        with self.engine.begin() as conn:
            row = self._require(conn, login)
            conn.execute(
                db.users.update()
                .where(db.users.c.id == row.id)
                .values(disabled=disabled, updated_at=self.clock())
            )
            if disabled:  # a disabled account's sessions and tokens stop working now
                conn.execute(
                    db.sessions.update()
                    .where(db.sessions.c.user_id == row.id, db.sessions.c.revoked_at.is_(None))
                    .values(revoked_at=self.clock())
                )
            self._audit(
                conn, "account.disable" if disabled else "account.enable", actor, ip, target=row.login
            )

    def set_admin(self, login: str, is_admin: bool, *, actor: str = "cli", ip: str = "") -> None:
        with self.engine.begin() as conn:
            row = self._require(conn, login)
            conn.execute(
                db.users.update()
                .where(db.users.c.id == row.id)
                .values(is_admin=is_admin, updated_at=self.clock())
            )
            self._audit(
                conn,
                "role.change",
                actor,
                ip,
                target=row.login,
                brand=ALL_BRANDS,
                role="admin" if is_admin else "none",
            )

    def set_role(
        self,
        login: str,
        brand: str,
        role: str | None,
        *,
        actor: str = "cli",
        ip: str = "",
        source: str = "manual",
    ) -> None:
        """Give ``login`` ``role`` in ``brand`` (a brand kit slug, or "*" for every brand); None removes it."""
        parsed = parse_role(role) if role else None
        if parsed is Role.admin:
            self.set_admin(login, True, actor=actor, ip=ip)
            return
        if parsed is not None and parsed not in BRAND_ROLES:
            raise IdentityError(f"{role!r} is not a brand role")
        with self.engine.begin() as conn:
            row = self._require(conn, login)
            conn.execute(
                db.memberships.delete().where(
                    db.memberships.c.user_id == row.id, db.memberships.c.brand == brand
                )
            )
            if parsed is not None:
                conn.execute(
                    db.memberships.insert().values(
                        user_id=row.id, brand=brand, role=parsed.value, source=source
                    )
                )
            self._audit(
                conn,
                "role.change",
                actor,
                ip,
                target=row.login,
                brand=brand,
                role=parsed.value if parsed else "none",
            )

    def set_groups(self, login: str, groups: list[str], *, actor: str = "cli", ip: str = "") -> None:
        with self.engine.begin() as conn:
            row = self._require(conn, login)
            conn.execute(
                db.users.update()
                .where(db.users.c.id == row.id)
                .values(groups=json.dumps(sorted(set(groups))))
            )
            self._audit(conn, "account.groups", actor, ip, target=row.login, groups=sorted(set(groups)))

    def set_password(
        self, login: str, password: str, *, must_change: bool = False, actor: str = "cli", ip: str = ""
    ) -> None:
        with self.engine.begin() as conn:
            row = self._require(conn, login)
            if row.kind != "human":
                raise IdentityError("service accounts sign in with API tokens, not passwords")
            check_policy(password, row.login)
            conn.execute(
                db.users.update()
                .where(db.users.c.id == row.id)
                .values(
                    password_hash=hash_password(password),
                    must_change_password=must_change,
                    updated_at=self.clock(),
                )
            )
            # every other session of the account ends (ASVS 3.3.3)
            conn.execute(
                db.sessions.update()
                .where(db.sessions.c.user_id == row.id, db.sessions.c.revoked_at.is_(None))
                .values(revoked_at=self.clock())
            )
            self._audit(conn, "password.change", actor, ip, target=row.login)

    def _require(self, conn, login: str):
        row = self._user(conn, login)
        if row is None:
            raise IdentityError(f"no account named {normalize_login(login)!r}")
        return row

    def members(self, brand: str) -> list[dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    db.users.c.login,
                    db.users.c.display_name,
                    db.users.c.disabled,
                    db.memberships.c.role,
                    db.memberships.c.source,
                )
                .join(db.memberships, db.memberships.c.user_id == db.users.c.id)
                .where(db.memberships.c.brand == brand)
                .order_by(db.users.c.login)
            ).all()
            return [r._asdict() for r in rows]

    def principal(self, user_id: int, scopes: frozenset[str] | None = None) -> Principal | None:
        with self.engine.connect() as conn:
            return self._principal(conn, user_id, scopes)

    def _principal(self, conn, user_id: int, scopes=None) -> Principal | None:
        row = conn.execute(sa.select(db.users).where(db.users.c.id == user_id)).first()
        if row is None or row.disabled:
            return None
        roles = {
            m.brand: Role(m.role)
            for m in conn.execute(sa.select(db.memberships).where(db.memberships.c.user_id == user_id))
        }
        return Principal(
            user_id=row.id,
            login=row.login,
            display_name=row.display_name,
            kind=row.kind,
            is_admin=row.is_admin,
            roles=roles,
            groups=tuple(json.loads(row.groups)),
            scopes=scopes,
            must_change_password=row.must_change_password,
        )

    def first_run_admin(self) -> str | None:
        """On an empty database: create ``admin`` with a one-time password (returned, never stored in
        clear); it must be changed at the first sign-in. None when accounts exist."""
        from creative_assets.identity.passwords import generate_password

        if self.count_users():
            return None
        password = generate_password()
        self.add_user(
            "admin",
            display_name="Administrator",
            password=password,
            is_admin=True,
            must_change_password=True,
            actor="first-run",
        )
        return password

    # -- password sign-in with throttling --------------------------------------------------------
    def _throttle_keys(self, login: str, ip: str) -> tuple[str, str]:
        return _sha(f"account|{normalize_login(login)}|{ip}"), _sha(f"ip|{ip}")

    def retry_after(self, login: str, ip: str) -> float:
        now = self.clock()
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(db.login_throttle).where(
                    db.login_throttle.c.key.in_(self._throttle_keys(login, ip))
                )
            ).all()
        return max([r.blocked_until - now for r in rows if r.blocked_until > now], default=0.0)

    def _fail(self, conn, key: str, free: int) -> None:
        now = self.clock()
        row = conn.execute(sa.select(db.login_throttle).where(db.login_throttle.c.key == key)).first()
        recent = row is not None and now - max(row.updated_at, row.blocked_until) < FORGET_FAILURES_AFTER
        failures = (row.failures if recent else 0) + 1
        blocked = now + min(2.0 ** (failures - free - 1), MAX_BACKOFF) if failures > free else 0.0
        values = {"failures": failures, "blocked_until": blocked, "updated_at": now}
        if row is None:
            conn.execute(db.login_throttle.insert().values(key=key, **values))
        else:
            conn.execute(db.login_throttle.update().where(db.login_throttle.c.key == key).values(**values))

    def authenticate_password(self, login: str, password: str, ip: str) -> tuple[Principal | None, float]:
        """(principal, 0) on success; (None, seconds to wait) when throttled; (None, 0) otherwise. The
        same work and the same answer for unknown accounts, wrong passwords and disabled accounts."""
        login = normalize_login(login)
        wait = self.retry_after(login, ip)
        if wait > 0:
            with self.engine.begin() as conn:
                self._audit(
                    conn, "signin.throttled", login or "?", ip, outcome="denied", retry_after=round(wait, 1)
                )
            return None, wait
        with self.engine.connect() as conn:
            row = self._user(conn, login)
        ok = verify_password(row.password_hash if row else None, password[:1024])
        ok = ok and row is not None and not row.disabled and row.kind == "human"
        account_key, ip_key = self._throttle_keys(login, ip)
        with self.engine.begin() as conn:
            if not ok:
                self._fail(conn, account_key, FREE_FAILURES)
                self._fail(conn, ip_key, IP_FAILURES)
                reason = "disabled" if row is not None and row.disabled else "bad credentials"
                self._audit(
                    conn,
                    "signin.failure",
                    login or "?",
                    ip,
                    outcome="failed",
                    method="password",
                    reason=reason,
                )
                return None, 0.0
            conn.execute(db.login_throttle.delete().where(db.login_throttle.c.key == account_key))
            if needs_rehash(row.password_hash):
                conn.execute(
                    db.users.update()
                    .where(db.users.c.id == row.id)
                    .values(password_hash=hash_password(password))
                )
            return self._principal(conn, row.id), 0.0

    # -- sessions --------------------------------------------------------------------------------
    def create_session(
        self, user_id: int, ip: str, method: str, replaces: str | None = None
    ) -> tuple[str, str]:
        """A new session (a fresh random id on every sign-in; ``replaces`` is revoked). Returns the
        cookie value and the session's CSRF token."""
        value, csrf = secrets.token_urlsafe(32), secrets.token_hex(32)
        now = self.clock()
        with self.engine.begin() as conn:
            conn.execute(db.sessions.delete().where(db.sessions.c.expires_at < now - 86400))  # housekeeping
            if replaces:
                conn.execute(
                    db.sessions.update().where(db.sessions.c.id_hash == _sha(replaces)).values(revoked_at=now)
                )
            conn.execute(
                db.sessions.insert().values(
                    id_hash=_sha(value),
                    user_id=user_id,
                    csrf=csrf,
                    created_at=now,
                    expires_at=now + self.session_seconds,
                    last_seen_at=now,
                    ip=ip[:64],
                    method=method,
                )
            )
            login = conn.execute(sa.select(db.users.c.login).where(db.users.c.id == user_id)).scalar_one()
            self._audit(conn, "signin.success", login, ip, method=method, session=_sha(value)[:12])
        return value, csrf

    def session(self, value: str | None) -> SessionInfo | None:
        if not value or len(value) > 200:
            return None
        now = self.clock()
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(db.sessions).where(db.sessions.c.id_hash == _sha(value))).first()
            if (
                row is None
                or row.revoked_at is not None
                or row.expires_at <= now
                or row.last_seen_at + self.idle_seconds <= now
            ):
                return None
            principal = self._principal(conn, row.user_id)
            if principal is None:
                return None
            if now - row.last_seen_at > 30:  # idle clock, written at most twice a minute
                conn.execute(
                    db.sessions.update().where(db.sessions.c.id_hash == row.id_hash).values(last_seen_at=now)
                )
            return SessionInfo(principal, row.csrf, row.method, row.expires_at)

    def revoke_session(self, value: str, *, ip: str = "") -> None:
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(db.sessions).where(db.sessions.c.id_hash == _sha(value))).first()
            if row is None or row.revoked_at is not None:
                return
            conn.execute(
                db.sessions.update()
                .where(db.sessions.c.id_hash == row.id_hash)
                .values(revoked_at=self.clock())
            )
            login = conn.execute(sa.select(db.users.c.login).where(db.users.c.id == row.user_id)).scalar_one()
            self._audit(conn, "signout", login, ip, session=row.id_hash[:12])

    def active_sessions(self, user_id: int) -> list[dict]:
        """The account's live sessions (for "your sessions"): hash prefix, times, address, method."""
        now = self.clock()
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(db.sessions)
                .where(
                    db.sessions.c.user_id == user_id,
                    db.sessions.c.revoked_at.is_(None),
                    db.sessions.c.expires_at > now,
                    db.sessions.c.last_seen_at > now - self.idle_seconds,
                )
                .order_by(db.sessions.c.created_at.desc())
            ).all()
        return [{**r._asdict(), "ref": r.id_hash[:16]} for r in rows]

    def revoke_own_session(self, user_id: int, ref: str, *, ip: str = "", current: str | None = None) -> int:
        """End the account's session whose reference is ``ref``, or with ``ref="others"`` every session
        but ``current``; returns how many ended."""
        now = self.clock()
        with self.engine.begin() as conn:
            query = db.sessions.update().where(
                db.sessions.c.user_id == user_id, db.sessions.c.revoked_at.is_(None)
            )
            if ref == "others":
                query = query.where(db.sessions.c.id_hash != _sha(current or ""))
            elif len(ref) == 16 and all(c in "0123456789abcdef" for c in ref):
                query = query.where(db.sessions.c.id_hash.startswith(ref, autoescape=True))
            else:
                return 0
            ended = conn.execute(query.values(revoked_at=now)).rowcount
            login = conn.execute(sa.select(db.users.c.login).where(db.users.c.id == user_id)).scalar_one()
            self._audit(conn, "signout.other", login, ip, sessions=ended, ref=ref)
            return ended

    # -- service accounts and API tokens ---------------------------------------------------------
    def create_token(
        self,
        login: str,
        scopes: list[str],
        *,
        days: float | None = 90,
        note: str = "",
        actor: str = "cli",
        ip: str = "",
    ) -> str:
        """A new API token for ``login``; the value is returned once and only its hash is kept."""
        unknown = [s for s in scopes if s not in TOKEN_SCOPES]
        if unknown or not scopes:
            raise IdentityError(f"token scopes must be among {', '.join(TOKEN_SCOPES)}; got {scopes}")
        token_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
        now = self.clock()
        with self.engine.begin() as conn:
            row = self._require(conn, login)
            conn.execute(
                db.api_tokens.insert().values(
                    id=token_id,
                    user_id=row.id,
                    token_hash=_sha(secret),
                    scopes=" ".join(sorted(set(scopes))),
                    created_at=now,
                    expires_at=now + days * 86400 if days else None,
                    note=note[:200],
                )
            )
            self._audit(
                conn,
                "token.create",
                actor,
                ip,
                target=row.login,
                token=token_id,
                scopes=sorted(set(scopes)),
                days=days,
            )
        return f"{TOKEN_PREFIX}{token_id}.{secret}"

    def revoke_token(self, token_id: str, *, actor: str = "cli", ip: str = "") -> None:
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(db.api_tokens).where(db.api_tokens.c.id == token_id)).first()
            if row is None:
                raise IdentityError(f"no token {token_id!r}")
            conn.execute(
                db.api_tokens.update().where(db.api_tokens.c.id == token_id).values(revoked_at=self.clock())
            )
            login = conn.execute(sa.select(db.users.c.login).where(db.users.c.id == row.user_id)).scalar_one()
            self._audit(conn, "token.revoke", actor, ip, target=login, token=token_id)

    def tokens(self) -> list[dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(db.api_tokens, db.users.c.login)
                .join(db.users, db.users.c.id == db.api_tokens.c.user_id)
                .order_by(db.api_tokens.c.created_at)
            ).all()
            return [{k: v for k, v in r._asdict().items() if k != "token_hash"} for r in rows]

    def authenticate_token(self, value: str) -> Principal | None:
        if not value.startswith(TOKEN_PREFIX) or "." not in value or len(value) > 200:
            return None
        token_id, secret = value[len(TOKEN_PREFIX) :].split(".", 1)
        now = self.clock()
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(db.api_tokens).where(db.api_tokens.c.id == token_id)).first()
            if row is None or not hmac.compare_digest(row.token_hash, _sha(secret)):
                return None
            if row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
                return None
            if not row.last_used_at or now - row.last_used_at > 60:
                conn.execute(
                    db.api_tokens.update().where(db.api_tokens.c.id == token_id).values(last_used_at=now)
                )
            return self._principal(conn, row.user_id, frozenset(row.scopes.split()))

    # -- OpenID Connect login state --------------------------------------------------------------
    def save_oidc_request(self, state: str, nonce: str, code_verifier: str, next_url: str) -> None:
        now = self.clock()
        with self.engine.begin() as conn:
            conn.execute(
                db.oidc_requests.delete().where(db.oidc_requests.c.created_at < now - OIDC_REQUEST_TTL)
            )
            conn.execute(
                db.oidc_requests.insert().values(
                    state_hash=_sha(state),
                    nonce=nonce,
                    code_verifier=code_verifier,
                    next_url=next_url,
                    created_at=now,
                )
            )

    def take_oidc_request(self, state: str) -> dict | None:
        """The pending login for ``state``, removed (a state is good for one callback, for 10 minutes)."""
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.select(db.oidc_requests).where(db.oidc_requests.c.state_hash == _sha(state))
            ).first()
            if row is None:
                return None
            conn.execute(db.oidc_requests.delete().where(db.oidc_requests.c.state_hash == row.state_hash))
            return row._asdict() if row.created_at > self.clock() - OIDC_REQUEST_TTL else None

    def use_nonce(self, nonce: str) -> bool:
        """Record an ID token's nonce; False if it was accepted before (a replayed token)."""
        with self.engine.begin() as conn:
            if conn.execute(
                sa.select(db.oidc_nonces).where(db.oidc_nonces.c.nonce_hash == _sha(nonce))
            ).first():
                return False
            conn.execute(db.oidc_nonces.insert().values(nonce_hash=_sha(nonce), used_at=self.clock()))
            return True

    def upsert_oidc_user(
        self,
        subject: str,
        login: str,
        name: str,
        groups: list[str],
        roles: dict[str, Role],
        is_admin: bool,
        ip: str,
    ) -> int:
        """The account of an IdP subject, created on first sign-in; its IdP-derived roles follow the
        IdP groups at every sign-in (manual memberships are left alone)."""
        now = self.clock()
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(db.users).where(db.users.c.oidc_subject == subject)).first()
            if row is None:
                login = normalize_login(login)
                if self._user(conn, login) is not None:  # a local account of that name: keep them apart
                    login = normalize_login(f"{login}#{_sha(subject)[:6]}")
                user_id = _insert_user(
                    conn,
                    now,
                    login=login,
                    display_name=name[:120] or login,
                    kind="human",
                    source="oidc",
                    password_hash=None,
                    must_change_password=False,
                    is_admin=is_admin,
                    groups=groups,
                    oidc_subject=subject,
                )
                self._audit(conn, "account.create", "oidc", ip, target=login, source="oidc")
            else:
                user_id = row.id
                conn.execute(
                    db.users.update()
                    .where(db.users.c.id == user_id)
                    .values(
                        display_name=name[:120] or row.display_name,
                        groups=json.dumps(sorted(set(groups))),
                        is_admin=is_admin or (row.is_admin and row.source != "oidc"),
                        updated_at=now,
                    )
                )
                login = row.login
            before = {
                m.brand: m.role
                for m in conn.execute(
                    sa.select(db.memberships).where(
                        db.memberships.c.user_id == user_id, db.memberships.c.source == "idp"
                    )
                )
            }
            after = {b: r.value for b, r in roles.items()}
            if before != after:
                conn.execute(
                    db.memberships.delete().where(
                        db.memberships.c.user_id == user_id, db.memberships.c.source == "idp"
                    )
                )
                manual = {
                    m.brand
                    for m in conn.execute(
                        sa.select(db.memberships).where(db.memberships.c.user_id == user_id)
                    )
                }
                for brand, role in after.items():
                    if brand not in manual:
                        conn.execute(
                            db.memberships.insert().values(
                                user_id=user_id, brand=brand, role=role, source="idp"
                            )
                        )
                self._audit(
                    conn,
                    "role.change",
                    "oidc",
                    ip,
                    target=login,
                    before=before,
                    after=after,
                    source="idp groups",
                )
        return user_id

    # -- audit -----------------------------------------------------------------------------------
    def _audit(
        self,
        conn,
        action: str,
        actor: str,
        ip: str,
        *,
        outcome: str = "ok",
        brand: str = "",
        target: str = "",
        **details,
    ) -> int:
        conn.execute(
            db.audit_head.update().where(db.audit_head.c.id == 1).values(seq=db.audit_head.c.seq + 1)
        )
        head = conn.execute(sa.select(db.audit_head).where(db.audit_head.c.id == 1)).one()
        record = {
            "seq": head.seq,
            "at": datetime.fromtimestamp(self.clock(), timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "actor": (actor or "?")[:254],
            "ip": (ip or "")[:64],
            "action": action[:64],
            "outcome": outcome,
            "brand": (brand or "")[:64],
            "target": (target or "")[:400],
            "details": chain.canonical_details(details),
            "prev_hash": head.last_hash,
        }
        record["hash"] = chain.record_hash(record)
        conn.execute(db.audit_log.insert().values(**record))
        conn.execute(db.audit_head.update().where(db.audit_head.c.id == 1).values(last_hash=record["hash"]))
        return head.seq

    def audit(self, action: str, actor: str, ip: str = "", **kwargs) -> int:
        """Append one record (who, when, from where, what) to the hash-chained log."""
        with self.engine.begin() as conn:
            return self._audit(conn, action, actor, ip, **kwargs)

    def audit_records(
        self,
        since: str | None = None,
        until: str | None = None,
        brands: list[str] | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[dict]:
        query = sa.select(db.audit_log)
        if since:
            query = query.where(db.audit_log.c.at >= since)
        if until:
            query = query.where(db.audit_log.c.at < until)
        if brands is not None:
            query = query.where(db.audit_log.c.brand.in_(brands))
        query = query.order_by(db.audit_log.c.seq.desc() if newest_first else db.audit_log.c.seq)
        if limit:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [r._asdict() for r in conn.execute(query)]

    def iter_audit(self, batch: int = 1000) -> Iterator[dict]:
        last = 0
        while True:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    sa.select(db.audit_log)
                    .where(db.audit_log.c.seq > last)
                    .order_by(db.audit_log.c.seq)
                    .limit(batch)
                ).all()
            if not rows:
                return
            for r in rows:
                yield r._asdict()
            last = rows[-1].seq

    def verify_audit(self) -> list[chain.ChainProblem]:
        """Check the whole chain, and that its last record is the head (nothing cut off the end)."""
        problems = chain.verify_chain(self.iter_audit())
        with self.engine.connect() as conn:
            head = conn.execute(sa.select(db.audit_head).where(db.audit_head.c.id == 1)).one()
            last = conn.execute(sa.select(db.audit_log).order_by(db.audit_log.c.seq.desc()).limit(1)).first()
        if (last.seq if last else 0) != head.seq or (last.hash if last else chain.GENESIS) != head.last_hash:
            problems.append(
                chain.ChainProblem(
                    head.seq, "the log ends before the chain's head (records removed from the end)"
                )
            )
        return problems


def _insert_user(conn, now, *, groups, **columns) -> int:
    """A new, enabled account row (local, service or OIDC); returns its id."""
    return conn.execute(
        db.users.insert().values(
            **columns,
            disabled=False,
            groups=json.dumps(sorted(set(groups))),
            created_at=now,
            updated_at=now,
        )
    ).inserted_primary_key[0]
