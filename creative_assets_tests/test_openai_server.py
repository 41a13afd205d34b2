"""The fake OpenAI server (openai_server.py) as seen by the real ``openai`` client."""

from __future__ import annotations

import base64
import io
import json
import threading
import time
import urllib.error
import urllib.request

import openai
import pytest
from PIL import Image
from pydantic import BaseModel

from creative_assets_tests.openai_server import FakeOpenAI

SCHEMA = {
    "type": "object",
    "properties": {
        "headline": {"type": "string", "maxLength": 60},
        "message": {"type": "string"},
        "cta": {"type": "string"},
        "tone": {"type": "string", "enum": ["playful", "formal"]},
        "hashtags": {"type": "array", "items": {"type": "string"}},
        "score": {"type": "number", "minimum": 0, "maximum": 1},
        "variants": {"type": "integer"},
        "on_brand": {"type": "boolean"},
    },
    "required": ["headline", "message", "cta", "tone", "hashtags", "score", "variants", "on_brand"],
    "additionalProperties": False,
}


@pytest.fixture
def server():
    with FakeOpenAI() as fake:
        yield fake


def _client(server: FakeOpenAI, *, max_retries: int = 0, api_key: str | None = None) -> openai.OpenAI:
    return openai.OpenAI(
        api_key=api_key or server.api_key, base_url=server.url, max_retries=max_retries, timeout=10
    )


def _png(color, size=(200, 100), mode="RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, color).save(buf, "PNG")
    return buf.getvalue()


def _decode(b64: str) -> Image.Image:
    img = Image.open(io.BytesIO(base64.b64decode(b64)))
    img.load()
    return img


def _chat(client: openai.OpenAI, text: str = "Write copy for de-DE", **kwargs):
    return client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": text}], **kwargs
    )


def test_chat_json_schema_returns_conforming_json(server):
    client = _client(server)
    resp = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[
            {"role": "system", "content": "You write ad copy."},
            {"role": "user", "content": "Campaign: summer sale. Locale: de-DE."},
        ],
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "copy", "schema": SCHEMA, "strict": True},
        },
        seed=7,
        temperature=0.2,
        max_completion_tokens=300,
    )
    assert resp.object == "chat.completion" and resp.model == "gpt-4o-mini"
    choice = resp.choices[0]
    assert choice.finish_reason == "stop" and choice.message.role == "assistant"
    data = json.loads(choice.message.content)
    assert set(SCHEMA["required"]) <= set(data)
    assert all("«de-DE»" in data[k] for k in ("headline", "message", "cta"))
    assert len(data["headline"]) <= 60
    assert data["tone"] == "playful" and len(data["hashtags"]) == 2
    assert data["score"] == 0.5 and data["variants"] == 1 and data["on_brand"] is True
    assert resp.usage.total_tokens == resp.usage.prompt_tokens + resp.usage.completion_tokens > 0
    # deterministic for the same request
    again = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Campaign: summer sale. Locale: de-DE."}],
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "copy", "schema": SCHEMA, "strict": True},
        },
    )
    assert json.loads(again.choices[0].message.content) == data
    assert server.requests[0]["json"]["seed"] == 7


def test_chat_parse_with_pydantic_refs(server):
    class Line(BaseModel):
        text: str
        locale: str

    class Copy(BaseModel):
        headline: Line
        lines: list[Line]
        confidence: float

    parsed = (
        _client(server)
        .chat.completions.parse(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "Localise for fr-FR"}],
            response_format=Copy,
        )
        .choices[0]
        .message.parsed
    )
    assert isinstance(parsed, Copy) and len(parsed.lines) == 2
    assert parsed.headline.locale == "fr-FR" and "«fr-FR»" in parsed.lines[0].text


def test_chat_responder_override(server):
    server.chat_responder = lambda body: {"echo": body["messages"][-1]["content"]}
    resp = _chat(_client(server), "hello", response_format={"type": "json_object"})
    assert json.loads(resp.choices[0].message.content) == {"echo": "hello"}


