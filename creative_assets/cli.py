"""creative-assets: turn campaign briefs into localized, brand-safe social ad creatives with Dagster.

Run 'creative-assets COMMAND --help' for the arguments of a command.

run registers each brief in storage, adds its creative-unit partitions to the Dagster instance
($DAGSTER_HOME, default var/dagster_home: SQLite), materializes every unit through the
creative_pipeline job in batched runs, rolls the campaign up, and prints what it produced and where.
--json (run, validate, status) prints one JSON document on stdout instead of the text; its schema is
docs/schemas/cli-output.schema.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
import uuid
from dataclasses import replace
from pathlib import Path

from creative_assets import layout, settings
from creative_assets.dagster_warnings import silence_chosen_api_warnings
from creative_assets.errors import BriefError
from creative_assets.run_tags import BATCH_TAG, CAMPAIGN_TAG, VERSION_TAG, pipeline_run_tags, unit_batches

EXIT_CODES = """exit codes:
  0    success
  1    a run failed or a unit is blocked (no compliant candidate); a verification failed
  2    invalid input: an invalid brief (incl. the preflight), bad arguments, an unknown unit,
       campaign or drop
  130  interrupted (Ctrl-C)
"""
#: version of the --json documents (docs/schemas/cli-output.schema.json); bumped on incompatible change
JSON_SCHEMA_VERSION = 1
STORAGE_HELP = "local storage folder (default: $CREATIVE_ASSETS_ROOT or var/storage)"


def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("creative-assets")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
        return "0+unknown"


def emit_json(document: dict, stream=None) -> None:
    """One JSON document on stdout (``stream``: the stdout saved before text was sent to stderr)."""
    out = {"schema_version": JSON_SCHEMA_VERSION, **document}
    print(json.dumps(out, ensure_ascii=False, indent=2, default=str), file=stream or sys.stdout, flush=True)


def quiet_dagster(verbose: bool) -> dict:
    """Dagster's own log lines: below WARNING suppressed (its Python loggers), and the run's console
    log off entirely, since the CLI reports every failed step, failed check and blocked unit itself,
    in words and once. ``--verbose`` shows everything (DEBUG). Returns the run config to use."""
    import logging

    for name in ("dagster", "dagster_celery", "alembic"):
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.WARNING)
    level = "DEBUG" if verbose else "CRITICAL"
    return {"loggers": {"console": {"config": {"log_level": level}}}}


def ui_command(home: str) -> str:
    return f"creative-assets ui   (or: DAGSTER_HOME={home} dagster dev -m creative_assets.definitions)"


def _print_problems(exc: BriefError) -> None:
    print(f"✗ {exc.render()}", file=sys.stderr)


def _print_warnings(loaded) -> None:
    for p in loaded.warnings:  # preflight WARN findings (the brief is accepted)
        print(f"! {loaded.source}: {p.field}: {p.message}")


def cmd_validate(args: argparse.Namespace) -> int:
    from creative_assets.brief import load_brief
    from creative_assets.input_policy import Budget, estimate_cost
    from creative_assets.template_cli import is_template_path, validate_templates

    if is_template_path(Path(args.brief)):  # a template file or a templates/ folder
        return validate_templates([Path(args.brief)])

    try:
        loaded = load_brief(args.brief)
    except BriefError as exc:
        if args.json:
            emit_json(
                {
                    "command": "validate",
                    "ok": False,
                    "exit_code": 2,
                    "brief": args.brief,
                    "problems": [p.to_dict() for p in exc.problems],
                    "warnings": [],
                }
            )
        else:
            _print_problems(exc)
        return 2
    b = loaded.brief
    units = len(b.locales) * len(b.products)
    outputs = b.output_keys()  # placements, or the older aspect_ratios
    creatives = units * b.candidates * len(outputs)
    supplied = sum(1 for p in b.products if p.assets)
    budget = Budget.from_env()
    cost = estimate_cost(len(b.locales), len(b.products), b.candidates, len(outputs), budget)
    missing = [loc for loc in b.locales if loc != b.source_locale and loc not in b.localized_messages]
    if args.json:
        emit_json(
            {
                "command": "validate",
                "ok": True,
                "exit_code": 0,
                "brief": args.brief,
                "campaign": b.campaign_id,
                "brand": loaded.brand_kit.display_name,
                "locales": list(b.locales),
                "products": [p.id for p in b.products],
                "units": units,
                "creatives": creatives,
                "products_with_images": supplied,
                "cost": {
                    "provider_calls": cost.calls,
                    "usd": round(cost.usd, 4),
                    "budget_calls": budget.max_calls,
                    "budget_usd": budget.max_usd,
                },
                "untranslated_locales": missing,
                "problems": [],
                "warnings": [p.to_dict() for p in loaded.warnings],
            }
        )
        return 0
    _print_warnings(loaded)
    print(f"✓ {args.brief}: campaign {b.campaign_id!r} for {loaded.brand_kit.display_name}")
    print(
        f"  {len(b.locales)} locales x {len(b.products)} products = {units} units; "
        f"{b.candidates} candidates x {len(outputs)} outputs = {creatives} "
        f"creatives; product images supplied for {supplied}/{len(b.products)} products"
    )
    print(
        f"  cost preflight: about {cost.calls:,} provider calls (image: {budget.image_provider}, text: "
        f"{budget.text_provider}), ${cost.usd:,.2f}; budget {budget.max_calls:,} calls, ${budget.max_usd:,.2f}"
    )
    if missing:
        print(f"  ! no localized_messages for {', '.join(missing)}: their copy stays in {b.source_locale}")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from creative_assets.brief import brief_json_schema

    print(json.dumps(brief_json_schema(), indent=2, ensure_ascii=False))
    return 0


def _use_local_storage(out: str | None) -> None:
    """``--out DIR``: this process's definitions store under DIR."""
    if out:
        settings.override("CREATIVE_ASSETS_STORAGE", "local")
        settings.override("CREATIVE_ASSETS_ROOT", str(Path(out).resolve()))


