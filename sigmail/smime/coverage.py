"""Which signature covers which part: one walk over the entity tree.

The walk carries the indices of the signatures that cover the entity it is in. Entering the
signed body part of a ``multipart/signed``, or the eContent of an opaque signature, adds the
indices of that SignedData; nothing else does. Every part is reported (:class:`PartReport`)
with the signatures that cover it (``covered_by``, whatever their status: a failed signature
still says what it was over). Parts that are documents of their own (forwarded messages,
PDFs, .p7m/.p7s files) are collected for the verifier; encrypted parts are reported as such.

The message is fully signed when every part with content is covered; the MIME-wrapping
attacks (unsigned text before a genuine signed part, hidden HTML beside it, a signed part
attached to, or a signed message forwarded in, an unsigned wrapper) leave a part uncovered
and make it ``partially_signed`` (decided in :mod:`.message`, once the forwarded messages
have their verdicts).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sigmail.cms.signed_data import parse_signed_data
from sigmail.cms.signer_info import ContentDigests
from sigmail.contract import VerificationContext
from sigmail.problems import MalformedInput
from sigmail.smime.attachments import (
    ENCRYPTED_CMS,
    PKCS7_MIME,
    PKCS7_SIGNATURE,
    cms_content_type,
    document_kind,
    is_opaque_signature_name,
)
from sigmail.smime.canonical import signed_bytes
from sigmail.smime.mime import Entity, MimeParser, child_locator
from sigmail.smime.signatures import SignatureLayer, check_micalg, verify_layer
from sigmail.verdict.model import Finding, PartReport

__all__ = ["CoverageWalk", "Part", "uncovered_parts"]

PGP_SIGNATURE = "application/pgp-signature"
PGP_ENCRYPTED = "application/pgp-encrypted"


@dataclass(slots=True)
class Part:
    """A part as the walk found it; becomes a :class:`PartReport` once documents are done."""

    entity: Entity
    covered_by: tuple[int, ...]
    role: str  # "container" | "content" | "signature" | "document" | "encrypted"
    size: int | None = None
    sha256: str | None = None
    blank: bool = False  # text with nothing but whitespace
    document_kind: str | None = None
    data: bytes | None = None  # decoded content of a document, until it is verified
    document: str | None = None
    document_signed: bool = False  # the document's verdict has signatures

    def report(self) -> PartReport:
        e = self.entity
        return PartReport(
            locator=e.locator,
            content_type=e.content_type,
            filename=e.filename,
            size=self.size,
            sha256=self.sha256,
            covered_by=self.covered_by,
            document=self.document,
            encrypted=self.role == "encrypted",
        )


class CoverageWalk:
    """Walks one message: verifies its signature layers and records every part's coverage."""

    def __init__(self, ctx: VerificationContext, parser: MimeParser) -> None:
        self.ctx = ctx
        self.parser = parser
        self.parts: list[Part] = []
        self.layers: list[SignatureLayer] = []
        self.findings: list[Finding] = []
        self.signature_structures = 0  # multipart/signed and opaque signatures met
        self.encrypted = 0

    @property
    def _next_index(self) -> int:
        return sum(len(layer.reports) for layer in self.layers)

    def walk(self, entity: Entity, covering: tuple[int, ...] = ()) -> None:
        self.ctx.budget.check_time()
        ctype = entity.content_type
        if ctype == "multipart/signed":
            self._multipart_signed(entity, covering)
        elif ctype == "multipart/encrypted":
            self._multipart_encrypted(entity, covering)
        elif ctype in PKCS7_MIME or (
            ctype == "application/octet-stream" and (entity.filename or "").lower() == "smime.p7m"
        ):
            self._pkcs7_mime(entity, covering)
        elif entity.is_multipart and entity.children:
            self.parts.append(Part(entity, covering, "container"))
            for child in entity.children:
                self.walk(child, covering)
        else:
            if entity.is_multipart:
                self.findings.append(Finding.of("malformed", entity.locator, _defects(entity)))
            self._leaf(entity, covering)

    # -- multipart/signed ------------------------------------------------------------------------

    def _multipart_signed(self, e: Entity, covering: tuple[int, ...]) -> None:
        self.signature_structures += 1
        self.parts.append(Part(e, covering, "container"))
        protocol = e.params.get("protocol", "").strip().lower()
        children = e.children
        problem = None
        if not children:
            problem = f"multipart/signed without body parts ({_defects(e)})"
        elif protocol not in PKCS7_SIGNATURE:
            if protocol == PGP_SIGNATURE:
                what = "an OpenPGP signature (PGP/MIME, RFC 3156): OpenPGP is not supported"
            else:
                what = f"multipart/signed with protocol {protocol or '(none)'} (not S/MIME)"
            self.findings.append(Finding.of("unsupported", e.locator, what))
            for child in children:
                self.walk(child, covering)
            return
        elif len(children) != 2:
            problem = f"multipart/signed has {len(children)} body parts, not 2"
        elif children[1].content_type not in PKCS7_SIGNATURE:
            problem = f"its second body part is {children[1].content_type}, not a signature"
        if problem is not None:
            self.findings.append(Finding.of("malformed", e.locator, problem))
            for child in children:
                self.walk(child, covering)
            return

        content, signature = children
        der = self.parser.decoded(signature)
        self.parts.append(self._data_part(signature, covering, "signature", der))
        try:
            parsed = parse_signed_data(der, self.ctx.budget, signature.locator)
        except MalformedInput as exc:
            self.findings.append(Finding.of("malformed", signature.locator, exc.detail))
            self.walk(content, covering)
            return
        if not parsed.signer_infos:
            self.findings.append(
                Finding.of("no_signature", signature.locator, "the SignedData has no SignerInfo")
            )
            self.walk(content, covering)
            return
        if parsed.econtent is not None:
            # What was signed is the eContent, not the body part a client shows.
            self.findings.append(
                Finding.of(
                    "econtent_in_detached",
                    signature.locator,
                    f"the detached signature carries {len(parsed.econtent)} bytes of content "
                    f"of its own; {content.locator} is not what was signed",
                )
            )
            layer = verify_layer(
                parsed,
                ContentDigests(parsed.econtent),
                ctx=self.ctx,
                first_index=self._next_index,
                locator=e.locator,
                signed_entity=None,
            )
            self.layers.append(layer)
            self.walk(content, covering)
            return
        signed = signed_bytes(e.buf, content.start, content.end, parsed.signer_infos)
        layer = verify_layer(
            parsed,
            signed.digests,
            ctx=self.ctx,
            first_index=self._next_index,
            locator=e.locator,
            signed_entity=content.locator,
        )
        del signed
        self.findings.extend(check_micalg(e.params.get("micalg"), layer, e.locator))
        self.layers.append(layer)
        self.walk(content, covering + layer.indices)

    # -- multipart/encrypted (RFC 1847; PGP/MIME is RFC 3156) ---------------------------------

    def _multipart_encrypted(self, e: Entity, covering: tuple[int, ...]) -> None:
        """Encrypted content in the RFC 1847 form: a control part and the ciphertext. Not a
        container whose parts are content: nothing in it can be read or checked."""
        protocol = e.params.get("protocol", "").strip().lower()
        if protocol == PGP_ENCRYPTED:
            kind = "OpenPGP (PGP/MIME) encrypted content"
        else:
            kind = f"multipart/encrypted ({protocol or 'no protocol'}) content"
        self.encrypted += 1
        self.parts.append(self._digest_part(e, covering, "encrypted"))
        self.findings.append(Finding.of("encrypted", e.locator, f"{kind}: not decrypted"))

    # -- application/pkcs7-mime --------------------------------------------------------------

    def _pkcs7_mime(self, e: Entity, covering: tuple[int, ...]) -> None:
        smime_type = e.params.get("smime-type", "").strip().lower()
        data = self.parser.decoded(e)
        kind = cms_content_type(data)
        if smime_type in ("enveloped-data", "authenveloped-data") or kind in ENCRYPTED_CMS:
            self._encrypted(e, covering, data, kind or smime_type)
            return
        if smime_type == "compressed-data" or kind == "compressed_data":
            self.findings.append(
                Finding.of("unsupported", e.locator, "compressed S/MIME content is not supported")
            )
            self.parts.append(self._data_part(e, covering, "content", data))
            return
        if smime_type == "certs-only" or (kind not in (None, "signed_data")):
            self.parts.append(self._data_part(e, covering, "content", data))
            return
        if not is_opaque_signature_name(e.filename):
            self._leaf(e, covering, data)  # a .p7m document attached to the message
            return

        self.signature_structures += 1
        self.parts.append(self._data_part(e, covering, "signature", data))
        try:
            parsed = parse_signed_data(data, self.ctx.budget, e.locator)
        except MalformedInput as exc:
            self.findings.append(Finding.of("malformed", e.locator, exc.detail))
            return
        del data
        inner_locator = child_locator(e.locator, 1)
        layer = None
        if parsed.signer_infos:
            layer = verify_layer(
                parsed,
                ContentDigests(parsed.econtent),
                ctx=self.ctx,
                first_index=self._next_index,
                locator=e.locator,
                signed_entity=inner_locator if parsed.econtent is not None else None,
            )
            self.layers.append(layer)
        else:
            self.findings.append(
                Finding.of("no_signature", e.locator, "the SignedData has no SignerInfo")
            )
        if parsed.econtent is None:
            return  # detached: the engine reported detached_content_missing
        inner = self.parser.parse_entity(
            parsed.econtent, 0, len(parsed.econtent), locator=inner_locator, depth=e.depth + 1
        )
        self.walk(inner, covering + (layer.indices if layer is not None else ()))

    # -- leaves --------------------------------------------------------------------------------

    def _encrypted(self, e: Entity, covering, data: bytes, kind: str) -> None:
        self.encrypted += 1
        self.parts.append(self._data_part(e, covering, "encrypted", data))
        self.findings.append(
            Finding.of("encrypted", e.locator, f"{kind.replace('_', ' ')}: not decrypted")
        )

    def _leaf(self, e: Entity, covering: tuple[int, ...], data: bytes | None = None) -> None:
        kind = document_kind(e)
        if kind is None:
            if e.content_type.startswith("text/"):
                data = self.parser.decoded(e)
                part = self._data_part(e, covering, "content", data)
                part.blank = not data.strip()
                self.parts.append(part)
            else:
                self.parts.append(self._digest_part(e, covering, "content"))
            return
        if data is None:
            data = self.parser.decoded(e)
        if kind == "cms" and (cms_kind := cms_content_type(data)) in ENCRYPTED_CMS:
            self._encrypted(e, covering, data, cms_kind)
            return
        # The SHA-256 comes from the document's verdict: large attachments are hashed once.
        self.parts.append(Part(e, covering, "document", len(data), document_kind=kind, data=data))

    def _data_part(self, e: Entity, covering, role: str, data: bytes) -> Part:
        return Part(e, covering, role, len(data), hashlib.sha256(data).hexdigest())

    def _digest_part(self, e: Entity, covering, role: str) -> Part:
        size, sha256 = self.parser.decoded_digest(e)
        return Part(e, covering, role, size, sha256)


def _defects(e: Entity) -> str:
    return "; ".join(e.defects) or "no body parts"


def uncovered_parts(parts: list[Part]) -> list[Part]:
    """Parts with content that no signature covers (containers, signatures, blanks aside)."""
    return [
        p
        for p in parts
        if p.role in ("content", "document", "encrypted") and not p.covered_by and not p.blank
    ]
