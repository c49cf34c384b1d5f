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
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import aes_key_wrap

from .keys import PrivateKey, digest_bytes, hash_algorithm, sign

__all__ = [
    "CONTENT_INFO_TYPES",
    "SIGNER_ATTRIBUTES_V2",
    "Signer",
    "content_info",
    "enveloped_data",
    "signed_data",
]

# ETSI EN 319 122-1 id-aa-ets-signerAttrV2: who the signer claims to be (a title, a role).
SIGNER_ATTRIBUTES_V2 = "0.4.0.19122.1.1"
# id-ml-dsa-65 (RFC 9881); asn1crypto does not name it.
ID_ML_DSA_65 = "2.16.840.1.101.3.4.3.18"

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
    # (signed attribute name, number of values): the attribute carries its value that many
    # times (RFC 5652 §11 and ETSI EN 319 122-1 allow one); "signer_attributes_v2" is added
    # with that many different claimed titles.
    attribute_values: tuple[tuple[str, int], ...] = ()
    # Countersignatures of this signer's signature value (RFC 5652 §11.4), made by these.
    countersigners: tuple[Signer, ...] = ()


def _asn1_certificate(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _signature_algorithm(signer: Signer) -> algos.SignedDigestAlgorithm:
    # RFC 8419 §2: pure EdDSA, the parameters absent; ML-DSA likewise (RFC 9882).
    if isinstance(signer.key, ed25519.Ed25519PrivateKey):
        return algos.SignedDigestAlgorithm({"algorithm": "ed25519"})
    if isinstance(signer.key, ed448.Ed448PrivateKey):
        return algos.SignedDigestAlgorithm({"algorithm": "ed448"})
    if not isinstance(signer.key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        return algos.SignedDigestAlgorithm({"algorithm": ID_ML_DSA_65})
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


def digest_algorithm(name: str) -> algos.DigestAlgorithm:
    """The AlgorithmIdentifier of digest ``name``. SHAKE256 is written as RFC 8419 §3 asks of
    an Ed448 signer: id-shake256-len with the output length, 512."""
    if name == "shake256":
        return algos.DigestAlgorithm({"algorithm": "shake256_len", "parameters": core.Integer(512)})
    return algos.DigestAlgorithm({"algorithm": name})


def _signer_attributes_v2(title: str) -> bytes:
    """One SignerAttributeV2 value (EN 319 122-1 §5.2.6.1): claimedAttributes [0] holding the
    X.520 title attribute."""
    title_value = core.UTF8String(title).dump()
    title_attribute = _tlv(0x30, core.ObjectIdentifier("2.5.4.12").dump() + _tlv(0x31, title_value))
    claimed = _tlv(0xA0, _tlv(0x30, title_attribute))
    return _tlv(0x30, claimed)


def _tlv(tag: int, body: bytes) -> bytes:
    return bytes((tag,)) + _der_length(len(body)) + body


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(size),)) + size


def _attribute(oid: str, values: Sequence[bytes]) -> cms.CMSAttribute:
    """A signed attribute from its type and the DER of each value (any type, any count)."""
    body = core.ObjectIdentifier(oid).dump() + _tlv(0x31, b"".join(values))
    return cms.CMSAttribute.load(_tlv(0x30, body))


_TITLES = ("Giám đốc", "Phó Giám đốc", "Chánh Văn phòng")


def _with_value_counts(
    attributes: list[cms.CMSAttribute], counts: dict[str, int]
) -> list[cms.CMSAttribute]:
    out = []
    for attribute in attributes:
        name = attribute["type"].native
        if name in counts:
            oid = attribute["type"].dotted
            value = attribute["values"][0].dump()
            attribute = _attribute(oid, [value] * counts[name])
        out.append(attribute)
    if "signer_attributes_v2" in counts:
        n = counts["signer_attributes_v2"]
        titles = [_signer_attributes_v2(_TITLES[i % len(_TITLES)]) for i in range(n)]
        out.append(_attribute(SIGNER_ATTRIBUTES_V2, titles))
    return out


def _signed_attributes(
    signer: Signer, content: bytes, content_type: str | None
) -> cms.CMSAttributes:
    """``content_type`` None: a countersignature's, which carry no content type (§11.4)."""
    message_digest = digest_bytes(signer.digest, content)
    attributes = [
        cms.CMSAttribute({"type": "message_digest", "values": [message_digest]}),
        cms.CMSAttribute(
            {
                "type": "signing_certificate_v2",
                "values": [_signing_certificate_v2(signer.signing_certificate or signer.cert)],
            }
        ),
    ]
    if content_type is not None:
        the_type = signer.content_type_attribute or content_type
        attributes.insert(0, cms.CMSAttribute({"type": "content_type", "values": [the_type]}))
    if signer.signing_time is not None:
        when = cms.Time(name="utc_time", value=signer.signing_time.astimezone(dt.UTC))
        attributes.append(cms.CMSAttribute({"type": "signing_time", "values": [when]}))
    if signer.attribute_values:
        attributes = _with_value_counts(attributes, dict(signer.attribute_values))
    # DER SET OF: sorted by encoding. Verifiers such as OpenSSL re-encode the attributes before
    # checking the signature, so an unsorted set would not verify there.
    attributes.sort(key=lambda attribute: attribute.dump())
    return cms.CMSAttributes(attributes)