def _prepare_environment(out: str | None) -> None:
    _use_local_storage(out)
    from creative_assets.local_instance import write_local_config

    write_local_config(Path(settings.dagster_home()))


def cmd_run(args: argparse.Namespace) -> int:
    if args.out and settings.get("CREATIVE_ASSETS_EXECUTOR").lower() == "celery":
        print(
            "--out sets the storage root of this process only; with CREATIVE_ASSETS_EXECUTOR=celery the "
            "steps run on the workers: give them and this command the same CREATIVE_ASSETS_STORAGE "
            'settings instead (README "Scaling out")',
            file=sys.stderr,
        )
        return 2
    if not args.json:
        return _run(args, None)
    document: dict = {"command": "run", "briefs": [], "invalid": []}
    stdout = sys.stdout
    with contextlib.redirect_stdout(sys.stderr):  # the text goes to stderr, the document to stdout
        code = _run(args, document)
    emit_json({**document, "ok": code == 0, "exit_code": code}, stdout)
    return code


def _run(args: argparse.Namespace, document: dict | None) -> int:
    _prepare_environment(args.out)
    quiet = quiet_dagster(args.verbose)
    import dagster as dg

    from creative_assets.local_instance import fail_dead_cli_runs, may_have_runs

    if may_have_runs(Path(settings.dagster_home())):  # a fresh local instance is not created here
        with dg.DagsterInstance.get() as instance:
            for run_id in fail_dead_cli_runs(instance):
                print(
                    f"! run {run_id} of an earlier creative-assets run died with its process; marked failed"
                )

    from creative_assets.brief import load_brief
    from creative_assets.definitions import build_definitions

    started = time.perf_counter()
    loaded, invalid = [], 0
    for path in args.briefs:  # validate everything before running anything
        try:
            loaded.append((path, load_brief(path, preflight=not args.skip_preflight)))
            _print_warnings(loaded[-1][1])
        except BriefError as exc:
            _print_problems(exc)
            invalid += 1
            if document is not None:
                document["invalid"].append({"brief": path, "problems": [p.to_dict() for p in exc.problems]})
    if invalid:
        return 2
    defs = build_definitions()  # after --out/DAGSTER_HOME are in the environment
    failures = 0
    home = settings.dagster_home()
    # the _cm form: S3 storage has setup/teardown (its client is made per use, never at load time)
    with (
        defs.resources["storage"].process_config_and_initialize_cm() as storage,
        dg.DagsterInstance.get() as instance,
    ):
        for path, brief in loaded:
            report: dict = {"brief": path}
            failures += run_brief(path, brief, storage, instance, defs, args.units_per_run, quiet, report)
            if document is not None:
                document["briefs"].append(report)
    elapsed = time.perf_counter() - started
    print(f"\nFinished in {elapsed:.1f}s. Browse runs, lineage and metadata with: {ui_command(home)}")
    if document is not None:
        document.update(elapsed_seconds=round(elapsed, 1), dagster_home=home, ui_command="creative-assets ui")
    if failures:
        print(f"✗ {failures} unit(s) or rollups failed", file=sys.stderr)
        return 1
    return 0


