"""Loading and describing X.509 certificates (asn1crypto objects are the internal form)."""

from __future__ import annotations

import hashlib
import os
import re
import sys
from datetime import datetime

from asn1crypto import algos, core, crl, pem, x509

from sigmail.bounded_cache import BoundedCache
from sigmail.verdict.model import CertificateSummary

__all__ = [
    "StableCertificate",
    "StableCertificateList",
    "describe_key",
    "fingerprint",
    "load_certificate",
    "name_to_text",
    "parse_certificates",
    "stable_certificate",
    "stable_crl",
    "summarize",
]


def _register_certvalidator_oids() -> None:
    """Run ``pyhanko_certvalidator.asn1_types`` now, without the package's ``__init__``.

    asn1crypto's OID maps are global, and pyhanko-certvalidator extends them in that module (the
    ML-DSA key and signature names, attribute-certificate extensions). It must run before any
    certificate is parsed, so that every object is parsed under the same maps: an ML-DSA key
    read before it keeps a state the validator then trips on. Importing it the ordinary way
    runs the package's ``__init__`` first (the validation context, asyncio, the fetchers: about
    half of a cold ``sigmail verify``), which only chain validation needs. The module imports
    nothing but asn1crypto, so it is executed from its own file and entered in ``sys.modules``
    under its real name: when the package is imported later, its ``from .asn1_types import …``
    finds this very module, so the classes the maps point at are the ones the validator uses.
    """
    name = "pyhanko_certvalidator.asn1_types"
    if name in sys.modules or "pyhanko_certvalidator" in sys.modules:
        import pyhanko_certvalidator.asn1_types

        return
    from importlib.machinery import PathFinder
    from importlib.util import module_from_spec, spec_from_file_location

    package = PathFinder.find_spec("pyhanko_certvalidator")
    locations = package.submodule_search_locations if package is not None else None
    files = [f"{folder}/asn1_types.py" for folder in locations or ()]
    spec = next((spec_from_file_location(name, f) for f in files if os.path.isfile(f)), None)
    if spec is None or spec.loader is None:  # an unusual install (zip, frozen): the ordinary way
        import pyhanko_certvalidator.asn1_types

        return
    module = module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception:  # a version whose module needs its package: the ordinary way after all
        del sys.modules[name]
        import pyhanko_certvalidator.asn1_types  # noqa: F401


_register_certvalidator_oids()

_UID_OID = "0.9.2342.19200300.100.1.1"
_ORG_ID_OID = "2.5.4.97"


def parse_certificates(data: bytes) -> list[x509.Certificate]:
    """Every certificate in ``data`` (DER, or PEM with one or more blocks).

    Raises ``ValueError`` when ``data`` holds no certificate; parsing is forced eagerly so a
    broken certificate fails here, not later in the middle of a validation.
    """
    if pem.detect(data):
        ders = [
            der for kind, _hdr, der in pem.unarmor(data, multiple=True) if kind == "CERTIFICATE"
        ]
        if not ders:
            raise ValueError("no CERTIFICATE block in PEM data")
    else:
        ders = [data]
    return [load_certificate(der) for der in ders]


# --------------------------------------------------------------------------------------------
# Byte-stable certificates and CRLs
#
# asn1crypto (1.5.1) mistakes a definite length whose last byte is 0x80 (e.g. a 900-byte
# certificate: 30 82 03 80) for the indefinite-length marker, and then re-encodes the value on
# every dump(). Re-encoding "normalises" what it considers non-canonical (a BIT STRING's unused
# bits, for one) and the signature over the TBS no longer verifies: PKITS "Valid Name Chaining
# UIDs Test6" fails as soon as anything has computed the certificate's SHA-256. The subclasses
# below return the bytes they were loaded from unless asked to re-encode.


def _definite_header(header: bytes | None) -> bool:
    # one tag byte (SEQUENCE), then the length: 0x80 alone would be indefinite
    return header is not None and len(header) > 2


class _StableDump:
    # A mixin for asn1crypto's Asn1Value subclasses: the attributes are theirs.
    _header: bytes | None
    _contents: bytes
    _trailer: bytes

    def _is_mutated(self) -> bool:
        return super()._is_mutated()  # type: ignore[misc]

    def dump(self, force: bool = False) -> bytes:
        if not force and _definite_header(self._header) and not self._is_mutated():
            return self._header + self._contents + self._trailer  # type: ignore[operator]
        return super().dump(force)  # type: ignore[misc]


