"""Content Credentials (C2PA) for the final creatives: what each file declares, signing, and reading
a file back to verify it. Pure: no Dagster, no resources (the signer resource is
``resources/credentials.py``; it hands a :class:`SigningKey` to the functions here).

Every final is signed with the maintained ``c2pa-python`` bindings (manifest JSON in, JUMBF embedded
by the library). A manifest records:

* ``c2pa.actions.v2``: how the file was made, first a ``c2pa.created`` whose IPTC
  ``digitalSourceType`` tells the truth about the imagery (see :func:`source_type`), with the
  generator as its ``softwareAgent``; then ``c2pa.placed`` for the supplied packshot and for the
  logo, and ``c2pa.edited`` for the text overlay, each by this project and its version;
* ingredients, each with its SHA-256 (the stored bytes): the supplied packshot, the raw candidate
  the final was drawn from, and the logo file;
* ``com.creative-assets.work``: campaign, locale, product, candidate, ratio, run id, brief version;
* ``com.creative-assets.signing``: whether the file was signed with the local *test* CA.

XMP (IPTC digital source type, credit, copyright) is embedded before signing, so the hash binding
covers it. If ``c2pa`` cannot be imported, :data:`AVAILABLE` is False and callers report
credentials as disabled (see ``resources/credentials.py``).
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from xml.sax.saxutils import escape, quoteattr

try:  # the bindings ship native wheels; a platform without one still runs, with credentials off
    import c2pa

    AVAILABLE, UNAVAILABLE_REASON = True, ""
except Exception as exc:  # ImportError, or the native library failing to load
    c2pa = None
    AVAILABLE, UNAVAILABLE_REASON = False, f"c2pa-python is not importable: {exc}"

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
TRAINED = IPTC + "trainedAlgorithmicMedia"
COMPOSITE_WITH_TRAINED = IPTC + "compositeWithTrainedAlgorithmicMedia"
ALGORITHMIC = IPTC + "algorithmicMedia"
COMPOSITE = IPTC + "composite"
#: digital source types that declare generated imagery (AI or purely algorithmic)
GENERATIVE_SOURCES = frozenset({TRAINED, COMPOSITE_WITH_TRAINED, ALGORITHMIC})
#: ... of which these are AI (a model trained on sampled content): the ones AI-disclosure rules mean
AI_SOURCES = frozenset({TRAINED, COMPOSITE_WITH_TRAINED})

#: image providers that draw without a trained model; any other provider is declared as AI
ALGORITHMIC_PROVIDERS = frozenset({"offline-compositor"})

PROJECT = "creative-assets"
WORK_ASSERTION = "com.creative-assets.work"
SIGNING_ASSERTION = "com.creative-assets.signing"
TEST_NOTICE = (
    "TEST-SIGNED: signed with a local test CA (creative-assets credentials init); "
    "not a publishable credential"
)
#: validation codes that only say the signer is not on the verifier's trust list
UNTRUSTED_CODES = frozenset({"signingCredential.untrusted"})


def project_version() -> str:
    try:
        return metadata.version(PROJECT)
    except metadata.PackageNotFoundError:
        return "0+unknown"


#: file extension -> the media type c2pa signs and reads it as: the stills, and the motion files
SIGNED_FORMATS = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".mp4": "video/mp4",
    ".webp": "image/webp",
    ".gif": "image/gif",
}
#: formats XMP is embedded into before signing (videos and animations carry the facts in C2PA only)
XMP_FORMATS = frozenset({"image/png", "image/jpeg"})


def mime_type(name: str) -> str:
    for ext, fmt in SIGNED_FORMATS.items():
        if name.endswith(ext):
            return fmt
    raise ValueError(
        f"no content credentials for {name!r}: only {', '.join(sorted(set(SIGNED_FORMATS)))} files are signed"
    )


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- what the pipeline did ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Ingredient:
    """An input of a final, identified by the SHA-256 of its stored bytes."""

    role: str  # packshot | candidate | logo
    title: str
    format: str
    sha256: str
    key: str = ""  # storage key or kit file it was read from


@dataclass(frozen=True)
class Provenance:
    """How one final file was made: the facts its credential declares and verification expects."""

    campaign: str
    locale: str
    product: str
    candidate: int  # 1-based, as people count
    ratio: str
    run_id: str
    brief_version: int
    provider: str  # image provider (e.g. offline-compositor, openai-images)
    model: str  # its model or generator version
    product_source: str  # supplied | generated
    method: str  # how the product was obtained (supplied:alpha, generated:can, model:edit, ...)
    ingredients: tuple[Ingredient, ...]
    text_overlay: bool = True
    ai_label: str | None = None  # the visible label rendered in the legal line, if any
    #: the digital source type the supplied packshot's own C2PA credential declares, if it has one
    packshot_source: str | None = None
    #: a motion file: the digital source type its still's credential declares (the still is its
    #: ``final`` ingredient), and the video provider whose generated clip is its moving background
    still_source: str | None = None
    clip_provider: str | None = None

    @property
    def source_type(self) -> str:
        if self.still_source is None:
            return source_type(self.provider, self.product_source, self.packshot_source)
        if self.clip_provider is None:  # the still's own layers, moved: its imagery, its declaration
            return self.still_source
        # a trained video model made the moving background the still's layers are set over
        return TRAINED if self.still_source == TRAINED else COMPOSITE_WITH_TRAINED

    @property
    def is_video(self) -> bool:
        return self.still_source is not None

    @property
    def is_ai(self) -> bool:
        return self.source_type in AI_SOURCES

    def ingredient(self, role: str) -> Ingredient | None:
        return next((i for i in self.ingredients if i.role == role), None)

    def claims(self) -> dict:
        return {
            "campaign": self.campaign,
            "locale": self.locale,
            "product": self.product,
            "candidate": self.candidate,
            "ratio": self.ratio,
            "run_id": self.run_id,
            "brief_version": self.brief_version,
        }


def source_type(provider: str, product_source: str, packshot_source: str | None = None) -> str:
    """The IPTC digital source type that tells the truth about a final's imagery.

    * a trained model made the whole picture: ``trainedAlgorithmicMedia``;
    * a trained model put the brand's packshot into a scene it made (images.edit):
      ``compositeWithTrainedAlgorithmicMedia``;
    * the offline compositor drew the product (no trained model): ``algorithmicMedia``;
    * the brand's own packshot on a drawn template background: ``composite`` (no generative source);
      but a "packshot" whose own credential declares AI imagery makes the final
      ``compositeWithTrainedAlgorithmicMedia``: a credential never launders an AI input.
    """
    if product_source == "supplied" and packshot_source in AI_SOURCES:
        return COMPOSITE_WITH_TRAINED
    if provider in ALGORITHMIC_PROVIDERS:
        return COMPOSITE if product_source == "supplied" else ALGORITHMIC
    return COMPOSITE_WITH_TRAINED if product_source == "supplied" else TRAINED


#: ingredients that are placed into the file, each with its own ``c2pa.placed`` action, in this order
PLACED_ROLES = ("packshot", "logo", "clip")


def expected_actions(prov: Provenance) -> list[str]:
    actions = ["c2pa.created"]
    actions += ["c2pa.placed" for role in PLACED_ROLES if prov.ingredient(role)]
    if prov.text_overlay:
        actions.append("c2pa.edited")
    return actions


def _made(prov: Provenance) -> str:
    """What the ``c2pa.created`` action says about how the imagery was made."""
    kind = prov.source_type
    if prov.is_video:
        moved = (
            f"over a background clip generated by {prov.clip_provider}"
            if prov.clip_provider
            else "by the offline animator"
        )
        return f"looping video animated from the signed final still (its ingredient) {moved}"
    if kind == COMPOSITE:
        return "composed from the brand's supplied packshot on a drawn template background"
    if kind == ALGORITHMIC:
        return "product and scene drawn procedurally by the offline compositor (no trained model)"
    if kind == COMPOSITE_WITH_TRAINED:
        return f"scene generated around the brand's supplied packshot by {prov.model}"
    return f"product and scene generated by {prov.model}"


def build_manifest(prov: Provenance, title: str, fmt: str, test_signed: bool) -> dict:
    """The manifest definition (c2pa-python JSON) for one final."""
    agent = {"name": PROJECT, "version": project_version()}
    generator = {"name": prov.provider, "version": prov.model}
    kind = prov.source_type
    source = next((r for r in ("candidate", "final") if prov.ingredient(r)), None)
    actions: list[dict] = [
        {
            "action": "c2pa.created",
            "digitalSourceType": kind,
            "softwareAgent": generator,
            "description": _made(prov),
            "parameters": {"method": prov.method, **({"ingredientIds": [source]} if source else {})},
        }
    ]
    if prov.ingredient("packshot"):
        actions.append(
            {
                "action": "c2pa.placed",
                "softwareAgent": generator if kind == COMPOSITE_WITH_TRAINED else agent,
                "description": "the brand's supplied product photo placed in the scene",
                "parameters": {"ingredientIds": ["packshot"]},
            }
        )
    if prov.ingredient("logo"):
        where = "on the end card" if prov.is_video else "per the brand kit's placement rules"
        actions.append(
            {
                "action": "c2pa.placed",
                "softwareAgent": agent,
                "description": f"brand logo composited {where}",
                "parameters": {"ingredientIds": ["logo"]},
            }
        )
    if prov.ingredient("clip"):
        actions.append(
            {
                "action": "c2pa.placed",
                "softwareAgent": {"name": prov.clip_provider or "", "version": prov.model},
                "description": "generated background clip, with the still's product, copy and logo over it",
                "parameters": {"ingredientIds": ["clip"]},
            }
        )
    if prov.text_overlay:
        if prov.is_video:
            text = "headline and product line revealed line by line, the CTA last, then an end card"
            if prov.ai_label:
                text += (
                    f"; visible AI label {prov.ai_label!r} in the legal line, on screen while the imagery is"
                )
        else:
            text = "headline, product line, CTA and legal line set over the image"
            if prov.ai_label:
                text += f"; visible AI label {prov.ai_label!r} in the legal line"
        actions.append({"action": "c2pa.edited", "softwareAgent": agent, "description": text})
    signing = {"test_signed": test_signed}
    if test_signed:
        signing["notice"] = TEST_NOTICE
    return {
        "claim_generator_info": [agent],
        "title": title,
        "format": fmt,
        "assertions": [
            {"label": "c2pa.actions.v2", "data": {"actions": actions}},
            {"label": WORK_ASSERTION, "data": {**prov.claims(), "ai_label": prov.ai_label}},
            {"label": SIGNING_ASSERTION, "data": signing},
        ],
    }


# -- XMP (for tools that read only XMP) --------------------------------------------------------------


def xmp_packet(source: str, credit: str, copyright: str, title: str) -> str:
    """An XMP packet with the IPTC digital source type, credit and copyright."""
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        '  <rdf:Description rdf:about=""\n'
        '    xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"\n'
        '    xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"\n'
        '    xmlns:dc="http://purl.org/dc/elements/1.1/"\n'
        '    xmlns:xmp="http://ns.adobe.com/xap/1.0/"\n'
        '    xmlns:xmpRights="http://ns.adobe.com/xap/1.0/rights/"\n'
        f"    Iptc4xmpExt:DigitalSourceType={quoteattr(source)}\n"
        f"    photoshop:Credit={quoteattr(credit)}\n"
        f'    xmp:CreatorTool="{PROJECT} {escape(project_version())}"\n'
        '    xmpRights:Marked="True">\n'
        f'   <dc:rights><rdf:Alt><rdf:li xml:lang="x-default">{escape(copyright)}</rdf:li></rdf:Alt></dc:rights>\n'
        f'   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">{escape(title)}</rdf:li></rdf:Alt></dc:title>\n'
        "  </rdf:Description>\n"
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n"
        '<?xpacket end="r"?>'
    )


def _png_chunks(data: bytes) -> list[tuple[bytes, int, int]]:
    """(type, start, end) of every chunk of a PNG."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    out, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        end = pos + 12 + length
        out.append((data[pos + 4 : pos + 8], pos, end))
        pos = end
    return out


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def with_xmp(data: bytes, fmt: str, xmp: str) -> bytes:
    """``data`` with the XMP packet embedded (PNG: an iTXt chunk after IHDR; JPEG: an APP1 segment)."""
    packet = xmp.encode("utf-8")
    if fmt == "image/png":
        ihdr_end = _png_chunks(data)[0][2]
        body = b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + packet
        return data[:ihdr_end] + _png_chunk(b"iTXt", body) + data[ihdr_end:]
    if fmt == "image/jpeg":
        payload = b"http://ns.adobe.com/xap/1.0/\x00" + packet
        segment = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
        at = 2
        if data[2:4] == b"\xff\xe0":  # after the JFIF APP0 segment, which must come first
            at = 4 + struct.unpack(">H", data[4:6])[0]
        return data[:at] + segment + data[at:]
    raise ValueError(fmt)


