"""The built-in locale knowledge base ("locale context pack").

``knowledge.yaml`` beside this file holds three layers: ``global`` (applies everywhere), ``languages``
(keyed by ISO 639-1 code) and ``markets`` (keyed by locale tag such as ``de-DE``). A locale resolves
as global -> language -> market:

* plain values (``script``, ``formality``, ``currency`` ...) in a later layer replace earlier ones;
* ``number_format`` is merged key by key;
* ``culture_do``, ``culture_dont`` and ``legal_notes`` are appended (exact duplicates dropped);
* ``banned_terms`` are appended; a later entry with the same term (case-insensitive) replaces the
  earlier one in place. Every :class:`TermRule` records its ``layer``: ``global``, ``language:de``
  or ``market:de-DE``.

The file is read once, validated as a whole (every problem is reported with its YAML path) and
hashed, so assets can record which knowledge-base version they used. This module is pure: no
Dagster imports. See docs/LOCALES.md.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from creative_assets.slugs import is_locale_tag
from creative_assets.vocabulary import Direction, LineBreaking, ScriptKey, Severity, validation_problems

__all__ = [
    "KNOWLEDGE_PATH",
    "KnowledgeBase",
    "KnowledgeBaseError",
    "LocaleInfo",
    "NumberFormat",
    "ScriptKey",
    "TermRule",
    "UnknownLocaleError",
    "get_locale",
    "is_supported",
    "knowledge_base_version",
    "load_knowledge_base",
    "suggest",
    "supported_locales",
]

#: The built-in knowledge base.
KNOWLEDGE_PATH = Path(__file__).with_name("knowledge.yaml")


_RTL_SCRIPTS = frozenset({"arabic", "hebrew"})
_LINE_BREAKING_BY_SCRIPT: dict[str, str] = {
    "japanese": "cjk",
    "chinese_simplified": "cjk",
    "chinese_traditional": "cjk",
    # "thai": no spaces between words; lines break at ICU dictionary word boundaries
    "thai": "thai",
    "lao": "thai",
    "khmer": "thai",
    "myanmar": "thai",
}
_LAYER_RE = re.compile(r"^(global|language:[a-z]{2}|market:[a-z]{2,3}-[A-Z]{2})$")
_LANGUAGE_KEY_RE = re.compile(r"^[a-z]{2}$")
_ARABIC_INDIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty or blank")
    return value


NonEmpty = Annotated[str, AfterValidator(_not_blank)]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NumberFormat(_Frozen):
    """How numbers are written: ``{"decimal": ",", "group": "."}`` -> ``1.234,56``."""

    decimal: str = Field(min_length=1, max_length=1, description="Decimal separator.")
    group: str = Field(min_length=1, max_length=1, description="Digit-group separator.")
    grouping: Literal["standard", "indian"] = Field(
        "standard", description="'standard' groups by 3; 'indian' is 1,23,45,678 (lakh/crore)."
    )
    digits: Literal["latin", "arabic_indic"] = Field("latin", description="Which digits to write.")

    @model_validator(mode="after")
    def _separators_differ(self) -> NumberFormat:
        if self.decimal == self.group:
            raise ValueError(f"decimal and group separators must differ (both {self.decimal!r})")
        return self

    def format(self, value: float | int | Decimal | str, decimals: int = 2) -> str:
        """``1234.5`` -> ``"1.234,50"`` for German. Rounds half up; no currency symbol."""
        if decimals < 0:
            raise ValueError("decimals must be >= 0")
        amount = Decimal(str(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
        sign = "-" if amount < 0 else ""
        whole, _, frac = f"{abs(amount):f}".partition(".")
        if self.grouping == "indian" and len(whole) > 3:
            head, tail = whole[:-3], whole[-3:]
            pairs = []
            while head:
                pairs.insert(0, head[-2:])
                head = head[:-2]
            grouped = self.group.join([*pairs, tail])
        else:
            grouped = f"{int(whole):,}".replace(",", self.group)
        text = sign + grouped + (self.decimal + frac if frac else "")
        return text.translate(_ARABIC_INDIC_DIGITS) if self.digits == "arabic_indic" else text


class TermRule(_Frozen):
    """A banned or regulated term, with the regulation or reason and the layer it came from."""

    term: NonEmpty
    reason: NonEmpty
    severity: Severity = "WARN"
    layer: str = Field(pattern=_LAYER_RE.pattern, description="'global', 'language:de' or 'market:de-DE'.")

    def matches(self, text: str) -> bool:
        """On the banned-term skeleton (:mod:`creative_assets.term_skeleton`: invisible characters,
        case, width, diacritics and look-alike letters folded). Latin/Greek/Cyrillic terms match
        whole words; other scripts match anywhere."""
        from creative_assets.term_skeleton import skeleton

        return _term_pattern(skeleton(self.term)).search(skeleton(text)) is not None


class LocaleInfo(_Frozen):
    """Everything the platform knows about one locale, resolved across the three layers."""

    tag: str = Field(description="Locale tag, e.g. 'de-DE'.")
    language: NonEmpty = Field(description="English name of the language, e.g. 'German'.")
    language_code: str = Field(description="ISO 639-1 code; the text shaper's language, e.g. 'de'.")
    native_name: NonEmpty = Field(description="e.g. 'Deutsch (Deutschland)'.")
    market: NonEmpty = Field(description="English name of the market, e.g. 'Germany'.")
    script: ScriptKey
    direction: Direction
    line_breaking: LineBreaking
    formality: NonEmpty = Field(description="How to address the audience.")
    number_format: NumberFormat
    date_format: NonEmpty = Field(description="e.g. 'DD.MM.YYYY'.")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. 'EUR'.")
    currency_format: NonEmpty = Field(description="Example amount, e.g. '1.234,56 €'.")
    quote_marks: tuple[NonEmpty, NonEmpty] = Field(description="Opening and closing quotation marks.")
    culture_do: list[NonEmpty] = Field(min_length=1)
    culture_dont: list[NonEmpty] = Field(min_length=1)
    legal_notes: list[NonEmpty] = Field(default_factory=list)
    ai_label: NonEmpty | None = Field(
        None,
        description="Visible label the market requires on AI-generated imagery, printed in the legal line "
        "(the legal note naming the rule is in legal_notes); None: no visible label required.",
    )
    banned_terms: list[TermRule] = Field(default_factory=list)
    sample_text: NonEmpty = Field(description="A short natural phrase in this locale's script.")

    @model_validator(mode="after")
    def _consistent(self) -> LocaleInfo:
        if not is_locale_tag(self.tag):
            raise ValueError(f"tag {self.tag!r} must look like 'de-DE' (language-REGION)")
        if self.tag.split("-")[0] != self.language_code:
            raise ValueError(f"language_code {self.language_code!r} does not match tag {self.tag!r}")
        want_direction = "rtl" if self.script in _RTL_SCRIPTS else "ltr"
        if self.direction != want_direction:
            raise ValueError(
                f"direction {self.direction!r} does not fit script {self.script!r} ({want_direction})"
            )
        want_breaking = _LINE_BREAKING_BY_SCRIPT.get(self.script, "spaces")
        if self.line_breaking != want_breaking:
            raise ValueError(
                f"line_breaking {self.line_breaking!r} does not fit script {self.script!r} ({want_breaking})"
            )
        return self

    @property
    def is_rtl(self) -> bool:
        return self.direction == "rtl"

    def find_banned_terms(self, text: str) -> list[TermRule]:
        """The rules whose term occurs in ``text`` (see :meth:`TermRule.matches`)."""
        return [rule for rule in self.banned_terms if rule.matches(text)]

    def to_prompt_dict(self) -> dict[str, Any]:
        """A compact, JSON-able summary for LLM prompts and asset metadata."""
        return {
            "tag": self.tag,
            "language": self.language,
            "language_code": self.language_code,
            "native_name": self.native_name,
            "market": self.market,
            "script": self.script,
            "direction": self.direction,
            "formality": self.formality,
            "number_format": self.number_format.model_dump(exclude_defaults=True),
            "date_format": self.date_format,
            "currency": self.currency,
            "currency_format": self.currency_format,
            "quote_marks": list(self.quote_marks),
            "culture_do": list(self.culture_do),
            "culture_dont": list(self.culture_dont),
            "legal_notes": list(self.legal_notes),
            "ai_label": self.ai_label,
            "banned_terms": [
                {"term": r.term, "severity": r.severity, "reason": r.reason} for r in self.banned_terms
            ],
        }


# ---------------------------------------------------------------------------- the YAML file's shape


class _TermEntry(_Frozen):
    term: NonEmpty
    reason: NonEmpty
    severity: Severity = "WARN"


class _NumberFormatLayer(_Frozen):
    decimal: str | None = None
    group: str | None = None
    grouping: Literal["standard", "indian"] | None = None
    digits: Literal["latin", "arabic_indic"] | None = None


class _Layer(_Frozen):
    """One layer: any subset of the LocaleInfo fields except ``tag`` and ``language_code``."""

    language: NonEmpty | None = None
    native_name: NonEmpty | None = None
    market: NonEmpty | None = None
    script: ScriptKey | None = None
    direction: Direction | None = None
    line_breaking: LineBreaking | None = None
    formality: NonEmpty | None = None
    number_format: _NumberFormatLayer | None = None
    date_format: NonEmpty | None = None
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$")
    currency_format: NonEmpty | None = None
    quote_marks: tuple[NonEmpty, NonEmpty] | None = None
    culture_do: list[NonEmpty] = Field(default_factory=list)
    culture_dont: list[NonEmpty] = Field(default_factory=list)
    legal_notes: list[NonEmpty] = Field(default_factory=list)
    ai_label: NonEmpty | None = None
    banned_terms: list[_TermEntry] = Field(default_factory=list)
    sample_text: NonEmpty | None = None

    @field_validator("banned_terms")
    @classmethod
    def _unique_terms(cls, entries: list[_TermEntry]) -> list[_TermEntry]:
        seen: set[str] = set()
        for entry in entries:
            key = entry.term.casefold()
            if key in seen:
                raise ValueError(f"term {entry.term!r} is listed twice in this layer")
            seen.add(key)
        return entries


class _KnowledgeFile(_Frozen):
    schema_version: Literal[1]
    global_: _Layer = Field(alias="global")
    languages: dict[Any, _Layer]  # keys are checked in _build, with friendlier messages
    markets: dict[Any, _Layer]


_APPENDED = ("culture_do", "culture_dont", "legal_notes")


# ---------------------------------------------------------------------------- errors


class KnowledgeBaseError(ValueError):
    """The knowledge-base file is invalid. ``str()`` lists every problem with its YAML path."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = list(problems)
        count = len(self.problems)
        head = f"{source}: {count} problem{'s' if count != 1 else ''} in the locale knowledge base"
        super().__init__("\n".join([head, *(f"  - {p}" for p in self.problems)]))


