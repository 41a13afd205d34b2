"""OpenAI-compatible providers: images (generate, or edit around the supplied product photo), copy
translation with structured output (and vision), and market notes for the context pack.

They work with OpenAI and with any server that speaks the same wire format (vLLM, Ollama, LocalAI,
LiteLLM): set ``OPENAI_BASE_URL``. Behaviour shared by all three:

- **Retries**: the ``openai`` client retries timeouts, 408/409/429 and 5xx with exponential backoff
  and jitter and honours ``Retry-After``; ``max_retries`` is configuration. Other 4xx (bad key,
  content-policy refusal) fail at once with a message naming the cause.
- **Concurrency**: at most ``max_concurrent_requests`` requests at a time from one step: the step
  requests every unit of its batch concurrently (``parallelism``) and one gate in ``OpenAIResource``
  caps the requests in flight, however the threads nest; Dagster pools (``image_generation``, ``text_generation``) bound the steps across runs.
- **Never pay twice**: every response is cached in storage under ``cache/openai/`` by a hash of
  (endpoint, model, size, prompt, seed, input hashes); a revision with a new seed misses the cache.
- **Accounting**: every call returns a record (model, latency, tokens, images, estimated cost,
  cached, attempts, paid answers) for materialization metadata; prices are configuration. Retries
  are paid for: every attempt the provider may have done the work for counts (a 2xx, a 5xx, and a
  request that was sent but whose connection dropped before an answer); attempts refused before any
  work (429 and other 4xx, connection refused) do not. The estimate is the call's price times its
  paid answers, so a call answered on its third try after two 500s costs three answers.
- **Timeout**: ``timeout_seconds`` (``CREATIVE_ASSETS_OPENAI_TIMEOUT_SECONDS``, default 120) bounds
  each attempt, so one hung request costs at most that long per try.
- **Secrets**: the API key comes from ``OPENAI_API_KEY`` (an ``EnvVar``) and is never logged or
  written to metadata.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import dagster as dg
from PIL import Image, ImageOps
from pydantic import Field, PrivateAttr

from creative_assets.brand_kit import BrandKit
from creative_assets.context_pack import build_context_pack
from creative_assets.copywriting import brief_copy
from creative_assets.input_policy import strip_disallowed
from creative_assets.layout import openai_chat_cache_key, openai_image_cache_keys
from creative_assets.prompts import (
    COPY_SCHEMA,
    NOTES_SCHEMA,
    api_size,
    context_messages,
    copy_messages,
    image_prompt,
)
from creative_assets.render.candidates import CandidatePlan
from creative_assets.render.packshot import is_full_bleed
from creative_assets.stages import BrandedCandidates, LocaleContextPack, LocalizedCopy, UnitBrief
from resources.providers import CandidateDraft, ContextProvider, CopyProvider, ImageProvider
from resources.storage import CreativeStorage

_GATE_LOCK = threading.Lock()
_ATTEMPTS = threading.local()  # the attempts of the call in progress on this thread


def _record_attempt(outcome: str) -> None:
    attempts = getattr(_ATTEMPTS, "current", None)
    if attempts is not None:
        attempts.append(outcome)


def paid(outcome: str) -> bool:
    """Whether an attempt's outcome means the provider may have done (and billed) the work."""
    return outcome == "dropped" or (
        outcome.isdigit() and (outcome.startswith("2") or outcome.startswith("5"))
    )


def _httpx():
    """The HTTP library the installed ``openai`` client is built on (``httpx``, or ``httpx2`` in
    openai 3.x): the transport must come from the same one."""
    import importlib

    import openai

    client_class = next(c for c in openai.DefaultHttpxClient.__mro__[1:] if c.__name__ == "Client")
    return importlib.import_module(client_class.__module__.split(".")[0])


