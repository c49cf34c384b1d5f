"""The RFC 3161 timestamp tokens an input carries, as separate DER files for a bundle.

The tokens are inside the input (a signature's unsigned attribute, a PDF document timestamp),
so replay never needs them; they are copied out so that an analyst can hand them to another
tool. The walk reads the same structures the verifier reads, with sigmail's own parsers and
the same budgets, and is best-effort: a part that does not parse is skipped, never an error.
A message's documents are not found again: they come from the verification
(:class:`~sigmail.contract.CarriedDocument`); only the message's own signature part is read
here, with sigmail's MIME parser.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from asn1crypto import cms, core

from sigmail.contract import CarriedDocument
from sigmail.formats.detect import InputKind, detect_kind
from sigmail.limits import Budget, Limits
from sigmail.smime.mime import MimeParser

__all__ = ["FoundToken", "find_timestamp_tokens"]

_TST_INFO = "1.2.840.113549.1.9.16.1.4"
_CMS_TYPES = (
    "application/pkcs7-signature",
    "application/x-pkcs7-signature",
    "application/pkcs7-mime",
    "application/x-pkcs7-mime",
)


@dataclass(frozen=True, slots=True)
class FoundToken:
    where: str  # e.g. "signer 0", "PDF field NguoiKy", "part 2 / signer 0"
    der: bytes


def find_timestamp_tokens(
    data: bytes,
    name: str | None = None,
    *,
    limits: Limits | None = None,
    documents: Sequence[CarriedDocument] = (),
) -> list[FoundToken]:
    """Every timestamp token in ``data`` and in the ``documents`` it carries (as the
    verification handed them over), the input's own first."""
    limits = limits or Limits()
    out: list[FoundToken] = []
    seen: set[bytes] = set()
    _walk(bytes(data), name, "", 0, limits, out, seen)
    for doc in documents:
        _walk(bytes(doc.data), doc.verdict.name, doc.path, 1, limits, out, seen)
    return out


def _add(out: list[FoundToken], seen: set[bytes], where: str, der: bytes) -> None:
    if der not in seen:
        seen.add(der)
        out.append(FoundToken(where, der))


def _walk(data, name, where, depth, limits: Limits, out, seen) -> None:
    if depth > limits.max_cms_nesting or len(out) > limits.max_signatures * 4:
        return
    kind = detect_kind(data, name)
    try:
        if kind == InputKind.CMS:
            _cms(data, where, depth, limits, out, seen)
        elif kind == InputKind.PDF:
            _pdf(data, where, limits, out, seen)
        elif kind == InputKind.EML:
            _email(data, where, depth, limits, out, seen)
        elif kind in (InputKind.XML, InputKind.OOXML, InputKind.ODF):
            _xades(data, kind, where, limits, out, seen)
    except (ValueError, TypeError, KeyError, IndexError, OverflowError):
        return  # not for us to judge: the verdict already says what is wrong with it
    except Exception as exc:  # sigmail's own parse errors (MalformedInput, PdfSyntaxError, …)
        if type(exc).__module__.startswith("sigmail."):
            return
        raise


def _prefix(where: str) -> str:
    return f"{where} / " if where else ""


def _signer_tokens(info: cms.ContentInfo, where: str, out, seen) -> None:
    sd = info["content"]
    if sd["encap_content_info"]["content_type"].dotted == _TST_INFO:
        _add(out, seen, where or "token", info.dump())
        return
    for i, signer in enumerate(sd["signer_infos"]):
        for attr in signer["unsigned_attrs"] or ():
            if attr["type"].native == "signature_time_stamp_token":
                for token in attr["values"]:
                    _add(out, seen, f"{_prefix(where)}signer {i}", token.dump())


def _cms(data, where, depth, limits, out, seen) -> None:
    from sigmail.cms.signed_data import decode_cms_bytes

    info = cms.ContentInfo.load(decode_cms_bytes(data))
    if info["content_type"].native != "signed_data":
        return
    _signer_tokens(info, where, out, seen)
    econtent = info["content"]["encap_content_info"]["content"]
    if not isinstance(econtent, core.Void):  # a .p7m sealed over a signed .p7m, an S/MIME entity
        inner = bytes(econtent)
        _walk(inner, None, f"{_prefix(where)}content", depth + 1, limits, out, seen)


def _pdf(data, where, limits, out, seen) -> None:
    from sigmail.pdf.document import PdfDocument
    from sigmail.pdf.signatures import find_signatures

    doc = PdfDocument(data, Budget(limits))
    for sig in find_signatures(doc):
        contents = sig.contents
        if not contents:
            continue
        info = cms.ContentInfo.load(contents, strict=False)
        label = f"{_prefix(where)}PDF field {sig.label}"
        if info["content_type"].native == "signed_data":
            _signer_tokens(info, label, out, seen)


def _xades(data, kind, where, limits, out, seen) -> None:
    """XAdES SignatureTimeStamps: of a signed XML document, of each signature part of an
    Office package, of each signature file of an OpenDocument package (its macro
    signatures' too), read with the verifier's safe parser and ZIP reader."""
    from sigmail.odf.package import DOCUMENT_SIGNATURES, MACRO_SIGNATURES
    from sigmail.ooxml.zipsafe import read_zip
    from sigmail.xmldsig.names import ds
    from sigmail.xmldsig.parse import parse_xml
    from sigmail.xmldsig.xades import read_xades

    budget = Budget(limits)
    files: list[tuple[str, bytes]] = [("", data)]
    if kind != InputKind.XML:
        entries = read_zip(data, budget).entries
        if kind == InputKind.ODF:
            names = [n for n in (DOCUMENT_SIGNATURES, MACRO_SIGNATURES) if n in entries]
        else:
            names = sorted(
                n
                for n in entries
                if n.lower().startswith("_xmlsignatures/") and n.lower().endswith(".xml")
            )
        files = [(n, entries[n]) for n in names]
    for name, xml in files:
        root = parse_xml(xml, budget, locator=name or "document")
        for i, signature in enumerate(root.iter(ds("Signature"))):
            props = read_xades(signature, budget)
            for token, _c14n in props.timestamps if props is not None else ():
                label = f"{name} signature {i}" if name else f"signature {i}"
                _add(out, seen, f"{_prefix(where)}{label}", token)


def _email(data, where, depth, limits, out, seen) -> None:
    """The message's own signature parts (a documents' .p7m/.p7s comes with ``documents``):
    CMS-typed parts named smime.p7s/smime.p7m or not named; an opaque signature's eContent
    (the signed entity) is walked on."""
    from sigmail.smime.attachments import is_opaque_signature_name

    parser = MimeParser(Budget(limits))
    for n, entity in enumerate(parser.parse_message(data).walk()):
        if n > limits.max_mime_parts:
            return
        if entity.content_type in _CMS_TYPES and is_opaque_signature_name(entity.filename):
            label = f"{_prefix(where)}{entity.locator} ({entity.content_type})"
            _walk(parser.decoded(entity), None, label, depth + 1, limits, out, seen)