class UnknownLocaleError(ValueError):
    """``tag`` is not a supported locale. ``suggestions`` holds the closest supported tags."""

    def __init__(self, tag: str, suggestions: list[str], supported: list[str]):
        self.tag = tag
        self.suggestions = list(suggestions)
        self.supported = list(supported)
        message = f"unknown locale {tag!r}"
        if len(self.suggestions) == 1:
            message += f"; did you mean {self.suggestions[0]!r}?"
        elif self.suggestions:
            message += "; did you mean one of " + ", ".join(repr(s) for s in self.suggestions) + "?"
        else:
            message += "."
        message += " Supported: " + ", ".join(self.supported)
        super().__init__(message)


def _problems(exc: ValidationError) -> list[str]:
    return [
        f"{p.field}: {p.message}"
        for p in validation_problems(exc, unknown_hint="check the spelling; see docs/LOCALES.md")
    ]


# ---------------------------------------------------------------------------- loading


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate mapping keys instead of silently keeping the last one."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, str) and key == "<<":
                continue
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"found duplicate key {key!r}",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


@dataclass(frozen=True)
class KnowledgeBase:
    """A loaded, validated knowledge base: every market resolved to a :class:`LocaleInfo`."""

    source: str
    version: str
    locales: Mapping[str, LocaleInfo]

    def supported(self) -> list[str]:
        return sorted(self.locales)

    def get(self, tag: str) -> LocaleInfo:
        try:
            return self.locales[tag]
        except (KeyError, TypeError):
            supported = self.supported()
            raise UnknownLocaleError(str(tag), _suggest(str(tag), supported), supported) from None


