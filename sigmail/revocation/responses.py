"""What responders serve, read and written: CRL/OCSP ``nextUpdate``, caIssuers bundles, OCSP
requests. Pure functions of bytes; no network code."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from asn1crypto import cms, crl, ocsp, pem, x509

__all__ = [
    "crl_next_update",
    "ocsp_next_update",
    "ocsp_request",
    "published_certificates",
    "to_der_crl",
]


def published_certificates(data: bytes) -> list[x509.Certificate]:
    """The certificates of a caIssuers response: one DER or PEM certificate, or a PKCS#7
    "certs-only" bundle (.p7b/.p7c). Raises ValueError when there is none."""
    from sigmail.trust.certificates import load_certificate, parse_certificates

    if data[:1] == b"0":
        try:
            info = cms.ContentInfo.load(data)
            if info["content_type"].native == "signed_data":
                return [
                    load_certificate(c.chosen.dump())
                    for c in info["content"]["certificates"] or ()
                    if c.name == "certificate"
                ]
        except (ValueError, TypeError, KeyError):
            pass
    return parse_certificates(data)


def crl_next_update(der: bytes) -> datetime | None:
    value = crl.CertificateList.load(der)["tbs_cert_list"]["next_update"].native
    return value.astimezone(UTC) if value else None


def ocsp_next_update(der: bytes) -> datetime | None:
    resp = ocsp.OCSPResponse.load(der)
    if resp["response_status"].native != "successful":
        raise ValueError(f"OCSP response status {resp['response_status'].native}")
    single = resp.basic_ocsp_response["tbs_response_data"]["responses"][0]
    value = single["next_update"].native
    return value.astimezone(UTC) if value else None


def to_der_crl(data: bytes) -> bytes:
    if pem.detect(data):
        _kind, _hdr, data = pem.unarmor(data)
    return data


def ocsp_request(cert: x509.Certificate, issuer: x509.Certificate) -> bytes:
    """An RFC 6960 request with a SHA-1 CertID (what deployed responders index by)."""
    cert_id = ocsp.CertId(
        {
            "hash_algorithm": {"algorithm": "sha1"},
            "issuer_name_hash": hashlib.sha1(cert.issuer.dump()).digest(),
            "issuer_key_hash": issuer.public_key.sha1,
            "serial_number": cert.serial_number,
        }
    )
    return ocsp.OCSPRequest({"tbs_request": {"request_list": [{"req_cert": cert_id}]}}).dump()
