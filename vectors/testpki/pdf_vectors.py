"""Signed PDF test documents (vectors/pdf.toml → vectors/pdf/*.pdf), a vector family.

Plugged into :mod:`vectors.testpki.generator` (``FAMILY_MODULES``): :func:`make` writes the
documents and returns their manifest entries, shaped like the CMS ones with ``kind = "pdf"``
(or ``"p7s"`` for a detached CMS signature over a PDF).

The unsigned letter is written here byte by byte (one page, Helvetica, a classic xref
table, a fixed /ID). Every later revision is written by pyHanko — signatures (PAdES, with the
committed test keys), DSS revisions, document timestamps, annotations, page changes — with
everything pyHanko would otherwise take from the clock or the random generator pinned:

* the signing time (``PdfSigningSession.system_time``) and the /Info /ModDate;
* the second half of the trailer /ID (pyHanko draws it from ``os.urandom``): here
  SHA-256("sigmail-pdf/<vector>/<step>")[:16];
* timestamps come from an in-process RFC 3161 timestamper over the test TSA key
  (:func:`vectors.testpki.timestamps.timestamp_token`, no nonce), at the step's pinned time;
* field names are given (pyHanko would invent a UUID for a document timestamp's field).

RSA PKCS#1 v1.5 and zlib are deterministic, so every file is reproducible byte for byte.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import tomllib
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

from asn1crypto import crl as asn1_crl
from asn1crypto import keys as asn1_keys
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization

from .cms import Signer, signed_data
from .pki import TestPKI
from .revocation import ocsp_response_for_certificate
from .timestamps import timestamp_response, timestamp_token

__all__ = ["GENERATED_DIRS", "SPEC_FILES", "apply_steps", "letter", "load_spec", "make"]

SPEC_FILES = ("pdf.toml",)
GENERATED_DIRS = ("pdf",)
OUT_DIR = "pdf"
DOCUMENT = "pdf/document.pdf"
VERDICTS = ("official", "not_official", "unsigned", "invalid", "indeterminate")
STEP_KINDS = (
    "sign",
    "dss",
    "doc_timestamp",
    "note",
    "freetext",
    "replace_content",
    "append_object",
    "flip_byte",
    "edit",
    "offsets_early",
)
_VECTOR_KEYS = {
    "name",
    "make",
    "kind",
    "source",
    "content",
    "signers",
    "steps",
    "at",
    "mode",
    "policy",
    "expect",
    "description",
}


# -- the specification ---------------------------------------------------------------------


class SpecError(ValueError):
    """pdf.toml says something this module cannot make."""


@dataclass(frozen=True, slots=True)
class PdfVectorSpec:
    name: str
    make: str  # "pdf" (default: the steps over the letter) | "detached" | "reuse"
    kind: str  # "pdf" | "p7s"
    steps: tuple[dict[str, Any], ...]
    at: dt.datetime
    mode: str
    policy: str
    verdict: str
    reasons: tuple[str, ...]
    description: str
    trust: dict[str, tuple[str, ...]]
    source: str | None = None
    content: str | None = None
    signers: tuple[str, ...] = ()

    @property
    def file(self) -> str:
        return f"{OUT_DIR}/{self.name}.{'p7s' if self.kind == 'p7s' else 'pdf'}"


@dataclass(frozen=True, slots=True)
class PdfSpec:
    lines: tuple[str, ...]
    document_id: bytes
    vectors: tuple[PdfVectorSpec, ...]


def _utc(value: Any, where: str) -> dt.datetime:
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise SpecError(f"{where}: a time with an offset is required, got {value!r}")
    return value.astimezone(dt.UTC)


def load_spec(spec_dir: Path) -> PdfSpec:
    raw = tomllib.loads((spec_dir / SPEC_FILES[0]).read_text(encoding="utf-8"))
    defaults = raw.get("defaults", {})
    trust = {k: tuple(v) for k, v in raw.get("trust", {}).items()}
    document = raw["document"]
    vectors = []
    for entry in raw.get("vector", []):
        unknown = set(entry) - _VECTOR_KEYS
        if unknown:
            raise SpecError(f"vector {entry.get('name')!r}: unknown keys {sorted(unknown)}")
        name = entry["name"]
        steps = tuple(entry.get("steps", ()))
        for step in steps:
            kinds = [k for k in STEP_KINDS if k in step]
            if len(kinds) != 1:
                raise SpecError(f"vector {name!r}: a step needs exactly one of {STEP_KINDS}")
        expect = entry["expect"]
        if expect["verdict"] not in VERDICTS:
            raise SpecError(f"vector {name!r}: unknown verdict {expect['verdict']!r}")
        signers = tuple(entry.get("signers", ())) or tuple(s["sign"] for s in steps if "sign" in s)
        vectors.append(
            PdfVectorSpec(
                name=name,
                make=entry.get("make", "pdf"),
                kind=entry.get("kind", "pdf"),
                steps=steps,
                at=_utc(entry.get("at", defaults["at"]), name),
                mode=entry.get("mode", defaults["mode"]),
                policy=entry.get("policy", defaults["policy"]),
                verdict=expect["verdict"],
                reasons=tuple(expect.get("reasons", ())),
                description=entry["description"],
                trust=trust,
                source=entry.get("source"),
                content=entry.get("content"),
                signers=signers,
            )
        )
    names = [v.name for v in vectors]
    if len(set(names)) != len(names):
        raise SpecError("vector names must be unique")
    return PdfSpec(
        lines=tuple(document["lines"]),
        document_id=hashlib.sha256(document["id_seed"].encode()).digest()[:16],
        vectors=tuple(vectors),
    )


# -- the unsigned letter, byte by byte ---------------------------------------------------------


def _pdf_text(text: str) -> bytes:
    raw = text.encode("latin-1")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def letter(lines: tuple[str, ...], document_id: bytes, scans: tuple[bytes, ...] = ()) -> bytes:
    """An A4 PDF 1.7 with ``lines`` of text on page 1: catalog, pages, page, font, content,
    info. Each of ``scans`` (raw 8-bit grey samples, for the benchmark's large files) adds a
    page showing it as a full-page image, as a scanned document would."""
    content = [b"BT", b"/F1 12 Tf", b"16 TL", b"72 770 Td"]
    for line in lines:
        content.append(b"(" + _pdf_text(line) + b") Tj T*")
    content.append(b"ET")
    stream = zlib.compress(b"\n".join(content) + b"\n", 9)
    first_scan = 7
    kids = b" ".join(b"%d 0 R" % n for n in [3] + [first_scan + 2 * i for i in range(len(scans))])
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, 1 + len(scans)),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Producer (sigmail test vectors) >>",
    ]
    draw = b"q 595 0 0 842 0 0 cm /Im1 Do Q"
    for i, samples in enumerate(scans):
        image = first_scan + 2 * i + 1
        width = 1000
        height = len(samples) // width
        # The pages' content streams (the same short drawing each) follow the images.
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /XObject "
            b"<< /Im1 %d 0 R >> >> /Contents %d 0 R >>" % (image, first_scan + 2 * len(scans) + i)
        )
        objects.append(
            b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
            b"/BitsPerComponent 8 /Length %d >>\nstream\n"
            % (width, height, width * height)
            + samples[: width * height]
            + b"\nendstream"
        )
    for _ in scans:
        objects.append(b"<< /Length %d >>\nstream\n" % len(draw) + draw + b"\nendstream")
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    hex_id = document_id.hex().upper().encode()
    out += (
        b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R /ID [<%s> <%s>] >>\nstartxref\n%d\n%%%%EOF\n"
        % (len(objects) + 1, hex_id, hex_id, xref)
    )
    return bytes(out)


# -- pyHanko, pinned -------------------------------------------------------------------------


def _asn1_cert(cert) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _asn1_key(key) -> asn1_keys.PrivateKeyInfo:
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return asn1_keys.PrivateKeyInfo.load(der)


@contextmanager
def _pinned(seed: str, when: dt.datetime) -> Iterator[type]:
    """An IncrementalPdfFileWriter class whose /ID and /ModDate do not depend on the run."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.metadata import model

    class PinnedMeta(model.DocumentMetadata):
        def __setattr__(self, name: str, value: Any) -> None:
            if name == "last_modified" and value == "now":
                value = when
            super().__setattr__(name, value)

    class PinnedWriter(IncrementalPdfFileWriter):
        @classmethod
        def _handle_id(cls, prev):
            id1, _ = prev.trailer["/ID"]
            if isinstance(id1, generic.TextStringObject):
                id1 = generic.ByteStringObject(id1.original_bytes)
            id2 = generic.ByteStringObject(hashlib.sha256(seed.encode()).digest()[:16])
            return generic.ArrayObject([id1, id2])

        def __init__(self, *args, **kw) -> None:
            super().__init__(*args, **kw)
            self._meta.__class__ = PinnedMeta

    yield PinnedWriter


def _timestamper(pki: TestPKI, when: dt.datetime):
    from pyhanko.sign.timestamps.api import TimeStamper

    class TestTimeStamper(TimeStamper):
        """The test TSA (tsa-official), in process, at a pinned time, without a nonce."""

        def __init__(self) -> None:
            super().__init__(include_nonce=False)

        async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
            imprint = req["message_imprint"]
            token = timestamp_token(
                pki.certificates["tsa-official"],
                pki.keys["tsa-official"],
                hashed_message=imprint["hashed_message"].native,
                hash_name=imprint["hash_algorithm"]["algorithm"].native,
                gen_time=when,
            )
            return tsp.TimeStampResp.load(timestamp_response(token))

    return TestTimeStamper()


@dataclass(slots=True)
class _State:
    data: bytes
    made: list[str] = field(default_factory=list)
    last_contents: bytes | None = None  # /Contents of the last signature (for the DSS VRI)
    timestamp_time: dt.datetime | None = None
    signing_time: dt.datetime | None = None


def _signer_for(pki: TestPKI, name: str, econtent: str | None = None):
    from pyhanko.sign.signers import SimpleSigner
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    class EContentSigner(SimpleSigner):
        """Encapsulates ``econtent`` in the SignedData (an attack: a detached PDF signature
        must carry none); the signed attributes still hold the ByteRange digest."""

        async def async_sign_prescribed_attributes(self, *args, **kw):
            kw["encap_content_info"] = {"content_type": "data", "content": econtent.encode()}
            return await super().async_sign_prescribed_attributes(*args, **kw)

    issuer = pki.spec.certificates[name].issuer
    return (EContentSigner if econtent else SimpleSigner)(
        signing_cert=_asn1_cert(pki.certificates[name]),
        signing_key=_asn1_key(pki.keys[name]),
        cert_registry=SimpleCertificateStore.from_certs([_asn1_cert(pki.certificates[issuer])]),
    )


def _last_contents(data: bytes) -> bytes:
    from pyhanko.pdf_utils.reader import PdfFileReader

    sig = PdfFileReader(BytesIO(data), strict=False).embedded_signatures[-1]
    return sig.pkcs7_content


def _sign(pki: TestPKI, state: _State, step: dict, seed: str) -> None:
    from pyhanko.sign import fields, signers

    name = step["sign"]
    when = _utc(step["time"], seed)
    field_name = step.get("field", name)
    field_spec = None
    if "box" in step or "lock" in step:
        lock = (
            fields.FieldMDPSpec(fields.FieldMDPAction.INCLUDE, fields=list(step["lock"]))
            if "lock" in step
            else None
        )
        box = tuple(step["box"]) if "box" in step else None
        lock_p = fields.MDPPerm(step["lock_p"]) if "lock_p" in step else None
        field_spec = fields.SigFieldSpec(
            field_name, box=box, field_mdp_spec=lock, doc_mdp_update_value=lock_p
        )
    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        certify="certify" in step,
        docmdp_permissions=fields.MDPPerm(step.get("certify", 2)),
        reason=step.get("reason"),
    )
    stamp_at = _utc(step["timestamp"], seed) if "timestamp" in step else None
    timestamper = _timestamper(pki, stamp_at) if stamp_at else None

    class PinnedSigner(signers.PdfSigner):
        def init_signing_session(self, pdf_out, existing_fields_only=False):
            session = super().init_signing_session(pdf_out, existing_fields_only)
            session.system_time = when
            return session

    signer = _signer_for(pki, name, econtent=step.get("econtent"))
    with _pinned(seed, when) as writer_class:
        writer = writer_class(BytesIO(state.data))
        out = PinnedSigner(
            meta, signer, timestamper=timestamper, new_field_spec=field_spec
        ).sign_pdf(writer)
    state.data = out.getvalue()
    state.last_contents = _last_contents(state.data)
    state.signing_time = state.signing_time or when
    if stamp_at:
        state.timestamp_time = state.timestamp_time or stamp_at
    what = f"{name} signs field {field_name!r} (PAdES, SHA-256, PKCS#1 v1.5) at {_iso(when)}"
    if "certify" in step:
        what += f", certifying with DocMDP P={step['certify']}"
    if stamp_at:
        what += f", signature timestamp by tsa-official at {_iso(stamp_at)}"
    if "box" in step:
        what += f", visible at {list(step['box'])}"
    if "lock" in step:
        what += f", locking {list(step['lock'])} (FieldMDP)"
    if "lock_p" in step:
        what += f", the lock setting DocMDP P={step['lock_p']} (PDF 2.0 /Lock /P)"
    if "econtent" in step:
        what += f", its CMS carrying the eContent {step['econtent']!r}"
    state.made.append(what)


