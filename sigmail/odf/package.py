"""An ODF package as signatures see it: its streams, the ``mimetype`` it declares, the
streams ``META-INF/manifest.xml`` lists, and where the signatures are.

Stream names are case-sensitive (ODF 1.2 Part 3 §3.2, unlike OPC part names); the ZIP is read
by :func:`sigmail.ooxml.zipsafe.read_zip` (entry count, sizes, ratio, names, encryption),
nothing is extracted. A package whose manifest marks streams as encrypted is ``unsupported``:
what a reader would read cannot be shown to be what was signed.
"""

from __future__ import annotations

from dataclasses import dataclass

from sigmail.limits import Budget
from sigmail.ooxml.zipsafe import read_zip
from sigmail.problems import MalformedInput, UnsupportedInput
from sigmail.xmldsig.parse import parse_xml

__all__ = [
    "DOCUMENT_SIGNATURES",
    "MACRO_SIGNATURES",
    "MANIFEST",
    "MIMETYPE",
    "MIMETYPE_PREFIX",
    "OdfPackage",
    "open_odf",
]

MIMETYPE = "mimetype"
MANIFEST = "META-INF/manifest.xml"
DOCUMENT_SIGNATURES = "META-INF/documentsignatures.xml"
MACRO_SIGNATURES = "META-INF/macrosignatures.xml"
MIMETYPE_PREFIX = "application/vnd.oasis.opendocument."
_MANIFEST_NS = "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"
_M = f"{{{_MANIFEST_NS}}}"


@dataclass(frozen=True, slots=True)
class OdfPackage:
    streams: dict[str, bytes]  # ZIP entry name ("content.xml", "Pictures/1.png") → bytes
    media_type: str  # the content of the mimetype stream
    manifest: dict[str, str]  # full-path → media-type, the file entries of manifest.xml

    def get(self, name: str) -> bytes | None:
        return self.streams.get(name)


def open_odf(data: bytes, budget: Budget) -> OdfPackage:
    streams = read_zip(data, budget).entries
    raw_type = streams.get(MIMETYPE)
    if raw_type is None:
        raise MalformedInput("the OpenDocument package has no mimetype stream")
    media_type = raw_type.decode("ascii", "replace").strip()
    if not media_type.startswith(MIMETYPE_PREFIX):
        raise MalformedInput(f"mimetype {media_type[:80]!r} is not an OpenDocument media type")
    manifest_bytes = streams.get(MANIFEST)
    if manifest_bytes is None:
        if DOCUMENT_SIGNATURES in streams or MACRO_SIGNATURES in streams:
            raise MalformedInput(f"a signed OpenDocument package without {MANIFEST}", MANIFEST)
        return OdfPackage(streams, media_type, {})  # unsigned: nothing to check against it
    root = parse_xml(manifest_bytes, budget, locator=MANIFEST)
    if root.tag != f"{_M}manifest":
        raise MalformedInput(f"{MANIFEST} is not an ODF manifest", MANIFEST)
    manifest: dict[str, str] = {}
    encrypted: list[str] = []
    for entry in root.iterchildren(f"{_M}file-entry"):
        path = entry.get(f"{_M}full-path")
        if path is None:
            raise MalformedInput(f"{MANIFEST}: a file-entry without full-path", MANIFEST)
        manifest[path] = entry.get(f"{_M}media-type", "")
        if entry.find(f"{_M}encryption-data") is not None:
            encrypted.append(path)
    if encrypted:
        shown = ", ".join(encrypted[:5]) + (
            f" (+{len(encrypted) - 5} more)" if len(encrypted) > 5 else ""
        )
        raise UnsupportedInput(f"encrypted OpenDocument streams: {shown}")
    return OdfPackage(streams, media_type, manifest)
