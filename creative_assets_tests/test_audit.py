"""The audit log: append-only and hash-chained in the identity database; ``audit verify`` names a
tampered, removed or truncated record; ``audit export``; daily copies in object storage; the
pipeline's withdrawals audited by the archive sensor; the identity database on Postgres."""

from __future__ import annotations

import itertools
import json
from datetime import date, datetime, timezone

import dagster as dg
import pytest
import sqlalchemy as sa

from creative_assets import audit
from creative_assets.cli import main
from creative_assets.identity import db
from creative_assets.identity.archive import archive_day
from creative_assets.identity.store import IdentityStore
from creative_assets.review.decisions import append_event, new_event
from creative_assets.units import UnitKey
from resources.identity import IdentityDatabase
from resources.storage import LocalCreativeStorage
from sensors.audit import audit_archive_sensor


@pytest.fixture
def db_url(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'identity.sqlite'}"
    monkeypatch.setenv("CREATIVE_ASSETS_IDENTITY_DB_URL", url)
    return url


def fill(store: IdentityStore) -> None:
    store.add_user("ana@example.com", password="a-long-private-phrase")
    store.set_role("ana@example.com", "aurora-beverages", "approver")
    store.authenticate_password("ana@example.com", "wrong-password-xx", "10.0.0.9")
    store.audit(
        "decision.approve",
        "ana@example.com",
        "10.0.0.9",
        brand="aurora-beverages",
        target="c.en-US.p",
        stage="brand",
    )


def test_records_carry_who_when_where_what_and_chain(db_url):
    store = IdentityStore.open(db_url)
    fill(store)
    records = store.audit_records()
    assert [r["action"] for r in records] == [
        "account.create",
        "role.change",
        "signin.failure",
        "decision.approve",
    ]
    assert [r["seq"] for r in records] == [1, 2, 3, 4]
    failure = records[2]
    assert (failure["actor"], failure["ip"], failure["outcome"]) == ("ana@example.com", "10.0.0.9", "failed")
    assert datetime.fromisoformat(failure["at"].replace("Z", "+00:00")).tzinfo is not None
    assert records[0]["prev_hash"] == audit.GENESIS
    for prev, record in itertools.pairwise(records):
        assert record["prev_hash"] == prev["hash"] == audit.record_hash(prev)
    assert store.verify_audit() == []


@pytest.mark.parametrize(
    ("sql", "seq", "reason"),
    [
        ("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3", 3, "content was changed"),
        ('UPDATE audit_log SET details = \'{"stage":"legal"}\' WHERE seq = 4', 4, "content was changed"),
        ("DELETE FROM audit_log WHERE seq = 2", 2, "missing"),
        ("DELETE FROM audit_log WHERE seq = 4", 4, "ends before the chain's head"),
    ],
    ids=["edited-actor", "edited-details", "removed", "truncated"],
)
def test_tampering_with_one_stored_record_fails_verify_and_names_it(db_url, capsys, sql, seq, reason):
    store = IdentityStore.open(db_url)
    fill(store)
    assert main(["audit", "verify"]) == 0
    assert "audit chain intact (4 records)" in capsys.readouterr().out
    with store.engine.begin() as conn:
        conn.execute(sa.text(sql))
    problems = store.verify_audit()
    assert problems and problems[0].seq == seq and reason in problems[0].reason
    assert main(["audit", "verify"]) == 1
    err = capsys.readouterr().err
    assert f"audit record {seq}: " in err and reason in err


def test_a_rewritten_record_with_a_recomputed_hash_breaks_the_next_link(db_url):
    store = IdentityStore.open(db_url)
    fill(store)
    row = store.audit_records()[1]
    forged = {**row, "actor": "mallory"}
    forged["hash"] = audit.record_hash(forged)
    with store.engine.begin() as conn:
        conn.execute(
            db.audit_log.update().where(db.audit_log.c.seq == 2).values(actor="mallory", hash=forged["hash"])
        )
    [problem] = store.verify_audit()
    assert problem.seq == 3 and "does not link" in problem.reason