def _dss(pki: TestPKI, crls: dict[str, bytes], state: _State, step: dict, seed: str) -> None:
    from pyhanko.sign.validation.dss import DocumentSecurityStore

    spec = step["dss"]
    clock = _utc(spec["ocsp_clock"], seed) if "ocsp_clock" in spec else None
    certs = [_asn1_cert(pki.certificates[n]) for n in spec.get("certs", ())]
    crl_objs = [asn1_crl.CertificateList.load(crls[n]) for n in spec.get("crls", ())]
    ocsps = [
        asn1_ocsp.OCSPResponse.load(ocsp_response_for_certificate(pki, n, clock=clock))
        for n in spec.get("ocsp", ())
    ]
    when = _utc(spec["time"], seed)
    with _pinned(seed, when) as writer_class:
        writer = writer_class(BytesIO(state.data))
        DocumentSecurityStore.supply_dss_in_writer(
            writer, state.last_contents, certs=certs, ocsps=ocsps, crls=crl_objs
        )
        out = BytesIO()
        writer.write(out)
    state.data = out.getvalue()
    parts = []
    for key, label in (("certs", "certificates"), ("crls", "CRLs"), ("ocsp", "OCSP for")):
        if spec.get(key):
            parts.append(f"{label} [{', '.join(spec[key])}]")
    if clock:
        parts.append(f"OCSP at {_iso(clock)}")
    state.made.append(f"DSS revision with VRI for the last signature: {'; '.join(parts)}")


