"""Which parts of a message are documents with a verdict of their own.

A forwarded message (``message/rfc822``), a PDF, and a CMS file (``.p7m``/``.p7s``, or a
``application/pkcs7-mime`` part that is not the message's own opaque signature) are handed to
the verifier as documents (``nested``); each gets its own verdict in ``Verdict.documents``,
named after the part's file name (or its locator). A detached ``X.p7s`` is checked against the
part named ``X`` of the same message when there is one.
"""

from __future__ import annotations

from asn1crypto import cms

from sigmail.cms.signed_data import decode_cms_bytes
from sigmail.problems import ASN1_ERRORS, InputProblem
from sigmail.smime.mime import Entity

__all__ = [
    "ENCRYPTED_CMS",
    "PKCS7_MIME",
    "PKCS7_SIGNATURE",
    "cms_content_type",
    "document_kind",
    "document_name",
    "is_opaque_signature_name",
]

PKCS7_MIME = frozenset({"application/pkcs7-mime", "application/x-pkcs7-mime"})
PKCS7_SIGNATURE = frozenset({"application/pkcs7-signature", "application/x-pkcs7-signature"})
ENCRYPTED_CMS = frozenset({"enveloped_data", "authenticated_enveloped_data", "encrypted_data"})
MESSAGE_TYPES = frozenset({"message/rfc822", "message/global"})

# The names S/MIME agents give their own signature parts (RFC 8551 §3.2.1).
_OPAQUE_NAMES = frozenset({"smime.p7m", "smime.p7s", "smime.p7z", "smime.p7c"})


def is_opaque_signature_name(filename: str | None) -> bool:
    return filename is None or filename.strip().lower() in _OPAQUE_NAMES


def cms_content_type(data: bytes) -> str | None:
    """The content type of a CMS ContentInfo ("signed_data", "enveloped_data", …), or None."""
    try:
        der = decode_cms_bytes(data)
        return cms.ContentInfo.load(der)["content_type"].native
    except (*ASN1_ERRORS, InputProblem):
        return None


def document_kind(entity: Entity) -> str | None:
    """The kind of document a part is ("eml", "pdf", "cms", "ooxml" or "odf"), or None."""
    ctype = entity.content_type
    name = (entity.filename or "").lower()
    if ctype in MESSAGE_TYPES or (ctype == "application/octet-stream" and name.endswith(".eml")):
        return "eml"
    if ctype == "application/pdf" or name.endswith(".pdf"):
        return "pdf"
    if ctype in PKCS7_MIME or ctype in PKCS7_SIGNATURE or name.endswith((".p7m", ".p7s", ".p7")):
        return "cms"
    # An Office annex (.docx, .xlsx, .pptx), signed or not: C10 asks for the agency's signature.
    if ctype.startswith("application/vnd.openxmlformats-officedocument.") or name.endswith(
        (".docx", ".xlsx", ".pptx")
    ):
        return "ooxml"
    # An OpenDocument annex (.odt, .ods, .odp), signed or not, likewise.
    if ctype.startswith("application/vnd.oasis.opendocument.") or name.endswith(
        (".odt", ".ods", ".odp", ".odg")
    ):
        return "odf"
    return None


def document_name(entity: Entity, kind: str, taken: set[str]) -> str:
    """A unique name for the document made from ``entity`` (its file name when it has one)."""
    extension = {"eml": ".eml", "pdf": ".pdf", "cms": ".p7m", "ooxml": ".docx", "odf": ".odt"}[kind]
    if entity.content_type in PKCS7_SIGNATURE:
        extension = ".p7s"
    name = entity.filename or f"{entity.locator}{extension}"
    if name in taken:
        name = f"{name} ({entity.locator})"
    taken.add(name)
    return name