def unsigned_content(data: bytes, fmt: str) -> bytes:
    """The file without its embedded C2PA manifest (PNG ``caBX`` chunks, JPEG APP11 segments, the
    MP4 ``uuid`` box, the WebP ``C2PA`` chunk, the GIF ``C2PA_GIF`` extension): what was signed, for
    byte comparisons of outputs whose credentials differ only by run and time."""
    if fmt == "video/mp4":
        return _mp4_unsigned(data)
    if fmt == "image/webp":
        return _webp_unsigned(data)
    if fmt == "image/gif":
        return _gif_unsigned(data)
    if fmt == "image/png":
        return b"\x89PNG\r\n\x1a\n" + b"".join(
            data[start:end] for kind, start, end in _png_chunks(data) if kind != b"caBX"
        )
    out, pos = bytearray(data[:2]), 2
    while pos + 4 <= len(data) and data[pos] == 0xFF and data[pos + 1] not in (0xDA, 0xD9):
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if data[pos + 1] != 0xEB:
            out += data[pos : pos + 2 + length]
        pos += 2 + length
    return bytes(out + data[pos:])


#: the UUID of the top-level box a C2PA manifest store is embedded in (ISO BMFF: MP4, MOV)
C2PA_BOX_UUID = bytes.fromhex("d8fec3d61b0e483c92975828877ec481")
#: boxes on the path from ``moov`` to the chunk offset tables
_MP4_CONTAINERS = frozenset({b"moov", b"trak", b"mdia", b"minf", b"stbl"})