def _doc_timestamp(pki: TestPKI, state: _State, step: dict, seed: str) -> None:
    from pyhanko.sign.signers import PdfTimeStamper

    when = _utc(step["doc_timestamp"], seed)
    with _pinned(seed, when) as writer_class:
        writer = writer_class(BytesIO(state.data))
        stamper = PdfTimeStamper(_timestamper(pki, when), field_name=step.get("field", "DTS1"))
        out = stamper.timestamp_pdf(writer, "sha256")
    state.data = out.getvalue()
    state.timestamp_time = state.timestamp_time or when
    state.made.append(f"document timestamp by tsa-official at {_iso(when)}")


def _annotation(state: _State, step: dict, seed: str, kind: str) -> None:
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.generic import pdf_name, pdf_string

    when = _utc(step["time"], seed)
    with _pinned(seed, when) as writer_class:
        writer = writer_class(BytesIO(state.data))
        page_ref, _resources = writer.find_page_for_modification(0)
        if kind == "note":
            # A sticky note in the left margin: an icon; its text shows only in its pop-up.
            annot = generic.DictionaryObject(
                {
                    pdf_name("/Type"): pdf_name("/Annot"),
                    pdf_name("/Subtype"): pdf_name("/Text"),
                    pdf_name("/Rect"): generic.ArrayObject(
                        map(generic.NumberObject, (20, 700, 40, 720))
                    ),
                    pdf_name("/Contents"): pdf_string(step["note"]),
                    pdf_name("/Name"): pdf_name("/Comment"),
                    pdf_name("/F"): generic.NumberObject(4),
                }
            )
        else:
            # A FreeText box over the third line of the letter, with its own appearance.
            ap = generic.StreamObject(
                {
                    pdf_name("/Type"): pdf_name("/XObject"),
                    pdf_name("/Subtype"): pdf_name("/Form"),
                    pdf_name("/BBox"): generic.ArrayObject(
                        map(generic.NumberObject, (0, 0, 300, 16))
                    ),
                },
                stream_data=b"1 g 0 0 300 16 re f 0 g BT /Helv 12 Tf 2 4 Td ("
                + _pdf_text(step["freetext"])
                + b") Tj ET",
            )
            annot = generic.DictionaryObject(
                {
                    pdf_name("/Type"): pdf_name("/Annot"),
                    pdf_name("/Subtype"): pdf_name("/FreeText"),
                    pdf_name("/Rect"): generic.ArrayObject(
                        map(generic.NumberObject, (70, 732, 370, 748))
                    ),
                    pdf_name("/Contents"): pdf_string(step["freetext"]),
                    pdf_name("/DA"): pdf_string("/Helv 12 Tf 0 g"),
                    pdf_name("/F"): generic.NumberObject(4),
                    pdf_name("/AP"): generic.DictionaryObject(
                        {pdf_name("/N"): writer.add_object(ap)}
                    ),
                }
            )
        writer.register_annotation(page_ref, writer.add_object(annot))
        out = BytesIO()
        writer.write(out)
    state.data = out.getvalue()
    what = "a sticky note in the margin" if kind == "note" else "a FreeText box over line 3"
    state.made.append(f"incremental update adding {what}")


