"""The value each pipeline stage produces, and how it is laid out as files.

Every stage value is a pydantic model (its JSON manifest) plus named image files. The IO manager
writes the images under the unit's stage folder and the manifest last, as ``manifest.json``, so a
folder with a manifest is always complete. Image names are relative to the stage folder.
"""

from __future__ import annotations

import hashlib
import io
import secrets
from collections.abc import Callable
from datetime import datetime, timezone
from typing import ClassVar, Literal

from PIL import Image
from pydantic import BaseModel, ConfigDict, PrivateAttr, field_validator

from creative_assets.brand_kit import WordRule
from creative_assets.brief import LocalizedText, MotionSettings, Product, badge_for
from creative_assets.render.encoding import jpeg_bytes, png_bytes
from creative_assets.render.export import PlacementExport
from creative_assets.render.layout import Layout
from creative_assets.render.product_mask import ProductFootprint, ProductVisibility
from creative_assets.vocabulary import Box, Direction, LineBreaking, Severity

Reader = Callable[[str], bytes]


def encode_image(image: Image.Image, name: str) -> bytes:
    """A stage file's bytes, by its name's extension (render/encoding.py)."""
    if name.endswith((".jpg", ".jpeg")):
        return jpeg_bytes(image, 92, "4:4:4")
    if name.endswith(".png"):
        return png_bytes(image)
    if name.endswith(".webp"):
        buf = io.BytesIO()
        image.save(buf, "WEBP", quality=90)
        return buf.getvalue()
    raise ValueError(f"cannot tell the image format of {name!r}")


class StageValue(BaseModel):
    """Base class: manifest fields plus images held in memory or read lazily from storage."""

    model_config = ConfigDict(frozen=False, extra="forbid")
    #: the stage name: asset key, storage folder and assets/ module (stage_registry.py)
    STAGE: ClassVar[str]

    _payloads: dict[str, Image.Image | bytes] = PrivateAttr(default_factory=dict)
    _reader: Reader | None = PrivateAttr(default=None)
    #: where a value read from storage keeps its files (its generation's folder), and that generation
    _files_prefix: str | None = PrivateAttr(default=None)
    _stored_generation: str | None = PrivateAttr(default=None)
    #: the generation a new value will be written as (chosen on first use, so an asset can link to
    #: its files before the IO manager writes them)
    _new_generation: str | None = PrivateAttr(default=None)

    def put_image(self, name: str, image: Image.Image | bytes) -> None:
        self._payloads[name] = image

    def image(self, name: str) -> Image.Image:
        payload = self._payloads.get(name)
        if payload is None:
            if self._reader is None:
                raise KeyError(f"{self.STAGE} has no image {name!r}")
            payload = self._reader(name)
        if isinstance(payload, bytes):
            with Image.open(io.BytesIO(payload)) as im:
                im.load()
                payload = im.copy()
            self._payloads[name] = payload
        return payload

    def image_bytes(self, name: str) -> bytes:
        payload = self._payloads.get(name)
        if isinstance(payload, bytes):
            return payload
        if payload is None and self._reader is not None:
            return self._reader(name)
        return encode_image(self.image(name), name)

    def image_bytes_stored(self, name: str) -> bytes:
        """The stored bytes of a file of a value read from storage (verified by the reader), even
        if its pixels were decoded meanwhile."""
        if self._reader is None:
            raise LookupError(f"{self.STAGE} value was not read from storage")
        return self._reader(name)

    def image_names(self) -> list[str]:
        return sorted(self._payloads)

    def encoded_files(self) -> dict[str, bytes]:
        return {name: self.image_bytes(name) for name in self.image_names()}

    def attach_reader(self, reader: Reader) -> None:
        self._reader = reader

    def attach_location(self, files_prefix: str, generation: str | None) -> None:
        """Record where the stored files of this value are (set by the IO manager's reader)."""
        self._files_prefix = files_prefix
        self._stored_generation = generation

    @property
    def files_prefix(self) -> str:
        """The storage prefix of this value's stored files (its generation's folder)."""
        if self._files_prefix is None:
            raise LookupError(f"{self.STAGE} value was not read from storage")
        return self._files_prefix

    def file_key(self, name: str) -> str:
        """Storage key of one of this value's stored files."""
        return f"{self.files_prefix}/{name}"

    @property
    def stored_generation(self) -> str | None:
        """The generation this value was read from (None: not read, or written before generations)."""
        return self._stored_generation

    def renew_generation(self) -> str:
        """A new generation id for writing this value again (a value read back from storage)."""
        self._new_generation = new_generation_id()
        return self._new_generation

    @property
    def generation(self) -> str:
        """The generation id this value is written as: new for every value built, never reused."""
        if self._new_generation is None:
            self._new_generation = new_generation_id()
        return self._new_generation