def _version(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:12]


def _resolve(tag: str, layers: list[tuple[str, _Layer]]) -> dict[str, Any]:
    data: dict[str, Any] = {"tag": tag, "language_code": tag.split("-")[0]}
    number_format: dict[str, Any] = {}
    terms: dict[str, TermRule] = {}
    appended: dict[str, list[str]] = {name: [] for name in _APPENDED}
    for layer_name, layer in layers:
        for name, value in layer.model_dump(exclude_unset=True, exclude_none=True).items():
            if name in appended:
                appended[name].extend(v for v in value if v not in appended[name])
            elif name == "number_format":
                number_format.update(value)
            elif name == "banned_terms":
                for entry in value:
                    terms[entry["term"].casefold()] = TermRule(**entry, layer=layer_name)
            else:
                data[name] = value
    if number_format:
        data["number_format"] = number_format
    data.update(appended)
    data["banned_terms"] = list(terms.values())
    return data


def _build(raw: Any, source: str) -> dict[str, LocaleInfo]:
    try:
        kb = _KnowledgeFile.model_validate(raw)
    except ValidationError as exc:
        raise KnowledgeBaseError(source, _problems(exc)) from None
    problems: list[str] = []
    for code in kb.languages:
        if not (isinstance(code, str) and _LANGUAGE_KEY_RE.match(code)):
            hint = " (quote it: YAML reads bare no/yes/on/off as booleans)" if isinstance(code, bool) else ""
            problems.append(f"languages.{code}: key must be a two-letter ISO 639-1 code such as 'de'{hint}")
    for tag in kb.markets:
        if not (isinstance(tag, str) and is_locale_tag(tag)):
            problems.append(f"markets.{tag}: key must be a locale tag such as 'de-DE' (language-REGION)")
        elif tag.split("-")[0] not in kb.languages:
            problems.append(f"markets.{tag}: language {tag.split('-')[0]!r} has no entry under 'languages'")
    if problems:
        raise KnowledgeBaseError(source, problems)
    locales: dict[str, LocaleInfo] = {}
    for tag, market in kb.markets.items():
        code = tag.split("-")[0]
        layers = [("global", kb.global_), (f"language:{code}", kb.languages[code]), (f"market:{tag}", market)]
        try:
            locales[tag] = LocaleInfo.model_validate(_resolve(tag, layers))
        except ValidationError as exc:
            problems.extend(f"markets.{tag} (resolved) -> {p}" for p in _problems(exc))
    if problems:
        raise KnowledgeBaseError(source, problems)
    return locales


