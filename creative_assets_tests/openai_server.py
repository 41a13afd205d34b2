"""A small OpenAI-compatible HTTP server for tests, spoken to by the real ``openai`` client.

Standard library only (``http.server`` + ``json`` + ``threading``) plus Pillow/numpy to paint images.
It listens on loopback; point a client at it with ``openai.OpenAI(api_key=server.api_key,
base_url=server.url)``::

    with FakeOpenAI() as server:
        client = openai.OpenAI(api_key=server.api_key, base_url=server.url, max_retries=2)
        server.inject("429", retry_after=1)
        client.chat.completions.create(model="gpt-4o-mini", messages=[...])
        assert len(server.requests) == 2

Endpoints: ``POST /v1/chat/completions`` (text, ``json_object`` and ``json_schema`` response formats,
vision parts), ``POST /v1/images/generations`` and ``POST /v1/images/edits`` (multipart), and the
asynchronous Videos API: ``POST /v1/videos`` (multipart) creates a job that is ``queued``, then
``in_progress`` with rising ``progress``, then ``completed`` (or ``failed``, see
:meth:`FakeOpenAI.fail_next_videos`) as :attr:`FakeOpenAI.video_work_seconds` pass; ``GET
/v1/videos/{id}``, ``GET /v1/videos/{id}/content`` (a real H.264 MP4 made with PyAV) and ``DELETE
/v1/videos/{id}`` (cancels a running job). Anything
else answers 404 in OpenAI's error shape. Faults (429/500/400-content-policy/401/slow/malformed) are
queued with :meth:`FakeOpenAI.inject` and consumed by the next matching requests.

The API key is never stored in :attr:`FakeOpenAI.requests`: the ``Authorization`` header is dropped
and only ``authorization_ok`` is kept.
"""

from __future__ import annotations

import base64
import email.message
import hashlib
import io
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

__all__ = ["FAULT_KINDS", "FakeOpenAI"]

FAULT_KINDS = (
    "429",
    "500",
    "400-content-policy",
    "401",
    "slow",
    "malformed",
    # the server does the work (and bills it), then fails: a 500, or the connection drops unanswered
    "500-after-work",
    "drop-after-work",
)


class _Drop(Exception):
    """Close the connection without answering (the work may already be done)."""


#: Sizes OpenAI's image models accept; any other ``WxH`` (1..4096 each side) is accepted too.
SUPPORTED_SIZES = ("1024x1024", "1024x1536", "1536x1024")
_SECRET_HEADERS = {"authorization", "api-key", "x-api-key", "openai-api-key"}
_LOCALE_RE = re.compile(r"(?<![A-Za-z])([a-z]{2,3})[-_]([A-Z]{2})(?![A-Za-z])")


def _error(message: str, type_: str, code: str | None = None, param: str | None = None) -> dict:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def _tokens(text: str) -> int:
    return len(text) // 4 + 1


class _Fault:
    __slots__ = ("delay", "kind", "path", "remaining", "retry_after")

    def __init__(self, kind: str, count: int, retry_after: float | None, delay: float, path: str | None):
        self.kind, self.remaining, self.retry_after, self.delay, self.path = (
            kind,
            count,
            retry_after,
            delay,
            path,
        )

    def matches(self, path: str) -> bool:
        if self.path is None:
            return True
        prefix = self.path if self.path.startswith("/") else "/" + self.path
        return path.startswith(prefix) or path.startswith("/v1" + prefix)


class _HTTPError(Exception):
    def __init__(self, status: int, body: dict):
        super().__init__(body["error"]["message"])
        self.status, self.body = status, body


# --------------------------------------------------------------------------------------------------
# Pictures
# --------------------------------------------------------------------------------------------------


def _parse_size(size: Any, *, auto: tuple[int, int] = (1024, 1024)) -> tuple[int, int]:
    if size is None or size == "auto":
        return auto
    m = re.fullmatch(r"\s*(\d+)\s*x\s*(\d+)\s*", str(size))
    if not m or not (0 < int(m[1]) <= 4096 and 0 < int(m[2]) <= 4096):
        raise _HTTPError(
            400,
            _error(
                f"Invalid value: '{size}'. Supported values are: 'auto', " + ", ".join(SUPPORTED_SIZES) + ".",
                "invalid_request_error",
                "invalid_value",
                "size",
            ),
        )
    return int(m[1]), int(m[2])


