"""Fuzzing the brief validator (issue 21): random and mutated briefs, as data and as text, only ever
raise BriefError. Bounded (max_examples, no deadline per example) so it runs in seconds in CI."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from creative_assets.brief import parse_brief_text, validate_brief
from creative_assets.errors import BriefError
from creative_assets_tests.helpers import SUMMER

BASE = yaml.safe_load(SUMMER.read_text())
_buf = io.BytesIO()
Image.new("RGB", (96, 96), (200, 30, 30)).save(_buf, "PNG")
PNG = _buf.getvalue()
#: CI runs 60 derandomized examples per test (seconds, the same every run);
#: CREATIVE_ASSETS_FUZZ_EXAMPLES=5000 explores randomly for as long as that takes.
_LONG = os.environ.get("CREATIVE_ASSETS_FUZZ_EXAMPLES")
FUZZ = settings(
    max_examples=int(_LONG or 60),
    derandomize=not _LONG,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
)


def read_asset(ref: str) -> bytes:
    if "missing" in ref:
        raise FileNotFoundError(2, "no such file")
    return PNG if ref.endswith(".png") else b"\xff\xd8\xff\xe0 truncated"


hostile_text = st.one_of(
    st.text(max_size=60),
    st.sampled_from(
        [
            "",
            ".",
            "..",
            "../x.png",
            "/etc/passwd",
            "\u202ecure\u202c",
            "\x1b[31m",
            "\ud800",
            "\u200b",
            "２０２６",
            "٢٠٢٦",
            "1:1",
            "assets/missing.png",
            "a.png",
            "x" * 5000,
            "2026-06-01",
            "2026-06-01T10:00:00",
        ]
    ),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    hostile_text,
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=6), st.dictionaries(hostile_text, children, max_size=6)
    ),
    max_leaves=30,
)


def _paths(data, prefix=()):
    yield prefix
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _paths(v, (*prefix, i))


PATHS = [p for p in _paths(BASE) if p]


def _only_brief_errors(data) -> None:
    try:
        validate_brief(data, "fuzz.yaml", read_asset)
    except BriefError as exc:
        assert exc.problems, "a BriefError names at least one problem"
        json.dumps(exc.to_dict(), ensure_ascii=False).encode("utf-8", "surrogatepass")


@FUZZ
@given(values)
def test_random_documents(data):
    _only_brief_errors(data if isinstance(data, dict) else {"campaign_id": data})


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(PATHS), values), min_size=1, max_size=4))
def test_mutated_briefs(mutations):
    data = copy.deepcopy(BASE)
    for path, value in mutations:
        target = data
        try:
            for part in path[:-1]:
                target = target[part]
            target[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue
    _only_brief_errors(data)


TEXTS = [SUMMER.read_text(), json.dumps(BASE, ensure_ascii=False, indent=1)]


@FUZZ
@given(
    st.sampled_from([0, 1]),
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=10**6), st.integers(0, 40), st.text(max_size=12)),
        min_size=1,
        max_size=5,
    ),
)
def test_mutated_text(which, edits):
    text = TEXTS[which]
    for pos, cut, insert in edits:
        pos %= len(text) + 1
        text = text[:pos] + insert + text[pos + cut :]
    name = "fuzz.json" if which else "fuzz.yaml"
    try:
        data = parse_brief_text(text, name)
    except BriefError:
        return
    with contextlib.suppress(BriefError):
        validate_brief(data, name, read_asset)
