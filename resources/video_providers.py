"""Video providers: where the moving background of a motion creative comes from.

- :class:`OfflineAnimator` (the default): no provider; the animator pushes in the candidate's own
  still visual (``render/motion.py``). Deterministic, free, offline.
- :class:`OpenAIVideoProvider`: a generative clip from the ``openai`` SDK's Videos API
  (``videos.create`` / ``retrieve`` / ``download_content``, ``delete`` to cancel) on OpenAI or any
  compatible server, used as the background the brand layers (copy, CTA, logo, end card) are
  composited over, so every check still reads the same layout plan. Other vendors (Runway, Pika)
  are adapters of :class:`VideoProvider`.

A provider job has a lifecycle, and every job is a record in storage (``layout.openai_video_keys``):
``queued`` -> ``running`` (with ``progress``) -> ``succeeded`` | ``failed`` | ``cancelled``, with
its ``attempts``, the provider's job id and the error in words. The record is written at every change,
so a retried or restarted step resumes the job it already paid for instead of creating another.

- **Never pay twice**: the answer is cached by content (model, prompt, seconds, size, reference
  hash); a cached answer is returned without any request.
- **Retries**: HTTP errors are retried by the client (``OpenAIResource``: 408/409/429/5xx with
  backoff); a job the provider reports ``failed`` with a server error is created again, up to
  ``max_attempts``, after ``backoff_seconds * 2**n``; a refusal (content policy) fails at once.
- **Cancel**: when the Dagster run is terminated the step is interrupted while it polls: the job is
  deleted at the provider (``videos.delete``) and recorded ``cancelled`` before the interrupt goes on.
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import datetime, timezone
from typing import Any, Literal

import dagster as dg
from pydantic import BaseModel, Field

from creative_assets.layout import openai_video_keys
from resources.openai_providers import OpenAIResource
from resources.storage import CreativeStorage

JobState = Literal["queued", "running", "succeeded", "failed", "cancelled"]
#: provider failure codes worth a new job (the provider's own trouble, not the request's)
RETRYABLE_CODES = frozenset({"internal_error", "server_error", "timeout", "unavailable"})


class VideoRequest(BaseModel):
    prompt: str
    seconds: int
    size: str  # WxH the provider renders (its own sizes; the animator scales to the placement)
    reference_sha256: str = ""  # the still the clip was asked to start from, when one is sent


class VideoJob(BaseModel):
    """One provider job, as stored."""

    cache_key: str
    provider: str
    model: str
    state: JobState = "queued"
    progress: int = 0
    attempts: int = 0
    provider_job_id: str | None = None
    error: str = ""
    prompt: str
    seconds: int
    size: str
    created_at: str = ""
    updated_at: str = ""
    history: list[dict] = []  # every state change: {at, state, progress, job}


class VideoProvider(dg.ConfigurableResource):
    """Interface: ``background`` returns a clip (MP4 bytes) and its job record, or None when the
    animator makes the motion from the still itself."""

    @property
    def provider_name(self) -> str:
        raise NotImplementedError

    def background(
        self, storage: CreativeStorage, request: VideoRequest, log: Any = None
    ) -> tuple[bytes, dict] | None:
        raise NotImplementedError


class OfflineAnimator(VideoProvider):
    """No generative provider: the offline animator pushes in the still's own visual."""

    @property
    def provider_name(self) -> str:
        return "offline-animator"

    def background(self, storage, request, log=None):
        return None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class VideoJobFailed(Exception):
    """The provider finished the job as failed."""

    def __init__(self, message: str, retryable: bool):
        super().__init__(message)
        self.retryable = retryable


