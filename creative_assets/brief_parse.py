"""Parsing an untrusted brief (YAML or JSON) into plain data, refusing what must be refused while
parsing, cheaply, with the line it is on.

- Size: callers refuse files over :data:`~creative_assets.input_policy.MAX_BRIEF_BYTES` before
  reading; :func:`parse_document` refuses longer text too.
- Encoding: UTF-8, with or without a byte-order mark (YAML and JSON alike); UTF-16/32 are named.
- Nesting deeper than ``MAX_NESTING`` and more than ``MAX_NODES`` values are refused before Python
  recursion is involved (no ``RecursionError``, whatever the depth).
- Duplicate keys are refused, naming the key and both lines (JSON and YAML).
- YAML anchors and aliases (and ``<<`` merge keys) work, but every alias counts the whole subtree
  it stands for against ``MAX_NODES``: a "billion laughs" file is refused after a few thousand
  steps, before anything is expanded. Tags other than the core ones are refused by the safe loader.
- YAML scalars resolve as in YAML 1.2's core schema, not 1.1: ``1:1`` is a string (1.1 reads it as
  the sexagesimal 61), ``no``/``on`` are strings, ``0x10`` is a string, dates stay strings (the
  validator parses ISO dates itself), ``.inf``/``.nan`` are strings. JSON ``NaN``/``Infinity`` and
  integers of more than 18 digits are refused.
"""

from __future__ import annotations

import json
import re

import yaml

from creative_assets.errors import BriefError
from creative_assets.input_policy import MAX_BRIEF_BYTES, MAX_NESTING, MAX_NODES, shorten
from creative_assets.vocabulary import Problem


class _Refused(Exception):
    def __init__(self, line: int | None, message: str, field: str = "(file)"):
        self.line, self.message, self.field = line, message, field
        super().__init__(message)


def decode_brief_bytes(data: bytes, source: str) -> str:
    """UTF-8 text of a brief; a UTF-8 byte-order mark is dropped, other encodings are named."""
    if len(data) > MAX_BRIEF_BYTES:
        raise BriefError(source, [Problem("(file)", _too_large(len(data)))])
    for bom, name in (
        (b"\xff\xfe\x00\x00", "UTF-32"),
        (b"\x00\x00\xfe\xff", "UTF-32"),
        (b"\xff\xfe", "UTF-16"),
        (b"\xfe\xff", "UTF-16"),
    ):
        if data.startswith(bom):
            raise BriefError(source, [Problem("(file)", f"is {name} text; save it as UTF-8")])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise BriefError(
            source,
            [
                Problem(
                    "(file)", f"is not UTF-8 text: byte 0x{data[exc.start]:02x} at line {line} ({exc.reason})"
                )
            ],
        ) from exc
    return text.removeprefix("\ufeff")


def _too_large(size: int) -> str:
    return f"is {size / 1024:,.0f} KiB; a brief may be at most {MAX_BRIEF_BYTES // 1024} KiB"


def parse_document(text: str, source: str, kind: str) -> dict:
    """Parse ``text`` as ``kind`` (``"json"`` or ``"yaml"``) into a mapping, or raise BriefError."""
    if len(text) > MAX_BRIEF_BYTES:
        raise BriefError(source, [Problem("(file)", _too_large(len(text.encode("utf-8", "replace"))))])
    text = text.removeprefix("\ufeff")
    try:
        data = _parse_json(text) if kind == "json" else _parse_yaml(text)
    except _Refused as exc:
        where = f" at line {exc.line}" if exc.line else ""
        raise BriefError(source, [Problem(exc.field, f"{exc.message}{where}")]) from None
    if not isinstance(data, dict):
        raise BriefError(source, [Problem("(file)", "must be a mapping of fields, e.g. `campaign_id: ...`")])
    return data


# -- JSON -----------------------------------------------------------------------------------------


def _scan_json(text: str) -> None:
    """One linear pass over JSON text: nesting depth, value count and duplicate keys (with lines),
    before ``json.loads`` (whose C scanner recurses) sees it. Syntax errors are left to json."""
    stack: list[dict | None] = []  # per open container: {key: line} for objects, None for arrays
    expect_key: list[bool] = []
    line, nodes, i, n = 1, 0, 0, len(text)
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            raw = text[i : j + 1]
            if stack and stack[-1] is not None and expect_key[-1]:
                try:
                    key = json.loads(raw)
                except ValueError:
                    key = raw
                seen = stack[-1]
                if key in seen:
                    raise _Refused(
                        line,
                        f"duplicate key {shorten(key, 60)} (first at line {seen[key]}); "
                        "each field may appear once",
                    )
                seen[key] = line
                expect_key[-1] = False
            line += raw.count("\n")
            i = j
            nodes += 1
        elif c in "{[":
            stack.append({} if c == "{" else None)
            expect_key.append(c == "{")
            nodes += 1
            if len(stack) > MAX_NESTING:
                raise _Refused(line, f"is nested more than {MAX_NESTING} levels deep")
        elif c in "}]":
            if stack:
                stack.pop()
                expect_key.pop()
        elif c == "," and stack and stack[-1] is not None:
            expect_key[-1] = True
        if nodes > MAX_NODES:
            raise _Refused(line, f"holds more than {MAX_NODES:,} values")
        i += 1


