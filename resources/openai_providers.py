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
  cached) for materialization metadata; prices are configuration.
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
from creative_assets.prompts import (
    API_SIZES,
    COPY_SCHEMA,
    NOTES_SCHEMA,
    context_messages,
    copy_messages,
    image_prompt,
)
from creative_assets.render.candidates import CandidatePlan
from creative_assets.stages import BrandedCandidates, ContextPack, LocalizedCopy, UnitBrief
from resources.providers import CandidateDraft, ContextProvider, CopyProvider, ImageProvider
from resources.storage import CreativeStorage

_GATE_LOCK = threading.Lock()
DEFAULT_IMAGE_PRICES = {"1024x1024": 0.042, "1024x1536": 0.063, "1536x1024": 0.063}


class OpenAIResource(dg.ConfigurableResource):
    """Connection to an OpenAI-compatible API."""

    api_key: str = Field(description="From OPENAI_API_KEY; never logged.")
    base_url: str | None = Field(None, description="OPENAI_BASE_URL for self-hosted compatible servers.")
    timeout_seconds: float = Field(120.0, gt=0)
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

            self._client = openai.OpenAI(
                api_key=self.api_key,
                base_url=self.base_url or None,
                max_retries=self.max_retries,
                timeout=self.timeout_seconds,
            )
        return self._client

    def endpoint(self) -> str:
        return self.base_url or "https://api.openai.com/v1"

    def call(self, kind: str, fn):
        """Run one API call, turning client errors into failures that say what to fix. At most
        ``max_concurrent_requests`` calls are in flight at once through this resource, however many
        threads (units, candidates, variants) call it."""
        import openai

        if self._gate is None:
            with _GATE_LOCK:
                if self._gate is None:
                    self._gate = threading.BoundedSemaphore(self.max_concurrent_requests)
        try:
            with self._gate:
                return fn()
        except openai.AuthenticationError as exc:
            raise dg.Failure(f"{self.endpoint()} rejected OPENAI_API_KEY ({kind}): {exc.message}") from None
        except openai.BadRequestError as exc:
            raise dg.Failure(
                f"{self.endpoint()} refused the {kind} request (not retried): {exc.message}"
            ) from None
        except openai.RateLimitError as exc:
            raise dg.Failure(
                f"{kind}: still rate limited after {self.max_retries} retries: {exc.message}"
            ) from None
        except openai.APIStatusError as exc:
            raise dg.Failure(
                f"{kind}: {self.endpoint()} answered {exc.status_code} after {self.max_retries} retries: "
                f"{exc.message}"
            ) from None
        except (openai.APIConnectionError, openai.APITimeoutError) as exc:
            raise dg.Failure(
                f"{kind}: cannot reach {self.endpoint()} after {self.max_retries} retries: {exc}"
            ) from None
        except (openai.APIError, ValueError) as exc:  # the client raises JSONDecodeError on a non-JSON body
            raise dg.Failure(f"{kind}: malformed answer from {self.endpoint()}: {exc}") from None


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
        pack: ContextPack,
        kit: BrandKit,
        plan: CandidatePlan,
        product: Image.Image | None,
        headline_font: str,
    ) -> CandidateDraft:
        product_png = _png(product) if product is not None else None
        product_sha = hashlib.sha256(product_png).hexdigest()[:16] if product_png else None
        renders, calls, prompts = {}, [], {}
        for ratio, layout in plan.layouts.items():
            prompt = image_prompt(unit, pack, kit, plan, ratio, product is not None)
            size = API_SIZES[ratio]
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
        png_key = f"cache/openai/images/{cache_key}.png"
        meta_key = f"cache/openai/images/{cache_key}.json"
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
            response = self.openai.call(
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
            response = self.openai.call(
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
            "cost_usd": self.openai.image_usd.get(size, 0.0),
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
    key = f"cache/openai/chat/{cache_key}.json"
    if storage.exists(key):
        cached = json.loads(storage.read_text(key))
        return cached["result"], {**cached["call"], "cached": True, "cost_usd": 0.0, "latency_s": 0.0}
    client = openai_res.client()
    started = time.perf_counter()
    response = openai_res.call(
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
        "cost_usd": round(
            tokens_in * openai_res.text_input_usd_per_million / 1e6
            + tokens_out * openai_res.text_output_usd_per_million / 1e6,
            6,
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

    def write(self, unit: UnitBrief, pack: ContextPack, branded: BrandedCandidates) -> LocalizedCopy:
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

    def build(self, unit: UnitBrief, kit: BrandKit) -> ContextPack:
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
