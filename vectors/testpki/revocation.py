"""OCSP answers of the test PKI, shared by the live responder and the embedded-evidence vectors.

The status of a certificate at a given time comes from pki.toml (the same ``revoked`` entries the
CRLs are made from), so CRLs, embedded OCSP responses and the live responder always agree.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from .keys import sign
from .pki import REASON_FLAGS, TestPKI
from .spec import CertificateSpec

__all__ = ["CertId", "make_ocsp_response", "ocsp_response_for_certificate"]

OCSP_THIS_UPDATE_LAG = dt.timedelta(hours=1)
OCSP_VALIDITY = dt.timedelta(days=7)

# OCSP CertID hash algorithms the responder understands (RFC 6960 requires SHA-1 support).
_CERT_ID_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


@dataclass(frozen=True, slots=True)
class CertId:
    """The OCSP CertID: which certificate a request asks about."""

    hash_name: str  # "sha1", "sha256", …
    issuer_name_hash: bytes
    issuer_key_hash: bytes
    serial: int

    @classmethod
    def for_certificate(
        cls, cert: x509.Certificate, issuer: x509.Certificate, hash_name: str = "sha256"
    ) -> CertId:
        name_hash, key_hash = issuer_hashes(issuer, hash_name)
        return cls(hash_name, name_hash, key_hash, cert.serial_number)


def issuer_hashes(issuer: x509.Certificate, hash_name: str) -> tuple[bytes, bytes]:
    """(issuerNameHash, issuerKeyHash) of RFC 6960 §4.1.1 for ``issuer``."""
    parsed = asn1_x509.Certificate.load(issuer.public_bytes(serialization.Encoding.DER))
    key_bits = parsed.public_key["public_key"].contents[1:]  # BIT STRING value, no unused-bits
    return (
        hashlib.new(hash_name, parsed.subject.dump()).digest(),
        hashlib.new(hash_name, key_bits).digest(),
    )


def _issued_certificate(pki: TestPKI, ca_name: str, serial: int) -> CertificateSpec | None:
    for cert in pki.spec.issued_by(ca_name):
        if cert.serial == serial:
            return cert
    return None


def make_ocsp_response(
    pki: TestPKI,
    ca_name: str,
    cert_id: CertId,
    *,
    clock: dt.datetime,
    nonce: bytes | None = None,
) -> bytes:
    """A DER OCSPResponse from ``ca_name``'s delegated responder about ``cert_id`` at ``clock``.

    revoked (with time and reason; certificateHold for a suspension) if the revocation time is
    at or before ``clock``; unknown for a serial the CA never issued; good otherwise. A request
    about another issuer's certificate gets ``unauthorized`` (this responder cannot speak for it).
    """
    responder = pki.spec.ocsp_responder_of(ca_name)
    if responder is None:
        raise ValueError(f"{ca_name!r} has no delegated OCSP responder in pki.toml")
    if cert_id.hash_name not in _CERT_ID_HASHES:
        return _unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
    expected = issuer_hashes(pki.certificates[ca_name], cert_id.hash_name)
    if expected != (cert_id.issuer_name_hash, cert_id.issuer_key_hash):
        return _unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED)

    issued = _issued_certificate(pki, ca_name, cert_id.serial)
    revocation = issued.status_at(clock) if issued else None
    if issued is None:
        status = ocsp.OCSPCertStatus.UNKNOWN
    elif revocation is None:
        status = ocsp.OCSPCertStatus.GOOD
    else:
        status = ocsp.OCSPCertStatus.REVOKED
    builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
        issuer_name_hash=cert_id.issuer_name_hash,
        issuer_key_hash=cert_id.issuer_key_hash,
        serial_number=cert_id.serial,
        algorithm=_CERT_ID_HASHES[cert_id.hash_name](),
        cert_status=status,
        this_update=clock - OCSP_THIS_UPDATE_LAG,
        next_update=clock + OCSP_VALIDITY,
        revocation_time=revocation.at if revocation else None,
        revocation_reason=REASON_FLAGS[revocation.reason] if revocation else None,
    )
    responder_cert = pki.certificates[responder.name]
    responder_key = pki.keys[responder.name]
    builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, responder_cert)
    builder = builder.certificates([responder_cert])
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    response = builder.sign(responder_key, hashes.SHA256())
    return _with_produced_at(
        response.public_bytes(serialization.Encoding.DER), clock, pki, responder.name
    )


def ocsp_response_for_certificate(pki: TestPKI, name: str, *, clock: dt.datetime) -> bytes:
    """The response the responder would give about certificate ``name`` (for embedding)."""
    issuer = pki.spec.certificates[name].issuer
    cert_id = CertId.for_certificate(pki.certificates[name], pki.certificates[issuer])
    return make_ocsp_response(pki, issuer, cert_id, clock=clock)


def _unsuccessful(status: ocsp.OCSPResponseStatus) -> bytes:
    return ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(
        serialization.Encoding.DER
    )


def _with_produced_at(
    response_der: bytes, produced_at: dt.datetime, pki: TestPKI, responder_name: str
) -> bytes:
    """``response_der`` with producedAt set to ``produced_at``, signed again.

    cryptography's OCSPResponseBuilder always stamps producedAt with the wall clock and has no
    setting for it. The responder must answer as of its (settable) clock and the embedded
    responses must be reproducible, so the one field is replaced and the ResponseData re-signed
    with the same key and algorithm (PKCS#1 v1.5: deterministic).
    """
    response = asn1_ocsp.OCSPResponse.load(response_der)
    basic = response["response_bytes"]["response"].parsed
    tbs = asn1_ocsp.ResponseData.load(basic["tbs_response_data"].dump())
    tbs["produced_at"] = produced_at
    tbs_der = tbs.dump(force=True)
    signature = sign(pki.keys[responder_name], tbs_der, "sha256")
    new_basic = asn1_ocsp.BasicOCSPResponse(
        {
            "tbs_response_data": asn1_ocsp.ResponseData.load(tbs_der),
            "signature_algorithm": basic["signature_algorithm"],
            "signature": signature,
            "certs": basic["certs"],
        }
    )
    return asn1_ocsp.OCSPResponse(
        {
            "response_status": "successful",
            "response_bytes": {"response_type": "basic_ocsp_response", "response": new_basic},
        }
    ).dump()
