"""Roles and permissions (pure: no database, no HTTP).

Roles are per brand and ordered: viewer < reviewer < approver < brand_admin. ``admin`` is global (every
brand, user management, the whole audit log). A permission names the least role that holds it; the
brand it is checked against is the brand of the campaign a URL names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Role(str, Enum):
    viewer = "viewer"
    reviewer = "reviewer"
    approver = "approver"
    brand_admin = "brand_admin"
    admin = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)


BRAND_ROLES = (Role.viewer, Role.reviewer, Role.approver, Role.brand_admin)
ALL_BRANDS = "*"


class Permission(str, Enum):
    """What a route needs. ``public``: nobody signed in; ``signed_in``: any account."""

    public = "public"
    signed_in = "signed_in"
    view = "view"  # see the brand's campaigns, units, images
    request_changes = "request_changes"
    approve = "approve"  # approve / reopen the stages the brand kit lets the user approve
    manage_members = "manage_members"  # the brand's members and their roles
    read_audit = "read_audit"  # the brand's audit records (admins: all)
    admin = "admin"  # accounts, tokens, every brand


#: the least brand role holding each brand permission
MINIMUM_ROLE = {
    Permission.view: Role.viewer,
    Permission.request_changes: Role.reviewer,
    Permission.approve: Role.approver,
    Permission.manage_members: Role.brand_admin,
    Permission.read_audit: Role.brand_admin,
}

#: API token scopes and the permissions each allows (a token never exceeds its account's roles)
TOKEN_SCOPES = {
    "read": {Permission.signed_in, Permission.view},
    "review": {Permission.signed_in, Permission.view, Permission.request_changes},
    "approve": {Permission.signed_in, Permission.view, Permission.request_changes, Permission.approve},
}


def parse_role(value: str) -> Role:
    try:
        return Role(value.strip().lower().replace("-", "_").replace(" ", "_"))
    except ValueError:
        raise ValueError(f"unknown role {value!r}; roles: {', '.join(r.value for r in Role)}") from None


@dataclass(frozen=True)
class Principal:
    """Who is asking: an account with its brand roles (and, for a token, the token's scopes)."""

    user_id: int
    login: str
    display_name: str
    kind: str = "human"  # human | service
    is_admin: bool = False
    roles: dict[str, Role] = field(default_factory=dict)  # brand slug (or "*") -> role
    groups: tuple[str, ...] = ()
    scopes: frozenset[str] | None = None  # None: a browser session (no scope limit)
    must_change_password: bool = False

    def role_in(self, brand: str) -> Role | None:
        if self.is_admin:
            return Role.admin
        return self.roles.get(brand) or self.roles.get(ALL_BRANDS)

    def sees(self, brand: str) -> bool:
        return self.role_in(brand) is not None

    def can(self, permission: Permission, brand: str | None = None) -> bool:
        if self.scopes is not None and permission is not Permission.public:
            allowed = set().union(*(TOKEN_SCOPES.get(s, set()) for s in self.scopes))
            if permission not in allowed:
                return False
        if permission in (Permission.public, Permission.signed_in):
            return True
        if permission is Permission.admin:
            return self.is_admin
        if brand is None:  # a brand permission asked for "any brand": lists filter per row
            return self.is_admin or any(r.rank >= MINIMUM_ROLE[permission].rank for r in self.roles.values())
        role = self.role_in(brand)
        return role is not None and role.rank >= MINIMUM_ROLE[permission].rank

    def brands(self, known: list[str]) -> list[str]:
        return [b for b in known if self.sees(b)]
