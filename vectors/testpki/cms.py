"""A small CMS (RFC 5652) SignedData signer, with the knobs the test vectors need.

asn1crypto builds the structures, cryptography signs. The normal path makes what a careful
signing tool makes (content-type, message-digest, signingTime and signing-certificate-v2 signed
attributes, DER-sorted); each :class:`Signer` field that deviates from it exists to make one
kind of broken or unusual signature on purpose.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from asn1crypto import algos, cms, core, tsp
from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .keys import PrivateKey, hash_algorithm, sign

__all__ = ["Signer", "signed_data"]

# A function that stamps a signature value: it gets the SignerInfo's signature and returns a
# DER TimeStampToken, which goes into the id-aa-signatureTimeStampToken unsigned attribute.
Timestamper = Callable[[bytes], bytes]


@dataclass(frozen=True)
class Signer:
    cert: x509.Certificate
    key: PrivateKey
    digest: str = "sha256"
    pss: bool = False  # RSA only: RSASSA-PSS instead of PKCS#1 v1.5
    signed_attributes: bool = True  # False: sign the content itself (RFC 5652 §5.4)
    signing_time: dt.datetime | None = None  # the claimed time; None: no signingTime attribute
    content_type_attribute: str | None = None  # None: the eContentType, as RFC 5652 requires
    signing_certificate: x509.Certificate | None = None  # None: ``cert``; else a wrong binding
    timestamper: Timestamper | None = None


def _asn1_certificate(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _signature_algorithm(signer: Signer) -> algos.SignedDigestAlgorithm:
    if isinstance(signer.key, ec.EllipticCurvePrivateKey):
        return algos.SignedDigestAlgorithm({"algorithm": f"{signer.digest}_ecdsa"})
    if signer.pss:
        digest = {"algorithm": signer.digest}
        return algos.SignedDigestAlgorithm(
            {
                "algorithm": "rsassa_pss",
                "parameters": algos.RSASSAPSSParams(
                    {
                        "hash_algorithm": digest,
                        "mask_gen_algorithm": {"algorithm": "mgf1", "parameters": digest},
                        "salt_length": hash_algorithm(signer.digest).digest_size,
                    }
                ),
            }
        )
    # sha256WithRSAEncryption (asn1crypto adds the NULL parameters RFC 4055 asks for).
    return algos.SignedDigestAlgorithm({"algorithm": f"{signer.digest}_rsa"})


def _signing_certificate_v2(cert: x509.Certificate) -> tsp.SigningCertificateV2:
    """RFC 5035 ESSCertIDv2 with SHA-256 of the certificate and its issuerSerial."""
    der = cert.public_bytes(serialization.Encoding.DER)
    asn1_cert = asn1_x509.Certificate.load(der)
    return tsp.SigningCertificateV2(
        {
            "certs": [
                {
                    "hash_algorithm": {"algorithm": "sha256"},  # the DEFAULT: omitted in DER
                    "cert_hash": hashlib.sha256(der).digest(),
                    "issuer_serial": {
                        "issuer": [
                            asn1_x509.GeneralName(name="directory_name", value=asn1_cert.issuer)
                        ],
                        "serial_number": asn1_cert.serial_number,
                    },
                }
            ]
        }
    )


def _signed_attributes(signer: Signer, content: bytes, content_type: str) -> cms.CMSAttributes:
    message_digest = hashlib.new(signer.digest, content).digest()
    attributes = [
        cms.CMSAttribute(
            {"type": "content_type", "values": [signer.content_type_attribute or content_type]}
        ),
        cms.CMSAttribute({"type": "message_digest", "values": [message_digest]}),
        cms.CMSAttribute(
            {
                "type": "signing_certificate_v2",
                "values": [_signing_certificate_v2(signer.signing_certificate or signer.cert)],
            }
        ),
    ]
    if signer.signing_time is not None:
        when = cms.Time(name="utc_time", value=signer.signing_time.astimezone(dt.UTC))
        attributes.append(cms.CMSAttribute({"type": "signing_time", "values": [when]}))
    # DER SET OF: sorted by encoding. Verifiers such as OpenSSL re-encode the attributes before
    # checking the signature, so an unsorted set would not verify there.
    attributes.sort(key=lambda attribute: attribute.dump())
    return cms.CMSAttributes(attributes)


def _signer_info(signer: Signer, content: bytes, content_type: str) -> cms.SignerInfo:
    cert = _asn1_certificate(signer.cert)
    info = {
        "version": "v1",
        "sid": cms.SignerIdentifier(
            name="issuer_and_serial_number",
            value={"issuer": cert.issuer, "serial_number": cert.serial_number},
        ),
        "digest_algorithm": {"algorithm": signer.digest},
        "signature_algorithm": _signature_algorithm(signer),
    }
    if signer.signed_attributes:
        signed_attrs = _signed_attributes(signer, content, content_type)
        # The signature covers the attributes' DER with the SET OF tag, not the [0] tag.
        signature = sign(signer.key, signed_attrs.dump(), signer.digest, pss=signer.pss)
        info["signed_attrs"] = signed_attrs
    else:
        signature = sign(signer.key, content, signer.digest, pss=signer.pss)
    info["signature"] = signature
    if signer.timestamper is not None:
        token = cms.ContentInfo.load(signer.timestamper(signature))
        info["unsigned_attrs"] = [
            cms.CMSAttribute({"type": "signature_time_stamp_token", "values": [token]})
        ]
    return cms.SignerInfo(info)


class _PlainEncapsulatedContentInfo(core.Sequence):
    """EncapsulatedContentInfo with eContent kept as plain bytes, whatever its type."""

    _fields: ClassVar = [  # asn1crypto's schema protocol
        ("content_type", cms.ContentType),
        ("content", core.OctetString, {"explicit": 0, "optional": True}),
    ]


def _encapsulated_content(
    content_type: str, content: bytes | None, version: str
) -> cms.ContentInfo | cms.EncapsulatedContentInfo:
    # asn1crypto types SignedData.encapContentInfo by version (PKCS#7 ContentInfo for v1) and
    # eContent by eContentType (a parsed TSTInfo for id-ct-TSTInfo). The encoding is the same
    # in every case, so encode it once here and load it as whichever class it wants.
    der = _PlainEncapsulatedContentInfo({"content_type": content_type, "content": content}).dump()
    if version == "v1":
        return cms.ContentInfo.load(der)
    return cms.EncapsulatedContentInfo.load(der)


def signed_data(
    content: bytes,
    signers: Sequence[Signer],
    *,
    content_type: str = "data",
    detached: bool = False,
    certificates: Sequence[x509.Certificate] = (),
    crls: Sequence[bytes] = (),
    ocsp_responses: Sequence[bytes] = (),
) -> bytes:
    """A DER ContentInfo holding a SignedData over ``content``.

    ``certificates`` go into SignedData.certificates (omitted when empty); ``crls`` (DER CRLs)
    and ``ocsp_responses`` (DER OCSPResponses, as RFC 5940 ``other`` RevocationInfoChoice with
    id-ri-ocsp-response) into SignedData.crls. Both are SET OFs, which asn1crypto writes in DER
    order, not in the order given.
    """
    digests: list[str] = []
    for signer in signers:
        if signer.digest not in digests:
            digests.append(signer.digest)
    revocation_info = [
        cms.RevocationInfoChoice(name="crl", value=asn1_crl.CertificateList.load(der))
        for der in crls
    ] + [
        cms.RevocationInfoChoice(
            name="other",
            value=cms.OtherRevocationInfoFormat(
                {
                    "other_rev_info_format": "ocsp_response",
                    "other_rev_info": asn1_ocsp.OCSPResponse.load(der),
                }
            ),
        )
        for der in ocsp_responses
    ]
    # RFC 5652 §5.1: version 5 with "other" revocation info, 3 for a non-data eContentType.
    if ocsp_responses:
        version = "v5"
    elif content_type != "data":
        version = "v3"
    else:
        version = "v1"
    fields = {
        "version": version,
        "digest_algorithms": [{"algorithm": name} for name in digests],
        "encap_content_info": _encapsulated_content(
            content_type, None if detached else content, version
        ),
        "signer_infos": [_signer_info(s, content, content_type) for s in signers],
    }
    if certificates:
        fields["certificates"] = [
            cms.CertificateChoices(name="certificate", value=_asn1_certificate(c))
            for c in certificates
        ]
    if revocation_info:
        fields["crls"] = revocation_info
    return cms.ContentInfo(
        {"content_type": "signed_data", "content": cms.SignedData(fields)}
    ).dump()
