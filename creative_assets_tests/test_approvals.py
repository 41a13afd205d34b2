"""The staged-approval state machine (pure) and the brand kit's ``approvals`` declaration."""

from __future__ import annotations

import pytest

from creative_assets.review.approvals import (
    APPROVED,
    CHANGES_REQUESTED,
    NEEDS_REVIEW,
    PENDING,
    TRANSITIONS,
    ApprovalPolicy,
    ApprovalRefused,
    Decision,
    check,
    missing,
    stage_states,
)

POLICY = ApprovalPolicy.model_validate(
    {
        "separation_of_duties": True,
        "stages": [
            {"name": "brand", "approvers": ["brand-team"]},
            {"name": "legal", "after": ["brand"], "approvers": ["legal", "lena@example.com"]},
            {"name": "market"},  # parallel to both
        ],
    }
)
FP = "fp-1"


def d(action, stage, actor="ana@example.com", fp=FP, content="c1", n=[0]):  # noqa: B006
    n[0] += 1
    return Decision(
        id=f"d{n[0]}",
        action=action,
        stage=stage,
        actor=actor,
        at=f"t{n[0]}",
        fingerprint=fp,
        content_hash=content,
    )


def states(*decisions, current=FP):
    return stage_states(POLICY, list(decisions), current)


def test_all_stages_start_pending_and_the_default_policy_has_one_stage():
    assert {n: s.state for n, s in states().items()} == {
        "brand": PENDING,
        "legal": PENDING,
        "market": PENDING,
    }
    assert ApprovalPolicy().names == ["review"]


def test_order_approvers_and_separation_of_duties_are_enforced():
    s = states()
    with pytest.raises(ApprovalRefused, match="comes after brand"):
        check(POLICY, s, "approve", "legal", "lena@example.com", content_hash="c1")
    with pytest.raises(ApprovalRefused, match="approved by brand-team; you are not one of them"):
        check(POLICY, s, "approve", "brand", "bob@example.com", ("legal",), "c1")
    check(POLICY, s, "approve", "brand", "bob@example.com", ("brand-team",), "c1")
    check(POLICY, s, "approve", "market", "anyone@example.com", (), "c1")  # parallel, open to any approver
    s = states(d("approve", "brand", actor="bob@example.com"))
    check(POLICY, s, "approve", "legal", "lena@example.com", content_hash="c1")
    with pytest.raises(ApprovalRefused, match="separation of duties: you approved stage brand"):
        check(POLICY, s, "approve", "legal", "bob@example.com", ("legal",), "c1")
    with pytest.raises(ApprovalRefused, match="approved another candidate"):
        check(POLICY, s, "approve", "legal", "lena@example.com", content_hash="c2")
    with pytest.raises(ApprovalRefused, match="no approval stage 'nope'"):
        check(POLICY, s, "approve", "nope", "lena@example.com")


def test_only_the_declared_transitions_are_accepted():
    s = states(d("approve", "brand", actor="bob"))
    assert (s["brand"].state, s["market"].state, s["legal"].state) == (APPROVED, PENDING, PENDING)
    with pytest.raises(ApprovalRefused, match="stage brand is already approved"):
        check(POLICY, s, "approve", "brand", "x", ("brand-team",))
    with pytest.raises(ApprovalRefused, match="reopen it first"):
        check(POLICY, s, "request_changes", "brand", "x", ("brand-team",))
    s = states(d("request_changes", "market", actor="rita"))
    assert s["market"].state == CHANGES_REQUESTED
    with pytest.raises(ApprovalRefused, match="has changes requested: wait"):
        check(POLICY, s, "approve", "market", "x")
    with pytest.raises(ApprovalRefused, match="already has changes requested"):
        check(POLICY, s, "request_changes", "market", "x")
    with pytest.raises(ApprovalRefused, match="nothing to reopen"):
        check(POLICY, s, "reopen", "legal", "lena@example.com")
    assert set(TRANSITIONS.values()) <= {APPROVED, CHANGES_REQUESTED, NEEDS_REVIEW}


def test_a_change_request_sends_approved_stages_back_to_review():
    s = states(
        d("approve", "brand", actor="bob"), d("approve", "market", actor="mo"), d("request_changes", "legal")
    )
    assert (s["brand"].state, s["market"].state, s["legal"].state) == (
        NEEDS_REVIEW,
        NEEDS_REVIEW,
        CHANGES_REQUESTED,
    )
    assert "changes requested at stage legal" in s["brand"].reason


@pytest.mark.parametrize("why", ["new pixels", "new brief version", "new brand kit"])
def test_cascade_any_upstream_change_sends_every_decided_stage_to_needs_review(why):
    decided = [
        d("approve", "brand", actor="bob"),
        d("approve", "legal", actor="lena"),
        d("approve", "market", actor="mo"),
    ]
    assert missing(states(*decided)) == []
    after = states(*decided, current=f"fp-after-{why}")
    assert {s.state for s in after.values()} == {NEEDS_REVIEW}
    assert all(len(s.history) == 1 for s in after.values()), "the approval history is kept"
    assert missing(after) == ["brand", "legal", "market"]


def test_reopening_an_earlier_stage_resets_every_stage_and_withdrawal_too():
    decided = [d("approve", "brand", actor="bob"), d("approve", "legal", actor="lena")]
    s = states(*decided, d("reopen", "brand", actor="bob"))
    assert (s["brand"].state, s["legal"].state, s["market"].state) == (NEEDS_REVIEW, NEEDS_REVIEW, PENDING)
    assert "stage brand was reopened by bob" in s["legal"].reason
    s = states(*decided, d("withdraw", None, actor="system"))
    assert (s["brand"].state, s["legal"].state) == (NEEDS_REVIEW, NEEDS_REVIEW)
    check(POLICY, s, "approve", "brand", "bob", ("brand-team",), "c1")  # and it can be approved again


def test_policy_declaration_errors_are_clear():
    with pytest.raises(ValueError, match="declared twice"):
        ApprovalPolicy.model_validate({"stages": [{"name": "a"}, {"name": "a"}]})
    with pytest.raises(ValueError, match="must name stages declared before it"):
        ApprovalPolicy.model_validate({"stages": [{"name": "a", "after": ["b"]}, {"name": "b"}]})


def test_brand_kit_declares_stages_without_changing_its_fingerprint(tmp_path):
    import shutil

    import yaml

    from creative_assets.brand_kit import DEFAULT_BRAND_KITS_DIR, load_brand_kit

    shutil.copytree(DEFAULT_BRAND_KITS_DIR / "aurora-beverages", tmp_path / "aurora-beverages")
    path = tmp_path / "aurora-beverages" / "brand.yaml"
    before = load_brand_kit("aurora-beverages", tmp_path)
    data = yaml.safe_load(path.read_text())
    data["approvals"] = {"stages": [{"name": "brand"}, {"name": "legal", "after": ["brand"]}]}
    path.write_text(yaml.safe_dump(data))
    kit = load_brand_kit("aurora-beverages", tmp_path)
    assert kit.approvals.names == ["brand", "legal"] and before.approvals.names == ["review"]
    assert kit.fingerprint() == before.fingerprint(), "who signs off is not part of the pixels"