class _AccountingTransport:
    """An httpx transport wrapper that records every HTTP attempt of the call in progress: the
    status of each answer, ``dropped`` for a request sent whose connection closed (or timed out)
    before an answer, ``not_sent`` when the connection could not be made. The ``openai`` client
    retries through it, so retried attempts are seen one by one."""

    def __init__(self, inner):
        self._inner = inner

    def handle_request(self, request):
        httpx = _httpx()
        try:
            response = self._inner.handle_request(request)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout):
            _record_attempt("not_sent")
            raise
        except (
            httpx.RemoteProtocolError,
            httpx.ReadError,
            httpx.ReadTimeout,
            httpx.WriteError,
            httpx.WriteTimeout,
        ):
            _record_attempt("dropped")
            raise
        _record_attempt(str(response.status_code))
        return response

    def close(self) -> None:
        self._inner.close()

    def __enter__(self):
        self._inner.__enter__()
        return self

    def __exit__(self, *exc):
        self._inner.__exit__(*exc)


DEFAULT_IMAGE_PRICES = {"1024x1024": 0.042, "1024x1536": 0.063, "1536x1024": 0.063}


class OpenAIResource(dg.ConfigurableResource):
    """Connection to an OpenAI-compatible API."""

    api_key: str = Field(description="From OPENAI_API_KEY; never logged.")
    base_url: str | None = Field(None, description="OPENAI_BASE_URL for self-hosted compatible servers.")
    timeout_seconds: float = Field(
        120.0, gt=0, le=3600, description="Per attempt (CREATIVE_ASSETS_OPENAI_TIMEOUT_SECONDS)."
    )
    max_retries: int = Field(4, ge=0, le=10, description="Retries of 408/409/429/5xx/timeouts.")
    max_concurrent_requests: int = Field(4, ge=1, le=64, description="Parallel requests from one step.")

    text_input_usd_per_million: float = Field(0.15, ge=0)
    text_output_usd_per_million: float = Field(0.60, ge=0)
    image_usd: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_IMAGE_PRICES))

    _client: Any = PrivateAttr(default=None)
    _gate: Any = PrivateAttr(default=None)

    @property
    def worker_threads(self) -> int:
        """Threads a step uses to call the API: twice the request limit, so while some threads decode
        and compose answers that arrived, others hold every request slot (the gate in :meth:`call`
        still caps the requests in flight at ``max_concurrent_requests``)."""
        return 2 * self.max_concurrent_requests

    def client(self):
        if self._client is None:
            import openai

            transport = _AccountingTransport(_httpx().HTTPTransport())
            self._client = openai.OpenAI(
                api_key=self.api_key,
                base_url=self.base_url or None,
                max_retries=self.max_retries,
                timeout=self.timeout_seconds,
                http_client=openai.DefaultHttpxClient(transport=transport, timeout=self.timeout_seconds),
            )
        return self._client

    def endpoint(self) -> str:
        return self.base_url or "https://api.openai.com/v1"

    def call(self, kind: str, fn) -> tuple[Any, list[str]]:
        """Run one API call, turning client errors into failures that say what to fix; return the
        response and the outcome of every HTTP attempt it took (see :func:`paid`). At most
        ``max_concurrent_requests`` calls are in flight at once through this resource, however many
        threads (units, candidates, variants) call it. A failure that may pass (rate limit, 5xx,
        unreachable) lets the job's step retry policy try again later; a refusal does not."""
        import openai

        if self._gate is None:
            with _GATE_LOCK:
                if self._gate is None:
                    self._gate = threading.BoundedSemaphore(self.max_concurrent_requests)
        attempts: list[str] = []
        _ATTEMPTS.current = attempts
        try:
            with self._gate:
                return fn(), attempts
        except openai.AuthenticationError as exc:
            raise self._failure(
                f"{self.endpoint()} rejected OPENAI_API_KEY ({kind}): {exc.message}", attempts, False
            ) from None
        except openai.BadRequestError as exc:
            raise self._failure(
                f"{self.endpoint()} refused the {kind} request (not retried): {exc.message}", attempts, False
            ) from None
        except openai.RateLimitError as exc:
            raise self._failure(
                f"{kind}: still rate limited after {self.max_retries} retries: {exc.message}", attempts, True
            ) from None
        except openai.APIStatusError as exc:
            raise self._failure(
                f"{kind}: {self.endpoint()} answered {exc.status_code} after {self.max_retries} retries: "
                f"{exc.message}",
                attempts,
                exc.status_code >= 500 or exc.status_code in (408, 409),
            ) from None
        except (openai.APIConnectionError, openai.APITimeoutError) as exc:
            raise self._failure(
                f"{kind}: cannot reach {self.endpoint()} after {self.max_retries} retries: {exc}",
                attempts,
                True,
            ) from None
        except (openai.APIError, ValueError) as exc:  # the client raises JSONDecodeError on a non-JSON body
            raise self._failure(
                f"{kind}: malformed answer from {self.endpoint()}: {exc}", attempts, False
            ) from None
        finally:
            _ATTEMPTS.current = None

    @staticmethod
    def _failure(message: str, attempts: list[str], transient: bool) -> dg.Failure:
        answers = sum(map(paid, attempts))
        return dg.Failure(
            message,
            metadata={"api_attempts": len(attempts), "api_answers_paid": answers},
            allow_retries=transient,
        )