def _replace_content(state: _State, step: dict, seed: str) -> None:
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.generic import pdf_name

    when = _utc(step["time"], seed)
    with _pinned(seed, when) as writer_class:
        writer = writer_class(BytesIO(state.data))
        page_ref, _resources = writer.find_page_for_modification(0)
        page = page_ref.get_object()
        content = generic.StreamObject(
            stream_data=b"BT /F1 12 Tf 72 770 Td ("
            + _pdf_text(step["replace_content"])
            + b") Tj ET"
        )
        page[pdf_name("/Contents")] = writer.add_object(content)
        writer.update_container(page)
        out = BytesIO()
        writer.write(out)
    state.data = out.getvalue()
    state.made.append("incremental update replacing the page's content stream")


def _append_object(state: _State, step: dict) -> None:
    text = b"BT /F1 12 Tf 72 770 Td (" + _pdf_text(step["append_object"]) + b") Tj ET"
    state.data += (
        b"5 0 obj\n<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream\nendobj\n"
    )
    state.made.append("object 5 (the page content) appended after %%EOF without an xref section")


def _flip_byte(state: _State, step: dict) -> None:
    needle = step["flip_byte"].encode("latin-1")
    if state.data.count(needle) != 1:
        raise SpecError(f"flip_byte: {needle!r} must occur exactly once")
    offset = state.data.index(needle)
    data = bytearray(state.data)
    data[offset] ^= 0x01
    state.data = bytes(data)
    state.made.append(f"byte {offset} ({needle.decode('latin-1')!r}) XOR 0x01")


