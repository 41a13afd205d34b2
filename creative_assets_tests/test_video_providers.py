"""The generative video provider's job lifecycle against the loopback OpenAI-compatible server (real
``openai`` client, asynchronous Videos endpoints): success, a retry after a 500, a failed job that
is created again, a refusal with a clear message, cancel while polling, and no second payment."""

from __future__ import annotations

import dagster as dg
import pytest

import resources.video_providers as vp
from creative_assets.layout import openai_video_keys
from creative_assets.video_probe import probe
from creative_assets_tests.openai_server import FakeOpenAI
from resources.openai_providers import OpenAIResource
from resources.storage import LocalCreativeStorage
from resources.video_providers import OfflineAnimator, OpenAIVideoProvider, VideoRequest


@pytest.fixture
def server():
    with FakeOpenAI() as fake:
        fake.video_work_seconds = 0.3
        yield fake


@pytest.fixture
def storage(tmp_path):
    return LocalCreativeStorage(root=str(tmp_path / "storage"))


def provider(server: FakeOpenAI, **kw) -> OpenAIVideoProvider:
    api = OpenAIResource(api_key=server.api_key, base_url=server.url, max_retries=2)
    return OpenAIVideoProvider(openai=api, poll_seconds=0.05, backoff_seconds=0, **kw)


REQUEST = VideoRequest(prompt="a slim citrus can on a teal summer backdrop", seconds=4, size="160x288")


def creates(server: FakeOpenAI) -> list[dict]:
    return [r for r in server.requests_to("/videos") if r["method"] == "POST"]


def test_a_job_runs_queued_to_succeeded_and_is_recorded(server, storage):
    p = provider(server)
    data, call = p.background(storage, REQUEST)
    info = probe(data)
    assert (info.codec, info.width, info.height) == ("h264", 160, 288)
    assert info.duration_s == pytest.approx(4, abs=0.1)
    job = p.job_record(storage, REQUEST)
    assert job.state == "succeeded" and job.progress == 100 and job.attempts == 1
    assert job.provider_job_id and job.provider_job_id in server.videos
    states = [h["state"] for h in job.history]
    assert states[0] == "queued" and "running" in states and states[-1] == "succeeded"
    running = [h["progress"] for h in job.history if h["state"] == "running"]
    assert running == sorted(running) and 0 < running[0] < 100  # progress read from the provider
    assert call["cached"] is False and call["answers_paid"] == 1 and call["job"] == job.provider_job_id
    assert storage.read_bytes(openai_video_keys(p.cache_key(REQUEST))[0]) == data


def test_rematerializing_never_pays_twice(server, storage):
    p = provider(server)
    first, _ = p.background(storage, REQUEST)
    before = len(server.requests)
    again, call = p.background(storage, REQUEST)
    assert again == first and call["cached"] is True and call["cost_usd"] == 0
    assert len(server.requests) == before  # not a single request
    assert server.answers_produced == 1
    # another prompt is another answer
    p.background(storage, REQUEST.model_copy(update={"prompt": "another scene"}))
    assert server.answers_produced == 2


def test_a_500_on_create_is_retried_by_the_client(server, storage):
    server.inject("500", path="/v1/videos")
    p = provider(server)
    data, _call = p.background(storage, REQUEST)
    assert probe(data).codec == "h264"
    assert [r["status"] for r in creates(server)] == [500, 200]
    assert p.job_record(storage, REQUEST).attempts == 1  # one job: the 500 created none


def test_a_job_the_provider_fails_is_created_again_with_backoff(server, storage, monkeypatch):
    slept = []
    real_sleep = vp.time.sleep
    monkeypatch.setattr(vp.time, "sleep", lambda s: (slept.append(s), real_sleep(min(s, 0.05))))
    server.fail_next_videos("internal_error", "The server had an error while generating.")
    p = provider(server)
    p = p.model_copy(update={"backoff_seconds": 1.5})
    data, _ = p.background(storage, REQUEST)
    job = p.job_record(storage, REQUEST)
    assert job.state == "succeeded" and job.attempts == 2 and len(creates(server)) == 2
    assert 1.5 in slept  # backoff before the second job
    assert "failed" in [h["state"] for h in job.history]
    assert probe(data).frames > 0