def paint(prompt: str, size: tuple[int, int]) -> Image.Image:
    """A deterministic RGB picture for ``prompt``: a two-colour gradient at a hashed angle plus a few
    shapes. Different prompts give visibly different pictures; the same prompt gives the same one."""
    digest = hashlib.sha256(prompt.encode("utf-8")).digest()
    w, h = size
    c1 = np.array(list(digest[0:3]), dtype=np.float32)
    c2 = np.array([255 - digest[3], digest[4], 255 - digest[5]], dtype=np.float32)
    angle = digest[6] / 255.0 * np.pi
    # the gradient is computed on a small grid and scaled up: a smooth ramp loses nothing, and the
    # server answers in milliseconds rather than adding a quarter second of its own to every call
    gw, gh = max(2, min(w, 96)), max(2, min(h, 96))
    ys, xs = np.mgrid[0:gh, 0:gw].astype(np.float32)
    t = xs / (gw - 1) * np.cos(angle) + ys / (gh - 1) * np.sin(angle)
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    pixels = c1 + (c2 - c1) * t[..., None]
    small = Image.fromarray(pixels.clip(0, 255).astype(np.uint8), "RGB")
    img = small.resize((w, h), Image.Resampling.BILINEAR)
    draw = ImageDraw.Draw(img)
    for i in range(4):
        b = digest[8 + i * 6 : 14 + i * 6]
        cx, cy = b[0] / 255 * w, b[1] / 255 * h
        r = (0.08 + b[2] / 255 * 0.2) * min(w, h)
        fill = (b[3], b[4], b[5])
        box = (cx - r, cy - r, cx + r, cy + r)
        shape = b[2] % 3
        if shape == 0:
            draw.ellipse(box, fill=fill)
        elif shape == 1:
            draw.rectangle(box, fill=fill)
        else:
            draw.polygon([(cx, cy - r), (cx + r, cy + r), (cx - r, cy + r)], fill=fill)
    return img


def _clip(prompt: str, size: tuple[int, int], seconds: int, fps: int = 24) -> bytes:
    """A real H.264 MP4 of ``seconds`` at ``size``: a gradient drifting in the prompt's colours."""
    import av  # only the videos endpoints need it

    w, h = size
    w, h = w - w % 2, h - h % 2
    digest = hashlib.sha256(prompt.encode()).digest()
    a = np.frombuffer(digest[:3], np.uint8).astype(np.float32)
    b = np.frombuffer(digest[3:6], np.uint8).astype(np.float32)
    x = np.linspace(0, 1, w, dtype=np.float32)[None, :, None]
    y = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"preset": "ultrafast"}
        for i in range(seconds * fps):
            t = (x + y + i / (seconds * fps)) % 1.0
            frame = (a * (1 - t) + b * t).astype(np.uint8)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        out.mux(stream.encode())
    return buf.getvalue()


def _encode(img: Image.Image, output_format: str | None) -> str:
    fmt = (output_format or "png").lower()
    buf = io.BytesIO()
    if fmt in ("jpeg", "jpg"):
        img.convert("RGB").save(buf, "JPEG", quality=90)
    elif fmt == "webp":
        img.save(buf, "WEBP", quality=90)
    elif fmt == "png":
        img.save(buf, "PNG", compress_level=1)
    else:
        raise _HTTPError(
            400,
            _error(
                f"Invalid value: '{output_format}'. Supported values are: 'png', 'jpeg', and 'webp'.",
                "invalid_request_error",
                "invalid_value",
                "output_format",
            ),
        )
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _image_usage(prompt: str, size: tuple[int, int], n: int, quality: Any, input_images: int = 0) -> dict:
    per_tile = {"low": 272, "medium": 1056, "high": 4160}.get(str(quality), 1056)
    output = per_tile * max(1, round(size[0] * size[1] / (1024 * 1024))) * n
    text = _tokens(prompt)
    image_in = 323 * input_images
    return {
        "input_tokens": text + image_in,
        "input_tokens_details": {"text_tokens": text, "image_tokens": image_in},
        "output_tokens": output,
        "total_tokens": text + image_in + output,
    }


# --------------------------------------------------------------------------------------------------
# JSON schema -> instance
# --------------------------------------------------------------------------------------------------