def new_generation_id(now: datetime | None = None) -> str:
    """``20261201T082000123456Z-1a2b3c4d``: UTC time (sortable, and the garbage collector's age)
    plus randomness, so two writers never share a folder."""
    now = now or datetime.now(timezone.utc)
    return f"{now:%Y%m%dT%H%M%S%f}Z-{secrets.token_hex(4)}"


def generation_time(generation: str) -> datetime | None:
    """When a generation was started, from its id (None if the id is not one of ours)."""
    try:
        return datetime.strptime(generation.split("-", 1)[0], "%Y%m%dT%H%M%S%fZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return None


# -- 1. unit brief ---------------------------------------------------------------------------------


class RejectedCreative(BaseModel):
    """A creative a reviewer asked to change (from the review log): a revision moves away from it."""

    decision: str  # review decision id
    candidate: int | None = None
    content: dict[str, str] = {}  # ratio -> SHA-256 of the final PNG
    phash: dict[str, str] = {}  # ratio -> perceptual hash (render/phash.py)
    style: str | None = None
    layouts: dict[str, str] = {}  # ratio -> layout variant


class UnitBrief(StageValue):
    """The brief as it applies to one creative unit (campaign x locale x product)."""

    STAGE: ClassVar[str] = "unit_brief"
    unit: str
    campaign_id: str
    campaign_name: str
    brand: str
    brand_fingerprint: str
    locale: str
    source_locale: str
    product: Product
    message: str
    cta: str
    localized: LocalizedText | None = None
    audience: str = ""
    disclaimer: str | None = None
    disclaimer_short: str | None = None
    banned_words: list[WordRule] = []
    visual_direction: str = ""
    candidates: int
    motion: MotionSettings = MotionSettings()
    #: output keys: placement names (creative_assets/placements.py), or legacy ratios such as
    #: ``9:16`` that render their documented default placement
    aspect_ratios: list[str]
    sizes: dict[str, tuple[int, int]]
    #: templates the brief names for rotation ([]: every template serving the placement)
    templates: list[str] = []
    base_seed: int
    brief_version: int
    brief_sha: str
    #: brief_store.unit_fingerprint: changes only when this unit's inputs in the brief change
    input_fingerprint: str = ""
    product_asset_keys: list[str] = []
    #: review revisions: how many times a reviewer requested changes, the latest feedback and the
    #: review decision that asked for it (creative_assets/review/decisions.py)
    revision: int = 0
    feedback: str | None = None
    revision_decision: str | None = None
    #: every creative rejected so far: the revision never selects their pixels (or near copies)
    rejected: list[RejectedCreative] = []

    @property
    def seed_round(self) -> int:
        """The first revision keeps the seed (only the feedback changes the template); every later
        revision draws a new one."""
        return max(0, self.revision - 1)

    def badge_text(self) -> tuple[str | None, bool]:
        """(the badge this unit prints, whether the locale gives its own): ``brief.badge_for``."""
        return badge_for(self.localized, self.product)

    def product_seed(self) -> int:
        """Seed shared by every locale of a product, so markets see the same visual concept."""
        digest = hashlib.sha256(f"{self.base_seed}:{self.product.id}:{self.seed_round}".encode()).digest()
        return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF

    def candidate_seed(self, index: int) -> int:
        digest = hashlib.sha256(f"{self.product_seed()}:{index}".encode()).digest()
        return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


# -- 2. context pack -------------------------------------------------------------------------------


class TermRuleRecord(BaseModel):
    term: str
    reason: str = ""
    severity: Severity = "WARN"
    layer: str  # global | language:xx | market:xx-YY | brand:<slug> | campaign:<id>


class LocaleContextPack(StageValue):
    """Everything locale- and brand-specific a copywriter or designer needs for this unit."""

    STAGE: ClassVar[str] = "locale_context_pack"
    locale: dict  # LocaleInfo, as JSON
    brand_display_name: str
    tone_of_voice: str
    visual_style: str
    rules: list[TermRuleRecord]
    disclaimer: str | None
    #: its approved short form (brief.legal_line_for), set where the full line cannot fit
    disclaimer_short: str | None = None
    knowledge_base_version: str
    provider: str
    notes: list[str] = []  # product- and market-specific guidance from a generative provider
    calls: list[dict] = []  # API call accounting (see resources/openai_providers.py)

    @property
    def direction(self) -> Direction:
        return self.locale["direction"]


# -- 3. image candidates ---------------------------------------------------------------------------


class CandidateRender(BaseModel):
    ratio: str
    file: str
    width: int
    height: int
    layout: Layout
    product_bbox: Box
    #: the product pixels as placed, with the placement scale (render/product_mask.py); an estimate
    #: (the layout's box) when an image model placed the product; None in manifests written before it
    product: ProductFootprint | None = None


class ImageCandidate(BaseModel):
    index: int
    seed: int
    style: str
    emphasis: int
    palette: dict[str, str]
    source: Literal["supplied", "generated"]
    method: str  # how the product was obtained: supplied:(alpha | backdrop-removed | grabcut | full-bleed | card:kept-whole) | generated:<shape> | model:<kind>
    prompt: str
    renders: dict[str, CandidateRender]


class ImageCandidates(StageValue):
    """N visibly different candidate visuals per unit, each drawn at every ratio."""

    STAGE: ClassVar[str] = "image_candidates"
    provider: str
    model: str
    seed_supported: bool = True
    candidates: list[ImageCandidate]
    input_hashes: dict[str, str]
    calls: list[dict] = []


# -- 4. branded candidates -------------------------------------------------------------------------


class LogoReport(BaseModel):
    variant: str
    box: Box
    clear_box: Box
    contrast: float
    plate: bool
    width_px: int
    min_width_px: int


class BrandedRender(BaseModel):
    ratio: str
    file: str
    width: int
    height: int
    layout: Layout
    product_bbox: Box
    logo: LogoReport
    product: ProductFootprint | None = None  # as placed in image_candidates


class BrandedCandidate(BaseModel):
    index: int
    seed: int
    style: str
    renders: dict[str, BrandedRender]


class BrandedCandidates(StageValue):
    """Candidates with the brand applied: accent device and logo per the kit's placement rules."""

    STAGE: ClassVar[str] = "branded_candidates"
    brand: str
    brand_fingerprint: str
    candidates: list[BrandedCandidate]


# -- 5. localized copy -----------------------------------------------------------------------------


class CopyVariant(BaseModel):
    candidate: int
    headline: str
    subline: str
    cta: str
    disclaimer: str | None = None
    #: the legal line's approved short form: the renderer sets it where the full one cannot fit
    disclaimer_short: str | None = None
    #: the product's price or promo badge (brief products[].badge), set in the template's badge slot
    badge: str | None = None


class LocalizedCopy(StageValue):
    """Short copy per candidate in the unit's locale, with where each string came from."""

    STAGE: ClassVar[str] = "localized_copy"
    locale: str
    language_code: str
    direction: Direction
    script: str
    line_breaking: LineBreaking
    provider: str
    model: str
    variants: list[CopyVariant]
    sources: dict[str, str]
    warnings: list[str] = []
    machine_translated: bool = False
    calls: list[dict] = []


# -- 6. final creatives ----------------------------------------------------------------------------


class TextBlockReport(BaseModel):
    role: Literal["headline", "subline", "cta", "disclaimer", "badge"]
    text: str
    font: str
    size: int
    box: Box
    ink_bbox: Box
    lines: list[str]
    fits: bool
    colour: str
    contrast: float
    #: why the block does not fit (render.text.TextLayout.problem); empty when it fits
    problem: str = ""
    #: typographic rules the block could not keep even at its minimum size ("widow", ...)
    notes: list[str] = []
    #: colour emoji drawn in the block: not the text colour, so contrast is measured around them
    emoji_boxes: list[Box] = []
    #: a knockout block: the letters are cut out of a solid panel in ``colour`` and show the imagery
    #: beneath, so contrast is measured between the panel and what shows through the letters
    knockout: bool = False


class FinalRender(BaseModel):
    ratio: str
    file: str
    width: int
    height: int
    layout: Layout
    #: how the headline and sub-line are given their ground, chosen by measured contrast among the
    #: template's allowed treatments (render/finals.py ``TEXT_TREATMENTS``)
    treatment: Literal["none", "gradient", "panel", "knockout"]
    #: the worst headline/sub-line contrast each tried treatment measured, in the order tried
    treatment_contrasts: dict[str, float] = {}
    blocks: list[TextBlockReport]
    #: text the template let go rather than set below its minimum size (only ever ``subline``, when
    #: the template's ``subline.optional`` says so, e.g. the 320x50 mobile banner)
    omitted: list[str] = []
    cta_button: Box
    cta_fill: str
    cta_button_contrast: float
    logo: LogoReport
    product_bbox: Box
    #: the product pixels as placed in image_candidates (reuse this, not product_bbox, to ask what
    #: covers the product), and how much of it the final still shows (the product_share check)
    product: ProductFootprint | None = None
    product_visible: ProductVisibility | None = None
    #: the placement export of this creative (render/export.py): file, format, quality, bytes, PSNR
    export: PlacementExport | None = None
    #: compliance.CheckOutcome dumps, one per per-creative check (each names its ``check``; read them
    #: by name, e.g. with ``compliance_by_check``, never by position)
    compliance: list[dict] = []

    @field_validator("treatment", mode="before")
    @classmethod
    def _gradient_was_scrim(cls, value):
        return "gradient" if value == "scrim" else value  # renders stored before the rename

    def compliance_by_check(self) -> dict[str, dict]:
        """The stored outcomes keyed by check name."""
        return {outcome["check"]: outcome for outcome in self.compliance}


class FinalCandidate(BaseModel):
    index: int
    seed: int
    style: str
    renders: dict[str, FinalRender]


class FinalCreatives(StageValue):
    """Every candidate at every ratio with copy, CTA and legal line: the exportable creatives."""

    STAGE: ClassVar[str] = "final_creatives"
    locale: str
    candidates: list[FinalCandidate]
    #: file -> what its Content Credential declares (creative_assets/disclosure.py); {} when disabled
    credentials: dict[str, dict] = {}


# -- 7. selected creative --------------------------------------------------------------------------


class ScoredCandidate(BaseModel):
    index: int
    rank: int
    score: float
    compliant: bool = True  # no ERROR finding at any ratio
    #: a near copy (perceptual hash) of a creative a reviewer rejected: never selected
    repeats_rejected: bool = False
    phash: dict[str, str] = {}  # ratio -> perceptual hash of the final PNG
    breakdown: dict[str, float]
    files: dict[str, str]  # ratio -> storage key of the final creative


class SelectedMotion(BaseModel):
    """A video of the selected candidate, copied into ``selected_creative/`` beside its poster still."""

    file: str  # name inside selected_creative/ (motion/<placement>-<ratio>.<ext>)
    poster: str  # name inside selected_creative/ of the still that is its poster frame
    placement: str
    ratio: str  # output key of the poster still
    container: str
    width: int
    height: int
    fps: int
    duration_s: float
    bytes: int
    sha256: str
    source: str  # storage key of the file in motion_creatives


class SelectedCreative(StageValue):
    """The best candidate per unit (copied to ``selected_creative/<ratio>.png``) and the ranked alternates."""

    STAGE: ClassVar[str] = "selected_creative"
    unit: str
    best: int  # the top-ranked candidate (when blocked: the best non-compliant one, not delivered)
    files: dict[str, str]  # ratio -> file name inside selected/ (empty when blocked)
    ranking: list[ScoredCandidate]
    weights: dict[str, float]
    #: "blocked": no candidate is free of ERROR findings, nothing is selected or deliverable; the unit
    #: is contained (the other units of its batch are selected in the same run)
    status: Literal["selected", "blocked"] = "selected"
    blocked_reason: str = ""
    #: the final_creatives generation the selection was made from (its files are in ``ranking``)
    final_generation: str = ""
    #: the selected candidate's videos that pass their checks (byte copies), and why any is missing
    motion: list[SelectedMotion] = []
    motion_notes: list[str] = []
    #: output key -> the selected candidate's placement export inside selected/ (a byte copy:
    #: ``export/<output>.<ext>``, the file within the placement's byte budget)
    exports: dict[str, str] = {}


# -- 6b. motion creatives --------------------------------------------------------------------------


class MotionFile(BaseModel):
    """One looping video of one candidate at one placement that plays motion."""

    candidate: int
    placement: str
    ratio: str  # the output key of the still it animates (a placement name, or a legacy ratio)
    file: str  # name inside the stage folder
    poster: str  # storage key of the matching final still (the video's poster frame)
    container: str
    width: int
    height: int
    fps: int
    duration_s: float
    bytes: int
    sha256: str
    provider: str  # offline-animator | openai:<model>
    #: render.motion.MotionPlan dump: every element's box and the frames it is fully shown in
    plan: dict = {}
    encoding: dict = {}
    #: compliance.CheckOutcome dumps, one per check in motion_checks.VIDEO_CHECKS order
    checks: list[dict] = []
    passed: bool = True  # no ERROR finding: deliverable
    #: the file's Content Credential: signed, verified, what it declares (motion.MotionResult)
    credentials: dict = {}

    def failures(self) -> list[str]:
        return [
            f"{c['check']}: {f['message']}"
            for c in self.checks
            if not c["passed"]
            for f in c["findings"]
            if f["severity"] == "ERROR"
        ]


class MotionCreatives(StageValue):
    """Short looping videos made from the final stills' layout plans, at every motion placement."""

    STAGE: ClassVar[str] = "motion_creatives"
    unit: str
    #: the final_creatives generation the videos were made from (their posters are its stills)
    final_generation: str = ""
    duration_s: int = 6
    candidates: list[int] = []  # the candidates animated (see MotionSettings.candidates)
    files: list[MotionFile] = []
    skipped: str = ""  # why nothing was rendered (motion disabled, no motion placement, unit blocked)
    calls: list[dict] = []  # generative video provider jobs (resources/video_providers.py)

    def for_candidate(self, index: int) -> list[MotionFile]:
        return [f for f in self.files if f.candidate == index]