def run_brief(
    path: str,
    loaded,
    storage,
    instance,
    defs,
    units_per_run: int,
    quiet: dict | None = None,
    report: dict | None = None,
) -> int:
    """Register one brief, materialize its units in batched runs, roll it up; return failure count.
    ``report`` (if given) receives what happened, in the shape of the ``run`` JSON document."""
    from creative_assets.assets.rollup import summarise_campaign
    from creative_assets.brief_store import register_brief
    from creative_assets.cli_progress import RunProgress
    from creative_assets.jobs import unit_stages
    from creative_assets.local_instance import cli_run_tags
    from creative_assets.partitions import campaigns, creative_units
    from creative_assets.run_pool import RunOutcome, execute_batches

    quiet = quiet if quiet is not None else quiet_dagster(False)
    report = report if report is not None else {}
    record, created = register_brief(storage, loaded, Path(path).read_bytes())
    print(
        f"\n• brief {record.campaign_id} v{record.version} {'registered' if created else 'unchanged'} "
        f"in {storage.uri(layout.brief_prefix(record.campaign_id))}"
    )
    unit_keys = [str(u) for u in record.unit_keys()]
    existing = set(instance.get_dynamic_partitions(creative_units.name))
    new_keys = [k for k in unit_keys if k not in existing]
    if new_keys:
        instance.add_dynamic_partitions(creative_units.name, new_keys)
    if not instance.has_dynamic_partition(campaigns.name, record.campaign_id):
        instance.add_dynamic_partitions(campaigns.name, [record.campaign_id])
    print(f"• {len(unit_keys)} creative units ({len(new_keys)} new) on instance {settings.dagster_home()}")
    report.update(campaign=record.campaign_id, version=record.version, registered=created, runs=[])

    job = defs.resolve_job_def("creative_pipeline")
    ordered = instance.get_dynamic_partitions(creative_units.name)
    slots = settings.parallel_runs()
    batches = unit_batches(
        ordered,
        unit_keys,
        {**cli_run_tags(), VERSION_TAG: str(record.version)},
        size=units_per_run,
        lead=settings.first_batch_units(),  # the first creatives on disk in seconds
        slots=slots,
    )
    stages = [a.key.to_user_string() for a in unit_stages]
    failed = 0
    done = 0
    not_built: dict[str, str] = {}  # unit -> why it has no selection (its run failed)
    count = len(batches)

    def started(n: int, batch, where: str) -> None:
        print(
            f"• run {n + 1}/{count}: {len(batch.units)} unit(s) {batch.first} … {batch.last} ({where})",
            flush=True,
        )

    def finished(n: int, batch, outcome: RunOutcome) -> None:
        nonlocal done, failed
        done += len(batch.units)
        progress.catch_up()  # the run's progress lines before its verdict
        _print_check_findings(outcome)
        label = f"run {n + 1}/{count}"
        if outcome.success:
            print(
                f"  ✓ {label}: {done}/{len(unit_keys)} units processed ({outcome.seconds:.1f}s, run {outcome.run_id[:8]})",
                flush=True,
            )
        else:
            failed += len(batch.units)
            for step, reason in outcome.failed_steps:
                print(f"  ✗ {step}: {reason}", file=sys.stderr)
            print(
                f"  ✗ {label}: run {outcome.run_id or '(not started)'} failed (stack traces, if any, are in the "
                "Dagster UI under Runs)",
                file=sys.stderr,
            )
            why = (
                "; ".join(f"{step}: {reason}" for step, reason in outcome.failed_steps)[:300]
                or "its run failed"
            )
            not_built.update({u: f"run {outcome.run_id[:8]} failed: {why}" for u in batch.units})

    progress = RunProgress(
        instance, unit_keys, stages, label=f"{len(unit_keys)} units x {len(stages)} stages"
    )
    with progress:
        batches = [replace(b, tags={**b.tags, **progress.tags, BATCH_TAG: uuid.uuid4().hex}) for b in batches]
        # in process (the lead run first) and on slots - 1 worker processes, or on the Celery workers
        outcomes = execute_batches(batches, job, instance, quiet, slots, started, finished)
    report["runs"] = [
        {
            "run_id": outcome.run_id,
            "success": outcome.success,
            "units": list(batch.units),
            "failed_steps": [{"step": step, "reason": reason} for step, reason in outcome.failed_steps],
        }
        for batch, outcome in zip(batches, outcomes, strict=True)
    ]

    rollup = defs.resolve_job_def("campaign_rollup").execute_in_process(
        instance=instance,
        partition_key=record.campaign_id,
        run_config=quiet,
        raise_on_error=False,
        tags={**pipeline_run_tags(), **cli_run_tags(), CAMPAIGN_TAG: record.campaign_id},
    )
    table = summarise_campaign(storage, record.campaign_id)
    creatives = storage.uri(layout.campaign_prefix(record.campaign_id))
    summary = storage.uri(layout.campaign_file(record.campaign_id, "summary.csv"))
    _print_table(table, not_built)
    print(f"Creatives: {creatives}")
    _print_videos(table)
    print(f"Summary:   {summary}")
    report.update(
        units=_unit_rows(table, not_built),
        rollup_success=bool(rollup.success),
        creatives_uri=creatives,
        summary_uri=summary,
    )
    return failed + _print_blocked(table) + (0 if rollup.success else 1)


