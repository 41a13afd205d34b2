"""``creative-assets``: validate a brief, run it end to end on the local Dagster instance, print the schema.

    creative-assets validate BRIEF
    creative-assets run BRIEF [BRIEF ...] [--out DIR] [--units-per-run N] [--skip-preflight]
    creative-assets rerun UNIT [UNIT ...] [--out DIR]
    creative-assets schema
    creative-assets template list|validate|preview|schema ...   (creative_assets/template_cli.py)
    creative-assets placements
    creative-assets review [--out DIR] [--host H] [--port P]
    creative-assets users add|list|disable|set-role|set-groups|reset-password ...
    creative-assets tokens create|list|revoke ...
    creative-assets audit verify | export [--since ...] [--format csv|json]

``run`` registers the brief in storage, adds its creative-unit partitions to the Dagster instance
(``$DAGSTER_HOME``, default ``var/dagster_home``: SQLite), materializes every unit through the
``creative_pipeline`` job in batched in-process runs, rolls the campaign up, and prints what it
produced and where. Exit codes: 0 ok, 1 a run failed or a unit is blocked (no compliant candidate;
``rerun`` re-runs just that unit), 2 the brief is invalid (incl. the preflight).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

from creative_assets import layout, settings
from creative_assets.dagster_warnings import silence_chosen_api_warnings
from creative_assets.errors import BriefError
from creative_assets.run_tags import CAMPAIGN_TAG, VERSION_TAG, pipeline_run_tags, unit_batches


def _print_problems(exc: BriefError) -> None:
    print(f"✗ {exc.render()}", file=sys.stderr)


def _print_warnings(loaded) -> None:
    for p in loaded.warnings:  # preflight WARN findings (the brief is accepted)
        print(f"! {loaded.source}: {p.field}: {p.message}")


def cmd_validate(args: argparse.Namespace) -> int:
    from creative_assets.brief import load_brief
    from creative_assets.template_cli import is_template_path, validate_templates

    if is_template_path(Path(args.brief)):  # a template file or a templates/ folder
        return validate_templates([Path(args.brief)])

    try:
        loaded = load_brief(args.brief)
    except BriefError as exc:
        _print_problems(exc)
        return 2
    _print_warnings(loaded)
    b = loaded.brief
    units = len(b.locales) * len(b.products)
    supplied = sum(1 for p in b.products if p.assets)
    print(f"✓ {args.brief}: campaign {b.campaign_id!r} for {loaded.brand_kit.display_name}")
    print(
        f"  {len(b.locales)} locales x {len(b.products)} products = {units} units; "
        f"{b.candidates} candidates x {len(b.output_keys())} outputs = {units * b.candidates * len(b.output_keys())} "
        f"creatives; product images supplied for {supplied}/{len(b.products)} products"
    )
    from creative_assets.input_policy import Budget, estimate_cost

    budget = Budget.from_env()
    cost = estimate_cost(len(b.locales), len(b.products), b.candidates, len(b.output_keys()), budget)
    print(
        f"  cost preflight: about {cost.calls:,} provider calls (image: {budget.image_provider}, text: "
        f"{budget.text_provider}), ${cost.usd:,.2f}; budget {budget.max_calls:,} calls, ${budget.max_usd:,.2f}"
    )
    missing = [loc for loc in b.locales if loc != b.source_locale and loc not in b.localized_messages]
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
    _prepare_environment(args.out)
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
    if invalid:
        return 2
    defs = build_definitions()  # after --out/DAGSTER_HOME are in the environment
    failures = 0
    # the _cm form: S3 storage has setup/teardown (its client is made per use, never at load time)
    with (
        defs.resources["storage"].process_config_and_initialize_cm() as storage,
        dg.DagsterInstance.get() as instance,
    ):
        for path, brief in loaded:
            failures += run_brief(path, brief, storage, instance, defs, args.units_per_run)
    print(
        f"\nFinished in {time.perf_counter() - started:.1f}s. "
        "Browse lineage with: dagster dev -w workspace.yaml"
    )
    if failures:
        print(f"✗ {failures} unit(s) or rollups failed", file=sys.stderr)
        return 1
    return 0


def run_brief(path: str, loaded, storage, instance, defs, units_per_run: int) -> int:
    """Register one brief, materialize its units in batched runs, roll it up; return failure count."""
    from creative_assets.assets.rollup import summarise_campaign
    from creative_assets.brief_store import register_brief
    from creative_assets.execution import execute_pipeline
    from creative_assets.local_instance import cli_run_tags
    from creative_assets.partitions import campaigns, creative_units

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

    job = defs.resolve_job_def("creative_pipeline")
    ordered = instance.get_dynamic_partitions(creative_units.name)
    batches = unit_batches(
        ordered, unit_keys, {**cli_run_tags(), VERSION_TAG: str(record.version)}, size=units_per_run
    )
    # Dagster's own log lines (with stack traces for failed steps) are for the Dagster UI, where the
    # run is: the CLI prints what failed, and why, itself.
    quiet = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
    failed = 0
    done = 0
    for n, batch in enumerate(batches, 1):
        t0 = time.perf_counter()
        print(
            f"• run {n}/{len(batches)}: {len(batch.units)} unit(s) {batch.first} … {batch.last}", flush=True
        )
        # in process, or on the Celery workers (CREATIVE_ASSETS_EXECUTOR)
        result = execute_pipeline(job, instance, run_config=quiet, tags=batch.tags)
        done += len(batch.units)
        _print_check_findings(result)
        if result.success:
            print(
                f"  ✓ {done}/{len(unit_keys)} units done ({time.perf_counter() - t0:.1f}s, run {result.run_id[:8]})",
                flush=True,
            )
        else:
            failed += len(batch.units)
            for event in result.all_events:
                if event.is_step_failure:
                    print(f"  ✗ {event.step_key}: {_failure_reason(event)}", file=sys.stderr)
            print(
                f"  ✗ run {result.run_id} failed (stack traces, if any, are in the Dagster UI under Runs)",
                file=sys.stderr,
            )

    rollup = defs.resolve_job_def("campaign_rollup").execute_in_process(
        instance=instance,
        partition_key=record.campaign_id,
        run_config=quiet,
        raise_on_error=False,
        tags={**pipeline_run_tags(), **cli_run_tags(), CAMPAIGN_TAG: record.campaign_id},
    )
    table = summarise_campaign(storage, record.campaign_id)
    _print_table(table)
    print(f"Creatives: {storage.uri(layout.campaign_prefix(record.campaign_id))}")
    _print_videos(table)
    print(f"Summary:   {storage.uri(layout.campaign_file(record.campaign_id, 'summary.csv'))}")
    return failed + _print_blocked(table) + (0 if rollup.success else 1)


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
    from creative_assets.definitions import build_definitions
    from creative_assets.partitions import creative_units
    from creative_assets.units import UnitKey

    defs = build_definitions()
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
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
            result = job.execute_in_process(
                instance=instance,
                partition_key=unit,
                run_config=quiet,
                raise_on_error=False,
                tags={CAMPAIGN_TAG: campaign},
            )
            _print_check_findings(result)
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


def _failure_reason(event) -> str:
    """Why a step failed, in words: the innermost error's message, no stack trace and no Dagster
    class names. A blocking compliance failure names its checks (the findings are printed above)."""
    err = event.step_failure_data.error if event.step_failure_data else None
    if err is None:
        return "failed"
    if err.cls_name == "DagsterAssetCheckFailedError":
        text = " ".join(_strip_class(err.message).split())
        return f"blocking compliance check(s) failed (see the ✗ lines above): {text[:300]}"
    while err.cause is not None and err.cls_name in (
        "DagsterExecutionStepExecutionError",
        "DagsterUserCodeExecutionError",
    ):
        err = err.cause
    first = next((line.strip() for line in _strip_class(err.message).splitlines() if line.strip()), "")
    return f"{first[:300]} ({err.cls_name})" if err.cls_name else first[:300]


def _strip_class(message: str) -> str:
    """``dagster._core.errors.SomeError: text`` -> ``text``."""
    return re.sub(r"^\s*[\w.]+(Error|Exception): ", "", message.strip())


def _print_check_findings(result) -> None:
    """Failed compliance checks of a run, one line per unit and check (ERROR ✗, WARN !)."""
    for event in result.all_events:
        if event.event_type_value != "ASSET_CHECK_EVALUATION":
            continue
        evaluation = event.event_specific_data
        if evaluation.passed:
            continue
        mark = "✗" if evaluation.severity.value == "ERROR" else "!"
        text = (evaluation.description or "")[:400]
        stream = sys.stderr if mark == "✗" else sys.stdout
        print(
            f"  {mark} {evaluation.check_name} [{evaluation.severity.value}] {evaluation.partition}: {text}",
            file=stream,
        )


def _print_table(table) -> None:
    if table.empty:
        return
    cols = ["unit", "status", "selected_candidate", "score"]
    ratio_cols = [c for c in table.columns if c.startswith("selected_") and c != "selected_candidate"]
    print()
    shown = table[[c for c in cols if c in table.columns]].copy()
    if ratio_cols:
        shown["selected files"] = table[ratio_cols[0]].map(
            lambda uri: (
                (
                    uri.rsplit("/", 1)[0]
                    + "/{"
                    + ",".join(c.removeprefix("selected_").replace(":", "x") for c in ratio_cols)
                    + "}.png"
                )
                if isinstance(uri, str)
                else ""
            )
        )
    print(shown.to_string(index=False))


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
    if args.out:
        os.environ["CREATIVE_ASSETS_STORAGE"] = "local"
        os.environ["CREATIVE_ASSETS_ROOT"] = str(Path(args.out).resolve())
    from creative_assets.definitions import build_storage
    from creative_assets.layout_migration import migrate_layout

    with build_storage().process_config_and_initialize_cm() as storage:
        report = migrate_layout(storage)
        print(f"✓ {storage.uri(layout.CAMPAIGNS_ROOT)}: {report.summary()}")
    return 1 if report.conflicts else 0


def main(argv: list[str] | None = None) -> int:
    from creative_assets.credentials_cli import add_commands as add_credentials_commands

    silence_chosen_api_warnings()  # the beta/preview Dagster APIs chosen on purpose (dagster_warnings.py)
    parser = argparse.ArgumentParser(prog="creative-assets", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser(
        "validate", help="validate a brief (YAML or JSON) and its brand kit and images, or template files"
    )
    p.add_argument("brief")
    p.set_defaults(func=cmd_validate)
    p = sub.add_parser("run", help="register briefs and materialize all their creatives")
    p.add_argument("briefs", nargs="+", metavar="BRIEF")
    p.add_argument("--out", help="local storage folder (default: $CREATIVE_ASSETS_ROOT or var/storage)")
    p.add_argument(
        "--units-per-run",
        type=int,
        default=settings.units_per_run(),
        help=f"units batched into one run (default {settings.DEFAULT_UNITS_PER_RUN}, {settings.UNITS_PER_RUN_ENV})",
    )
    p.add_argument(
        "--skip-preflight",
        action="store_true",
        help="run a brief the preflight would refuse (to see the final-pixel checks catch it)",
    )
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("rerun", help="re-run the named units only (e.g. one that is blocked)")
    p.add_argument("units", nargs="+", metavar="UNIT", help="<campaign>.<locale>.<product>")
    p.add_argument("--out", help="local storage folder (default: $CREATIVE_ASSETS_ROOT or var/storage)")
    p.set_defaults(func=cmd_rerun)
    p = sub.add_parser("review", help="serve the review web app (approve, request changes)")
    p.add_argument("--out", help="local storage folder (default: $CREATIVE_ASSETS_ROOT or var/storage)")
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8081, help="port (default 8081)")
    p.set_defaults(func=cmd_review)
    p = sub.add_parser("migrate-layout", help="rename stage folders written by an older version")
    p.add_argument("--out", help="local storage folder (default: $CREATIVE_ASSETS_ROOT or var/storage)")
    p.set_defaults(func=cmd_migrate_layout)
    p = sub.add_parser("schema", help="print the brief's JSON Schema")
    p.set_defaults(func=cmd_schema)
    add_credentials_commands(sub)  # credentials init | show (creative_assets/credentials_cli.py)
    from creative_assets.template_cli import add_commands as add_template_commands

    add_template_commands(sub)  # template list | validate | preview | schema; placements
    from creative_assets.identity.commands import add_commands

    add_commands(sub)  # users, tokens, audit
    args = parser.parse_args(argv)
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