def _boxes(data: bytes, start: int = 0, end: int | None = None) -> list[tuple[bytes, int, int, int]]:
    """(type, start, header length, end) of the ISO BMFF boxes in ``data[start:end]``."""
    end = len(data) if end is None else end
    out, pos = [], start
    while pos + 8 <= end:
        size, kind, header = struct.unpack(">I", data[pos : pos + 4])[0], data[pos + 4 : pos + 8], 8
        if size == 1:
            size, header = struct.unpack(">Q", data[pos + 8 : pos + 16])[0], 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise ValueError(f"not an MP4: a {kind!r} box of {size} bytes at {pos} runs past its parent")
        out.append((kind, pos, header, pos + size))
        pos += size
    return out


def _shift_chunk_offsets(data: bytes, start: int, end: int, by: int) -> bytes:
    """The box ``data[start:end]`` with every ``stco``/``co64`` chunk offset inside it moved by ``by``."""
    out = bytearray(data[start:end])
    for kind, pos, header, box_end in _boxes(data, start + 8, end):
        if kind in _MP4_CONTAINERS:
            inner = _shift_chunk_offsets(data, pos, box_end, by)
            out[pos - start : box_end - start] = inner
        elif kind in (b"stco", b"co64"):
            width = 4 if kind == b"stco" else 8
            (count,) = struct.unpack(">I", data[pos + header + 4 : pos + header + 8])
            fmt = ">I" if width == 4 else ">Q"
            for i in range(count):
                at = pos + header + 8 + i * width
                (offset,) = struct.unpack(fmt, data[at : at + width])
                out[at - start : at - start + width] = struct.pack(fmt, offset + by)
    return bytes(out)