def _offsets_early(state: _State, step: dict) -> None:
    """The last xref table's in-use offsets and the startxref point ``n`` bytes early (at the
    line end before ``N 0 obj`` and ``xref``), as some producers write them."""
    n = step["offsets_early"]
    head, tail = state.data.rsplit(b"startxref", 1)
    xref = int(tail.split()[0])
    entry = re.compile(rb"(\d{10}) (\d{5}) n")
    table = entry.sub(lambda m: b"%010d %s n" % (int(m.group(1)) - n, m.group(2)), head[xref:])
    state.data = head[:xref] + table + b"startxref\n%d\n%%%%EOF\n" % (xref - n)
    state.made.append(f"the xref offsets and startxref point {n} byte(s) early")


# -- edits after signing: one incremental update each, written by pyHanko ---------------------


def _edit(pki: TestPKI, state: _State, step: dict, seed: str) -> None:
    name = step["edit"]
    if name not in _EDITS:
        raise SpecError(f"unknown edit {name!r}; known: {sorted(_EDITS)}")
    when = _utc(step["time"], seed)
    with _pinned(seed, when) as writer_class:
        writer = writer_class(BytesIO(state.data))
        what = _EDITS[name](writer, step, pki, state)
        out = BytesIO()
        writer.write(out)
    state.data = out.getvalue()
    state.made.append(f"incremental update: {what}")


def _g():
    from pyhanko.pdf_utils import generic

    return generic


def _names(*names: str) -> dict:
    g = _g()
    pairs = zip(names[::2], names[1::2], strict=True)
    return {g.pdf_name("/" + n): g.pdf_name("/" + v) for n, v in pairs}


def _rect(*values: float):
    g = _g()
    return g.ArrayObject(g.FloatObject(v) if v != int(v) else g.NumberObject(v) for v in values)


