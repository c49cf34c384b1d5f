"""What kind of input is this? Decided from the bytes; the file name only breaks ties.

Content wins wherever it is decisive: a PNG named ``.p7m`` is an image, an Outlook ``.msg``
is an OLE2 compound file, not a MIME message. The name decides only between kinds the bytes
leave open — base64 or PEM text named ``.p7m`` is CMS, headerless text named ``.eml`` is a
(broken) message, unrecognised bytes named ``.pdf`` go to the PDF reader, which says what is
wrong with them.

Every kind is recognised, not only those sigmail verifies, so that a file it cannot read is
``unsupported`` and named ("a Word document"), not ``malformed`` ("return it to the sender").
OOXML, ODF and XML are told apart here so that signature handlers for them can be added by
kind (:data:`sigmail.formats.HANDLERS`).

Only a bounded prefix is read (:data:`HEAD_BYTES`), except for ZIP files, whose member names
are looked for in the whole input with ``bytes.find`` (one linear pass, no decompression).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "HEAD_BYTES",
    "KIND_SUFFIXES",
    "Detected",
    "InputKind",
    "detect",
    "detect_kind",
    "file_suffix",
]

HEAD_BYTES = 4096  # what content detection reads of an input (ZIP member names aside)

_MIME_HEADER = re.compile(rb"^[A-Za-z0-9-]{1,76}:", re.ASCII)
_XML_NAME = re.compile(rb"<([A-Za-z_][\w.:-]{0,127})")


class InputKind:
    PDF = "pdf"
    CMS = "cms"  # .p7m (attached) or .p7s (detached): told apart after parsing
    EML = "eml"
    OOXML = "ooxml"  # Office Open XML: .docx, .xlsx, .pptx (ZIP with [Content_Types].xml)
    ODF = "odf"  # OpenDocument: .odt, .ods, .odp (ZIP whose first member is "mimetype")
    XML = "xml"
    # Recognised, not verified: named in an "unsupported" finding.
    ZIP = "zip"
    IMAGE = "image"
    OLE = "ole"  # OLE2 compound file: .doc, .xls, .ppt of Office 97-2003, Outlook .msg
    OPENPGP = "openpgp"
    TEXT = "text"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Detected:
    kind: str  # an InputKind value
    label: str  # what a clerk is told the file is ("a Word document (.docx, Office Open XML)")
    suffix: str = ""  # the file-name suffix this content usually has (".docx"), "" if none


# The suffixes a file of each verified kind may carry: a name with one of these keeps it (a
# macro-enabled ".docm", a detached ".p7s"); any other name gets the content's own suffix.
KIND_SUFFIXES: dict[str, frozenset[str]] = {
    InputKind.PDF: frozenset({".pdf"}),
    InputKind.CMS: frozenset({".p7m", ".p7s", ".p7", ".p7b", ".p7c"}),
    InputKind.EML: frozenset({".eml"}),
    # .docx .docm .dotx .dotm … .ppsm: documents and templates, with and without macros
    InputKind.OOXML: frozenset(
        f".{stem}{end}"
        for stem in ("doc", "dot", "xls", "xlt", "ppt", "pot", "pps")
        for end in "xm"
    ),
    InputKind.ODF: frozenset(f".{a}{b}" for a in ("od", "ot") for b in "tspg"),  # .odt … .otg
    InputKind.XML: frozenset({".xml"}),
}


def file_suffix(detected: Detected, name: str | None) -> str:
    """The suffix to store ``detected`` content under: the name's when it is one this kind
    carries, else the content's own; "" for kinds sigmail does not verify."""
    if detected.kind not in KIND_SUFFIXES:
        return ""
    lower = (name or "").lower()
    suffix = lower[lower.rfind(".") :] if "." in lower else ""
    return suffix if suffix in KIND_SUFFIXES[detected.kind] else detected.suffix


_IMAGES = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
)
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = (b"PK\x03\x04", b"PK\x05\x06")  # a local file header, or the end record of an empty zip

_OOXML = (
    (b"word/", "a Word document (.docx, Office Open XML)", ".docx"),
    (b"xl/", "an Excel workbook (.xlsx, Office Open XML)", ".xlsx"),
    (b"ppt/", "a PowerPoint presentation (.pptx, Office Open XML)", ".pptx"),
)
_ODF = {
    b"application/vnd.oasis.opendocument.text": ("an OpenDocument text (.odt)", ".odt"),
    b"application/vnd.oasis.opendocument.spreadsheet": (
        "an OpenDocument spreadsheet (.ods)",
        ".ods",
    ),
    b"application/vnd.oasis.opendocument.presentation": (
        "an OpenDocument presentation (.odp)",
        ".odp",
    ),
    b"application/vnd.oasis.opendocument.graphics": ("an OpenDocument drawing (.odg)", ".odg"),
}
_OLE_NAMES = {
    ".doc": "a Word 97-2003 document (.doc)",
    ".xls": "an Excel 97-2003 workbook (.xls)",
    ".ppt": "a PowerPoint 97-2003 presentation (.ppt)",
    ".msg": "an Outlook message (.msg)",
}
_CMS_NAMES = (".p7m", ".p7s", ".p7", ".p7b", ".p7c")
_EML_NAMES = (".eml", ".msg", ".mbox")


def detect_kind(data: bytes, name: str | None = None) -> str:
    """The :class:`InputKind` of ``data`` (see :func:`detect`)."""
    return detect(data, name).kind