def _mp4_unsigned(data: bytes) -> bytes:
    """The MP4 without its C2PA ``uuid`` box, the media offsets moved back to where they were."""
    boxes = _boxes(data)
    c2pa_boxes = [
        b for b in boxes if b[0] == b"uuid" and data[b[1] + b[2] : b[1] + b[2] + 16] == C2PA_BOX_UUID
    ]
    if not c2pa_boxes:
        return data
    out = bytearray()
    for kind, start, _, end in boxes:
        if (kind, start, _, end) in c2pa_boxes:
            continue
        if kind == b"moov":
            removed_before_media = sum(e - s for _, s, _, e in c2pa_boxes)
            out += _shift_chunk_offsets(data, start, end, -removed_before_media)
        else:
            out += data[start:end]
    return bytes(out)


def _webp_unsigned(data: bytes) -> bytes:
    """The WebP without its ``C2PA`` chunk (the RIFF size adjusted)."""
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise ValueError("not a WebP")
    body, pos = bytearray(), 12
    while pos + 8 <= len(data):
        kind, (size,) = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])
        end = pos + 8 + size + (size & 1)
        if kind != b"C2PA":
            body += data[pos:end]
        pos = end
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + bytes(body)


def _gif_unsigned(data: bytes) -> bytes:
    """The GIF without its ``C2PA_GIF`` application extension."""
    marker = b"\x21\xff\x0bC2PA_GIF"
    at = data.find(marker)
    if at < 0:
        return data
    pos = at + 3 + 11  # past the introducer, label, block size and the 11-byte identifier + auth code
    while data[pos]:  # data sub-blocks, then the 0 terminator
        pos += 1 + data[pos]
    return data[:at] + data[pos + 1 :]