def _paid_cost(price: float, attempts: list[str]) -> dict[str, Any]:
    """Accounting fields of a successful call: its attempts, the answers paid and their cost."""
    answers = max(1, sum(map(paid, attempts)))  # at least the answer that arrived
    return {
        "attempts": max(1, len(attempts)),
        "answers_paid": answers,
        "cost_usd": round(price * answers, 6),
        "cost_usd_per_answer": round(price, 6),
    }


def _key(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def _cover(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Scale and centre-crop to exactly ``size`` (the API's nearest size to our ratio)."""
    return ImageOps.fit(image.convert("RGB"), size, Image.Resampling.LANCZOS)


class OpenAIImageProvider(ImageProvider):
    """Candidates from the Images API: ``images.edit`` around the supplied product photo (so the real
    product appears), ``images.generate`` when there is none."""

    openai: OpenAIResource
    storage: CreativeStorage
    model: str = Field("gpt-image-1", description="Image model, e.g. gpt-image-1 or dall-e-3.")
    quality: str = Field("medium")

    @property
    def provider_name(self) -> str:
        return "openai-images"

    @property
    def model_name(self) -> str:
        return self.model

    @property
    def supports_seed(self) -> bool:
        return False  # the Images API takes no seed: variation comes from the candidate's prompt

    @property
    def parallelism(self) -> int:
        return self.openai.worker_threads

    def draw(
        self,
        unit: UnitBrief,
        pack: LocaleContextPack,
        kit: BrandKit,
        plan: CandidatePlan,
        product: Image.Image | None,
        headline_font: str,
    ) -> CandidateDraft:
        if product is not None and is_full_bleed(product):  # a photo: the model edits it whole
            product = product.convert("RGB")
        product_png = _png(product) if product is not None else None
        product_sha = hashlib.sha256(product_png).hexdigest()[:16] if product_png else None
        renders, calls, prompts = {}, [], {}
        for ratio, layout in plan.layouts.items():
            prompt = image_prompt(unit, pack, kit, plan, ratio, product is not None)
            size = api_size(layout.width, layout.height)
            kind = "images.edit" if product_png else "images.generate"
            cache_key = _key(
                {
                    "kind": kind,
                    "model": self.model,
                    "size": size,
                    "quality": self.quality,
                    "prompt": prompt,
                    "seed": plan.seed,
                    "product": product_sha,
                }
            )
            data, call = self._fetch(kind, cache_key, prompt, size, product_png)
            calls.append(call)
            prompts[ratio] = prompt
            with Image.open(io.BytesIO(data)) as im:
                image = _cover(im, (layout.width, layout.height))
            # the model places the product itself: its region is the layout's (an estimate)
            renders[ratio] = (image, layout.product_box)
        first = next(iter(prompts.values()))
        return CandidateDraft(
            plan=plan,
            renders=renders,
            source="supplied" if product is not None else "generated",
            method=f"model:{kind}",
            prompt=first,
            calls=calls,
        )

    def _fetch(self, kind: str, cache_key: str, prompt: str, size: str, product_png: bytes | None):
        png_key, meta_key = openai_image_cache_keys(cache_key)
        if self.storage.exists(meta_key) and self.storage.exists(png_key):
            meta = json.loads(self.storage.read_text(meta_key))
            return self.storage.read_bytes(png_key), {
                **meta["call"],
                "cached": True,
                "cost_usd": 0.0,
                "latency_s": 0.0,
            }
        client = self.openai.client()
        started = time.perf_counter()
        if product_png is not None:
            response, attempts = self.openai.call(
                kind,
                lambda: client.images.edit(
                    model=self.model,
                    image=("product.png", product_png, "image/png"),
                    prompt=prompt,
                    size=size,
                    quality=self.quality,
                    n=1,
                ),
            )
        else:
            response, attempts = self.openai.call(
                kind,
                lambda: client.images.generate(
                    model=self.model, prompt=prompt, size=size, quality=self.quality, n=1
                ),
            )
        latency = time.perf_counter() - started
        item = response.data[0] if response.data else None
        if item is None or not getattr(item, "b64_json", None):
            raise dg.Failure(f"{kind}: {self.openai.endpoint()} returned no image data")
        data = base64.b64decode(item.b64_json)
        usage = getattr(response, "usage", None)
        call = {
            "kind": kind,
            "model": self.model,
            "size": size,
            "images": 1,
            "input_tokens": getattr(usage, "input_tokens", 0) or 0,
            "output_tokens": getattr(usage, "output_tokens", 0) or 0,
            "latency_s": round(latency, 3),
            **_paid_cost(self.openai.image_usd.get(size, 0.0), attempts),
            "cached": False,
        }
        self.storage.write_bytes(png_key, data)
        self.storage.write_text(meta_key, json.dumps({"call": call, "prompt": prompt}, ensure_ascii=False))
        return data, call


def _chat(
    openai_res: OpenAIResource,
    storage: CreativeStorage,
    model: str,
    messages: list[dict],
    schema_name: str,
    schema: dict,
    seed: int | None,
) -> tuple[dict, dict]:
    """A structured-output chat completion, cached; returns (parsed object, call record)."""
    cache_key = _key({"kind": "chat", "model": model, "messages": messages, "schema": schema, "seed": seed})
    key = openai_chat_cache_key(cache_key)
    if storage.exists(key):
        cached = json.loads(storage.read_text(key))
        return cached["result"], {**cached["call"], "cached": True, "cost_usd": 0.0, "latency_s": 0.0}
    client = openai_res.client()
    started = time.perf_counter()
    response, attempts = openai_res.call(
        "chat.completions",
        lambda: client.chat.completions.create(
            model=model,
            messages=messages,
            seed=seed,
            response_format={
                "type": "json_schema",
                "json_schema": {"name": schema_name, "schema": schema, "strict": True},
            },
        ),
    )
    latency = time.perf_counter() - started
    content = response.choices[0].message.content if response.choices else None
    try:
        result = json.loads(content or "")
    except json.JSONDecodeError as exc:
        raise dg.Failure(
            f"{model} did not return JSON for {schema_name}: {exc}; got {str(content)[:200]!r}"
        ) from None
    missing = [k for k in schema.get("required", []) if k not in result]
    if missing:
        raise dg.Failure(f"{model} answer for {schema_name} lacks {', '.join(missing)}")
    usage = response.usage
    tokens_in, tokens_out = (usage.prompt_tokens, usage.completion_tokens) if usage else (0, 0)
    call = {
        "kind": "chat.completions",
        "model": model,
        "input_tokens": tokens_in,
        "output_tokens": tokens_out,
        "images": 0,
        "latency_s": round(latency, 3),
        # a lost answer to the same request used about as many tokens as the one that arrived
        **_paid_cost(
            tokens_in * openai_res.text_input_usd_per_million / 1e6
            + tokens_out * openai_res.text_output_usd_per_million / 1e6,
            attempts,
        ),
        "cached": False,
    }
    storage.write_text(key, json.dumps({"result": result, "call": call}, ensure_ascii=False))
    return result, call


class OpenAICopyProvider(CopyProvider):
    """The brief's own translations are used verbatim; fields a locale lacks are translated by the
    model (structured output; the branded candidate is shown to vision models) and flagged as
    machine-translated."""

    openai: OpenAIResource
    storage: CreativeStorage
    model: str = Field("gpt-4o-mini")
    vision: bool = Field(True, description="Send the branded candidate to the model as context.")

    @property
    def provider_name(self) -> str:
        return "openai-copy"

    @property
    def parallelism(self) -> int:
        return self.openai.worker_threads

    def write(self, unit: UnitBrief, pack: LocaleContextPack, branded: BrandedCandidates) -> LocalizedCopy:
        base = brief_copy(unit, pack, self.provider_name)
        fields = [f for f in ("message", "cta") if "untranslated" in base.sources.get(f, "")]
        if not fields:
            return base.model_copy(update={"model": "none (brief supplies the copy)"})

        def translate(variant):
            cand = next(c for c in branded.candidates if c.index == variant.candidate)
            data_url = None
            if self.vision:
                render = next(iter(cand.renders.values()))
                thumb = branded.image(render.file).convert("RGB")
                thumb.thumbnail((512, 512))
                buf = io.BytesIO()
                thumb.save(buf, "JPEG", quality=80)
                data_url = "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()
            result, call = _chat(
                self.openai,
                self.storage,
                self.model,
                copy_messages(unit, pack, fields, data_url),
                "localized_copy",
                COPY_SCHEMA,
                cand.seed,
            )
            update = {}
            # model output follows the brief's character policy too: no control or bidi characters
            if "message" in fields:
                update["headline"] = strip_disallowed(str(result["headline"])).strip()[:140]
            if "cta" in fields:
                update["cta"] = strip_disallowed(str(result["cta"])).strip()[:40]
            return variant.model_copy(update=update), call

        with ThreadPoolExecutor(max_workers=self.openai.max_concurrent_requests) as pool:
            results = list(pool.map(translate, base.variants))
        sources = dict(base.sources)
        for field in fields:
            sources[field] = f"machine-translated by {self.model} from {unit.source_locale}"
        warnings = [w for w in base.warnings if not any(f"no {f} for" in w for f in fields)]
        warnings.append(
            f"{', '.join(fields)} machine-translated by {self.model}: have a native speaker review"
        )
        return base.model_copy(
            update={
                "variants": [v for v, _ in results],
                "sources": sources,
                "warnings": warnings,
                "model": self.model,
                "machine_translated": True,
                "calls": [c for _, c in results],
            }
        )


class OpenAIContextProvider(ContextProvider):
    """The built-in knowledge base, plus product- and market-specific notes from the model."""

    openai: OpenAIResource
    storage: CreativeStorage
    model: str = Field("gpt-4o-mini")

    @property
    def provider_name(self) -> str:
        return f"builtin-knowledge-base+openai:{self.model}"

    @property
    def parallelism(self) -> int:
        return self.openai.worker_threads

    def build(self, unit: UnitBrief, kit: BrandKit) -> LocaleContextPack:
        from creative_assets.locales import get_locale, knowledge_base_version

        pack = build_context_pack(
            unit, kit, get_locale(unit.locale), knowledge_base_version(), self.provider_name
        )
        result, call = _chat(
            self.openai,
            self.storage,
            self.model,
            context_messages(unit, pack),
            "market_notes",
            NOTES_SCHEMA,
            unit.product_seed(),
        )
        notes = [str(n).strip()[:300] for n in result.get("notes", []) if str(n).strip()][:5]
        return pack.model_copy(update={"notes": notes, "calls": [call]})