def detect(data: bytes, name: str | None = None) -> Detected:
    """What ``data`` is: decided from its content, with ``name`` as the tie-breaker."""
    head = bytes(data[:HEAD_BYTES])
    lower = (name or "").lower()
    stripped = head.lstrip()
    if stripped[:5] == b"%PDF-" or (b"%PDF-" in head[:1024] and lower.endswith(".pdf")):
        return Detected(InputKind.PDF, "a PDF document", ".pdf")
    if head.startswith(_ZIP):
        return _zip(data, head)
    if head.startswith(_OLE2):
        suffix = lower[lower.rfind(".") :] if "." in lower else ""
        label = _OLE_NAMES.get(suffix, "an OLE2 compound file (Office 97-2003 or Outlook)")
        return Detected(InputKind.OLE, label)
    for magic, label in _IMAGES:
        if head.startswith(magic):
            return Detected(InputKind.IMAGE, label)
    if head[8:12] == b"WEBP" and head.startswith(b"RIFF"):
        return Detected(InputKind.IMAGE, "a WebP image")
    if head.startswith(b"BM") and head[6:10] == b"\x00\x00\x00\x00":  # reserved, zero
        return Detected(InputKind.IMAGE, "a BMP image")
    if stripped.startswith(b"-----BEGIN PGP"):
        return Detected(InputKind.OPENPGP, "OpenPGP data (armoured)")
    if _is_der_sequence(stripped) or stripped.startswith(b"-----BEGIN"):
        return Detected(InputKind.CMS, "a CMS (PKCS #7) file", ".p7m")
    if _MIME_HEADER.match(stripped) or _is_mbox(head):
        return Detected(InputKind.EML, "an e-mail message", ".eml")
    # The content alone does not decide from here on: the name may.
    if lower.endswith(_CMS_NAMES):
        return Detected(InputKind.CMS, "a CMS (PKCS #7) file", ".p7m")
    if lower.endswith(".pdf"):
        return Detected(InputKind.PDF, "a PDF document", ".pdf")
    xml = _xml_root(head)
    if xml is not None:
        return xml
    if lower.endswith(_EML_NAMES):
        return Detected(InputKind.EML, "an e-mail message", ".eml")
    if _is_text(head):
        return Detected(InputKind.TEXT, _text_label(stripped))
    return Detected(InputKind.UNKNOWN, "data of an unrecognised type")


def _is_der_sequence(head: bytes) -> bool:
    """A BER/DER SEQUENCE header as a ContentInfo starts: 0x30, then a long or indefinite
    length, or a short one followed by an OID (so that text starting with "0" is not CMS)."""
    if head[:1] != b"\x30" or len(head) < 2:
        return False
    return 0x80 <= head[1] <= 0x84 or (head[1] < 0x80 and head[2:3] == b"\x06")


def _is_mbox(head: bytes) -> bool:
    """An mbox "From " line followed by a header field."""
    if not head.startswith(b"From "):
        return False
    newline = head.find(b"\n")
    return newline > 0 and _MIME_HEADER.match(head[newline + 1 :]) is not None


def _zip(data: bytes, head: bytes) -> Detected:
    # ODF: the first member is "mimetype", stored, its content the media type (ODF 1.2 §3.3).
    if head[30:38] == b"mimetype":
        start = 30 + int.from_bytes(head[26:28], "little") + int.from_bytes(head[28:30], "little")
        media_type = head[start : start + 80].split(b"PK", 1)[0].strip()
        for prefix, (label, suffix) in _ODF.items():
            if media_type.startswith(prefix):
                return Detected(InputKind.ODF, label, suffix)
        if media_type.startswith(b"application/vnd.oasis.opendocument."):
            return Detected(InputKind.ODF, "an OpenDocument file")
    view = bytes(data) if not isinstance(data, bytes) else data
    if view.find(b"[Content_Types].xml") >= 0:
        for marker, label, suffix in _OOXML:
            if view.find(marker) >= 0:
                return Detected(InputKind.OOXML, label, suffix)
        return Detected(InputKind.OOXML, "an Office Open XML file")
    return Detected(InputKind.ZIP, "a ZIP archive")


def _xml_root(head: bytes) -> Detected | None:
    """An XML document: its prolog (declaration, comments, processing instructions, a
    DOCTYPE) skipped in one forward pass, then the root element's name."""
    text = head.removeprefix(b"\xef\xbb\xbf")
    pos = len(text) - len(text.lstrip())
    while pos < len(text):
        if text.startswith(b"<?", pos):
            end = text.find(b"?>", pos)
        elif text.startswith(b"<!--", pos):
            end = text.find(b"-->", pos)
        elif text[pos : pos + 9].upper() == b"<!DOCTYPE":
            end = text.find(b"]>" if b"[" in text[pos : text.find(b">", pos)] else b">", pos)
        else:
            break
        if end < 0:
            return None
        pos = end + 1
        while pos < len(text) and text[pos] in b"?->] \t\r\n":
            pos += 1
    found = _XML_NAME.match(text, pos)
    if found is None:
        return None
    root = found.group(1).decode("ascii", "replace")
    if root.lower() == "html":
        return Detected(InputKind.TEXT, "an HTML page")
    return Detected(InputKind.XML, f"an XML document (root element <{root}>)", ".xml")


def _is_text(head: bytes) -> bool:
    """UTF-8 (or ASCII) text: decodes, and has no control characters but tab and line ends."""
    if not head or b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # not merely a character cut at the end of the prefix
            return False
        text = head[: exc.start].decode("utf-8")
    controls = sum(1 for c in text if c < " " and c not in "\t\r\n\f")
    return controls * 100 <= len(text)


def _text_label(stripped: bytes) -> str:
    if stripped[:15].lower().startswith((b"<!doctype html", b"<html")):
        return "an HTML page"
    return "plain text"