_VOCAB = {
    "headline": [
        "Made for Bright Days",
        "Fresh Looks, Fresh Start",
        "Your Summer, Upgraded",
        "Feel the Difference",
        "Light Up Every Moment",
    ],
    "cta": ["Shop now", "Learn more", "Get yours", "Discover more", "Try it today"],
    "message": [
        "Discover the new collection, crafted for everyday comfort.",
        "Bold colours and lasting quality for every occasion.",
        "Everything you love, now better than ever.",
        "Designed to keep up with you, wherever you go.",
    ],
    "reason": [
        "Consistent with the brand guidelines.",
        "Clear product focus and readable copy.",
        "Meets the brief's tone and audience.",
    ],
}
_KIND_BY_NAME = (
    (("cta", "call_to_action", "button", "action"), "cta"),
    (("headline", "title", "tagline", "slogan", "heading", "subject"), "headline"),
    (
        ("reason", "rationale", "explanation", "justification", "note", "feedback", "summary", "issue"),
        "reason",
    ),
    (
        ("message", "text", "body", "copy", "description", "caption", "content", "subline", "subhead"),
        "message",
    ),
)


def _pick(options: list[str], key: str) -> str:
    return options[int(hashlib.sha256(key.encode("utf-8")).hexdigest(), 16) % len(options)]


class _SchemaFaker:
    def __init__(self, root: dict, last_user: str, locale: str | None):
        self.root, self.last_user, self.locale = root, last_user, locale

    def _resolve(self, ref: str) -> dict:
        if not ref.startswith("#"):
            return {}
        node: Any = self.root
        for part in [p for p in ref[1:].split("/") if p]:
            part = part.replace("~1", "/").replace("~0", "~")
            node = node[int(part)] if isinstance(node, list) else node.get(part, {})
        return node if isinstance(node, dict) else {}

    def make(self, schema: Any, name: str = "value", depth: int = 0) -> Any:
        if not isinstance(schema, dict) or depth > 12:
            return None
        if "$ref" in schema:
            return self.make(
                {**self._resolve(schema["$ref"]), **{k: v for k, v in schema.items() if k != "$ref"}},
                name,
                depth + 1,
            )
        if "const" in schema:
            return schema["const"]
        if schema.get("enum"):
            return schema["enum"][0]
        for key in ("anyOf", "oneOf"):
            if schema.get(key):
                options = [o for o in schema[key] if not (isinstance(o, dict) and o.get("type") == "null")]
                return self.make((options or schema[key])[0], name, depth + 1)
        if schema.get("allOf"):
            merged: dict = {k: v for k, v in schema.items() if k != "allOf"}
            for sub in schema["allOf"]:
                sub = self._resolve(sub["$ref"]) if isinstance(sub, dict) and "$ref" in sub else sub
                for k, v in sub.items():
                    if k in ("properties", "$defs") and isinstance(v, dict):
                        merged[k] = {**merged.get(k, {}), **v}
                    elif k == "required":
                        merged[k] = [*merged.get(k, []), *v]
                    else:
                        merged.setdefault(k, v)
            return self.make(merged, name, depth + 1)
        typ = schema.get("type")
        if isinstance(typ, list):
            typ = next((t for t in typ if t != "null"), "null")
        if typ is None:
            if "properties" in schema:
                typ = "object"
            elif "items" in schema or "prefixItems" in schema:
                typ = "array"
            elif "default" in schema:
                return schema["default"]
            else:
                typ = "string"
        if typ == "object":
            props = schema.get("properties") or {}
            return {key: self.make(sub, key, depth + 1) for key, sub in props.items()}
        if typ == "array":
            if schema.get("prefixItems"):
                return [self.make(s, f"{name}_{i}", depth + 1) for i, s in enumerate(schema["prefixItems"])]
            count = max(2, int(schema.get("minItems", 0)))
            if "maxItems" in schema:
                count = min(count, int(schema["maxItems"]))
            item = schema.get("items") or {"type": "string"}
            singular = name[:-1] if name.endswith("s") and len(name) > 3 else name
            return [self.make(item, f"{singular}#{i}", depth + 1) for i in range(count)]
        if typ == "number":
            return self._clamp(0.5, schema, step=0.01)
        if typ == "integer":
            return int(self._clamp(1, schema, step=1))
        if typ == "boolean":
            return True
        if typ == "null":
            return None
        return self._string(schema, name)

    @staticmethod
    def _clamp(value: float, schema: dict, *, step: float) -> float:
        if "minimum" in schema:
            value = max(value, schema["minimum"])
        if "exclusiveMinimum" in schema and isinstance(schema["exclusiveMinimum"], int | float):
            value = max(value, schema["exclusiveMinimum"] + step)
        if "maximum" in schema:
            value = min(value, schema["maximum"])
        if "exclusiveMaximum" in schema and isinstance(schema["exclusiveMaximum"], int | float):
            value = min(value, schema["exclusiveMaximum"] - step)
        return value

    def _string(self, schema: dict, name: str) -> str:
        fmt = schema.get("format")
        if fmt == "date-time":
            return "2025-01-01T00:00:00Z"
        if fmt == "date":
            return "2025-01-01"
        if fmt in ("uri", "url"):
            return "https://example.com/asset"
        if fmt == "email":
            return "creative@example.com"
        if fmt == "uuid":
            return str(uuid.UUID(hashlib.md5(f"{name}|{self.last_user}".encode()).hexdigest()))
        base = name.split("#", 1)[0].lower()
        key = f"{name}|{self.last_user}"
        marker = f" «{self.locale}»" if self.locale else ""
        if base in ("locale", "language", "lang", "language_tag"):
            text, marker = self.locale or "en-US", ""
        elif any(w in base for w in ("color", "colour", "hex")):
            text, marker = "#" + hashlib.sha256(key.encode()).hexdigest()[:6].upper(), ""
        else:
            kind = next((k for words, k in _KIND_BY_NAME if any(w in base for w in words)), None)
            if kind:
                text = _pick(_VOCAB[kind], key)
            else:
                text = f"{base.replace('_', ' ').strip() or 'value'} {hashlib.sha256(key.encode()).hexdigest()[:6]}"
        min_len, max_len = int(schema.get("minLength", 0)), schema.get("maxLength")
        if max_len is not None and len(text) + len(marker) > int(max_len):
            keep = max(int(max_len) - len(marker), 0)
            text = text[:keep].rstrip() if keep else ""
            if not text:
                marker = marker.strip()[: int(max_len)]
        out = text + marker
        if len(out) < min_len:
            out = out + "." * (min_len - len(out))
        return out


