"""The two S/MIME signature forms, checked with the CMS engine (:mod:`sigmail.cms`).

* ``multipart/signed`` (RFC 1847, RFC 8551 §3.5.3): a detached SignedData over the first body
  part. Its ``micalg`` must name the signers' digest algorithms (a disagreement is
  ``micalg_mismatch``, a warning); the SignedData must not carry an eContent of its own
  (``econtent_in_detached``: what a client shows would not be what was signed — the
  "eContent confusion" attack).
* ``application/pkcs7-mime; smime-type=signed-data`` (opaque, RFC 8551 §3.5.2): the eContent
  is the signed MIME entity.

Rules that hold for both (docs/smime.md):

* **Several SignerInfos**: each is verified and reported, and every one must pass — a broken
  one makes the message invalid (appending or prepending a foreign SignerInfo is an attack,
  not a second opinion).
* **Signed attributes are required**: without them a signature over another structure (the
  signed attributes of some other message, say) passes as a signature over "content"
  (``signed_attributes_invalid``).
* The signer certificate is found by issuer+serial (or SKI) *and* by the key that verifies
  the signature; duplicates and missing certificates are handled by the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from asn1crypto import x509

from sigmail.cms.ber import count_elements
from sigmail.cms.plain_signer_info import PlainSignerInfo
from sigmail.cms.signed_data import ParsedSignedData
from sigmail.cms.signer_info import ContentDigests
from sigmail.cms.verify import signature_status, verify_signed_data
from sigmail.contract import VerificationContext
from sigmail.frozen_copy import changed
from sigmail.problems import ASN1_ERRORS
from sigmail.trust.certificates import fingerprint
from sigmail.verdict.model import Finding, SignatureReport

__all__ = ["MICALG_NAMES", "SignatureLayer", "check_micalg", "verify_layer"]

# RFC 8551 §3.5.3.2 micalg values (and the RFC 5751 "sha1" spelling) → asn1crypto digest names.
MICALG_NAMES = {
    "md5": "md5",
    "sha-1": "sha1",
    "sha1": "sha1",
    "sha-224": "sha224",
    "sha-256": "sha256",
    "sha-384": "sha384",
    "sha-512": "sha512",
    "sha3-256": "sha3_256",
    "sha3-384": "sha3_384",
    "sha3-512": "sha3_512",
}


@dataclass(slots=True)
class SignatureLayer:
    """One SignedData of a message and what it signs."""

    locator: str  # the multipart/signed or application/pkcs7-mime part
    reports: list[SignatureReport]
    signers: dict[int, x509.Certificate]  # signature index → the signer's certificate
    signed_entity: str | None  # locator of the entity it covers (None: covers nothing shown)
    countersignatures: set[int] = field(default_factory=set)  # indices of countersignatures

    @property
    def indices(self) -> tuple[int, ...]:
        return tuple(r.index for r in self.reports)


def _signer_certificate(report: SignatureReport, parsed: ParsedSignedData):
    if report.signer is None:
        return None
    return next((c for c in parsed.certificates if fingerprint(c) == report.signer.sha256), None)


def verify_layer(
    parsed: ParsedSignedData,
    digests: ContentDigests,
    *,
    ctx: VerificationContext,
    first_index: int,
    locator: str,
    signed_entity: str | None,
) -> SignatureLayer:
    """Verify every SignerInfo of ``parsed`` over ``digests``; indices start at
    ``first_index`` so that a message with several SignedData numbers them once."""
    layer = SignatureLayer(locator=locator, reports=[], signers={}, signed_entity=signed_entity)
    reports = verify_signed_data(parsed, digests=digests, ctx=ctx, first_index=first_index)
    signers = len(parsed.signer_infos)
    # The countersignatures (reports after the signers') are not bound to From and name no
    # micalg: only the signers are.
    layer.countersignatures = {r.index for r in reports[signers:]}
    for si, report in zip(
        (*parsed.signer_infos, *[None] * (len(reports) - signers)), reports, strict=True
    ):
        extra: list[Finding] = []
        if si is not None and not _has_signed_attributes(si):
            extra.append(
                Finding.of(
                    "signed_attributes_invalid",
                    report.locator,
                    "an S/MIME signature must carry signed attributes (content-type, "
                    "message-digest); without them a signature over other bytes could "
                    "pass for one over this message",
                )
            )
        findings = report.findings + tuple(extra)
        report = changed(
            report,
            kind="smime",
            findings=findings,
            status=signature_status(
                findings + (report.timestamp.findings if report.timestamp else ())
            ),
        )
        layer.reports.append(report)
        cert = _signer_certificate(report, parsed) if si is not None else None
        if cert is not None:
            layer.signers[report.index] = cert
    return layer


def _has_signed_attributes(si) -> bool:
    try:
        # Counted from the encoding: truth or len() of the SET would build every attribute.
        if isinstance(si, PlainSignerInfo):
            return si.signed_attrs is not None and si.signed_attrs[1] != b""
        return count_elements(si["signed_attrs"], 1) > 0
    except ASN1_ERRORS:
        return True  # unreadable: the report already says malformed


def check_micalg(micalg: str | None, layer: SignatureLayer, locator: str) -> list[Finding]:
    """RFC 8551 §3.5.3.2: micalg lists the digest algorithm of every signer."""
    used = {
        r.digest_algorithm
        for r in layer.reports
        if r.digest_algorithm and r.index not in layer.countersignatures
    }
    if not used:
        return []
    if micalg is None or not micalg.strip():
        return [Finding.of("micalg_mismatch", locator, "the micalg parameter is missing")]
    named = {MICALG_NAMES.get(v.strip().lower(), v.strip().lower()) for v in micalg.split(",")}
    if named != used:
        return [
            Finding.of(
                "micalg_mismatch",
                locator,
                f"micalg={micalg!r}, the signature uses {', '.join(sorted(used))}",
            )
        ]
    return []
