"""Shared by the review tests: a brand kit folder whose Aurora kit declares two approval stages, and
an identity database with one account per role."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from creative_assets.brand_kit import DEFAULT_BRAND_KITS_DIR
from creative_assets.identity.store import IdentityStore

PASSWORD = "plum-orbit-canvas-47"
BRAND_A, BRAND_B = "aurora-beverages", "terra-outdoor"
TWO_STAGES = {
    "separation_of_duties": True,
    "stages": [
        {"name": "brand", "label": "Brand", "approvers": ["brand-team"]},
        {"name": "legal", "label": "Legal", "after": ["brand"], "approvers": ["legal"]},
    ],
}
#: login -> (display name, {brand: role}, groups, is_admin)
PEOPLE = {
    "vera@example.com": ("Vera Viewer", {BRAND_A: "viewer"}, (), False),
    "rita@example.com": ("Rita Reviewer", {BRAND_A: "reviewer"}, (), False),
    "bruno@example.com": ("Bruno Brand", {BRAND_A: "approver"}, ("brand-team",), False),
    "lena@example.com": ("Lena Legal", {BRAND_A: "approver"}, ("legal",), False),
    "dual@example.com": ("Dana Dual", {BRAND_A: "approver"}, ("brand-team", "legal"), False),
    "abby@example.com": ("Abby Admin-of-Aurora", {BRAND_A: "brand_admin"}, ("brand-team",), False),
    "tom@example.com": ("Tom Terra", {BRAND_B: "approver"}, ("brand-team", "legal"), False),
    "nobody@example.com": ("No Body", {}, (), False),
    "root@example.com": ("Root Admin", {}, (), True),
}


def staged_kits(tmp: Path) -> Path:
    """A copy of brand_kits/ where Aurora needs brand, then legal (separation of duties)."""
    kits = tmp / "brand_kits"
    shutil.copytree(DEFAULT_BRAND_KITS_DIR, kits)
    path = kits / BRAND_A / "brand.yaml"
    data = yaml.safe_load(path.read_text())
    data["approvals"] = TWO_STAGES
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    return kits


def populate(store: IdentityStore, people: dict = PEOPLE) -> dict[str, int]:
    ids = {}
    for login, (name, roles, groups, admin) in people.items():
        ids[login] = store.add_user(
            login, display_name=name, password=PASSWORD, groups=groups, is_admin=admin
        )
        for brand, role in roles.items():
            store.set_role(login, brand, role)
    return ids