def test_a_refusal_fails_at_once_with_the_providers_message(server, storage):
    server.fail_next_videos("content_policy_violation", "The prompt was blocked by the safety system.")
    p = provider(server)
    with pytest.raises(dg.Failure) as failed:
        p.background(storage, REQUEST)
    assert (
        "The prompt was blocked by the safety system. (content_policy_violation)" in failed.value.description
    )
    assert failed.value.allow_retries is False
    job = p.job_record(storage, REQUEST)
    assert job.state == "failed" and job.attempts == 1 and "blocked" in job.error
    assert len(creates(server)) == 1  # a refusal is not bought again


def test_cancelling_the_run_cancels_the_provider_job(server, storage, monkeypatch):
    server.video_work_seconds = 30  # still running when the run is terminated
    polls = []

    def sleep(seconds):
        polls.append(seconds)
        if len(polls) == 3:  # Dagster raises this in the step when the run is terminated
            raise dg.DagsterExecutionInterruptedError()

    monkeypatch.setattr(vp.time, "sleep", sleep)
    p = provider(server)
    with pytest.raises(dg.DagsterExecutionInterruptedError):
        p.background(storage, REQUEST)
    job = p.job_record(storage, REQUEST)
    assert job.state == "cancelled" and "cancelled" in job.error
    assert server.videos[job.provider_job_id]["deleted"] is True
    assert [r["method"] for r in server.requests_to(f"/videos/{job.provider_job_id}")][-1] == "DELETE"
    # the next run starts a new job (the cancelled one is gone at the provider)
    server.video_work_seconds = 0.2
    monkeypatch.setattr(vp.time, "sleep", lambda s: None)
    p.background(storage, REQUEST)
    assert p.job_record(storage, REQUEST).state == "succeeded" and len(creates(server)) == 2


def test_a_step_retried_mid_job_resumes_the_job_instead_of_buying_another(server, storage):
    server.video_work_seconds = 0.3
    p = provider(server)
    # a step that died after creating the job: its record says queued, with the provider's job id
    created = p.openai.client().videos.create(
        model="sora-2", prompt=REQUEST.prompt, seconds="4", size=REQUEST.size
    )
    p._save(
        storage,
        vp.VideoJob(
            cache_key=p.cache_key(REQUEST),
            provider="openai",
            model="sora-2",
            prompt=REQUEST.prompt,
            seconds=4,
            size=REQUEST.size,
        ),
        provider_job_id=created.id,
        attempts=1,
    )
    p.background(storage, REQUEST)
    assert len(creates(server)) == 1 and p.job_record(storage, REQUEST).provider_job_id == created.id


def test_offline_animator_is_the_default_and_calls_nothing(storage):
    assert OfflineAnimator().background(storage, REQUEST) is None
    assert OfflineAnimator().provider_name == "offline-animator"


def test_a_generated_clip_is_the_background_and_the_brand_layers_still_pass_their_checks(server, storage):
    import numpy as np

    from creative_assets.motion_checks import CredentialResult, VideoExpectations, evaluate_video
    from creative_assets.render.motion import Animator, timing_for
    from creative_assets.video_encode import VideoTarget, encode_video
    from creative_assets_tests.test_motion import H, W, still_fixture

    clip, _ = provider(server).background(storage, REQUEST)
    raw, branded, backing, final, logos, source = still_fixture()
    animator = Animator(
        raw,
        branded,
        backing,
        final,
        logos,
        source,
        timing_for("text-top"),
        size=(W, H),
        fps=10,
        duration_s=6,
        background_clip=clip,
    )
    hold = [animator.frame(i) for i in (30, 40)]  # both settled: the copy is in, the end card not yet
    assert np.abs(hold[0].astype(int) - hold[1].astype(int)).mean() > 1  # the background moves
    target = VideoTarget("mp4", W, H, 10, 6.0)
    data, _ = encode_video(target, animator.frames)
    verified = CredentialResult(signed=True, passed=True)  # signing: test_motion_pipeline
    results = evaluate_video(data, target, animator, VideoExpectations(), verified)
    assert all(c.passed for c in results), [(c.check, [f.message for f in c.findings]) for c in results]