def _signer_info(signer: Signer, content: bytes, content_type: str | None) -> cms.SignerInfo:
    cert = _asn1_certificate(signer.cert)
    info = {
        "version": "v1",
        "sid": cms.SignerIdentifier(
            name="issuer_and_serial_number",
            value={"issuer": cert.issuer, "serial_number": cert.serial_number},
        ),
        "digest_algorithm": digest_algorithm(signer.digest),
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
    unsigned = []
    if signer.timestamper is not None:
        token = cms.ContentInfo.load(signer.timestamper(signature))
        unsigned.append(cms.CMSAttribute({"type": "signature_time_stamp_token", "values": [token]}))
    if signer.countersigners:
        counters = [_signer_info(c, signature, None) for c in signer.countersigners]
        unsigned.append(cms.CMSAttribute({"type": "counter_signature", "values": counters}))
    if unsigned:
        info["unsigned_attrs"] = unsigned
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
        "digest_algorithms": [digest_algorithm(name) for name in digests],
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


# -- ContentInfo that is not SignedData (what a .p7m may hold instead) -----------------------


def _keys(label: str) -> tuple[bytes, bytes, bytes]:
    """(KEK, content key, IV) derived from ``label``: deterministic, and public."""
    kek = hashlib.sha256(f"sigmail-test-kek/{label}".encode()).digest()
    cek = hashlib.sha256(f"sigmail-test-cek/{label}".encode()).digest()
    iv = hashlib.sha256(f"sigmail-test-iv/{label}".encode()).digest()[:16]
    return kek, cek, iv


def _kek_recipient(kek: bytes, cek: bytes) -> cms.RecipientInfo:
    return cms.RecipientInfo(
        name="kekri",
        value={
            "version": "v4",
            "kekid": {"key_identifier": hashlib.sha256(kek).digest()[:8]},
            "key_encryption_algorithm": {"algorithm": "aes256_wrap"},
            "encrypted_key": aes_key_wrap(kek, cek),
        },
    )


def _cbc(cek: bytes, iv: bytes, content: bytes) -> bytes:
    pad = 16 - len(content) % 16
    encryptor = Cipher(algorithms.AES(cek), modes.CBC(iv)).encryptor()
    return encryptor.update(content + bytes([pad]) * pad) + encryptor.finalize()


def enveloped_data(content: bytes, label: str) -> bytes:
    """EnvelopedData (RFC 5652 §6) for a KEK recipient: AES-256-CBC content encryption, the
    content key wrapped with AES key wrap (RFC 3394). Keys and IV derive from ``label``."""
    kek, cek, iv = _keys(label)
    enveloped = cms.EnvelopedData(
        {
            "version": "v2",
            "recipient_infos": [_kek_recipient(kek, cek)],
            "encrypted_content_info": {
                "content_type": "data",
                "content_encryption_algorithm": {"algorithm": "aes256_cbc", "parameters": iv},
                "encrypted_content": _cbc(cek, iv, content),
            },
        }
    )
    return cms.ContentInfo({"content_type": "enveloped_data", "content": enveloped}).dump()


def _auth_enveloped_data(content: bytes, label: str) -> bytes:
    """AuthEnvelopedData (RFC 5083) with AES-256-GCM (RFC 5084), KEK recipient."""
    kek, cek, iv = _keys(label)
    nonce = iv[:12]
    sealed = AESGCM(cek).encrypt(nonce, content, None)
    ciphertext, tag = sealed[:-16], sealed[-16:]
    gcm_parameters = core.Sequence.load(
        _tlv(0x30, core.OctetString(nonce).dump() + core.Integer(16).dump())
    )
    enveloped = cms.AuthEnvelopedData(
        {
            "version": "v0",
            "recipient_infos": [_kek_recipient(kek, cek)],
            "auth_encrypted_content_info": {
                "content_type": "data",
                "content_encryption_algorithm": {
                    "algorithm": "aes256_gcm",
                    "parameters": gcm_parameters,
                },
                "encrypted_content": ciphertext,
            },
            "mac": tag,
        }
    )
    return cms.ContentInfo(
        {"content_type": "authenticated_enveloped_data", "content": enveloped}
    ).dump()


def _encrypted_data(content: bytes, label: str) -> bytes:
    """EncryptedData (RFC 5652 §8): AES-256-CBC under a key agreed out of band."""
    _kek, cek, iv = _keys(label)
    encrypted = cms.EncryptedData(
        {
            "version": "v0",
            "encrypted_content_info": {
                "content_type": "data",
                "content_encryption_algorithm": {"algorithm": "aes256_cbc", "parameters": iv},
                "encrypted_content": _cbc(cek, iv, content),
            },
        }
    )
    return cms.ContentInfo({"content_type": "encrypted_data", "content": encrypted}).dump()


def _data(content: bytes, label: str) -> bytes:
    """A ContentInfo of type id-data: the content, nothing signed."""
    return cms.ContentInfo({"content_type": "data", "content": content}).dump()


CONTENT_INFO_TYPES = {
    "enveloped_data": enveloped_data,
    "authenticated_enveloped_data": _auth_enveloped_data,
    "encrypted_data": _encrypted_data,
    "data": _data,
}


def content_info(content_type: str, content: bytes, label: str) -> bytes:
    """A DER ContentInfo of ``content_type`` (a key of CONTENT_INFO_TYPES) holding
    ``content``, encrypted with keys derived from ``label`` where it is encrypted."""
    return CONTENT_INFO_TYPES[content_type](content, label)