def load_knowledge_base(path: str | Path | None = None) -> KnowledgeBase:
    """Read, validate and resolve a knowledge-base file (the built-in one by default).

    The built-in file is loaded once per process; other paths are read on every call.
    Raises :class:`KnowledgeBaseError` listing every problem.
    """
    if path is None or Path(path) == KNOWLEDGE_PATH:
        return _builtin()
    return _load(Path(path))


@functools.cache
def _builtin() -> KnowledgeBase:
    return _load(KNOWLEDGE_PATH)


def _load(path: Path) -> KnowledgeBase:
    source = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KnowledgeBaseError(source, [f"(file): cannot read: {exc.strerror or exc}"]) from None
    try:
        raw = yaml.load(data.decode("utf-8"), Loader=_UniqueKeyLoader)
    except UnicodeDecodeError as exc:
        raise KnowledgeBaseError(source, [f"(file): not UTF-8 ({exc.reason} at byte {exc.start})"]) from None
    except yaml.YAMLError as exc:
        raise KnowledgeBaseError(source, [f"(file): invalid YAML: {exc}"]) from None
    if not isinstance(raw, dict):
        raise KnowledgeBaseError(
            source, ["(file): must be a mapping with schema_version, global, languages, markets"]
        )
    locales = _build(raw, source)
    return KnowledgeBase(source=source, version=_version(data), locales=MappingProxyType(locales))


# ---------------------------------------------------------------------------- public lookups


def supported_locales() -> list[str]:
    """Every supported locale tag, sorted."""
    return _builtin().supported()


def is_supported(tag: str) -> bool:
    return isinstance(tag, str) and tag in _builtin().locales


def get_locale(tag: str) -> LocaleInfo:
    """The resolved :class:`LocaleInfo` for ``tag`` (exact, case-sensitive: ``de-DE``).

    Raises :class:`UnknownLocaleError` naming the tag, the closest matches and every supported tag.
    Returns a private copy, so callers may not disturb the cached knowledge base.
    """
    return _builtin().get(tag).model_copy(deep=True)


def suggest(tag: str, limit: int = 5) -> list[str]:
    """Supported tags close to ``tag``: a case-insensitive match alone if there is one; otherwise
    tags of the same language, then of the same region, then spelling neighbours (difflib)."""
    return _suggest(str(tag), supported_locales(), limit)


def knowledge_base_version() -> str:
    """First 12 hex digits of the sha256 of the built-in ``knowledge.yaml`` bytes."""
    return _builtin().version


def _suggest(tag: str, supported: list[str], limit: int = 5) -> list[str]:
    norm = tag.strip().replace("_", "-").casefold()
    by_folded = {t.casefold(): t for t in supported}
    if norm in by_folded:
        return [by_folded[norm]]
    parts = norm.split("-")
    language, region = parts[0], (parts[-1] if len(parts) > 1 else None)
    out = [t for t in supported if t.split("-")[0].casefold() == language]
    if region:
        out += [t for t in supported if t.split("-")[-1].casefold() == region and t not in out]
    for match in difflib.get_close_matches(norm, list(by_folded), n=limit, cutoff=0.6):
        if by_folded[match] not in out:
            out.append(by_folded[match])
    return out[:limit]


# ---------------------------------------------------------------------------- term matching


def _spaced_script(term: str) -> bool:
    """True when every letter of ``term`` is Latin, Greek or Cyrillic (scripts with word spacing
    and no attached prefixes), so whole-word matching is safe."""
    for char in term:
        if char.isalpha() and not unicodedata.name(char, "").startswith(("LATIN", "GREEK", "CYRILLIC")):
            return False
    return True


@functools.lru_cache(maxsize=1024)
def _term_pattern(term: str) -> re.Pattern[str]:
    body = r"\s+".join(re.escape(word) for word in term.split())
    if _spaced_script(term):
        if re.match(r"\w", term):
            body = r"(?<!\w)" + body
        if re.search(r"\w$", term):
            body += r"(?!\w)"
    return re.compile(body, re.IGNORECASE)