def test_vision_message_is_recorded(server):
    image = "data:image/png;base64," + base64.b64encode(_png((255, 0, 0))).decode()
    resp = _client(server).chat.completions.create(
        model="gpt-4o",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Is the product visible?"},
                    {"type": "image_url", "image_url": {"url": image}},
                    {"type": "image_url", "image_url": {"url": image, "detail": "low"}},
                ],
            }
        ],
    )
    assert resp.choices[0].message.content
    assert server.requests[-1]["vision_images"] == 2


def test_images_generate_png_of_requested_size(server):
    client = _client(server)
    resp = client.images.generate(model="gpt-image-1", prompt="a beach at sunset", size="1024x1536", n=1)
    img = _decode(resp.data[0].b64_json)
    assert img.format == "PNG" and img.size == (1024, 1536)
    assert resp.usage.total_tokens == resp.usage.input_tokens + resp.usage.output_tokens
    same = _decode(
        client.images.generate(model="gpt-image-1", prompt="a beach at sunset", size="1024x1536")
        .data[0]
        .b64_json
    )
    other = _decode(
        client.images.generate(model="gpt-image-1", prompt="a snowy forest", size="1024x1536")
        .data[0]
        .b64_json
    )
    assert same.tobytes() == img.tobytes()
    assert other.tobytes() != img.tobytes()
    assert _decode(
        client.images.generate(model="gpt-image-1", prompt="x", size="auto").data[0].b64_json
    ).size == (1024, 1024)


def test_images_edit_composites_product(server):
    client = _client(server)
    resp = client.images.edit(
        model="gpt-image-1",
        image=("product.png", _png((255, 0, 0)), "image/png"),
        prompt="product on a kitchen table",
        size="1536x1024",
    )
    img = _decode(resp.data[0].b64_json).convert("RGB")
    assert img.size == (1536, 1024)
    assert img.getpixel((768, 512)) == (255, 0, 0)  # the product sits in the centre
    form = server.requests[-1]["form"]
    assert server.requests[-1]["input_images"] == 1
    assert form["prompt"] == "product on a kitchen table" and form["image"]["filename"] == "product.png"

    client.images.edit(
        model="gpt-image-1",
        image=[("a.png", _png((0, 255, 0)), "image/png"), ("b.png", _png((0, 0, 255)), "image/png")],
        prompt="two products",
        size="1024x1024",
    )
    assert server.requests[-1]["input_images"] == 2


def test_429_retry_after_is_honoured(server):
    server.inject("429", retry_after=1)
    t0 = time.monotonic()
    resp = _chat(_client(server, max_retries=2))
    assert time.monotonic() - t0 >= 1.0
    assert resp.choices[0].message.content
    first, second = server.requests
    assert first["status"] == 429 and second["status"] == 200
    assert second["started"] - first["finished"] >= 0.95


def test_persistent_500_gives_up_after_retries(server):
    server.inject("500", count=10)
    with pytest.raises(openai.InternalServerError):
        _chat(_client(server, max_retries=1))
    assert len(server.requests) == 2


def test_content_policy_is_not_retried(server):
    server.inject("400-content-policy", count=5)
    with pytest.raises(openai.BadRequestError) as info:
        _client(server, max_retries=3).images.generate(model="gpt-image-1", prompt="nope", size="1024x1024")
    assert info.value.code == "content_policy_violation"
    assert len(server.requests) == 1


def test_wrong_key_and_injected_401(server):
    with pytest.raises(openai.AuthenticationError):
        _chat(_client(server, api_key="sk-wrong", max_retries=2))
    assert len(server.requests) == 1 and server.requests[0]["authorization_ok"] is False
    server.inject("401")
    with pytest.raises(openai.AuthenticationError):
        _chat(_client(server))


