"""The test PKI: certificates and CRLs made from pki.toml, or loaded back from vectors/pki/.

:func:`build_pki` is what the generator uses (keys + spec → certificates); :func:`load_pki`
is what the responder uses (the generated PEM files + spec + keys). Both give a
:class:`TestPKI`, so the responder answers from exactly the certificates that were written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from . import endpoints
from .keys import PrivateKey, load_or_create_key, uses_hash
from .spec import CertificateSpec, CrlSpec, PkiSpec, load_pki_spec

__all__ = ["CERTS_DIR", "KEYS_DIR", "TestPKI", "build_pki", "load_pki"]

KEYS_DIR = "pki/keys"
CERTS_DIR = "pki/certs"

MS_SMARTCARD_LOGON = x509.ObjectIdentifier("1.3.6.1.4.1.311.20.2.2")

_EKU_OIDS = {
    "clientAuth": ExtendedKeyUsageOID.CLIENT_AUTH,
    "emailProtection": ExtendedKeyUsageOID.EMAIL_PROTECTION,
    "msSmartcardLogin": MS_SMARTCARD_LOGON,
    "timeStamping": ExtendedKeyUsageOID.TIME_STAMPING,
    "OCSPSigning": ExtendedKeyUsageOID.OCSP_SIGNING,
}

# RFC 5280 key usage names → cryptography's KeyUsage arguments.
_KEY_USAGE_ARGS = {
    "digitalSignature": "digital_signature",
    "nonRepudiation": "content_commitment",
    "keyEncipherment": "key_encipherment",
    "dataEncipherment": "data_encipherment",
    "keyAgreement": "key_agreement",
    "keyCertSign": "key_cert_sign",
    "cRLSign": "crl_sign",
}

REASON_FLAGS = {
    "unspecified": x509.ReasonFlags.unspecified,
    "keyCompromise": x509.ReasonFlags.key_compromise,
    "cACompromise": x509.ReasonFlags.ca_compromise,
    "affiliationChanged": x509.ReasonFlags.affiliation_changed,
    "superseded": x509.ReasonFlags.superseded,
    "cessationOfOperation": x509.ReasonFlags.cessation_of_operation,
    "certificateHold": x509.ReasonFlags.certificate_hold,
}


@dataclass(frozen=True)
class TestPKI:
    """Certificates and keys of the test PKI, by the names pki.toml gives them."""

    __test__ = False  # not a pytest test class, despite the name

    spec: PkiSpec
    certificates: dict[str, x509.Certificate]
    keys: dict[str, PrivateKey]

    def issuer_of(self, name: str) -> x509.Certificate:
        return self.certificates[self.spec.certificates[name].issuer]

    def chain_of(self, name: str) -> list[x509.Certificate]:
        """``name``'s certificate and its CAs up to and including the root."""
        chain = [self.certificates[name]]
        while not self.spec.certificates[name].self_signed:
            name = self.spec.certificates[name].issuer
            chain.append(self.certificates[name])
        return chain

    def build_crl(self, crl: CrlSpec) -> bytes:
        """The DER CRL ``crl``: every certificate of its issuer revoked by this_update."""
        issuer_cert = self.certificates[crl.issuer]
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(issuer_cert.subject)
            .last_update(crl.this_update)
            .next_update(crl.next_update)
            .add_extension(x509.CRLNumber(crl.number), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_cert.public_key()),
                critical=False,
            )
        )
        for cert in sorted(self.spec.issued_by(crl.issuer), key=lambda c: c.serial):
            revocation = cert.status_at(crl.this_update)
            if revocation is None:
                continue
            entry = (
                x509.RevokedCertificateBuilder()
                .serial_number(cert.serial)
                .revocation_date(revocation.at)
                .add_extension(x509.CRLReason(REASON_FLAGS[revocation.reason]), critical=False)
                .build()
            )
            builder = builder.add_revoked_certificate(entry)
        crl_object = builder.sign(self.keys[crl.issuer], _hash_for(self.keys[crl.issuer]))
        return crl_object.public_bytes(serialization.Encoding.DER)