def _unit_rows(table, not_built: dict[str, str] | None = None) -> list[dict]:
    """The summary table as JSON rows: unit, status (selected, blocked, outdated, not_built) and why."""
    rows = []
    not_built = not_built or {}
    ratio_cols = [c for c in table.columns if c.startswith("selected_") and c != "selected_candidate"]
    for _, row in table.iterrows():
        status = _status_label(row.get("status"))
        item: dict = {"unit": row["unit"], "status": status, "reason": _detail(row, not_built)}
        if status in ("selected", "outdated"):
            item["selected_candidate"] = int(row["selected_candidate"])
            item["score"] = round(float(row["score"]), 4)
            item["files"] = {
                c.removeprefix("selected_"): row[c] for c in ratio_cols if isinstance(row.get(c), str)
            }
        rows.append(item)
    return rows


def _status_label(status) -> str:
    """``missing`` in the summary means no selection exists: the unit was not built (yet)."""
    return "not_built" if status in (None, "missing") or status != status else str(status)


def _detail(row, not_built: dict[str, str]) -> str:
    status = _status_label(row.get("status"))
    if status == "blocked":
        return str(row.get("blocked_reason") or "")
    if status == "outdated":
        return str(row.get("status_detail") or "")
    if status == "not_built":
        return not_built.get(row["unit"], "no selection yet: the unit has not run, or its run failed")
    return ""