# -- signing -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SigningKey:
    """What signing needs. The private key (or the KMS/HSM ``sign`` callable) is never printed,
    logged or written anywhere: ``repr`` leaves it out and manifests carry only the certificate."""

    cert_chain: bytes = field(repr=False)  # PEM, signer first
    algorithm: str = "es256"
    private_key: bytes | None = field(default=None, repr=False)
    sign: Callable[[bytes], bytes] | None = field(default=None, repr=False)  # KMS/HSM hook
    tsa_url: str | None = None
    test_signed: bool = False
    trust_anchors: bytes | None = field(default=None, repr=False)  # PEM roots the verifier trusts

    def signer(self):
        if self.sign is not None:
            alg = getattr(c2pa.C2paSigningAlg, self.algorithm.upper())
            return c2pa.Signer.from_callback(self.sign, alg, self.cert_chain.decode(), self.tsa_url or None)
        info = c2pa.C2paSignerInfo(
            alg=self.algorithm.encode(),
            sign_cert=self.cert_chain,
            private_key=self.private_key,
            ta_url=self.tsa_url.encode() if self.tsa_url else None,
        )
        return c2pa.Signer.from_info(info)


def _context(trust_anchors: bytes | None = None):
    settings: dict = {
        "builder": {"thumbnail": {"enabled": False}},  # no ingredient/claim thumbnails in every final
        "verify": {"verify_after_sign": False},  # the asset check reads every file back instead
    }
    if trust_anchors:
        settings["trust"] = {"user_anchors": trust_anchors.decode()}
    return c2pa.Context.from_dict(settings)