def _extensions(
    spec: CertificateSpec, public_key: object, issuer_public_key: object
) -> list[tuple[x509.ExtensionType, bool]]:
    """(extension, critical) pairs in the order the real VGCA certificates list them."""
    extensions: list[tuple[x509.ExtensionType, bool]] = [
        (x509.BasicConstraints(ca=spec.ca, path_length=spec.path_length), True),
    ]
    if spec.key_usage:
        flags = dict.fromkeys(_KEY_USAGE_ARGS.values(), False)
        flags.update({_KEY_USAGE_ARGS[usage]: True for usage in spec.key_usage})
        extensions.append((x509.KeyUsage(**flags, encipher_only=False, decipher_only=False), True))
    if spec.extended_key_usage:
        eku = x509.ExtendedKeyUsage([_EKU_OIDS[usage] for usage in spec.extended_key_usage])
        extensions.append((eku, spec.extended_key_usage_critical))
    if spec.policies:
        policies = [x509.PolicyInformation(x509.ObjectIdentifier(p), None) for p in spec.policies]
        extensions.append((x509.CertificatePolicies(policies), False))
    extensions.append((x509.SubjectKeyIdentifier.from_public_key(public_key), False))
    extensions.append(
        (x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_public_key), False)
    )
    ca = spec.advertised_ca
    if spec.crl_distribution_point:
        url = x509.UniformResourceIdentifier(endpoints.crl_url(ca, spec.endpoints))
        point = x509.DistributionPoint([url], None, None, None)
        extensions.append((x509.CRLDistributionPoints([point]), False))
    access = []
    if spec.ocsp:
        url = x509.UniformResourceIdentifier(endpoints.ocsp_url(ca, spec.endpoints))
        access.append(x509.AccessDescription(x509.AuthorityInformationAccessOID.OCSP, url))
    if spec.ca_issuers:
        # caIssuers stays on the responder even for "unreachable" certificates: only the
        # revocation services are meant to be down.
        url = x509.UniformResourceIdentifier(endpoints.ca_issuers_url(ca))
        access.append(x509.AccessDescription(x509.AuthorityInformationAccessOID.CA_ISSUERS, url))
    if access:
        extensions.append((x509.AuthorityInformationAccess(access), False))
    if spec.ocsp_no_check:
        extensions.append((x509.OCSPNoCheck(), False))
    if spec.email:
        names = [x509.RFC822Name(address) for address in spec.email]
        extensions.append((x509.SubjectAlternativeName(names), False))
    return extensions


def _build_certificate(
    spec: CertificateSpec,
    key: PrivateKey,
    issuer_name: x509.Name | None,
    issuer_key: PrivateKey,
) -> x509.Certificate:
    subject = x509.Name.from_rfc4514_string(spec.subject)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name or subject)
        .public_key(key.public_key())
        .serial_number(spec.serial)
        .not_valid_before(spec.not_before)
        .not_valid_after(spec.not_after)
    )
    for extension, critical in _extensions(spec, key.public_key(), issuer_key.public_key()):
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(issuer_key, _hash_for(issuer_key))


def _hash_for(key: PrivateKey) -> hashes.HashAlgorithm | None:
    """SHA-256 for RSA and ECDSA issuers; none for EdDSA, which hashes internally (RFC 8410)."""
    return hashes.SHA256() if uses_hash(key) else None


def build_pki(spec: PkiSpec, keys_dir: Path, *, create_keys: bool) -> TestPKI:
    """Make every certificate of ``spec``, issuers first, with the keys in ``keys_dir``."""
    keys: dict[str, PrivateKey] = {}
    certificates: dict[str, x509.Certificate] = {}
    for cert in spec.certificates.values():
        keys[cert.name] = load_or_create_key(keys_dir, cert.name, cert.key, create=create_keys)
        issuer_name = None if cert.self_signed else certificates[cert.issuer].subject
        certificates[cert.name] = _build_certificate(
            cert, keys[cert.name], issuer_name, keys[cert.issuer]
        )
    return TestPKI(spec=spec, certificates=certificates, keys=keys)


def load_pki(vectors_dir: Path) -> TestPKI:
    """The PKI as generated into ``vectors_dir`` (certificates read back, not rebuilt)."""
    spec = load_pki_spec(vectors_dir)
    certificates = {
        name: x509.load_pem_x509_certificate((vectors_dir / CERTS_DIR / f"{name}.pem").read_bytes())
        for name in spec.certificates
    }
    keys = {
        cert.name: load_or_create_key(vectors_dir / KEYS_DIR, cert.name, cert.key, create=False)
        for cert in spec.certificates.values()
    }
    return TestPKI(spec=spec, certificates=certificates, keys=keys)