def _print_videos(table) -> None:
    """Where the selected videos are: one line per kind of file, with an example."""
    if table.empty or "videos" not in table:
        return
    files = [f for cell in table["videos"].dropna() for f in str(cell).split()]
    if not files:
        print("Videos:    none (no selected unit has a placement that plays motion)")
        return
    kinds: dict[str, list[str]] = {}
    for f in files:
        kinds.setdefault(f.rsplit("/", 1)[-1], []).append(f)
    for name, found in sorted(kinds.items()):
        print(
            f"Videos:    {len(found)} x {name} in <locale>/<product>/selected_creative/motion/, e.g. {found[0]}"
        )


def _print_blocked(table) -> int:
    """Units recorded as blocked (no compliant candidate), with the command that re-runs each alone."""
    if table.empty or "status" not in table:
        return 0
    blocked = table[table["status"] == "blocked"]
    for _, row in blocked.iterrows():
        print(f"  ✗ {row['unit']} blocked: {row['blocked_reason'][:600]}", file=sys.stderr)
        print(f"    re-run it alone: creative-assets rerun {row['unit']}", file=sys.stderr)
    return len(blocked)


def cmd_rerun(args: argparse.Namespace) -> int:
    """Re-materialize the whole chain of the named units only (e.g. a blocked unit), one run each,
    then refresh their campaigns' summaries."""
    _prepare_environment(args.out)
    import dagster as dg

    from creative_assets.assets.rollup import summarise_campaign
    from creative_assets.cli_progress import RunProgress
    from creative_assets.definitions import build_definitions
    from creative_assets.jobs import unit_stages
    from creative_assets.partitions import creative_units
    from creative_assets.run_pool import outcome_of
    from creative_assets.units import UnitKey

    stages = [a.key.to_user_string() for a in unit_stages]

    quiet = quiet_dagster(args.verbose)
    defs = build_definitions()
    bad = 0
    with (
        defs.resources["storage"].process_config_and_initialize_cm() as storage,
        dg.DagsterInstance.get() as instance,
    ):
        known = set(instance.get_dynamic_partitions(creative_units.name))
        unknown = [u for u in args.units if u not in known]
        if unknown:
            print(
                f"✗ unknown unit(s): {', '.join(unknown)} (not a partition of {creative_units.name})",
                file=sys.stderr,
            )
            return 2
        job = defs.resolve_job_def("creative_pipeline")
        campaigns_done = []
        for unit in args.units:
            campaign = UnitKey.parse(unit).campaign_id
            with RunProgress(instance, [unit], stages, label=unit) as progress:
                result = job.execute_in_process(
                    instance=instance,
                    partition_key=unit,
                    run_config=quiet,
                    raise_on_error=False,
                    tags={CAMPAIGN_TAG: campaign, **progress.tags},
                )
            _print_check_findings(outcome_of(result, 0.0))
            if not result.success:
                bad += 1
                print(f"  ✗ {unit}: run {result.run_id} failed", file=sys.stderr)
            else:
                print(f"  ✓ {unit}: run {result.run_id[:8]}")
            if campaign not in campaigns_done:
                campaigns_done.append(campaign)
        for campaign in campaigns_done:
            defs.resolve_job_def("campaign_rollup").execute_in_process(
                instance=instance, partition_key=campaign, run_config=quiet, raise_on_error=False
            )
            table = summarise_campaign(storage, campaign)
            table = table[table["unit"].isin(args.units)]
            _print_table(table)
            bad += _print_blocked(table)
    return 1 if bad else 0


def _print_check_findings(outcome) -> None:
    """Failed compliance checks of a run, one line per unit and check (✗ a blocking ERROR, by the
    check's name in the compliance registry; ! a warning or an advisory check)."""
    for f in outcome.findings:
        mark = "✗" if f.blocking else "!"
        print(
            f"  {mark} {f.check} [{f.severity}] {f.unit}: {f.text}",
            file=sys.stderr if f.blocking else sys.stdout,
        )