def sign_file(
    data: bytes,
    name: str,
    prov: Provenance,
    key: SigningKey,
    ingredient_data: dict[str, bytes],
    credit: str,
    copyright: str,
) -> bytes:
    """``data`` (an encoded PNG/JPEG) with XMP and a signed C2PA manifest embedded.
    ``ingredient_data``: role -> the ingredient's bytes (read by the library as it adds them)."""
    fmt = mime_type(name)
    title = f"{prov.campaign}_{prov.locale}_{prov.product}_{prov.ratio.replace(':', 'x')}_c{prov.candidate}"
    if fmt in XMP_FORMATS:
        data = with_xmp(data, fmt, xmp_packet(prov.source_type, credit, copyright, title))
    manifest = build_manifest(prov, title, fmt, key.test_signed)
    with _context() as ctx, c2pa.Builder(manifest, context=ctx) as builder:
        for ing in prov.ingredients:
            builder.add_ingredient(
                {
                    "title": ing.title,
                    "format": ing.format,
                    "relationship": "componentOf",
                    "label": ing.role,
                    "instance_id": f"sha256:{ing.sha256}",
                    "metadata": {
                        f"{PROJECT}.role": ing.role,
                        f"{PROJECT}.sha256": ing.sha256,
                        f"{PROJECT}.key": ing.key,
                    },
                },
                ing.format,
                io.BytesIO(ingredient_data[ing.role]),
            )
        out = io.BytesIO()
        with key.signer() as signer:
            builder.sign(signer, fmt, io.BytesIO(data), out)
    return out.getvalue()


# -- reading back and verifying ----------------------------------------------------------------------


@dataclass
class Credential:
    """A file's credential as read back by the C2PA reader."""

    present: bool
    state: str = ""  # Valid | Trusted | Invalid ("" when absent)
    failures: list[str] = field(default_factory=list)  # validation failure codes (with explanations)
    trusted: bool = False
    manifest: dict = field(default_factory=dict)  # the active manifest
    chain: list[dict] = field(default_factory=list)  # active manifest first, then its ingredients'
    error: str = ""

    @property
    def integrity_failures(self) -> list[str]:
        """Failures other than "signer not on the trust list": a broken signature or hash binding."""
        return [f for f in self.failures if f.split(":")[0] not in UNTRUSTED_CODES]

    def assertion(self, label: str) -> dict | None:
        for a in self.manifest.get("assertions", []):
            if a.get("label") == label:
                return a.get("data", {})
        return None

    @property
    def actions(self) -> list[dict]:
        for label in ("c2pa.actions.v2", "c2pa.actions"):
            data = self.assertion(label)
            if data is not None:
                return data.get("actions", [])
        return []

    @property
    def source_type(self) -> str | None:
        created = next((a for a in self.actions if a.get("action") == "c2pa.created"), None)
        return created.get("digitalSourceType") if created else None

    @property
    def test_signed(self) -> bool:
        return bool((self.assertion(SIGNING_ASSERTION) or {}).get("test_signed"))

    def ingredient_hashes(self) -> dict[str, str]:
        """role -> SHA-256 recorded for each ingredient."""
        out = {}
        for ing in self.manifest.get("ingredients", []):
            meta = ing.get("metadata") or {}
            out[meta.get(f"{PROJECT}.role", ing.get("title", "?"))] = meta.get(f"{PROJECT}.sha256", "")
        return out

    def summary(self) -> dict:
        """A small JSON-able summary (manifests, the review panel)."""
        if not self.present:
            return {"present": False, "error": self.error}
        info = self.manifest.get("signature_info", {})
        return {
            "present": True,
            "state": self.state,
            "trusted": self.trusted,
            "test_signed": self.test_signed,
            "digital_source_type": (self.source_type or "").removeprefix(IPTC),
            "actions": [a.get("action") for a in self.actions],
            "signer": info.get("common_name", ""),
            "issuer": info.get("issuer", ""),
            "signed_at": info.get("time", ""),
            "failures": self.failures,
            "work": self.assertion(WORK_ASSERTION) or {},
            "ingredients": self.ingredient_hashes(),
        }