def _form_xobject(writer, width: int, height: int, text: str, resources=None):
    """A small appearance: a white box with ``text`` in Helvetica (the page's /F1 font)."""
    g = _g()
    page_ref, _res = writer.find_page_for_modification(0)
    font = page_ref.get_object()["/Resources"]["/Font"].raw_get("/F1")
    stream = g.StreamObject(
        {
            **_names("Type", "XObject", "Subtype", "Form"),
            g.pdf_name("/BBox"): _rect(0, 0, width, height),
            g.pdf_name("/Resources"): resources
            or g.DictionaryObject(
                {g.pdf_name("/Font"): g.DictionaryObject({g.pdf_name("/F1"): font})}
            ),
        },
        stream_data=b"1 g 0 0 %d %d re f 0 g BT /F1 10 Tf 4 %d Td (" % (width, height, height // 2)
        + _pdf_text(text)
        + b") Tj ET",
    )
    return writer.add_object(stream)


def _form_fields(writer):
    return writer.root["/AcroForm"]["/Fields"]


def _field_named(writer, name: str):
    """(reference, dictionary) of the top-level form field called ``name``."""
    for ref in _form_fields(writer):
        field_dict = ref.get_object()
        if str(field_dict.get("/T")) == name:
            return ref, field_dict
    raise SpecError(f"no form field {name!r}")


def _signature_fields(writer) -> list:
    return [r for r in _form_fields(writer) if r.get_object().get("/FT") == "/Sig"]


def _add_field(writer, field_ref) -> None:
    fields = _form_fields(writer)
    fields.append(field_ref)
    writer.update_container(fields)


def _widget(writer, rect, ap_ref, extra: dict | None = None) -> dict:
    g = _g()
    page_ref, _res = writer.find_page_for_modification(0)
    return g.DictionaryObject(
        {
            **_names("Type", "Annot", "Subtype", "Widget"),
            g.pdf_name("/Rect"): _rect(*rect),
            g.pdf_name("/F"): g.NumberObject(4),
            g.pdf_name("/P"): page_ref,
            g.pdf_name("/AP"): g.DictionaryObject({g.pdf_name("/N"): ap_ref}),
            **(extra or {}),
        }
    )


_MARGIN_BOX = (350, 60, 550, 120)  # below the letter's text: the page paints nothing there


def _edit_font_into_dss(writer, step, pki, state) -> str:
    """The signed page's font re-encoded (WinAnsi → MacRoman) and listed in a new DSS."""
    from pyhanko.sign.validation.dss import DocumentSecurityStore

    g = _g()
    certs = [_asn1_cert(pki.certificates[n]) for n in ("ca-official", "root-official")]
    DocumentSecurityStore.supply_dss_in_writer(writer, state.last_contents, certs=certs)
    page_ref, _res = writer.find_page_for_modification(0)
    font_ref = page_ref.get_object()["/Resources"]["/Font"].raw_get("/F1")
    font = font_ref.get_object()
    font[g.pdf_name("/Encoding")] = g.pdf_name("/MacRomanEncoding")
    writer.mark_update(font_ref)
    dss = writer.root["/DSS"]
    dss["/Certs"].append(font_ref)
    writer.update_container(dss["/Certs"])
    return (
        f"a DSS with [ca-official, root-official] whose /Certs also lists object "
        f"{font_ref.idnum}, the page's font, rewritten with /MacRomanEncoding"
    )


def _edit_recycle_signature(writer, step, pki, state) -> str:
    """A new visible signature field whose /V is the signature dictionary of ``of``."""
    g = _g()
    _ref, signed = _field_named(writer, step["of"])
    ap = _form_xobject(writer, 200, 60, step.get("text", "Da ky so"))
    field_dict = _widget(
        writer,
        _MARGIN_BOX,
        ap,
        {
            g.pdf_name("/FT"): g.pdf_name("/Sig"),
            g.pdf_name("/T"): g.TextStringObject(step["field"]),
            g.pdf_name("/V"): signed.raw_get("/V"),
        },
    )
    if step.get("copy_contents"):
        original = signed["/V"]
        copy = g.DictionaryObject({k: original.raw_get(k) for k in original})
        field_dict[g.pdf_name("/V")] = writer.add_object(copy)
    field_ref = writer.add_object(field_dict)
    _add_field(writer, field_ref)
    page_ref, _res = writer.find_page_for_modification(0)
    writer.register_annotation(page_ref, field_ref)
    how = "a copy of its dictionary (same /Contents)" if step.get("copy_contents") else "it"
    return (
        f"a visible signature field {step['field']!r} whose /V is {how}: the signature of "
        f"{step['of']!r}"
    )


def _edit_orphan_widget(writer, step, pki, state) -> str:
    """A widget annotation in the margin that belongs to no form field."""
    ap = _form_xobject(writer, 200, 60, step.get("text", "DA DUYET"))
    page_ref, _res = writer.find_page_for_modification(0)
    writer.register_annotation(page_ref, writer.add_object(_widget(writer, _MARGIN_BOX, ap)))
    return "a widget annotation in the margin that belongs to no form field"


def _edit_empty_signature_field(writer, step, pki, state) -> str:
    from pyhanko.sign import fields

    fields.append_signature_field(writer, fields.SigFieldSpec(step["field"], box=_MARGIN_BOX))
    return f"an empty visible signature field {step['field']!r}"


def _edit_field_type(writer, step, pki, state) -> str:
    g = _g()
    ref, field_dict = _field_named(writer, step["field"])
    was = field_dict.get("/Type")
    field_dict[g.pdf_name("/Type")] = g.pdf_name("/" + step["type"])
    writer.mark_update(ref)
    return f"the /Type of field {step['field']!r} changed from {was} to /{step['type']}"


def _edit_text_field(writer, step, pki, state) -> str:
    """A text field with one widget kid (in the margin, above the signature box)."""
    g = _g()
    value = step.get("value")
    field_dict = g.DictionaryObject(
        {
            g.pdf_name("/FT"): g.pdf_name("/Tx"),
            g.pdf_name("/T"): g.TextStringObject(step["field"]),
            g.pdf_name("/DA"): g.TextStringObject("/Helv 10 Tf 0 g"),
        }
    )
    if value is not None:
        field_dict[g.pdf_name("/V")] = g.TextStringObject(value)
    field_ref = writer.add_object(field_dict)
    ap = _form_xobject(writer, 200, 20, value or "")
    widget = _widget(writer, (350, 140, 550, 160), ap, {g.pdf_name("/Parent"): field_ref})
    widget_ref = writer.add_object(widget)
    field_dict[g.pdf_name("/Kids")] = g.ArrayObject([widget_ref])
    if "/AcroForm" not in writer.root:
        writer.root[g.pdf_name("/AcroForm")] = writer.add_object(
            g.DictionaryObject({g.pdf_name("/Fields"): g.ArrayObject()})
        )
        writer.update_root()
    _add_field(writer, field_ref)
    page_ref, _res = writer.find_page_for_modification(0)
    writer.register_annotation(page_ref, widget_ref)
    shown = f"holding {value!r}" if value is not None else "empty"
    return f"a text field {step['field']!r} ({shown}) with one widget in the margin"


def _edit_replace_kids(writer, step, pki, state) -> str:
    """The field's /Kids replaced by a new widget with the same appearance and place."""
    g = _g()
    ref, field_dict = _field_named(writer, step["field"])
    old_widget = field_dict["/Kids"][0].get_object()
    copy = g.DictionaryObject({k: old_widget.raw_get(k) for k in old_widget})
    copy[g.pdf_name("/NM")] = g.TextStringObject("replacement")
    field_dict[g.pdf_name("/Kids")] = g.ArrayObject([writer.add_object(copy)])
    writer.mark_update(ref)
    return f"the /Kids of field {step['field']!r} replaced by another widget (not on the page)"


def _edit_remove_widget(writer, step, pki, state) -> str:
    """The widget of field ``field`` removed from the page's /Annots (the field stays)."""
    ref, _field_dict = _field_named(writer, step["field"])
    page_ref, _res = writer.find_page_for_modification(0)
    page = page_ref.get_object()
    annots = page["/Annots"]
    kept = [a for a in annots if a.idnum != ref.idnum]
    annots.clear()
    annots.extend(kept)
    writer.update_container(annots)
    return f"the widget of field {step['field']!r} removed from page 1 (the field stays)"


def _edit_unlock_field(writer, step, pki, state) -> str:
    """The /Lock of signature field ``field`` rewritten to lock nothing."""
    g = _g()
    _ref, field_dict = _field_named(writer, step["field"])
    lock_ref = field_dict.raw_get("/Lock")
    lock = lock_ref.get_object()
    lock[g.pdf_name("/Fields")] = g.ArrayObject()
    writer.mark_update(lock_ref)
    return f"the /Lock of signature field {step['field']!r} rewritten to lock no field"


def _edit_action_link(writer, step, pki, state) -> str:
    """A Link annotation in the margin (covering nothing) whose /A is a ``step["action"]``
    action: JavaScript (/JS the ``script``) or Launch (/F the ``script``)."""
    g = _g()
    kind = step["action"]
    if kind not in ("JavaScript", "Launch"):
        raise SpecError(f"action-link: action {kind!r} is not JavaScript or Launch")
    action = g.DictionaryObject({**_names("S", kind)})
    key = "/JS" if kind == "JavaScript" else "/F"
    action[g.pdf_name(key)] = g.TextStringObject(step["script"])
    link = g.DictionaryObject(
        {
            **_names("Type", "Annot", "Subtype", "Link"),
            g.pdf_name("/Rect"): _rect(20, 700, 40, 720),
            g.pdf_name("/Border"): g.ArrayObject([g.NumberObject(0)] * 3),
            g.pdf_name("/A"): action,
        }
    )
    page_ref, _res = writer.find_page_for_modification(0)
    writer.register_annotation(page_ref, writer.add_object(link))
    return f"a Link annotation in the margin whose action is /{kind} {step['script']!r}"


def _edit_metadata(writer, step, pki, state) -> str:
    """The catalog's /Metadata set to a new stream holding ``step["data"]``."""
    g = _g()
    stream = g.StreamObject(
        {**_names("Type", "Metadata", "Subtype", "XML")},
        stream_data=step["data"].encode("utf-8"),
    )
    writer.root[g.pdf_name("/Metadata")] = writer.add_object(stream)
    writer.update_root()
    # pyHanko would replace a /Metadata that is not its own XMP with its own on writing
    # (BasePdfFileWriter._update_meta); this edit is about exactly that stream.
    writer._update_meta = lambda: None
    return f"the catalog's /Metadata set to a new stream of {len(step['data'])} bytes"


_EDITS = {
    "action-link": _edit_action_link,
    "metadata": _edit_metadata,
    "font-into-dss": _edit_font_into_dss,
    "recycle-signature": _edit_recycle_signature,
    "orphan-widget": _edit_orphan_widget,
    "empty-signature-field": _edit_empty_signature_field,
    "field-type": _edit_field_type,
    "text-field": _edit_text_field,
    "replace-kids": _edit_replace_kids,
    "remove-widget": _edit_remove_widget,
    "unlock-field": _edit_unlock_field,
}


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def apply_steps(
    pki: TestPKI, crls: dict[str, bytes], base: bytes, steps, name: str
) -> tuple[bytes, list[str]]:
    """``base`` with ``steps`` (as in pdf.toml) applied; what was done, one line per step.
    The benchmark uses this to sign its large files exactly as the vectors are signed."""
    vector = PdfVectorSpec(
        name, "pdf", "pdf", tuple(steps), dt.datetime.now(dt.UTC), "offline", "basic",
        "official", (), "", {},
    )  # fmt: skip
    state = _build(pki, crls, base, vector)
    return state.data, state.made


def _build(pki: TestPKI, crls: dict[str, bytes], base: bytes, vector: PdfVectorSpec) -> _State:
    state = _State(base)
    for i, step in enumerate(vector.steps):
        seed = f"sigmail-pdf/{vector.name}/{i}"
        if "sign" in step:
            _sign(pki, state, step, seed)
        elif "dss" in step:
            _dss(pki, crls, state, step, seed)
        elif "doc_timestamp" in step:
            _doc_timestamp(pki, state, step, seed)
        elif "note" in step:
            _annotation(state, step, seed, "note")
        elif "freetext" in step:
            _annotation(state, step, seed, "freetext")
        elif "replace_content" in step:
            _replace_content(state, step, seed)
        elif "append_object" in step:
            _append_object(state, step)
        elif "flip_byte" in step:
            _flip_byte(state, step)
        elif "edit" in step:
            _edit(pki, state, step, seed)
        elif "offsets_early" in step:
            _offsets_early(state, step)
    return state


def make(pki: TestPKI, crls: dict[str, bytes], spec_dir: Path, out_dir: Path) -> list[dict]:
    """Write vectors/pdf/*.pdf (and *.p7s) and return their manifest entries."""
    spec = load_spec(spec_dir)
    base = letter(spec.lines, spec.document_id)
    (out_dir / OUT_DIR).mkdir(parents=True, exist_ok=True)
    (out_dir / DOCUMENT).write_bytes(base)
    made: dict[str, tuple[bytes, str]] = {}
    entries = []
    for vector in spec.vectors:
        if vector.make == "detached":
            content = (out_dir / vector.content).read_bytes()
            name = vector.signers[0]
            issuer = pki.spec.certificates[name].issuer
            data = signed_data(
                content,
                [Signer(cert=pki.certificates[name], key=pki.keys[name], signing_time=None)],
                detached=True,
                certificates=[pki.certificates[name], pki.certificates[issuer]],
            )
            how = f"detached CMS SignedData over {vector.content} by {name} (PKCS#1 v1.5, SHA-256)"
            timestamp_time = signing_time = None
        elif vector.make == "reuse":
            data, how = made[vector.source]
            how = f"the file of vector {vector.source}"
            timestamp_time = signing_time = None
        else:
            state = _build(pki, crls, base, vector)
            data = state.data
            how = "; ".join([f"{DOCUMENT} (one page, unsigned)", *state.made])
            timestamp_time, signing_time = state.timestamp_time, state.signing_time
        made[vector.name] = (data, how)
        path = out_dir / vector.file
        path.write_bytes(data)
        content_bytes = (out_dir / vector.content).read_bytes() if vector.content else None
        entries.append(
            {
                "name": vector.name,
                "path": vector.file,
                "sha256": hashlib.sha256(data).hexdigest(),
                "kind": vector.kind,
                "content": vector.content,
                "content_sha256": (
                    hashlib.sha256(content_bytes).hexdigest() if content_bytes else None
                ),
                "at": _iso(vector.at),
                "trust": {k: list(v) for k, v in vector.trust.items()},
                "mode": vector.mode,
                "policy": vector.policy,
                "expect": {"verdict": vector.verdict, "reasons": list(vector.reasons)},
                "description": vector.description,
                "deterministic": True,
                "made": how,
                "signers": list(vector.signers),
                "signing_time": _iso(signing_time) if signing_time else None,
                "timestamp_time": _iso(timestamp_time) if timestamp_time else None,
            }
        )
    return entries
