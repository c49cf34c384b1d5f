"""Long-term validation material in the Document Security Store (PAdES B-LT/B-LTA,
ETSI EN 319 142-1 §5.4; ISO 32000-2 §12.8.4.3).

The catalog's ``/DSS`` holds certificates, CRLs and OCSP responses (globally and per
signature under ``/VRI``). sigmail gives all of it to every signature as evidence: the chain
validator judges each item itself (issuer, signature, time), so a stray or stale item can
only fail to help, never make a certificate good.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from asn1crypto import ocsp
from asn1crypto import x509 as asn1_x509

from sigmail.pdf.document import PdfDocument
from sigmail.pdf.objects import PdfDict, Stream
from sigmail.pdf.parser import PdfSyntaxError
from sigmail.problems import ASN1_ERRORS
from sigmail.revocation.evidence import EvidenceKind, RevocationItem
from sigmail.trust.certificates import load_certificate

__all__ = ["DssMaterial", "read_dss"]


@dataclass(frozen=True, slots=True)
class DssMaterial:
    certificates: tuple[asn1_x509.Certificate, ...] = ()
    revocation: tuple[RevocationItem, ...] = ()
    vri_count: int = 0


def _streams(doc: PdfDocument, value: Any, revision: int, out: list[bytes], cap: int) -> None:
    value = doc.resolve(value, revision)
    if not isinstance(value, list):
        return
    for item in value:
        if len(out) >= cap:
            return
        stream = doc.resolve(item, revision)
        if isinstance(stream, Stream):
            try:
                out.append(doc.decoded(stream))
            except PdfSyntaxError:
                continue


def _ocsp_der(der: bytes) -> bytes | None:
    """A full OCSPResponse: as stored, or wrapped around a BasicOCSPResponse."""
    try:
        response = ocsp.OCSPResponse.load(der)
        response["response_status"].native  # noqa: B018 (parse now)
        return der
    except ASN1_ERRORS:
        pass
    try:
        basic = ocsp.BasicOCSPResponse.load(der)
        basic["tbs_response_data"].native  # noqa: B018
    except ASN1_ERRORS:
        return None
    return ocsp.OCSPResponse(
        {
            "response_status": "successful",
            "response_bytes": {"response_type": "basic_ocsp_response", "response": basic},
        }
    ).dump()


def read_dss(doc: PdfDocument, revision: int) -> DssMaterial:
    """The DSS of ``revision`` (normally the last one), parsed; unreadable items are skipped."""
    catalog = doc.catalog(revision)
    dss = doc.dict_at(catalog.get("DSS"), revision) if catalog is not None else None
    if dss is None:
        return DssMaterial()
    limits = doc.budget.limits
    certs_raw: list[bytes] = []
    crls_raw: list[bytes] = []
    ocsps_raw: list[bytes] = []
    _streams(doc, dss.get("Certs"), revision, certs_raw, limits.max_certificates)
    _streams(doc, dss.get("CRLs"), revision, crls_raw, limits.max_revocation_items)
    _streams(doc, dss.get("OCSPs"), revision, ocsps_raw, limits.max_revocation_items)
    vri = doc.dict_at(dss.get("VRI"), revision)
    vri_count = 0
    if isinstance(vri, PdfDict):
        for entry in list(vri.values())[: limits.max_signatures * 4]:
            per_sig = doc.dict_at(entry, revision)
            if per_sig is None:
                continue
            vri_count += 1
            _streams(doc, per_sig.get("Cert"), revision, certs_raw, limits.max_certificates)
            _streams(doc, per_sig.get("CRL"), revision, crls_raw, limits.max_revocation_items)
            _streams(doc, per_sig.get("OCSP"), revision, ocsps_raw, limits.max_revocation_items)

    certificates: dict[bytes, asn1_x509.Certificate] = {}
    for der in certs_raw:
        if der in certificates:
            continue
        try:
            certificates[der] = load_certificate(der)
        except ASN1_ERRORS:
            continue
    items: dict[bytes, RevocationItem] = {}
    for der in crls_raw:
        if len(der) <= limits.max_crl_bytes:
            items.setdefault(der, RevocationItem(EvidenceKind.CRL, der, "embedded"))
    for der in ocsps_raw:
        full = _ocsp_der(der)
        if full is not None:
            items.setdefault(full, RevocationItem(EvidenceKind.OCSP, full, "embedded"))
    revocation = list(items.values())[: limits.max_revocation_items]
    return DssMaterial(tuple(certificates.values()), tuple(revocation), vri_count)