def _message_text(message: dict) -> tuple[str, int]:
    """(text, number of image parts) of a chat message."""
    content = message.get("content")
    if isinstance(content, str):
        return content, 0
    texts, images = [], 0
    for part in content or []:
        if not isinstance(part, dict):
            continue
        if part.get("type") == "text":
            texts.append(str(part.get("text", "")))
        elif part.get("type") in ("image_url", "input_image"):
            images += 1
    return "\n".join(texts), images


# --------------------------------------------------------------------------------------------------
# Server
# --------------------------------------------------------------------------------------------------


class FakeOpenAI:
    """OpenAI-compatible server on ``127.0.0.1:<free port>``; see the module docstring."""

    def __init__(self, api_key: str = "sk-test-secret"):
        self.api_key = api_key
        self.url = ""
        self.requests: list[dict] = []
        #: answers the server produced (the work a provider bills), including ones lost to a fault
        self.answers_produced = 0
        self.max_concurrent = 0
        self.latency = 0.0
        self.chat_responder: Callable[[dict], dict] | None = None
        self._lock = threading.Lock()
        self._in_flight = 0
        self._faults: list[_Fault] = []
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        #: video jobs by id: created (monotonic), model, prompt, seconds, size, fail, deleted
        self.videos: dict[str, dict] = {}
        #: seconds from a video job's creation to its end (the first fifth of it queued)
        self.video_work_seconds = 0.4
        self._video_failures: list[tuple[str, str]] = []

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> FakeOpenAI:
        if self._httpd is not None:
            return self
        handler = type("_BoundHandler", (_Handler,), {"fake": self})
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler, bind_and_activate=False)
        httpd.daemon_threads = True
        httpd.block_on_close = False
        httpd.request_queue_size = 128
        httpd.server_bind()
        httpd.server_activate()
        self._httpd = httpd
        self.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-openai", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- test controls -----------------------------------------------------------------------------
    def inject(
        self,
        kind: str,
        count: int = 1,
        *,
        retry_after: float | None = None,
        delay: float = 0.0,
        path: str | None = None,
    ) -> None:
        """Queue ``count`` faults of ``kind`` (one of :data:`FAULT_KINDS`) for the next requests whose
        path starts with ``path`` (``"/v1/images"`` or ``"/images"``; any path if None). ``delay``
        seconds are slept before answering (the whole point of ``"slow"``, allowed for any kind)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULT_KINDS}")
        if count < 1:
            raise ValueError("count must be >= 1")
        with self._lock:
            self._faults.append(_Fault(kind, count, retry_after, delay, path))

    def reset(self) -> None:
        """Forget recorded requests, pending faults and ``max_concurrent``."""
        with self._lock:
            self.requests.clear()
            self._faults.clear()
            self.max_concurrent = 0
            self.answers_produced = 0

    def fail_next_videos(
        self, code: str = "internal_error", message: str = "The video could not be generated.", count: int = 1
    ) -> None:
        """The next ``count`` video jobs end ``failed`` with this error code and message."""
        with self._lock:
            self._video_failures.extend([(code, message)] * count)

    @property
    def pending_faults(self) -> int:
        with self._lock:
            return sum(f.remaining for f in self._faults)

    def requests_to(self, path: str) -> list[dict]:
        """Recorded requests whose path starts with ``path`` (with or without the ``/v1`` prefix)."""
        path = path if path.startswith("/") else "/" + path
        return [
            r for r in list(self.requests) if r["path"].startswith(path) or r["path"].startswith("/v1" + path)
        ]

    # -- internals used by the handler -------------------------------------------------------------
    def _enter(self, entry: dict) -> None:
        with self._lock:
            self.requests.append(entry)
            self._in_flight += 1
            self.max_concurrent = max(self.max_concurrent, self._in_flight)

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _take_fault(self, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(path):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    # -- videos (asynchronous jobs) ----------------------------------------------------------------
    def _video_create(self, form: dict | None) -> dict:
        form = form or {}
        prompt = str(form.get("prompt", "")).strip()
        if not prompt:
            raise _HTTPError(
                400, _error("Missing required parameter: 'prompt'.", "invalid_request_error", param="prompt")
            )
        size = str(form.get("size") or "720x1280")
        _parse_size(size)
        job = {
            "id": "video_" + uuid.uuid4().hex[:24],
            "created": time.monotonic(),
            "created_at": int(time.time()),
            "model": str(form.get("model") or "sora-2"),
            "prompt": prompt,
            "seconds": str(form.get("seconds") or "4"),
            "size": size,
            "fail": None,
            "deleted": False,
        }
        with self._lock:
            if self._video_failures:
                job["fail"] = self._video_failures.pop(0)
            self.videos[job["id"]] = job
            self.answers_produced += 1  # a job is billed once created
        return self._video_object(job)

    def _video_job(self, video_id: str) -> dict:
        job = self.videos.get(video_id)
        if job is None or job["deleted"]:
            raise _HTTPError(
                404, _error(f"Video '{video_id}' not found.", "invalid_request_error", "not_found")
            )
        return job

    def _video_object(self, job: dict) -> dict:
        elapsed = time.monotonic() - job["created"]
        work = max(self.video_work_seconds, 1e-3)
        status, progress, error, completed_at = "queued", 0, None, None
        if elapsed >= work:
            status, progress, completed_at = "completed", 100, int(time.time())
            if job["fail"]:
                status, error = "failed", {"code": job["fail"][0], "message": job["fail"][1]}
        elif elapsed >= work / 5:
            status, progress = "in_progress", min(99, int(100 * elapsed / work))
        return {
            "id": job["id"],
            "object": "video",
            "created_at": job["created_at"],
            "completed_at": completed_at,
            "error": error,
            "expires_at": None,
            "model": job["model"],
            "progress": progress,
            "prompt": job["prompt"],
            "remixed_from_video_id": None,
            "seconds": job["seconds"],
            "size": job["size"],
            "status": status,
        }

    def _video_content(self, job: dict) -> bytes:
        if self._video_object(job)["status"] != "completed":
            raise _HTTPError(
                404, _error("The video is not ready.", "invalid_request_error", "video_not_ready")
            )
        if "content" not in job:
            job["content"] = _clip(job["prompt"], _parse_size(job["size"]), int(job["seconds"]))
        return job["content"]

    def _videos(self, method: str, path: str, entry: dict) -> tuple[int, dict | bytes, dict[str, str]] | None:
        if method == "POST" and path == "/v1/videos":
            return 200, self._video_create(entry["form"]), {}
        match = re.fullmatch(r"/v1/videos/([A-Za-z0-9_]+)(/content)?", path)
        if match is None:
            return None
        job = self._video_job(match.group(1))
        if method == "GET" and match.group(2):
            return 200, self._video_content(job), {"Content-Type": "video/mp4"}
        if method == "GET":
            return 200, self._video_object(job), {}
        if method == "DELETE" and not match.group(2):
            job["deleted"] = True
            return 200, {"id": job["id"], "object": "video.deleted", "deleted": True}, {}
        return None

    # -- endpoints ---------------------------------------------------------------------------------
    def _chat(self, body: dict | None, entry: dict) -> dict:
        if not isinstance(body, dict):
            raise _HTTPError(
                400, _error("We could not parse the JSON body of your request.", "invalid_request_error")
            )
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise _HTTPError(
                400,
                _error(
                    "Missing required parameter: 'messages'.",
                    "invalid_request_error",
                    "missing_required_parameter",
                    "messages",
                ),
            )
        if not body.get("model"):
            raise _HTTPError(
                400, _error("you must provide a model parameter", "invalid_request_error", None, "model")
            )
        texts, vision, last_user = [], 0, ""
        for message in messages:
            if not isinstance(message, dict):
                continue
            text, images = _message_text(message)
            texts.append(text)
            vision += images
            if message.get("role") == "user":
                last_user = text
        entry["vision_images"] = vision
        all_text = "\n".join(texts)
        m = _LOCALE_RE.search(last_user) or _LOCALE_RE.search(all_text)
        locale = f"{m[1]}-{m[2]}" if m else None

        fmt = body.get("response_format") or {}
        if self.chat_responder is not None:
            answer = self.chat_responder(body)
            content = answer if isinstance(answer, str) else json.dumps(answer, ensure_ascii=False)
        elif fmt.get("type") == "json_schema":
            spec = fmt.get("json_schema") or {}
            schema = spec.get("schema") or {}
            content = json.dumps(_SchemaFaker(schema, last_user, locale).make(schema), ensure_ascii=False)
        elif fmt.get("type") == "json_object":
            content = json.dumps(
                {"text": _pick(_VOCAB["message"], last_user) + (f" «{locale}»" if locale else "")},
                ensure_ascii=False,
            )
        else:
            content = _pick(_VOCAB["message"], last_user) + (f" «{locale}»" if locale else "")

        prompt_tokens = _tokens(all_text) + 85 * vision
        completion_tokens = _tokens(content)
        return {
            "id": "chatcmpl-" + uuid.uuid4().hex[:24],
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "system_fingerprint": "fp_fake",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": None},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }

    def _images_generate(self, body: dict | None, entry: dict) -> dict:
        if not isinstance(body, dict):
            raise _HTTPError(
                400, _error("We could not parse the JSON body of your request.", "invalid_request_error")
            )
        prompt = body.get("prompt")
        if not isinstance(prompt, str) or not prompt:
            raise _HTTPError(
                400,
                _error(
                    "Missing required parameter: 'prompt'.",
                    "invalid_request_error",
                    "missing_required_parameter",
                    "prompt",
                ),
            )
        size = _parse_size(body.get("size"))
        n = self._n(body.get("n"))
        data = [
            {
                "b64_json": _encode(
                    paint(prompt if i == 0 else f"{prompt}#{i}", size), body.get("output_format")
                )
            }
            for i in range(n)
        ]
        return {
            "created": int(time.time()),
            "data": data,
            "usage": _image_usage(prompt, size, n, body.get("quality")),
        }

    def _images_edit(self, form: dict | None, entry: dict) -> dict:
        if form is None:
            raise _HTTPError(
                400,
                _error(
                    "Invalid content type: images/edits expects multipart/form-data.", "invalid_request_error"
                ),
            )
        files = [v for key in ("image", "image[]") for v in _as_list(form.get(key)) if isinstance(v, dict)]
        entry["input_images"] = len(files)
        prompt = form.get("prompt")
        if not isinstance(prompt, str) or not prompt:
            raise _HTTPError(
                400,
                _error(
                    "Missing required parameter: 'prompt'.",
                    "invalid_request_error",
                    "missing_required_parameter",
                    "prompt",
                ),
            )
        if not files:
            raise _HTTPError(
                400,
                _error(
                    "Missing required parameter: 'image'.",
                    "invalid_request_error",
                    "missing_required_parameter",
                    "image",
                ),
            )
        try:
            product = Image.open(io.BytesIO(files[0]["bytes"]))
            product.load()
        except Exception as err:
            raise _HTTPError(
                400,
                _error(
                    f"Invalid input image - format must be in ['png', 'jpeg', 'webp']: {err}",
                    "invalid_request_error",
                    "invalid_image_format",
                    "image",
                ),
            ) from err
        pw, ph = product.size
        auto = (
            (1024, 1024) if abs(pw - ph) <= 0.1 * max(pw, ph) else ((1024, 1536) if ph > pw else (1536, 1024))
        )
        size = _parse_size(form.get("size"), auto=auto)
        n = self._n(form.get("n"))
        product = product.convert("RGBA")
        scale = min(size[0] * 0.6 / pw, size[1] * 0.6 / ph)
        fitted = product.resize(
            (max(1, round(pw * scale)), max(1, round(ph * scale))), Image.Resampling.LANCZOS
        )
        data = []
        for i in range(n):
            canvas = paint(prompt if i == 0 else f"{prompt}#{i}", size).convert("RGBA")
            canvas.alpha_composite(fitted, ((size[0] - fitted.width) // 2, (size[1] - fitted.height) // 2))
            data.append({"b64_json": _encode(canvas.convert("RGB"), form.get("output_format"))})
        return {
            "created": int(time.time()),
            "data": data,
            "usage": _image_usage(prompt, size, n, form.get("quality"), input_images=len(files)),
        }

    @staticmethod
    def _n(value: Any) -> int:
        try:
            n = int(value) if value is not None else 1
        except (TypeError, ValueError):
            n = 0
        if not 1 <= n <= 10:
            raise _HTTPError(
                400,
                _error(
                    f"Invalid value: {value!r}. 'n' must be between 1 and 10.",
                    "invalid_request_error",
                    "invalid_value",
                    "n",
                ),
            )
        return n


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _parse_multipart(content_type: str, body: bytes) -> dict:
    """``{name: value}`` for a multipart/form-data body; a file is ``{"filename", "content_type",
    "bytes"}``; a repeated name gives a list."""
    header = email.message.Message()
    header["content-type"] = content_type
    boundary = header.get_param("boundary")
    if not boundary:
        raise _HTTPError(400, _error("Missing multipart boundary.", "invalid_request_error"))
    delimiter = b"\r\n--" + str(boundary).encode("latin-1")
    form: dict[str, Any] = {}
    for chunk in (b"\r\n" + body).split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        chunk = chunk.removeprefix(b"\r\n")
        raw_headers, _, data = chunk.partition(b"\r\n\r\n")
        part = email.message.Message()
        for line in raw_headers.decode("utf-8", "replace").split("\r\n"):
            if ":" in line:
                key, _, value = line.partition(":")
                part[key.strip()] = value.strip()
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        filename = part.get_param("filename", header="content-disposition")
        if filename is not None:
            value: Any = {
                "filename": str(filename),
                "content_type": part.get("content-type", "application/octet-stream"),
                "bytes": data,
            }
        else:
            value = data.decode("utf-8", "replace")
        name = str(name)
        if name in form:
            form[name] = [*_as_list(form[name]), value]
        else:
            form[name] = value
    return form


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeOpenAI/1.0"
    fake: FakeOpenAI  # set on the per-server subclass

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def _send(self, status: int, payload: bytes, extra: dict[str, str] | None = None) -> None:
        extra = dict(extra or {})
        self.send_response(status)
        self.send_header("Content-Type", extra.pop("Content-Type", "application/json"))
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("x-request-id", "req_" + uuid.uuid4().hex[:24])
        self.send_header("openai-processing-ms", "1")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    def _handle(self) -> None:
        fake = self.fake
        path = self.path.split("?", 1)[0]
        body = self._read_body()
        auth = self.headers.get("Authorization", "")
        headers = {k.lower(): v for k, v in self.headers.items() if k.lower() not in _SECRET_HEADERS}
        entry: dict[str, Any] = {
            "path": path,
            "method": self.command,
            "json": None,
            "form": None,
            "headers": headers,
            "authorization_ok": auth == f"Bearer {fake.api_key}",
            "started": time.time(),
            "finished": None,
            "status": None,
            "fault": None,
        }
        ctype = self.headers.get("Content-Type", "")
        fake._enter(entry)
        status, payload, extra = 500, b"", {}
        try:
            try:
                if ctype.startswith("multipart/form-data"):
                    entry["form"] = _parse_multipart(ctype, body)
                elif body:
                    try:
                        entry["json"] = json.loads(body)
                    except ValueError:
                        entry["json"] = None
                if fake.latency:
                    time.sleep(fake.latency)
                status, result, extra = self._dispatch(path, entry)
                payload = (
                    result if isinstance(result, bytes) else json.dumps(result, ensure_ascii=False).encode()
                )
            except _Drop:
                entry["status"] = "dropped"
                self.close_connection = True
                return  # no response at all: the client sees the connection close
            except _HTTPError as err:
                status, payload = err.status, json.dumps(err.body).encode()
            except Exception as err:  # a bug in the fake itself: answer like OpenAI, keep the reason
                entry["error"] = repr(err)
                status = 500
                payload = json.dumps(
                    _error("The server had an error while processing your request.", "server_error")
                ).encode()
            entry["status"] = status
            self._send(status, payload, extra)
        finally:
            entry["finished"] = time.time()
            fake._leave()

    def _dispatch(self, path: str, entry: dict) -> tuple[int, dict | bytes, dict[str, str]]:
        fake = self.fake
        if not entry["authorization_ok"]:
            if not self.headers.get("Authorization"):
                raise _HTTPError(
                    401,
                    _error(
                        "You didn't provide an API key. You need to provide your API key in an Authorization header "
                        "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                        "invalid_request_error",
                    ),
                )
            raise _HTTPError(
                401, _error("Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
            )
        fault = fake._take_fault(path)
        if fault is not None:
            entry["fault"] = fault.kind
            if fault.delay:
                time.sleep(fault.delay)
            if fault.kind == "429":
                extra = {
                    "x-ratelimit-limit-requests": "500",
                    "x-ratelimit-remaining-requests": "0",
                    "x-ratelimit-reset-requests": f"{fault.retry_after or 1:g}s",
                    "x-ratelimit-limit-tokens": "30000",
                    "x-ratelimit-remaining-tokens": "0",
                    "x-ratelimit-reset-tokens": f"{fault.retry_after or 1:g}s",
                }
                if fault.retry_after is not None:
                    extra["Retry-After"] = f"{fault.retry_after:g}"
                body = _error("Rate limit reached", "requests", "rate_limit_exceeded")
                return 429, body, extra
            if fault.kind == "500":
                return (
                    500,
                    {
                        "error": {
                            "message": "The server had an error",
                            "type": "server_error",
                            "param": None,
                            "code": None,
                        }
                    },
                    {},
                )
            if fault.kind == "400-content-policy":
                return (
                    400,
                    _error(
                        "Your request was rejected as a result of our safety system.",
                        "invalid_request_error",
                        "content_policy_violation",
                    ),
                    {},
                )
            if fault.kind == "401":
                return (
                    401,
                    _error("Incorrect API key provided.", "invalid_request_error", "invalid_api_key"),
                    {},
                )
            if fault.kind == "malformed":
                if path in ("/v1/chat/completions", "/v1/images/generations", "/v1/images/edits"):
                    return 200, b"{not json", {}
                return 404, _error(f"Invalid URL ({self.command} {path})", "invalid_request_error"), {}
            if fault.kind in ("500-after-work", "drop-after-work"):
                self._work(path, entry)  # produced and billed, then lost
                if fault.kind == "drop-after-work":
                    raise _Drop()
                return 500, _error("The server had an error", "server_error"), {}
            # "slow": fall through and answer normally
        video = fake._videos(self.command, path, entry)
        if video is not None:
            return video
        answer = self._work(path, entry)
        if answer is None:
            return 404, _error(f"Invalid URL ({self.command} {path})", "invalid_request_error"), {}
        return 200, answer, {}

    def _work(self, path: str, entry: dict) -> dict | None:
        """Produce the answer of an endpoint (counted in ``answers_produced``); None if unknown."""
        fake = self.fake
        answer = None
        if self.command == "POST" and path == "/v1/chat/completions":
            answer = fake._chat(entry["json"], entry)
        elif self.command == "POST" and path == "/v1/images/generations":
            answer = fake._images_generate(entry["json"], entry)
        elif self.command == "POST" and path == "/v1/images/edits":
            answer = fake._images_edit(entry["form"], entry)
        if answer is not None:
            with fake._lock:
                fake.answers_produced += 1
        return answer