def test_missing_key_and_unknown_path(server):
    req = urllib.request.Request(server.url + "/chat/completions", data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(req, timeout=5)
    assert info.value.code == 401 and "error" in json.loads(info.value.read())

    req = urllib.request.Request(server.url + "/nope", headers={"Authorization": f"Bearer {server.api_key}"})
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(req, timeout=5)
    assert (
        info.value.code == 404 and json.loads(info.value.read())["error"]["type"] == "invalid_request_error"
    )


def test_malformed_response_raises(server):
    server.inject("malformed")
    with pytest.raises((openai.APIError, ValueError)):
        _chat(_client(server))


def test_fault_path_filter_and_slow(server):
    server.inject("500", path="/images")
    server.inject("slow", delay=0.2, path="/v1/chat")
    t0 = time.monotonic()
    _chat(_client(server))
    assert time.monotonic() - t0 >= 0.2
    assert server.pending_faults == 1
    with pytest.raises(openai.InternalServerError):
        _client(server).images.generate(model="gpt-image-1", prompt="p", size="1024x1024")
    assert server.pending_faults == 0
    with pytest.raises(ValueError):
        server.inject("teapot")


def test_concurrency_is_measured(server):
    server.latency = 0.3
    client = _client(server)
    errors: list[BaseException] = []

    def call():
        try:
            _chat(client)
        except BaseException as err:  # surfaced below
            errors.append(err)

    threads = [threading.Thread(target=call) for _ in range(6)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not errors
    assert server.max_concurrent == 6
    assert time.monotonic() - t0 < 1.5


def test_api_key_never_recorded(server):
    client = _client(server)
    _chat(client)
    client.images.edit(
        model="gpt-image-1", image=("p.png", _png((1, 2, 3)), "image/png"), prompt="x", size="1024x1024"
    )
    with pytest.raises(openai.AuthenticationError):
        _chat(_client(server, api_key="sk-other-secret"))
    dump = json.dumps(server.requests, default=repr)
    assert server.api_key not in dump and "sk-other-secret" not in dump
    assert all("authorization" not in r["headers"] for r in server.requests)


# -- videos (asynchronous jobs) --------------------------------------------------------------------
def test_video_jobs_go_queued_in_progress_completed_and_download_a_real_mp4(server):
    from creative_assets.video_probe import probe

    server.video_work_seconds = 0.5
    client = _client(server)
    job = client.videos.create(model="sora-2", prompt="citrus can, slow push-in", seconds="4", size="160x288")
    assert job.status == "queued" and job.progress == 0 and job.id.startswith("video_")
    seen = []
    while True:
        video = client.videos.retrieve(job.id)
        seen.append((video.status, video.progress))
        if video.status in ("completed", "failed"):
            break
        time.sleep(0.05)
    statuses = [s for s, _ in seen]
    assert "in_progress" in statuses and statuses[-1] == "completed"
    progress = [p for s, p in seen if s == "in_progress"]
    assert progress == sorted(progress) and seen[-1][1] == 100
    data = client.videos.download_content(job.id).read()
    info = probe(data)
    assert (info.codec, info.width, info.height) == ("h264", 160, 288) and info.duration_s == pytest.approx(
        4, abs=0.1
    )
    assert server.answers_produced == 1


def test_video_failures_and_cancel(server):
    server.video_work_seconds = 0.1
    client = _client(server)
    server.fail_next_videos("content_policy_violation", "The prompt was blocked.")
    failed = client.videos.create(model="sora-2", prompt="x", seconds="4", size="160x288")
    time.sleep(0.15)
    video = client.videos.retrieve(failed.id)
    assert video.status == "failed" and video.error.code == "content_policy_violation"
    assert video.error.message == "The prompt was blocked."
    with pytest.raises(openai.NotFoundError, match="not ready"):
        client.videos.download_content(failed.id)
    server.video_work_seconds = 30
    running = client.videos.create(model="sora-2", prompt="y", seconds="4", size="160x288")
    deleted = client.videos.delete(running.id)
    assert deleted.deleted is True and server.videos[running.id]["deleted"]
    with pytest.raises(openai.NotFoundError):
        client.videos.retrieve(running.id)
    with pytest.raises(openai.BadRequestError, match="prompt"):
        client.videos.create(model="sora-2", prompt=" ", seconds="4", size="160x288")