# Normalised names by their encoding: the same few names (a CA's, its issuer's) are in every
# certificate and CRL of a chain, and RFC 4518's preparation (asn1crypto's, per character)
# was a fifth of a process's first verifications.
_name_keys: BoundedCache[bytes, tuple[str, tuple[int, ...]]] = BoundedCache(
    max_entries=4096, max_weight=2 * 1024 * 1024, weigh=lambda der, key: 2 * len(der) + len(key[0])
)


class _CachedName(x509.Name):
    """A Name that normalises itself once: certvalidator compares the same few names
    thousands of times per validation, and asn1crypto re-normalises them on every ``==``."""

    _key: tuple[str, tuple[int, ...]] | None = None

    def _eq_key(self) -> tuple[str, tuple[int, ...]]:
        if self._key is None:
            # The key is a function of the encoding (its contents as received: never
            # re-encoded here); a name that does not normalise raises and is not kept.
            def make() -> tuple[str, tuple[int, ...]]:
                return x509.Name.hashable.fget(self), tuple(len(rdn) for rdn in self.chosen)

            contents = self.contents
            self._key = make() if contents is None else _name_keys.get_or_make(contents, make)
        return self._key

    @property
    def hashable(self) -> str:
        return self._eq_key()[0]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _CachedName):
            return self._eq_key() == other._eq_key()
        return super().__eq__(other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None  # type: ignore[assignment]  # as asn1crypto's Name


def _cached_names(fields: list) -> list:
    return [(f[0], _CachedName if f[1] is x509.Name else f[1], *f[2:]) for f in fields]


class _StableTbsCertificate(_StableDump, x509.TbsCertificate):
    _fields = _cached_names(x509.TbsCertificate._fields)


class StableCertificate(_StableDump, x509.Certificate):
    _fields = [  # noqa: RUF012 - asn1crypto's class-level field specification
        ("tbs_certificate", _StableTbsCertificate),
        ("signature_algorithm", algos.SignedDigestAlgorithm),
        ("signature_value", core.OctetBitString),
    ]
    _loaded: bytes | None = None

    @classmethod
    def load(cls, encoded_data: bytes, strict: bool = False, **kwargs) -> StableCertificate:
        cert = super().load(encoded_data, strict=strict, **kwargs)
        cert._loaded = bytes(encoded_data)
        return cert

    def dump(self, force: bool = False) -> bytes:
        # Certificates are only ever read: the bytes they were loaded from are their encoding,
        # without walking the parsed tree to ask whether anything changed (the hot path of a
        # warm verification hashes and compares certificates many times).
        if not force and self._loaded is not None:
            return self._loaded
        return super().dump(force)

    _loaded_sha256: bytes | None = None  # der_sha256 of the loaded bytes, once computed


class _StableTbsCertList(_StableDump, crl.TbsCertList):
    _fields = _cached_names(crl.TbsCertList._fields)


class StableCertificateList(_StableDump, crl.CertificateList):
    _fields = [  # noqa: RUF012 - asn1crypto's class-level field specification
        ("tbs_cert_list", _StableTbsCertList),
        ("signature_algorithm", algos.SignedDigestAlgorithm),
        ("signature", core.OctetBitString),
    ]

    def listed_serials(self) -> frozenset[int] | None:
        """The serial numbers this CRL lists, read once per CRL, or None: then look through
        its entries as usual (a CRL under :data:`INDEXED_CRL_BYTES`, where walking the entries
        costs less than importing cryptography.x509, or one cryptography cannot read).

        A serial *not* in the set is on no entry of the CRL, whatever the entry's issuer or
        extensions; a serial in it must still be looked up entry by entry (indirect CRLs,
        critical entry extensions, the reason). Walking asn1crypto's entries costs ~3 µs each
        (a 20,000-entry CRL: ~60 ms, once per lookup in pyhanko-certvalidator); cryptography's
        parser reads them ~10× faster, once.
        """
        try:
            return self._listed_serials  # type: ignore[has-type]
        except AttributeError:
            pass
        serials: frozenset[int] | None = None
        der = self.dump()
        if len(der) >= INDEXED_CRL_BYTES:
            from cryptography import x509 as cx509

            try:
                serials = frozenset(r.serial_number for r in cx509.load_der_x509_crl(der))
            except Exception:
                serials = None
        self._listed_serials = serials
        return serials


# From this size of DER (~1,300 entries) a CRL's serial numbers are indexed (listed_serials).
INDEXED_CRL_BYTES = 32 * 1024


def _seq_header(length: int) -> bytes:
    if length < 0x80:
        return bytes((0x30, length))
    size = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((0x30, 0x80 | len(size))) + size


# Byte-stable copies, by encoding: parsed, so weighed like _loaded below.
_stable: BoundedCache[bytes, StableCertificate] = BoundedCache(
    max_entries=4096, max_weight=2 * 1024 * 1024, weigh=lambda der, _cert: len(der)
)


def stable_certificate(cert: x509.Certificate) -> StableCertificate:
    """A byte-stable copy of ``cert`` (shared, bounded cache keyed by its encoding).

    The encoding is taken from ``cert.contents``, which is still the original unless
    something already re-encoded ``cert`` (then nothing can recover it).
    """
    if isinstance(cert, StableCertificate):
        return cert
    contents = cert.contents
    der = _seq_header(len(contents)) + contents
    return _stable.get_or_make(der, lambda: StableCertificate.load(der))


def stable_crl(der: bytes) -> StableCertificateList:
    return StableCertificateList.load(der)


# Parsed certificates kept for reuse, bounded by count and by the size of their encodings: a
# fully parsed certificate holds about 27 times its DER in Python objects (36 kB for a
# typical 1.4 kB one), so 4,096 of them held 146 MB, and a fuzz campaign's worker grew by
# hundreds of MB as distinct (mutated) certificates filled the cache. 2 MB of DER is about
# 1,500 typical certificates, 58 MB parsed (measured with tracemalloc at the bound).
_loaded: BoundedCache[bytes, x509.Certificate] = BoundedCache(
    max_entries=4096, max_weight=2 * 1024 * 1024, weigh=lambda der, _cert: len(der)
)


def load_certificate(der: bytes) -> x509.Certificate:
    """A fully parsed certificate, shared between verifications of the same bytes.

    Certificates recur (every message from a signer carries the same ones); parsing them and
    normalising their names once saves most of the work of a warm verification. The objects
    are only read, never modified. A certificate that does not parse raises (and is not
    remembered).
    """
    return _loaded.get_or_make(der, lambda: _load_certificate(der))


def _load_certificate(der: bytes) -> x509.Certificate:
    cert = StableCertificate.load(der, strict=True)
    # Parse now every field but the key's own bytes (read when the key is used, where an
    # unknown or broken key is unsupported_algorithm), so a broken certificate fails here
    # (ValueError), not later in whatever reads a field first (a key algorithm, a policy, an
    # IDNA name: found by fuzzing XML signatures). Once per certificate: the cache keeps it.
    try:
        cert.issuer.hashable  # noqa: B018 - the normalised names path building compares
        cert.subject.hashable  # noqa: B018
        tbs = cert["tbs_certificate"]
        for field in ("version", "serial_number", "signature", "validity", "extensions"):
            tbs[field].native  # noqa: B018 - every extension decoded (names above)
        tbs["subject_public_key_info"]["algorithm"].native  # noqa: B018
        cert["signature_algorithm"].native  # noqa: B018
    except (IndexError, KeyError, TypeError, OverflowError) as exc:  # asn1crypto's other faults
        raise ValueError(f"the certificate does not parse: {type(exc).__name__}: {exc}") from None
    return cert


def der_sha256(cert: x509.Certificate) -> bytes:
    """SHA-256 of the DER encoding: kept on a loaded certificate, whose loaded bytes are its
    encoding (see StableCertificate.dump; a chain's certificates are hashed again for every
    message), computed for any other."""
    if isinstance(cert, StableCertificate) and cert._loaded is not None:
        if cert._loaded_sha256 is None:
            cert._loaded_sha256 = hashlib.sha256(cert._loaded).digest()
        return cert._loaded_sha256
    return hashlib.sha256(cert.dump()).digest()


def fingerprint(cert: x509.Certificate) -> str:
    """Upper-case hex SHA-256 of the DER encoding, as ``vn-trust/MANIFEST.tsv`` writes it."""
    return der_sha256(cert).hex().upper()


def describe_key(cert: x509.Certificate) -> str | None:
    info = cert.public_key
    try:
        algo = info.algorithm
    except (ValueError, KeyError, TypeError):  # an OID asn1crypto does not know (ML-DSA, …)
        return info["algorithm"]["algorithm"].dotted
    try:
        if algo == "rsa" or algo == "rsassa_pss":
            return f"RSA-{info.bit_size}"
        if algo == "ec":
            return f"EC-{info.curve[1]}" if info.curve[0] == "named" else f"EC-{info.bit_size}"
        if algo in ("ed25519", "ed448"):
            return algo.upper()
        return f"{algo.upper()}-{info.bit_size}"
    # asn1crypto's bit_size raises UnboundLocalError for the keys it has no size rule for,
    # IndexError for an empty key.
    except (ValueError, LookupError, TypeError, UnboundLocalError):
        return algo


def _utc(dt: datetime) -> datetime:
    from datetime import UTC

    return dt.astimezone(UTC)


_SHORT_NAMES = {
    "2.5.4.3": "CN",
    "2.5.4.6": "C",
    "2.5.4.7": "L",
    "2.5.4.8": "ST",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
    "2.5.4.5": "serialNumber",
    "2.5.4.97": "organizationIdentifier",
    _UID_OID: "UID",
    "1.2.840.113549.1.9.1": "emailAddress",
}


def name_to_text(name: x509.Name) -> str:
    """RFC 4514-style text of a name, most significant RDN last (as OpenSSL -nameopt RFC2253)."""
    parts = []
    for rdn in reversed(list(name.chosen)):
        avas = []
        for ava in rdn:
            oid = ava["type"].dotted
            try:
                value = ava["value"].native
            except ValueError:
                value = ava["value"].contents.hex()
            if not isinstance(value, str):
                value = str(value)
            value = re.sub(r'([,+"\\<>;])', r"\\\1", value)
            avas.append(f"{_SHORT_NAMES.get(oid, oid)}={value}")
        parts.append("+".join(avas))
    return ",".join(parts)


def _name_values(name: x509.Name, oid: str) -> list[str]:
    out = []
    for rdn in name.chosen:
        for ava in rdn:
            if ava["type"].dotted == oid:
                value = ava["value"].native
                out.append(value if isinstance(value, str) else str(value))
    return out


# Summaries by encoding: the key is the whole DER, and the summary's texts come from it.
_summaries: BoundedCache[bytes, CertificateSummary] = BoundedCache(
    max_entries=4096, max_weight=8 * 1024 * 1024, weigh=lambda der, _summary: 2 * len(der)
)


def summarize(cert: x509.Certificate) -> CertificateSummary:
    """A reader's summary of ``cert``; tolerant of odd but parseable certificates."""
    der = cert.dump()
    return _summaries.get_or_make(der, lambda: _summarize(der))


def _summarize(der: bytes) -> CertificateSummary:
    cert = load_certificate(der)
    subject = cert.subject
    tbs = cert["tbs_certificate"]
    emails: list[str] = []
    san = cert.subject_alt_name_value
    if san is not None:
        emails.extend(gn.native for gn in san if gn.name == "rfc822_name")
    emails.extend(_name_values(subject, "1.2.840.113549.1.9.1"))
    key_usage = tuple(sorted(cert.key_usage_value.native)) if cert.key_usage_value else ()
    eku = tuple(cert.extended_key_usage_value.native) if cert.extended_key_usage_value else ()
    policies = (
        tuple(p["policy_identifier"].dotted for p in cert.certificate_policies_value)
        if cert.certificate_policies_value
        else ()
    )
    uid = _name_values(subject, _UID_OID) or _name_values(subject, _ORG_ID_OID)
    orgs = _name_values(subject, "2.5.4.10")
    localities = _name_values(subject, "2.5.4.7")
    cns = _name_values(subject, "2.5.4.3")
    return CertificateSummary(
        subject=name_to_text(subject),
        issuer=name_to_text(cert.issuer),
        serial=format(tbs["serial_number"].native, "X"),
        sha256=fingerprint(cert),
        not_before=_utc(tbs["validity"]["not_before"].native),
        not_after=_utc(tbs["validity"]["not_after"].native),
        common_name=cns[-1] if cns else None,
        organization=orgs[0] if orgs else None,
        organizational_units=tuple(_name_values(subject, "2.5.4.11")),
        locality=localities[0] if localities else None,
        uid=uid[0] if uid else None,
        emails=tuple(dict.fromkeys(emails)),
        key=describe_key(cert),
        subject_key_id=cert.key_identifier.hex() if cert.key_identifier else None,
        key_usage=key_usage,
        extended_key_usage=eku,
        policies=policies,
    )