def _refuse_constant(name: str) -> float:
    raise _Refused(None, f"{name} is not a number JSON allows here")


_INT_RE = re.compile(r"-?\d{1,18}")


def _parse_int(raw: str) -> int:
    if not _INT_RE.fullmatch(raw):
        raise _Refused(None, f"the number {shorten(raw, 30)} has too many digits")
    return int(raw)


def _parse_json(text: str) -> object:
    _scan_json(text)
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_int=_parse_int)
    except json.JSONDecodeError as exc:
        raise _Refused(exc.lineno, f"not valid JSON: {exc.msg} (column {exc.colno})") from None
    except RecursionError:  # pragma: no cover - the scan bounds the depth first
        raise _Refused(None, f"is nested more than {MAX_NESTING} levels deep") from None


# -- YAML -----------------------------------------------------------------------------------------


class _BriefLoader(yaml.SafeLoader):
    """SafeLoader with the YAML 1.2 core schema's scalars, no aliases or anchors, bounded depth and
    size, and duplicate keys refused."""

    yaml_implicit_resolvers: dict = {}  # noqa: RUF012 - PyYAML's class-level registry, replaced

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0
        self._sizes: dict[int, int] = {}

    def _expanded_size(self, node) -> int:
        """Values ``node`` stands for once every alias inside it is expanded (memoised per node)."""
        sizes = self._sizes
        stack = [(node, False)]
        while stack:
            item, done = stack.pop()
            if id(item) in sizes:
                continue
            children = (
                [c for pair in item.value for c in pair]
                if isinstance(item, yaml.MappingNode)
                else item.value
                if isinstance(item, yaml.SequenceNode)
                else []
            )
            if done:
                sizes[id(item)] = min(1 + sum(sizes[id(c)] for c in children), MAX_NODES + 1)
            else:
                stack.append((item, True))
                stack.extend((c, False) for c in children if id(c) not in sizes)
        return sizes[id(node)]

    def compose_node(self, parent, index):
        event = self.peek_event()
        line = event.start_mark.line + 1 if event.start_mark else None
        if isinstance(event, yaml.AliasEvent) and event.anchor in self.anchors:
            self._nodes += self._expanded_size(self.anchors[event.anchor])
        else:
            self._nodes += 1
        if self._nodes > MAX_NODES:
            raise _Refused(
                line,
                f"holds more than {MAX_NODES:,} values"
                + (" once its aliases are expanded" if self.anchors else ""),
            )
        self._depth += 1
        try:
            if self._depth > MAX_NESTING:
                raise _Refused(line, f"is nested more than {MAX_NESTING} levels deep")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):
        if not isinstance(node, yaml.MappingNode):
            return super().construct_mapping(node, deep)
        out: dict = {}
        merged: dict = {}
        lines: dict = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if key_node.tag == "tag:yaml.org,2002:merge":  # "<<: *defaults": lower precedence
                value = self.construct_object(value_node, deep=True)
                for part in value if isinstance(value, list) else [value]:
                    if not isinstance(part, dict):
                        raise _Refused(line, "merges (<<) something that is not a mapping")
                    merged.update({k: v for k, v in part.items() if k not in merged})
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise _Refused(line, "has a key that is not a plain value") from None
            if key in out:
                raise _Refused(
                    line,
                    f"duplicate key {shorten(key, 60)} (first at line {lines[key]}); each field may appear once",
                )
            lines[key] = line
            out[key] = self.construct_object(value_node, deep=deep)
        return {**merged, **out} if merged else out


for _tag, _regexp, _first in (
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
    ("tag:yaml.org,2002:int", r"^[-+]?[0-9]{1,18}$", list("-+0123456789")),
    (
        "tag:yaml.org,2002:float",
        r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$",
        list("-+0123456789."),
    ),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:merge", r"^(?:<<)$", ["<"]),
):
    _BriefLoader.add_implicit_resolver(_tag, re.compile(_regexp), _first)


def _construct_float(loader, node):
    value = loader.construct_scalar(node)
    if not re.search(r"[.eE]", value):  # "1" resolved by the float regexp but tagged int elsewhere
        return int(value)
    return float(value)


_BriefLoader.add_constructor("tag:yaml.org,2002:float", _construct_float)


def _parse_yaml(text: str) -> object:
    loader = None
    try:
        loader = _BriefLoader(text)
        return loader.get_single_data()
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        raise _Refused(
            line, f"contains the control character U+{exc.character:04X}; control characters are not allowed"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (column {mark.column + 1})" if mark else ""
        reason = getattr(exc, "problem", None) or str(exc)
        raise _Refused(mark.line + 1 if mark else None, f"not valid YAML{where}: {reason}") from None
    except RecursionError:  # pragma: no cover - compose_node bounds the depth first
        raise _Refused(None, f"is nested more than {MAX_NESTING} levels deep") from None
    finally:
        if loader is not None:
            loader.dispose()
