"""Live progress of ``creative-assets run`` (creative_assets/cli_progress.py): the watcher finds the
run by its batch tag and reports each unit finishing each stage, as plain lines or a rich bar."""

from __future__ import annotations

import io

import dagster as dg

from creative_assets.cli_progress import RunProgress

UNITS = dg.StaticPartitionsDefinition(["camp.en-US.a", "camp.en-US.b"])


@dg.asset(partitions_def=UNITS)
def unit_brief() -> int:
    return 1


@dg.asset(partitions_def=UNITS, deps=[unit_brief])
def localized_copy() -> int:
    return 2


@dg.asset  # not a unit stage of the batch: never reported
def campaign_summary() -> int:
    return 3


JOB = dg.define_asset_job("progress_test", selection=[unit_brief, localized_copy], partitions_def=UNITS)
DEFS = dg.Definitions(assets=[unit_brief, localized_copy, campaign_summary], jobs=[JOB])


def _run(instance, progress: RunProgress, unit: str) -> None:
    result = DEFS.resolve_job_def("progress_test").execute_in_process(
        instance=instance, partition_key=unit, tags=progress.tags
    )
    assert result.success


def test_plain_lines_name_each_unit_and_stage_once():
    stream = io.StringIO()
    with dg.instance_for_test() as instance:
        # an unrelated run on the same instance is not followed
        DEFS.resolve_job_def("progress_test").execute_in_process(
            instance=instance, partition_key="camp.en-US.b"
        )
        with RunProgress(
            instance, ["camp.en-US.a"], ["unit_brief", "localized_copy"], stream=stream, fancy=False
        ) as progress:
            _run(instance, progress, "camp.en-US.a")
    lines = stream.getvalue().splitlines()
    assert lines == [
        "  · [1/2] camp.en-US.a: unit_brief",
        "  · [2/2] camp.en-US.a: localized_copy (unit done)",
    ]


def test_a_terminal_gets_a_rich_progress_bar():
    stream = io.StringIO()
    with dg.instance_for_test() as instance:
        with RunProgress(
            instance,
            ["camp.en-US.a"],
            ["unit_brief", "localized_copy"],
            stream=stream,
            fancy=True,
            label="run 1/1",
        ) as progress:
            _run(instance, progress, "camp.en-US.a")
        assert progress.seen == {("camp.en-US.a", "unit_brief"), ("camp.en-US.a", "localized_copy")}
    text = stream.getvalue()
    assert "run 1/1" in text and "2/2" in text and "·" not in text