class OpenAIVideoProvider(VideoProvider):
    """Generated background clips through the ``openai`` SDK's Videos API (see the module docstring)."""

    openai: OpenAIResource
    model: str = Field("sora-2", description="CREATIVE_ASSETS_VIDEO_MODEL")
    poll_seconds: float = Field(2.0, gt=0, le=60, description="Between two status reads of a job.")
    max_attempts: int = Field(3, ge=1, le=10, description="Jobs created for one request at most.")
    backoff_seconds: float = Field(5.0, ge=0, le=600, description="Before the n-th new job: this x 2**n.")
    job_timeout_seconds: float = Field(1800, gt=0, description="A job still running after this fails.")
    usd_per_second: float = Field(0.10, ge=0, description="Price estimate per second of generated video.")

    @property
    def provider_name(self) -> str:
        return f"openai:{self.model}"

    def cache_key(self, request: VideoRequest) -> str:
        payload = {"endpoint": "videos", "model": self.model, **request.model_dump()}
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()

    # -- records ------------------------------------------------------------------------------------

    def _save(self, storage: CreativeStorage, job: VideoJob, **change: Any) -> VideoJob:
        job = job.model_copy(update={**change, "updated_at": _now()})
        last = job.history[-1] if job.history else {}
        if (last.get("state"), last.get("progress"), last.get("job")) != (
            job.state,
            job.progress,
            job.provider_job_id,
        ):
            job.history = [
                *job.history,
                {
                    "at": job.updated_at,
                    "state": job.state,
                    "progress": job.progress,
                    "job": job.provider_job_id,
                },
            ]
        storage.write_text(openai_video_keys(job.cache_key)[1], job.model_dump_json(indent=2))
        return job

    def job_record(self, storage: CreativeStorage, request: VideoRequest) -> VideoJob | None:
        _, record_key = openai_video_keys(self.cache_key(request))
        if not storage.exists(record_key):
            return None
        return VideoJob.model_validate_json(storage.read_text(record_key))

    # -- lifecycle ----------------------------------------------------------------------------------

    def background(self, storage, request, log=None):
        key = self.cache_key(request)
        answer_key, _ = openai_video_keys(key)
        started = time.perf_counter()
        job = self.job_record(storage, request)
        if storage.exists(answer_key) and job is not None and job.state == "succeeded":
            return storage.read_bytes(answer_key), self._call(job, started, cached=True)
        if job is None or job.state in ("failed", "cancelled"):
            job = self._save(
                storage,
                VideoJob(
                    cache_key=key,
                    provider="openai",
                    model=self.model,
                    prompt=request.prompt,
                    seconds=request.seconds,
                    size=request.size,
                    created_at=_now(),
                    history=job.history if job is not None else [],
                ),
                state="queued",
                progress=0,
                attempts=0,
                provider_job_id=None,
                error="",
            )
        client = self.openai.client()
        while True:
            if job.provider_job_id is None:  # a new job (a queued/running one is resumed, never re-bought)
                if job.attempts:
                    time.sleep(self.backoff_seconds * 2 ** (job.attempts - 1))
                created, _ = self.openai.call(
                    "videos",
                    lambda: client.videos.create(
                        model=self.model,
                        prompt=request.prompt,
                        seconds=str(request.seconds),
                        size=request.size,
                    ),
                )
                job = self._save(
                    storage,
                    job,
                    provider_job_id=created.id,
                    attempts=job.attempts + 1,
                    state="queued",
                    progress=0,
                )
                if log:
                    log.info(
                        f"video job {created.id} queued at {self.openai.endpoint()} (attempt {job.attempts})"
                    )
            try:
                job = self._wait(storage, job, client)
            except VideoJobFailed as exc:
                job = self._save(storage, job, state="failed", error=str(exc))
                if exc.retryable and job.attempts < self.max_attempts:
                    job = self._save(storage, job, provider_job_id=None)
                    continue
                raise dg.Failure(
                    f"video provider job {job.provider_job_id} failed after {job.attempts} attempt(s): {exc}",
                    metadata={"video_job": job.model_dump(mode="json")},
                    allow_retries=False,
                ) from None
            except (dg.DagsterExecutionInterruptedError, KeyboardInterrupt):  # the run was terminated
                self._cancel(storage, job, client, log)
                raise
            # (any other error leaves the job running and recorded: the step's retry resumes it)
            data = self._download(client, job.provider_job_id)
            storage.write_bytes(answer_key, data)
            job = self._save(storage, job, state="succeeded", progress=100)
            return data, self._call(job, started, cached=False)

    def _download(self, client, job_id: str) -> bytes:
        data, _ = self.openai.call("videos", lambda: client.videos.download_content(job_id).read())
        return data

    def _wait(self, storage: CreativeStorage, job: VideoJob, client) -> VideoJob:
        deadline = time.monotonic() + self.job_timeout_seconds
        job_id = job.provider_job_id
        while True:
            video, _ = self.openai.call("videos", lambda: client.videos.retrieve(job_id))
            if video.status == "completed":
                return job
            if video.status == "failed":
                error = getattr(video, "error", None)
                code = getattr(error, "code", "") or ""
                message = getattr(error, "message", "") or "no reason given"
                raise VideoJobFailed(f"{message} ({code or 'no code'})", code in RETRYABLE_CODES)
            state = "running" if video.status == "in_progress" else "queued"
            if (state, video.progress) != (job.state, job.progress):
                job = self._save(storage, job, state=state, progress=int(video.progress or 0))
            if time.monotonic() > deadline:
                raise VideoJobFailed(f"still {video.status} after {self.job_timeout_seconds:g} s", True)
            time.sleep(self.poll_seconds)

    def _cancel(self, storage: CreativeStorage, job: VideoJob, client, log) -> None:
        """Delete the job at the provider (the Videos API's cancel) and record it cancelled."""
        error = ""
        try:
            client.videos.delete(job.provider_job_id)
        except Exception as exc:  # recorded; the interrupt that brought us here goes on regardless
            error = f"cancel request failed: {type(exc).__name__}: {exc}"
        self._save(storage, job, state="cancelled", error=error or "the Dagster run was cancelled")
        if log:
            log.warning(f"video job {job.provider_job_id} cancelled at the provider")

    def _call(self, job: VideoJob, started: float, cached: bool) -> dict:
        return {
            "endpoint": "videos",
            "model": job.model,
            "job": job.provider_job_id,
            "state": job.state,
            "cached": cached,
            "attempts": job.attempts,
            "answers_paid": 0 if cached else 1,
            "seconds": job.seconds,
            "latency_s": round(time.perf_counter() - started, 3),
            "cost_usd": 0.0 if cached else round(self.usd_per_second * job.seconds, 4),
        }