def read_credential(data: bytes, fmt: str, trust_anchors: bytes | None = None) -> Credential:
    """Read and validate the embedded manifest (signature, certificate chain, hash binding)."""
    if not AVAILABLE:
        return Credential(present=False, error=UNAVAILABLE_REASON)
    try:
        with _context(trust_anchors) as ctx:
            reader = c2pa.Reader.try_create(fmt, io.BytesIO(data), None, ctx)
            if reader is None:
                return Credential(present=False, error="no C2PA manifest in the file")
            with reader:
                store = json.loads(reader.json())
                state = reader.get_validation_state() or ""
    except Exception as exc:  # a corrupt manifest store: treated as broken, never as absent-and-fine
        return Credential(present=True, state="Invalid", failures=[f"unreadable: {exc}"], error=str(exc))
    results = (store.get("validation_results") or {}).get("activeManifest") or {}
    failures = [f"{f.get('code')}: {f.get('explanation', '')}" for f in results.get("failure", [])]
    # validation_status (older shape) as well, without duplicates
    for f in store.get("validation_status") or []:
        text = f"{f.get('code')}: {f.get('explanation', '')}"
        if text not in failures and not f.get("code", "").endswith((".match", ".validated", ".trusted")):
            failures.append(text)
    manifests = store.get("manifests", {})
    active = manifests.get(store.get("active_manifest", ""), {})
    chain = [active] + [
        manifests[i["active_manifest"]] for i in active.get("ingredients", []) if i.get("active_manifest")
    ]
    successes = {s.get("code") for s in results.get("success", [])}
    return Credential(
        present=True,
        state=state,
        failures=failures,
        trusted=state == "Trusted" or "signingCredential.trusted" in successes,
        manifest=active,
        chain=chain,
    )


@dataclass
class Verification:
    passed: bool
    problems: list[str]
    credential: Credential


def verify(
    data: bytes, fmt: str, expected: Provenance | None, trust_anchors: bytes | None, require_trust: bool
) -> Verification:
    """Verify a final: a credential is present, its signature is valid, its hash binding matches the
    bytes (so the pixels), and (given ``expected``) the declared actions, digital source type,
    ingredient hashes and claims are what the pipeline did. ``require_trust``: the signer must
    chain to ``trust_anchors`` (production); otherwise an untrusted signer is reported, not failed."""
    cred = read_credential(data, fmt, trust_anchors)
    problems: list[str] = []
    if not cred.present:
        return Verification(False, [cred.error or "no content credential"], cred)
    problems += [f"signature/hash: {f}" for f in cred.integrity_failures]
    if require_trust and not cred.trusted:
        problems.append("the signing certificate does not chain to a configured trust anchor")
    if expected is not None:
        problems += declared_vs_done(cred, expected)
    return Verification(not problems, problems, cred)


def declared_vs_done(cred: Credential, prov: Provenance) -> list[str]:
    """What the credential declares against what the pipeline did (empty: they match)."""
    problems = []
    actions = [a.get("action") for a in cred.actions]
    if actions != expected_actions(prov):
        problems.append(f"actions {actions} but the pipeline did {expected_actions(prov)}")
    declared = cred.source_type
    if declared != prov.source_type:
        problems.append(f"digital source type {declared!r} but the imagery is {prov.source_type!r}")
    if prov.product_source == "generated" and declared not in GENERATIVE_SOURCES:
        problems.append("a generated product must declare a generative digital source type")
    if prov.source_type not in GENERATIVE_SOURCES and declared in GENERATIVE_SOURCES:
        problems.append("a creative made only from the brand's photos declares a generative source")
    recorded = cred.ingredient_hashes()
    for ing in prov.ingredients:
        if recorded.get(ing.role) != ing.sha256:
            problems.append(
                f"ingredient {ing.role}: sha256 {recorded.get(ing.role, 'missing')[:12]} "
                f"but the stored input is {ing.sha256[:12]}"
            )
    if set(recorded) - {i.role for i in prov.ingredients}:
        problems.append(
            f"unexpected ingredients {sorted(set(recorded) - {i.role for i in prov.ingredients})}"
        )
    work = cred.assertion(WORK_ASSERTION) or {}
    claims = {k: work.get(k) for k in prov.claims()}
    if claims != prov.claims():
        wrong = sorted(k for k in claims if claims[k] != prov.claims()[k])
        problems.append(f"claims differ from the pipeline's record: {', '.join(wrong)}")
    if work.get("ai_label") != prov.ai_label:
        problems.append(f"AI label claim {work.get('ai_label')!r} but {prov.ai_label!r} was rendered")
    return problems