def test_export_since_as_csv_and_json(db_url, tmp_path, capsys):
    store = IdentityStore.open(db_url)
    fill(store)
    assert main(["audit", "export", "--since", "2000-01-01", "--format", "json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["seq"] for r in lines] == [1, 2, 3, 4] and lines[3]["details"] == {"stage": "brand"}
    assert audit.verify_chain(lines) == [], "an export can be verified on its own"
    out = tmp_path / "audit.csv"
    assert main(["audit", "export", "--since", "2000-01-01T00:00", "--format", "csv", "-o", str(out)]) == 0
    rows = out.read_text().splitlines()
    assert rows[0] == "seq,at,actor,ip,action,outcome,brand,target,details,prev_hash,hash" and len(rows) == 5
    future = datetime.now(timezone.utc).replace(year=datetime.now().year + 1).date().isoformat()
    assert main(["audit", "export", "--since", future]) == 0
    assert capsys.readouterr().out == ""


def test_users_command_manages_accounts_and_roles(db_url, capsys, monkeypatch):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-private-phrase\n"))
    assert (
        main(
            [
                "users",
                "add",
                "Lena@Example.com",
                "--name",
                "Lena",
                "--role",
                "aurora-beverages:approver",
                "--group",
                "legal",
                "--password-stdin",
            ]
        )
        == 0
    )
    assert main(["users", "add", "ci-bot", "--service", "--role", "*:viewer"]) == 0
    assert (
        main(["users", "add", "weak@example.com", "--password-stdin"]) == 2
    )  # stdin is empty now: too short
    assert main(["users", "set-role", "lena@example.com", "terra-outdoor", "reviewer"]) == 0
    assert main(["users", "set-role", "lena@example.com", "terra-outdoor", "owner"]) == 2
    assert main(["users", "disable", "ci-bot"]) == 0
    capsys.readouterr()
    assert main(["users", "list"]) == 0
    listing = capsys.readouterr().out
    assert "lena@example.com" in listing and "aurora-beverages:approver, terra-outdoor:reviewer" in listing
    assert "ci-bot" in listing and "disabled" in listing
    store = IdentityStore.open(db_url)
    assert store.user("lena@example.com")["groups"] == ["legal"]
    assert store.user("lena@example.com")["password_hash"].startswith("$argon2id$")
    assert main(["tokens", "create", "ci-bot", "--scope", "read"]) == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith("cat_") and store.authenticate_token(token) is None, (
        "a disabled account's token is dead"
    )
    assert main(["users", "disable", "ci-bot", "--enable"]) == 0
    assert store.authenticate_token(token).login == "ci-bot"
    assert main(["tokens", "revoke", token[4:].split(".")[0]]) == 0
    assert store.authenticate_token(token) is None
    actions = [r["action"] for r in store.audit_records()]
    for action in ("account.create", "role.change", "account.disable", "token.create", "token.revoke"):
        assert action in actions


def test_daily_records_go_to_object_storage_and_the_sensor_audits_pipeline_withdrawals(db_url, tmp_path):
    store = IdentityStore.open(db_url)
    fill(store)
    storage = LocalCreativeStorage(root=str(tmp_path / "storage"))
    today = datetime.now(timezone.utc).date()
    summary = archive_day(store, storage, today)
    copy = [json.loads(line) for line in storage.read_text(f"audit/daily/{today}.jsonl").splitlines()]
    assert summary["count"] == 4 and [r["seq"] for r in copy] == [1, 2, 3, 4]
    assert audit.verify_chain(copy, start_hash=summary["first_prev_hash"]) == []

    # the pipeline withdraws a delivery (io_manager -> delivery.withdraw): the sensor audits it
    unit = UnitKey("summer-splash-2026", "en-US", "mango-mint")
    append_event(
        storage,
        new_event(unit, "withdraw", "system", comment="final_creatives re-materialized", withdraws="a1"),
    )
    append_event(storage, new_event(unit, "approve", "Ana", candidate=0, content={"1:1": "aa"}))
    resources = {"storage": storage, "identity_db": IdentityDatabase(url=db_url)}
    with dg.instance_for_test() as instance:
        result = audit_archive_sensor(
            dg.build_sensor_context(instance=instance, resources=resources, cursor=None)
        )
        cursor = json.loads(result.cursor)
        again = audit_archive_sensor(
            dg.build_sensor_context(instance=instance, resources=resources, cursor=result.cursor)
        )
    system = [r for r in store.audit_records() if r["actor"] == "system"]
    assert [(r["action"], r["target"]) for r in system] == [("delivery.withdraw", str(unit))]
    assert "re-materialized" in system[0]["details"]
    assert cursor["journal"].endswith(".json") and cursor["archived"] is None, "today is not complete yet"
    assert again.skip_reason and len([r for r in store.audit_records() if r["actor"] == "system"]) == 1
    # completed days are archived once
    from creative_assets.identity.archive import archive_pending

    first_day = date.fromisoformat(store.audit_records()[0]["at"][:10])
    assert archive_pending(store, storage, None, first_day) == []
    assert archive_pending(store, storage, None, date.fromordinal(first_day.toordinal() + 1)) == [first_day]


@pytest.mark.postgres
def test_identity_database_on_postgres_in_its_own_schema(postgres_server):
    url = postgres_server.create_database("identity_test")
    store = IdentityStore.open(url, "identity")
    IdentityStore.open(url, "identity")  # migrations are idempotent
    assert db.current_revision(store.engine) == "0001_identity"
    fill(store)
    assert store.verify_audit() == []
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names(schema="identity"))
        public = set(sa.inspect(conn).get_table_names(schema="public"))
    engine.dispose()
    assert {"users", "memberships", "sessions", "api_tokens", "audit_log", "alembic_version"} <= tables
    assert not public & tables, "nothing lands in Dagster's schema"
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_log SET ip = '6.6.6.6' WHERE seq = 3"))
    assert store.verify_audit()[0].seq == 3


def test_a_chain_rewritten_from_one_record_on_is_caught_by_the_daily_copies(
    db_url, tmp_path, monkeypatch, capsys
):
    store = IdentityStore.open(db_url)
    fill(store)
    monkeypatch.setenv("CREATIVE_ASSETS_STORAGE", "local")
    monkeypatch.setenv("CREATIVE_ASSETS_ROOT", str(tmp_path / "storage"))
    today = datetime.now(timezone.utc).date().isoformat()
    assert main(["audit", "archive", "--day", today]) == 0
    assert main(["audit", "verify", "--archive"]) == 0
    # rewrite record 2 and re-chain everything after it: self-consistent, so the chain alone passes
    records = store.audit_records()
    prev = records[0]["hash"]
    with store.engine.begin() as conn:
        for r in records[1:]:
            r = {**r, "prev_hash": prev, "actor": "mallory" if r["seq"] == 2 else r["actor"]}
            r["hash"] = audit.record_hash(r)
            conn.execute(db.audit_log.update().where(db.audit_log.c.seq == r["seq"]).values(**r))
            prev = r["hash"]
        conn.execute(db.audit_head.update().values(last_hash=prev))
    capsys.readouterr()
    assert main(["audit", "verify"]) == 0
    assert main(["audit", "verify", "--archive"]) == 1
    err = capsys.readouterr().err
    assert f"audit record 2: differs from the daily copy {today} (rewritten)" in err


def test_the_migrations_create_exactly_the_tables_the_code_declares(db_url):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    store = IdentityStore.open(db_url)
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), db.metadata) == []