def _print_table(table, not_built: dict[str, str] | None = None) -> None:
    """unit, status, candidate, score and why (the reason a unit is blocked or not built); the files
    are under the Creatives folder printed below, at <locale>/<product>/selected_creative/<output>.png."""
    if table.empty:
        return
    rows = _unit_rows(table, not_built)
    print()
    width = max(len(r["unit"]) for r in rows)
    print(f"{'unit':<{width}}  {'status':<9}  cand  score  detail")
    for r in rows:
        candidate = str(r.get("selected_candidate", "-"))
        score = f"{r['score']:.3f}" if "score" in r else "-"
        detail = r["reason"] if len(r["reason"]) <= 70 else r["reason"][:69] + "…"
        print(f"{r['unit']:<{width}}  {r['status']:<9}  {candidate:>4}  {score:>5}  {detail}")


def cmd_review(args: argparse.Namespace) -> int:
    """Serve the review app on the pipeline's storage (README "Human review")."""
    _use_local_storage(args.out)
    import uvicorn

    from creative_assets.definitions import build_storage, configured_credentials
    from creative_assets.identity.commands import open_store
    from creative_assets.identity.config import IdentitySettings
    from creative_assets.review.app import create_app

    try:
        settings = IdentitySettings.from_env()
    except (ValueError, OSError) as exc:
        print(f"✗ identity settings: {exc}", file=sys.stderr)
        return 2
    identity = open_store(settings)
    password = identity.first_run_admin()
    if password:
        print(
            "No accounts yet: created the admin account.\n\n"
            f"    account: admin\n    one-time password: {password}\n\n"
            "It is shown only now; sign in and choose a new password. Add people with "
            "`creative-assets users add`.\n"
        )
    oidc = None
    if settings.oidc:
        from creative_assets.identity.oidc import OIDCClient

        oidc = OIDCClient(settings.oidc, identity)
    with (
        build_storage().process_config_and_initialize_cm() as storage,
        configured_credentials() as credentials,
    ):
        print(
            f"Reviewing creatives in {storage.uri(layout.CAMPAIGNS_ROOT)}\nOpen http://{args.host}:{args.port}/"
        )
        policy = credentials.verify_policy()  # C2PA: no key here
        uvicorn.run(
            create_app(storage, identity, settings, oidc=oidc, credentials=policy),
            host=args.host,
            port=args.port,
            log_level="warning",
        )
    return 0


def cmd_migrate_layout(args: argparse.Namespace) -> int:
    """Move stage folders written before stages had one name (docs/ARCHITECTURE.md "Storage layout")."""
    _use_local_storage(args.out)
    from creative_assets.definitions import build_storage
    from creative_assets.layout_migration import migrate_layout

    with build_storage().process_config_and_initialize_cm() as storage:
        report = migrate_layout(storage)
        print(f"✓ {storage.uri(layout.CAMPAIGNS_ROOT)}: {report.summary()}")
    return 1 if report.conflicts else 0


def cmd_ui(args: argparse.Namespace) -> int:
    """Start the Dagster UI (``dagster dev``) on the instance ``run`` uses and this code location."""
    _prepare_environment(args.out)
    import shutil

    local = Path(sys.executable).with_name("dagster")
    dagster = str(local) if local.exists() else shutil.which("dagster")
    if dagster is None:
        print("✗ the dagster command is not installed in this environment", file=sys.stderr)
        return 2
    if not settings.is_set(settings.INBOX_TICK_ENV):  # the local profile: a dropped brief starts at once
        settings.override(settings.INBOX_TICK_ENV, str(settings.LOCAL_INBOX_TICK_SECONDS))
    command = [dagster, "dev", "-m", "creative_assets.definitions", "-h", args.host, "-p", str(args.port)]
    print(f"DAGSTER_HOME={settings.dagster_home()} dagster {' '.join(command[1:])}", flush=True)
    if args.print_only:
        return 0
    os.execve(dagster, command, dict(os.environ))  # replaces this process; Ctrl-C stops the UI
    return 0  # pragma: no cover


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the description's line breaks and lists every argument with its help."""