# -- human-readable ----------------------------------------------------------------------------------


def describe(cred: Credential) -> str:
    """The manifest chain of a file in a readable form (``creative-assets credentials show``)."""
    if not cred.present:
        return f"no content credential: {cred.error}"
    lines = []
    verdict = "OK" if not cred.integrity_failures else "BROKEN"
    trust = "trusted" if cred.trusted else "signer not on the trust list"
    lines.append(f"validation: {cred.state} — signature and hash binding {verdict}; {trust}")
    for f in cred.failures:
        lines.append(f"  ! {f}")
    for depth, manifest in enumerate(cred.chain):
        pad = "  " * depth
        info = manifest.get("signature_info", {})
        gen = ", ".join(
            f"{g.get('name')} {g.get('version', '')}".strip()
            for g in manifest.get("claim_generator_info", [])
        )
        lines.append(f"{pad}manifest {manifest.get('label', '?')}{'  (active)' if depth == 0 else ''}")
        lines.append(f"{pad}  title:      {manifest.get('title', '')}")
        lines.append(f"{pad}  generator:  {gen}")
        signer = f"{info.get('common_name', '?')} (issuer {info.get('issuer', '?')}, {info.get('alg', '?')})"
        lines.append(f"{pad}  signed by:  {signer}" + (f" at {info['time']}" if info.get("time") else ""))
        sub = Credential(present=True, manifest=manifest)
        if sub.test_signed:
            lines.append(f"{pad}  !! {TEST_NOTICE}")
        lines.append(f"{pad}  actions:")
        for a in sub.actions:
            agent = a.get("softwareAgent") or {}
            agent_s = (
                f"{agent.get('name', '')} {agent.get('version', '')}".strip()
                if isinstance(agent, dict)
                else agent
            )
            src = f" [{a['digitalSourceType'].removeprefix(IPTC)}]" if a.get("digitalSourceType") else ""
            lines.append(f"{pad}    - {a.get('action')}{src} by {agent_s}: {a.get('description', '')}")
        lines.append(f"{pad}  ingredients:")
        for ing in manifest.get("ingredients", []):
            meta = ing.get("metadata") or {}
            lines.append(
                f"{pad}    - {ing.get('title')} ({ing.get('format')}, {ing.get('relationship')}) "
                f"sha256 {meta.get(PROJECT + '.sha256', '?')}"
            )
        work = sub.assertion(WORK_ASSERTION)
        if work:
            lines.append(
                f"{pad}  work:       " + ", ".join(f"{k}={v}" for k, v in work.items() if v is not None)
            )
    return "\n".join(lines)


# -- delivery ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyPolicy:
    """How strictly a reader of finals (the review app, delivery) verifies: the roots it trusts and
    whether credentials are required (production: a missing or untrusted credential is refused)."""

    trust_anchors: bytes | None = field(default=None, repr=False)
    required: bool = False


class CredentialRefused(RuntimeError):
    """A file's Content Credential is missing or broken: it is not delivered."""


def check_deliverable(
    data: bytes, name: str, signed: bool, policy: VerifyPolicy, claims: dict | None = None
) -> dict:
    """Verify a file about to be (or just) delivered. ``signed``: the pipeline recorded signing it.
    Returns a summary for the delivery manifest; raises :class:`CredentialRefused` when a file that
    must carry a credential has none, or a broken one, or one made for another unit."""
    if not signed and not policy.required:
        return {"present": False, "note": "content credentials were disabled when this creative was made"}
    result = verify(data, mime_type(name), None, policy.trust_anchors, require_trust=policy.required)
    problems = list(result.problems)
    work = result.credential.assertion(WORK_ASSERTION) or {}
    for k, v in (claims or {}).items():
        if result.credential.present and work.get(k) != v:
            problems.append(f"the credential names {k}={work.get(k)!r}, not {v!r}")
    if problems:
        raise CredentialRefused(f"{name}: {'; '.join(problems)}")
    return {**result.credential.summary(), "verified": True}
