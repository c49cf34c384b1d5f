"""Small PKIs for the chain tests, built with ``cryptography`` at fixed times.

Everything is deterministic except the keys (generated per test session and cached by label), so
no test depends on the clock. EC P-256 keys by default (fast); RSA where a test needs RSA, such
as a SHA-1 certificate like the real VGCA G1 sub-CAs (``cryptography`` no longer signs with SHA-1,
so :func:`issue` re-signs those itself).
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, NameOID

from sigmail.revocation.evidence import EvidenceKind, RevocationItem

__all__ = [
    "T0",
    "Issued",
    "crl_item",
    "issue",
    "key",
    "make_crl",
    "make_ocsp",
    "name",
    "ocsp_item",
    "three_level",
]

T0 = datetime(2024, 1, 1, tzinfo=UTC)  # the validation time of most tests
YEAR = timedelta(days=365)

EKU = {
    "server_auth": ExtendedKeyUsageOID.SERVER_AUTH,
    "client_auth": ExtendedKeyUsageOID.CLIENT_AUTH,
    "email_protection": ExtendedKeyUsageOID.EMAIL_PROTECTION,
    "time_stamping": ExtendedKeyUsageOID.TIME_STAMPING,
    "ocsp_signing": ExtendedKeyUsageOID.OCSP_SIGNING,
    "any_extended_key_usage": ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE,
    "code_signing": ExtendedKeyUsageOID.CODE_SIGNING,
    "document_signing": x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36"),  # RFC 9336
}

REASONS = {
    None: None,
    "key_compromise": x509.ReasonFlags.key_compromise,
    "certificate_hold": x509.ReasonFlags.certificate_hold,
    "superseded": x509.ReasonFlags.superseded,
    "remove_from_crl": x509.ReasonFlags.remove_from_crl,
}


@functools.cache
def key(label: str, kind: str = "ec"):
    """A private key per label, generated once per session."""
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def name(cn: str, org: str = "sigmail test PKI") -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


@dataclass(frozen=True)
class Issued:
    cert: asn1_x509.Certificate
    crypto: x509.Certificate
    key: object  # the private key

    @property
    def der(self) -> bytes:
        return self.crypto.public_bytes(serialization.Encoding.DER)


def _sign_legacy(tbs_der: bytes, signer, digest: str) -> bytes:
    h = hashlib.new(digest, tbs_der).digest()
    algo = {"sha1": hashes.SHA1(), "md5": hashes.MD5()}[digest]
    return signer.sign(h, padding.PKCS1v15(), utils.Prehashed(algo))


def issue(
    cn: str,
    *,
    issuer: Issued | None = None,
    key_label: str | None = None,
    key_kind: str = "ec",
    ca: bool = False,
    path_len: int | None = None,
    not_before: datetime = T0 - YEAR,
    not_after: datetime = T0 + YEAR,
    serial: int | None = None,
    digest: str = "sha256",
    eku: tuple[str, ...] | None = None,
    crl_url: str | None = None,
    ocsp_url: str | None = None,
    subject: x509.Name | None = None,
    ocsp_nocheck: bool = False,
) -> Issued:
    """Issue a certificate; ``issuer=None`` makes it self-signed."""
    private = key(key_label or cn, key_kind)
    subject = subject or name(cn)
    signer_key = issuer.key if issuer else private
    issuer_name = issuer.crypto.subject if issuer else subject
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(private.public_key())
        .serial_number(serial or int.from_bytes(hashlib.sha256(cn.encode()).digest()[:8]))
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=path_len if ca else None), True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=not ca,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(private.public_key()), False)
    )
    issuer_public = (issuer.key if issuer else private).public_key()
    builder = builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_public), False
    )
    if eku == ():
        # An empty extension (the SEQUENCE must not be empty, RFC 5280): cryptography 51 no
        # longer builds one, so it is written as received from a careless CA.
        empty = x509.UnrecognizedExtension(ExtensionOID.EXTENDED_KEY_USAGE, b"\x30\x00")
        builder = builder.add_extension(empty, False)
    elif eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([EKU[e] for e in eku]), False)
    if ocsp_nocheck:
        builder = builder.add_extension(x509.OCSPNoCheck(), False)
    if crl_url:
        builder = builder.add_extension(
            x509.CRLDistributionPoints(
                [
                    x509.DistributionPoint(
                        [x509.UniformResourceIdentifier(crl_url)], None, None, None
                    )
                ]
            ),
            False,
        )
    if ocsp_url:
        builder = builder.add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        x509.oid.AuthorityInformationAccessOID.OCSP,
                        x509.UniformResourceIdentifier(ocsp_url),
                    )
                ]
            ),
            False,
        )
    if digest == "sha256":
        crypto = builder.sign(signer_key, hashes.SHA256())
        der = crypto.public_bytes(serialization.Encoding.DER)
    else:  # re-sign with a hash cryptography refuses (RSA issuer keys only)
        draft = asn1_x509.Certificate.load(
            builder.sign(signer_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
        )
        tbs = draft["tbs_certificate"]
        tbs["signature"] = {"algorithm": f"{digest}_rsa"}
        tbs_der = tbs.dump(force=True)
        der = asn1_x509.Certificate(
            {
                "tbs_certificate": asn1_x509.TbsCertificate.load(tbs_der),
                "signature_algorithm": {"algorithm": f"{digest}_rsa"},
                "signature_value": _sign_legacy(tbs_der, signer_key, digest),
            }
        ).dump()
        crypto = x509.load_der_x509_certificate(der)
    return Issued(asn1_x509.Certificate.load(der), crypto, private)


def make_crl(
    issuer: Issued,
    *,
    revoked: tuple[tuple[int, datetime, str | None], ...] = (),
    this_update: datetime = T0 - timedelta(days=1),
    next_update: datetime | None = T0 + timedelta(days=6),
    number: int = 1,
) -> bytes:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.crypto.subject)
        .last_update(this_update)
        .next_update(next_update)
        .add_extension(x509.CRLNumber(number), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), False
        )
    )
    for serial, when, reason in revoked:
        entry = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when)
        if reason is not None:
            entry = entry.add_extension(x509.CRLReason(REASONS[reason]), False)
        builder = builder.add_revoked_certificate(entry.build())
    crl = builder.sign(issuer.key, hashes.SHA256())
    return crl.public_bytes(serialization.Encoding.DER)


def make_ocsp(
    subject: Issued,
    issuer: Issued,
    *,
    status: str = "good",
    revoked_at: datetime | None = None,
    reason: str | None = None,
    this_update: datetime = T0 - timedelta(hours=1),
    next_update: datetime | None = T0 + timedelta(days=1),
    responder: Issued | None = None,
) -> bytes:
    signer = responder or issuer
    cert_status = {
        "good": ocsp.OCSPCertStatus.GOOD,
        "revoked": ocsp.OCSPCertStatus.REVOKED,
        "unknown": ocsp.OCSPCertStatus.UNKNOWN,
    }[status]
    builder = ocsp.OCSPResponseBuilder().add_response(
        cert=subject.crypto,
        issuer=issuer.crypto,
        algorithm=hashes.SHA1(),
        cert_status=cert_status,
        this_update=this_update,
        next_update=next_update,
        revocation_time=revoked_at,
        revocation_reason=REASONS[reason],
    )
    builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, signer.crypto)
    if responder is not None:
        builder = builder.certificates([responder.crypto])
    response = builder.sign(signer.key, hashes.SHA256())
    return response.public_bytes(serialization.Encoding.DER)


def crl_item(der: bytes, origin: str = "embedded") -> RevocationItem:
    return RevocationItem(EvidenceKind.CRL, der, origin)


def ocsp_item(der: bytes, origin: str = "embedded") -> RevocationItem:
    return RevocationItem(EvidenceKind.OCSP, der, origin)


@dataclass(frozen=True)
class ThreeLevel:
    root: Issued
    ica: Issued
    leaf: Issued

    def crls(self, **leaf_crl) -> tuple[RevocationItem, RevocationItem]:
        """A CRL of the root (covering the intermediate) and one of the intermediate."""
        return crl_item(make_crl(self.root)), crl_item(make_crl(self.ica, **leaf_crl))


def three_level(prefix: str = "", **leaf_kwargs) -> ThreeLevel:
    root = issue(f"{prefix}Root CA", ca=True, not_before=T0 - 10 * YEAR, not_after=T0 + 10 * YEAR)
    ica = issue(
        f"{prefix}Issuing CA",
        issuer=root,
        ca=True,
        path_len=0,
        not_before=T0 - 5 * YEAR,
        not_after=T0 + 5 * YEAR,
        crl_url="http://crl.example.vn/root.crl",
    )
    leaf_kwargs.setdefault("crl_url", "http://crl.example.vn/ica.crl")
    leaf = issue(f"{prefix}Signer", issuer=ica, **leaf_kwargs)
    return ThreeLevel(root, ica, leaf)
