"""Identity settings, all from the environment, in one place (README "Configuration").

The review app is not a Dagster run, so these are read once when ``creative-assets review`` starts;
the Dagster side (the audit archive sensor) reads the database URL through the ``identity_db``
resource, an ``EnvVar``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from creative_assets import settings
from creative_assets.identity.roles import ALL_BRANDS, BRAND_ROLES, Role, parse_role


def default_identity_url() -> str:
    return f"sqlite:///{settings.project_root() / 'var' / 'identity.sqlite'}"


@dataclass(frozen=True)
class GroupRoles:
    """IdP groups -> roles: ``admins`` (groups whose members are admins) and ``groups`` (group ->
    {brand or "*": role})."""

    admins: tuple[str, ...] = ()
    groups: dict[str, dict[str, Role]] = field(default_factory=dict)

    @classmethod
    def parse(cls, data: dict) -> GroupRoles:
        if not isinstance(data, dict):
            raise ValueError("the group-to-role map must be a mapping with 'admins' and 'groups'")
        unknown = set(data) - {"admins", "groups"}
        if unknown:
            raise ValueError(f"unknown keys in the group-to-role map: {', '.join(sorted(unknown))}")
        groups: dict[str, dict[str, Role]] = {}
        for group, brands in (data.get("groups") or {}).items():
            groups[str(group)] = {}
            for brand, role in (brands or {}).items():
                parsed = parse_role(str(role))
                if parsed not in BRAND_ROLES:
                    raise ValueError(
                        f"group {group!r}: {role!r} is not a brand role (admins go under 'admins')"
                    )
                groups[str(group)][str(brand)] = parsed
        return cls(admins=tuple(str(g) for g in data.get("admins") or ()), groups=groups)

    def roles_for(self, member_of: list[str]) -> tuple[dict[str, Role], bool]:
        """The highest role per brand over the user's groups, and whether they are an admin."""
        roles: dict[str, Role] = {}
        for group in member_of:
            for brand, role in self.groups.get(group, {}).items():
                if brand not in roles or role.rank > roles[brand].rank:
                    roles[brand] = role
        if ALL_BRANDS in roles:  # a per-brand entry below the "*" role adds nothing
            roles = {b: r for b, r in roles.items() if b == ALL_BRANDS or r.rank > roles[ALL_BRANDS].rank}
        return roles, any(g in self.admins for g in member_of)


@dataclass(frozen=True)
class OIDCSettings:
    issuer: str
    client_id: str
    client_secret: str
    redirect_url: str = ""  # empty: derived from the request (http(s)://<host>/auth/oidc/callback)
    scopes: str = "openid email profile"
    groups_claim: str = "groups"
    group_roles: GroupRoles = GroupRoles()
    label: str = "your company account"


@dataclass(frozen=True)
class IdentitySettings:
    db_url: str
    db_schema: str = "identity"
    session_hours: float = 12.0
    idle_minutes: float = 30.0
    secure_cookie: bool = False
    local_login: bool = True
    oidc: OIDCSettings | None = None

    @classmethod
    def from_env(cls) -> IdentitySettings:
        env = settings.environment()
        oidc = None
        if env.get("CREATIVE_ASSETS_OIDC_ISSUER"):
            missing = [
                n
                for n in ("CREATIVE_ASSETS_OIDC_CLIENT_ID", "CREATIVE_ASSETS_OIDC_CLIENT_SECRET")
                if not env.get(n)
            ]
            if missing:
                raise ValueError(f"CREATIVE_ASSETS_OIDC_ISSUER is set but {', '.join(missing)} is not")
            oidc = OIDCSettings(
                issuer=env["CREATIVE_ASSETS_OIDC_ISSUER"].rstrip("/"),
                client_id=env["CREATIVE_ASSETS_OIDC_CLIENT_ID"],
                client_secret=env["CREATIVE_ASSETS_OIDC_CLIENT_SECRET"],
                redirect_url=env.get("CREATIVE_ASSETS_OIDC_REDIRECT_URL", ""),
                scopes=env.get("CREATIVE_ASSETS_OIDC_SCOPES", "openid email profile"),
                groups_claim=env.get("CREATIVE_ASSETS_OIDC_GROUPS_CLAIM", "groups"),
                group_roles=load_group_roles(env.get("CREATIVE_ASSETS_OIDC_GROUP_ROLES", "")),
                label=env.get("CREATIVE_ASSETS_OIDC_LABEL", "your company account"),
            )
        return cls(
            db_url=env.get("CREATIVE_ASSETS_IDENTITY_DB_URL") or default_identity_url(),
            db_schema=env.get("CREATIVE_ASSETS_IDENTITY_DB_SCHEMA") or "identity",
            session_hours=settings.float_setting("CREATIVE_ASSETS_SESSION_HOURS", 12.0, 0.05, 24 * 7),
            idle_minutes=settings.float_setting("CREATIVE_ASSETS_SESSION_IDLE_MINUTES", 30.0, 1, 24 * 60),
            secure_cookie=env.get("CREATIVE_ASSETS_REVIEW_SECURE_COOKIE", "") == "1",
            local_login=env.get("CREATIVE_ASSETS_LOCAL_LOGIN", "1") != "0",
            oidc=oidc,
        )


def load_group_roles(value: str) -> GroupRoles:
    """A YAML/JSON file path, or inline JSON; empty: no group grants any role."""
    value = value.strip()
    if not value:
        return GroupRoles()
    data = (
        json.loads(value)
        if value.startswith("{")
        else yaml.safe_load(Path(value).read_text(encoding="utf-8"))
    )
    return GroupRoles.parse(data or {})