def test_terminating_the_dagster_run_deletes_the_provider_job(tmp_path):
    """The real path of a cancel: a brief dropped in the local inbox, a real ``dagster-daemon`` whose
    sensor launches the run through its code server, the run's ``motion_creatives`` step polling a
    provider job that would take 15 minutes; then the run is terminated the way the UI's Terminate
    does it (``instance.run_launcher.terminate``: CANCELING, then an interrupt in the run worker).
    The step's interrupt deletes the provider's job, the job record says cancelled and the run ends
    CANCELED."""
    import contextlib
    import json
    import os
    import shutil
    import time

    import yaml

    from creative_assets_tests.helpers import REPO, dagster_daemon, set_products
    from creative_assets_tests.pipeline_helpers import session_test_ca, small_brief

    brief = small_brief(tmp_path / "brief", locales=("en-US",), candidates=1, motion=True)
    data = yaml.safe_load(brief.read_text())
    set_products(data, data["products"][:1])
    data.pop("aspect_ratios", None)
    data["placements"] = ["meta-reels"]
    brief.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    root = tmp_path / "storage"
    shutil.copytree(brief.parent, root / "inbox" / "cancel")
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    log = tmp_path / "daemon.log"
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(FakeOpenAI())
        server.video_work_seconds = 900  # still running when the run is terminated
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("CREATIVE_ASSETS_", "OPENAI_"))},
            "DAGSTER_HOME": str(home),
            "CREATIVE_ASSETS_ROOT": str(root),
            "CREATIVE_ASSETS_INBOX_TICK_SECONDS": "2",
            "CREATIVE_ASSETS_FIRST_BATCH_UNITS": "0",
            "CREATIVE_ASSETS_C2PA_TEST_CA": session_test_ca(),
            "CREATIVE_ASSETS_VIDEO_PROVIDER": "openai",
            "OPENAI_API_KEY": server.api_key,
            "OPENAI_BASE_URL": server.url,
            "PYTHONPATH": str(REPO),
        }
        daemon = stack.enter_context(dagster_daemon(env, log))

        def wait(predicate, timeout: float, what: str):
            deadline = time.monotonic() + timeout
            while not predicate():
                assert daemon.poll() is None, f"dagster-daemon exited:\n{log.read_text()[-4000:]}"
                assert time.monotonic() < deadline, (
                    f"timed out waiting for {what}:\n{log.read_text()[-4000:]}"
                )
                time.sleep(1)

        wait(lambda: creates(server), 300, "the motion step to create a provider job")
        job_id = next(iter(server.videos))
        with dg.DagsterInstance.from_config(str(home)) as instance:
            (run,) = instance.get_runs(filters=dg.RunsFilter(job_name="creative_pipeline"))
            assert run.status == dg.DagsterRunStatus.STARTED
            assert instance.run_launcher.terminate(run.run_id)  # what the UI's Terminate calls
            wait(
                lambda: instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.CANCELED,
                120,
                "the run to end CANCELED",
            )
            # Dagster retries an interrupted step under its retry policy: the retried attempt
            # refuses to start (and to buy a new job) because the run is cancelling
            failures = [
                e.dagster_event.event_specific_data.error
                for e in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
            ]
            assert failures and "does not start" in failures[-1].message, failures
        wait(lambda: server.videos[job_id].get("deleted"), 30, "the provider job's DELETE")
        deletes = [r for r in server.requests_to(f"/videos/{job_id}") if r["method"] == "DELETE"]
        assert len(deletes) == 1
        (record,) = (root / "cache" / "openai" / "videos").glob("*.json")
        job = json.loads(record.read_text())
        assert job["state"] == "cancelled" and job["provider_job_id"] == job_id, job
        assert len(creates(server)) == 1  # nothing was created again after the cancel