def _add_common_run_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", metavar="DIR", help=STORAGE_HELP)
    p.add_argument(
        "--verbose", "-v", action="store_true", help="also print Dagster's own log lines (DEBUG and up)"
    )


def build_parser() -> argparse.ArgumentParser:
    from creative_assets.credentials_cli import add_commands as add_credentials_commands
    from creative_assets.identity.commands import add_commands as add_identity_commands
    from creative_assets.status_cli import add_commands as add_status_commands
    from creative_assets.template_cli import add_commands as add_template_commands

    parser = argparse.ArgumentParser(
        prog="creative-assets",
        description=__doc__.strip(),
        epilog=EXIT_CODES,
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str, func) -> argparse.ArgumentParser:
        q = sub.add_parser(
            name, help=help, description=help, epilog=EXIT_CODES, formatter_class=_HelpFormatter
        )
        q.set_defaults(func=func)
        return q

    p = command(
        "validate", "validate a brief (YAML or JSON), its brand kit, images and cost preflight", cmd_validate
    )
    p.add_argument("brief", metavar="BRIEF", help="path of the brief file (.yaml, .yml or .json)")
    p.add_argument(
        "--json", action="store_true", help="print one JSON document (for scripts) instead of text"
    )
    p = command(
        "run", "register briefs and materialize all their creatives, with live per-unit progress", cmd_run
    )
    p.add_argument(
        "briefs", nargs="+", metavar="BRIEF", help="brief file(s); every one is validated before any runs"
    )
    _add_common_run_flags(p)
    p.add_argument(
        "--units-per-run",
        type=int,
        default=settings.units_per_run(),
        metavar="N",
        help=f"units batched into one run (default {settings.DEFAULT_UNITS_PER_RUN}, ${settings.UNITS_PER_RUN_ENV})",
    )
    p.add_argument(
        "--skip-preflight",
        action="store_true",
        help="run a brief the preflight would refuse (to see the final-pixel checks catch it)",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="print one JSON document on stdout at the end (progress and text go to stderr)",
    )
    p = command("rerun", "re-run the named units only (e.g. one that is blocked)", cmd_rerun)
    p.add_argument("units", nargs="+", metavar="UNIT", help="unit key <campaign>.<locale>.<product>")
    _add_common_run_flags(p)
    add_status_commands(sub)  # status CAMPAIGN|DROP (creative_assets/status_cli.py)
    p = command("ui", "start the Dagster UI on this instance ($DAGSTER_HOME) and code location", cmd_ui)
    p.add_argument("--out", metavar="DIR", help=STORAGE_HELP)
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=3000, help="port (default 3000)")
    p.add_argument("--print-only", action="store_true", help="print the command instead of starting it")
    p = command("review", "serve the review web app (approve, request changes)", cmd_review)
    p.add_argument("--out", metavar="DIR", help=STORAGE_HELP)
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8081, help="port (default 8081)")
    p = command(
        "migrate-layout",
        "rename stage folders written by an older version to the stage names",
        cmd_migrate_layout,
    )
    p.add_argument("--out", metavar="DIR", help=STORAGE_HELP)
    command("schema", "print the brief's JSON Schema", cmd_schema)
    add_credentials_commands(sub)  # credentials init | show (creative_assets/credentials_cli.py)
    add_template_commands(sub)  # template list | validate | preview | schema; placements
    add_identity_commands(sub)  # users, tokens, audit
    return parser


def main(argv: list[str] | None = None) -> int:
    silence_chosen_api_warnings()  # the beta/preview Dagster APIs chosen on purpose (dagster_warnings.py)
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:  # `creative-assets validate … | head`: the reader left, not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        print("✗ interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
