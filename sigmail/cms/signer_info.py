"""Integrity of one SignerInfo: which certificate signed, does the digest match, does the
signature verify, are the signed attributes sound. No chain, no time: see :mod:`.verify`.

Used for document signatures and, recursively, for the SignerInfo inside an RFC 3161
timestamp token.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from asn1crypto import cms, core, tsp, x509

from sigmail.bounded_cache import BoundedCache
from sigmail.cms.algorithms import (
    AlgorithmPolicy,
    AlgorithmProblem,
    algorithm_label,
    check_eddsa_digest,
    digest,
    signature_algorithm_name,
    signature_hash_name,
    verify_signature,
)
from sigmail.cms.attributes import (
    SignedAttributes,
    Values,
    octets_of,
    oid_encoding,
    read_attributes,
    time_of,
)
from sigmail.cms.ber import bounded, count_encoded, octets, received_encoding
from sigmail.cms.plain_signer_info import PlainSignerInfo, parsed_field
from sigmail.cms.signed_data import MAX_SIGNED_ATTRIBUTES, MAX_UNSIGNED_ATTRIBUTES
from sigmail.limits import Budget, LimitExceeded
from sigmail.problems import ASN1_ERRORS
from sigmail.verdict.model import Finding

__all__ = [
    "ContentDigests",
    "SignerCheck",
    "check_signer_info",
    "signed_attrs_as_signed",
]

_ID_DATA = "1.2.840.113549.1.7.1"


class ContentDigests:
    """Digests of the signed content, computed once per algorithm (several signers, one text).

    The content may be given in pieces (a PDF's two byte ranges, a MIME body as it is read):
    each digest is computed in one pass over the pieces, without joining them.
    """

    __slots__ = ("_chunks", "_done")

    def __init__(self, content: bytes | memoryview | Sequence[bytes | memoryview] | None) -> None:
        self._chunks: tuple[bytes | memoryview, ...] | None
        if content is None or isinstance(content, bytes | bytearray | memoryview):
            self._chunks = None if content is None else (content,)
        else:
            self._chunks = tuple(content)
        self._done: dict[str, bytes] = {}

    @property
    def available(self) -> bool:
        return self._chunks is not None

    @property
    def content(self) -> bytes | memoryview | None:
        """The content in one piece (only needed for a signature without signed attributes)."""
        if self._chunks is None:
            return None
        return self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)

    def get(self, name: str) -> bytes:
        if name not in self._done:
            assert self._chunks is not None
            self._done[name] = digest(name, *self._chunks)
        return self._done[name]


@dataclass(slots=True)
class SignerCheck:
    """What one SignerInfo proves by itself."""

    signer_cert: x509.Certificate | None = None
    intact: bool | None = None
    valid: bool | None = None
    digest_algorithm: str | None = None
    signature_algorithm: str | None = None
    claimed_signing_time: datetime | None = None
    signature: bytes = b""
    findings: list[Finding] = field(default_factory=list)
    # The signed attributes as read (attributes.attribute_values), for the other readers of
    # the same SignerInfo (signed_data.signer_revocation); None when they were not read.
    signed_attributes: list[tuple[str, Values]] | None = None

    def add(self, code: str, locator: str, detail: str | None = None) -> None:
        self.findings.append(Finding.of(code, locator, detail))


def same_name(a: x509.Name, b: x509.Name) -> bool:
    """RFC 5280 name equality, with the common case (the same encoding) decided without the
    costly normalisation asn1crypto does on every comparison."""
    # Compare the RDN sequences' contents: a Name inside a GeneralName carries an explicit
    # tag in its own encoding, so whole encodings can differ for the same name.
    return a.chosen.contents == b.chosen.contents or a == b


def _candidates(sid: cms.SignerIdentifier, certificates: tuple[x509.Certificate, ...]):
    if sid.name == "issuer_and_serial_number":
        issuer = sid.chosen["issuer"]
        serial = sid.chosen["serial_number"].native
        match = [
            c for c in certificates if c.serial_number == serial and same_name(c.issuer, issuer)
        ]
    else:
        ski = sid.chosen.native
        match = [c for c in certificates if c.key_identifier == ski]
    unique: dict[bytes, x509.Certificate] = {}
    for c in match:
        unique.setdefault(c.dump(), c)  # the same encoding twice is one certificate
    return list(unique.values())


def signed_attrs_as_signed(si: cms.SignerInfo | PlainSignerInfo) -> bytes | None:
    """The signed attributes as they were signed: the received encoding with the universal
    SET tag in place of [0] IMPLICIT (RFC 5652 §5.4).

    Call it before reading any attribute: asn1crypto re-encodes a structure whose values
    have been read (and one whose length octets end in 0x80), while what was signed are the
    bytes received. Only a truly indefinite-length (BER) encoding is re-encoded, to DER, as
    RFC 5652 requires of the signer and as OpenSSL verifies.
    """
    if isinstance(si, PlainSignerInfo):  # definite lengths only
        if si.signed_attrs is None:
            return None
        body = si.signed_attrs[1]
        return b"\x31" + _der_length(len(body)) + body
    attrs = si["signed_attrs"]
    if isinstance(attrs, core.Void):
        return None
    if attrs._header == b"\xa0\x80":  # indefinite length: BER, not the form that was signed
        return b"\x31" + attrs.dump(force=True)[1:]
    body = attrs.contents
    return b"\x31" + _der_length(len(body)) + body


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(size),)) + size


_CONTENT_TYPE = "1.2.840.113549.1.9.3"
_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
_SIGNING_TIME = "1.2.840.113549.1.9.5"
# RFC 5652 §11.1-11.3: these MUST be signed attributes and MUST NOT be unsigned ones.
_SIGNED_ONLY = {
    _CONTENT_TYPE: "content-type",
    _MESSAGE_DIGEST: "message-digest",
    _SIGNING_TIME: "signing-time",
}
_SIGNING_CERTIFICATE = "1.2.840.113549.1.9.16.2.12"
_SIGNING_CERTIFICATE_V2 = "1.2.840.113549.1.9.16.2.47"
_ALGORITHM_PROTECTION = "1.2.840.113549.1.9.52"

# Keyed by the certificate's whole encoding, so weighed by it: 4,096 entries of large
# (crafted) certificates must not hold gigabytes.
_cert_digests: BoundedCache[tuple[str | None, bytes], bytes] = BoundedCache(
    max_entries=4096, max_weight=8 * 1024 * 1024, weigh=lambda key, value: len(key[1]) + len(value)
)


def certificate_digest(name: str | None, cert: x509.Certificate) -> bytes:
    """The ``name`` digest of ``cert``'s encoding (``None``: the SHA-1 of an ESSCertID v1),
    computed once per certificate and algorithm (a bounded, shared cache keyed by the
    encoding: every message from a signer names the same certificate in its
    signing-certificate attribute). Raises AlgorithmProblem for an unknown algorithm."""
    der = cert.dump()
    # ESSCertID (v1) is SHA-1 by definition, whatever digest() knows of.
    return _cert_digests.get_or_make(
        (name, der), lambda: hashlib.sha1(der).digest() if name is None else digest(name, der)
    )


_issuer_serials: BoundedCache[bytes, bytes] = BoundedCache(
    max_entries=4096, max_weight=8 * 1024 * 1024, weigh=lambda der, value: len(der) + len(value)
)


def _issuer_serial_der(cert: x509.Certificate) -> bytes:
    """The DER of the IssuerSerial naming ``cert`` (its issuer as the one directoryName, its
    serial number), built once per certificate (bounded, shared). An ESS attribute whose
    issuerSerial has exactly these bytes names the certificate; any other encoding is
    compared field by field."""

    def make() -> bytes:
        issuer = x509.Name.load(cert.issuer.dump())
        return tsp.IssuerSerial(
            {
                "issuer": [x509.GeneralName(name="directory_name", value=issuer)],
                "serial_number": cert.serial_number,
            }
        ).dump()

    return _issuer_serials.get_or_make(cert.dump(), make)


def _check_signing_certificate(
    attrs: SignedAttributes, cert: x509.Certificate, check: SignerCheck, loc: str
) -> None:
    v2 = attrs.single(_SIGNING_CERTIFICATE_V2)
    v1 = attrs.single(_SIGNING_CERTIFICATE) if v2 is None else None
    ref = v2 if v2 is not None else v1
    if ref is None:
        if not attrs.broken & {_SIGNING_CERTIFICATE, _SIGNING_CERTIFICATE_V2}:
            check.add("signing_certificate_attr_missing", loc)
        return
    # Every message from a signer carries the same attribute naming the same certificate:
    # what it proves is decided once per pair (as received, before any child is parsed).
    key = (v2 is not None, received_encoding(ref), cert.dump())
    found = _signing_certificate_findings.get_or_make(
        key, lambda: _signing_certificate_problem(v2 is not None, ref, cert)
    )
    if found is not None:
        check.add("signer_certificate_mismatch", loc, found)


# Keyed by the attribute's and the certificate's encodings, so weighed by them.
_signing_certificate_findings: BoundedCache[tuple[bool, bytes, bytes], str | None] = BoundedCache(
    max_entries=4096,
    max_weight=8 * 1024 * 1024,
    weigh=lambda key, value: len(key[1]) + len(key[2]) + len(value or ""),
)


def _signing_certificate_problem(v2: bool, ref, cert: x509.Certificate) -> str | None:
    """Why the ESSCertID(v2) list ``ref`` does not name ``cert`` (RFC 5035: its first entry
    is the signer's certificate), or None when it does. Raises what asn1crypto raises for
    an attribute that does not parse (reported by the caller as malformed, not memoised)."""
    certs = ref["certs"]
    if len(certs) == 0:
        return "signing-certificate attribute lists no certificate"
    first = certs[0]
    if v2:
        hash_name = first["hash_algorithm"]["algorithm"].native
        try:
            expected = certificate_digest(hash_name, cert)
        except AlgorithmProblem as exc:
            return exc.detail
    else:
        expected = certificate_digest(None, cert)  # ESSCertID is SHA-1 by definition
    if not hmac.compare_digest(first["cert_hash"].native, expected):
        return "the signing-certificate attribute names a different certificate"
    issuer_serial = first["issuer_serial"]
    # Absent (optional in ESSCertID and ESSCertIDv2): asn1crypto gives a Void. Asking for
    # .native instead would build the whole GeneralNames as Python values on every message.
    if (
        not isinstance(issuer_serial, core.Void)
        and issuer_serial.contents is not None
        and not _same_bytes(issuer_serial, _issuer_serial_der(cert))
    ):
        serial_ok = issuer_serial["serial_number"].native == cert.serial_number
        # the issuer is the certificate issuer's directory name (RFC 5035 IssuerSerial): a
        # GeneralNames holding only other kinds of name cannot name it
        names = [gn.chosen for gn in issuer_serial["issuer"] if gn.name == "directory_name"]
        issuer_ok = any(same_name(n, cert.issuer) for n in names)
        if not (serial_ok and issuer_ok):
            return "issuerSerial of the signing-certificate attribute does not match"
    return None


def _same_bytes(value: core.Asn1Value, der: bytes) -> bool:
    """Whether ``value`` was received as exactly ``der`` (without parsing its children)."""
    header = value._header
    return header is not None and header[-1:] != b"\x80" and header + value.contents == der


def _check_algorithm_protection(
    digest_algo: core.Asn1Value,
    sig_algo: core.Asn1Value,
    attrs: SignedAttributes,
    check: SignerCheck,
    loc: str,
) -> None:
    """RFC 6211: when present, the protected algorithms must be the ones used."""
    prot = attrs.single(_ALGORITHM_PROTECTION)
    if prot is None:
        return
    same_digest = prot["digest_algorithm"].dump() == digest_algo.dump()
    sig = prot["signature_algorithm"]
    # In SignedData the signature algorithm must be there and a MAC algorithm must not
    # (RFC 6211 section 2): a protection that leaves the mechanism out protects nothing.
    same_sig = sig.native is not None and sig.dump()[1:] == sig_algo.dump()[1:]
    if not (same_digest and same_sig) or prot["mac_algorithm"].native is not None:
        check.add(
            "signed_attributes_invalid",
            loc,
            "cms-algorithm-protection does not match the algorithms used",
        )


def check_signer_info(
    si: cms.SignerInfo | PlainSignerInfo,
    *,
    econtent_type: str | None,
    content: ContentDigests,
    certificates: tuple[x509.Certificate, ...],
    algorithms: AlgorithmPolicy,
    budget: Budget,
    locator: str,
) -> SignerCheck:
    check = SignerCheck()
    try:
        signed_message = signed_attrs_as_signed(si)
        return _check(
            si,
            signed_message,
            econtent_type,
            content,
            certificates,
            algorithms,
            budget,
            locator,
            check,
        )
    except ASN1_ERRORS as exc:
        check.add("malformed", locator, f"signer info does not parse: {exc}")
        return check


def _check(
    si, signed_message, econtent_type, content, certificates, algorithms, budget, loc, check
):
    # Read in asn1crypto's order of parsing, so a field that does not parse is reported
    # as it always was; a plain SignerInfo's are parsed once per encoding (parsed_field).
    plain = isinstance(si, PlainSignerInfo)
    check.signature = si.signature if plain else octets(si["signature"])
    digest_algo = parsed_field(si, "digest_algorithm")
    digest_name = digest_algo["algorithm"].native
    check.digest_algorithm = digest_name
    sig_algo = parsed_field(si, "signature_algorithm")
    try:
        check.signature_algorithm = signature_algorithm_name(sig_algo)
    except (ValueError, KeyError):
        check.signature_algorithm = algorithm_label(sig_algo["algorithm"].dotted)

    candidates = _candidates(parsed_field(si, "sid"), certificates)
    if not candidates:
        check.add(
            "signer_certificate_missing",
            loc,
            "no certificate in the signature matches the signer identifier",
        )

    # Algorithm policy (C5): digest, the hash inside the signature algorithm, the key.
    try:
        algorithms.check_digest(digest_name)
        hash_name = signature_hash_name(sig_algo, digest_name)
        if hash_name is not None and hash_name != digest_name:
            algorithms.check_digest(hash_name)
    except AlgorithmProblem as exc:
        check.add(exc.code, loc, exc.detail)
    except (ValueError, KeyError):
        pass  # a signature algorithm asn1crypto does not know: verify_signature says so

    attrs = _signed_attributes(si) if plain else None
    if attrs is None:
        signed_attrs = bounded(si["signed_attrs"], MAX_SIGNED_ATTRIBUTES, "max_signed_attributes")
        attrs = SignedAttributes(signed_attrs)
    check.signed_attributes = attrs.items
    has_signed_attrs = attrs.count > 0
    broken: set[str] = set()
    if has_signed_attrs:
        for detail in attrs.check_single_valued():
            check.add("signed_attributes_invalid", loc, detail)
        broken = attrs.broken
        try:
            check_eddsa_digest(check.signature_algorithm, digest_algo)
        except AlgorithmProblem as exc:
            check.add(exc.code, loc, exc.detail)
        # Read from the values' encodings when plain (octets_of, time_of), else parsed.
        expected_type = oid_encoding(econtent_type) if econtent_type is not None else None
        content_type_matches = (
            expected_type is not None and attrs.single_encoding(_CONTENT_TYPE) == expected_type
        )
        ct = None if content_type_matches else attrs.single(_CONTENT_TYPE)
        digest = octets_of(attrs.single_encoding(_MESSAGE_DIGEST))
        md = None if digest is not None else attrs.single(_MESSAGE_DIGEST)
        claimed = time_of(attrs.single_encoding(_SIGNING_TIME))
        if claimed is None:
            st = attrs.single(_SIGNING_TIME)
            if st is not None:
                claimed = st.chosen.native if hasattr(st, "chosen") else st.native
        if isinstance(claimed, datetime):
            check.claimed_signing_time = claimed.astimezone(UTC)
        if _CONTENT_TYPE in broken or content_type_matches:
            pass  # reported (not one content type), or the one expected
        elif econtent_type is None:  # a countersignature: there is no content type (§11.4)
            if ct is not None:
                check.add(
                    "signed_attributes_invalid",
                    loc,
                    "a countersignature carries a content-type attribute (RFC 5652 §11.4)",
                )
        elif ct is None or ct.dotted != econtent_type:
            got = ct.dotted if ct is not None else "absent"
            check.add(
                "signed_attributes_invalid",
                loc,
                f"content-type attribute ({got}) does not match eContentType {econtent_type}",
            )
        if digest is None and md is None:
            if _MESSAGE_DIGEST in broken:
                check.intact = None  # several digests: which one was the signer's?
            else:
                check.add("signed_attributes_invalid", loc, "message-digest attribute is missing")
                check.intact = False
        elif content.available:
            try:
                signed_digest = digest if digest is not None else md.native
                check.intact = hmac.compare_digest(signed_digest, content.get(digest_name))
            except AlgorithmProblem as exc:
                check.add(exc.code, loc, exc.detail)
            if check.intact is False:
                check.add(
                    "digest_mismatch",
                    loc,
                    "the message-digest attribute does not match the signed content",
                )
        else:
            check.add("detached_content_missing", loc)
        message = signed_message
        _check_algorithm_protection(digest_algo, sig_algo, attrs, check, loc)
    else:
        # Without signed attributes the signature is over the content itself (RFC 5652 §5.4),
        # which is only allowed for id-data.
        if econtent_type not in (_ID_DATA, None):  # None: a countersignature (§11.4)
            check.add(
                "signed_attributes_invalid",
                loc,
                "signed attributes are required when the content is not id-data",
            )
        if not content.available:
            check.add("detached_content_missing", loc)
            message = None
        else:
            message = content.content
        check.add(
            "signing_certificate_attr_missing",
            loc,
            "no signed attributes: nothing binds the signer certificate",
        )

    _check_unsigned_attributes(si, check, loc)

    if message is not None and candidates:
        chosen = None
        problem: AlgorithmProblem | None = None
        for cert in candidates:
            budget.check_time()
            try:
                if verify_signature(
                    cert.public_key, sig_algo, digest_name, check.signature, bytes(message)
                ):
                    chosen = cert
                    break
            except AlgorithmProblem as exc:
                problem = exc
        if chosen is not None:
            check.valid = True
            check.signer_cert = chosen
            if not has_signed_attrs:
                check.intact = True  # the signature over the content verified
        elif problem is not None:
            check.add(problem.code, loc, problem.detail)
            check.signer_cert = candidates[0]
        else:
            check.valid = False
            check.signer_cert = candidates[0]
            if not has_signed_attrs:
                check.intact = None  # a bad signature over content: which of the two broke?
            detail = "the signature value does not verify with the signer's public key"
            if len(candidates) > 1:
                detail += f" (tried {len(candidates)} certificates matching the signer identifier)"
            check.add("signature_invalid", loc, detail)
    elif candidates:
        check.signer_cert = candidates[0]

    if check.signer_cert is not None:
        try:
            algorithms.check_key(check.signer_cert.public_key)
        except AlgorithmProblem as exc:
            check.add(exc.code, loc, exc.detail)
        if has_signed_attrs:
            _check_signing_certificate(attrs, check.signer_cert, check, loc)
        _check_key_usage(check.signer_cert, check, loc)
    return check


def _signed_attributes(si: PlainSignerInfo) -> SignedAttributes | None:
    """A plain SignerInfo's signed attributes read from their encoding (counted first, as
    :func:`bounded` counts them), or None when asn1crypto must read them."""
    if si.signed_attrs is None:
        return SignedAttributes(())
    header, body = si.signed_attrs
    if count_encoded(body, MAX_SIGNED_ATTRIBUTES) > MAX_SIGNED_ATTRIBUTES:
        raise LimitExceeded("max_signed_attributes", MAX_SIGNED_ATTRIBUTES)
    items = read_attributes(header, body)
    return None if items is None else SignedAttributes((), items)


def _check_unsigned_attributes(
    si: cms.SignerInfo | PlainSignerInfo, check: SignerCheck, loc: str
) -> None:
    """A content type, message digest or signing time among the unsigned attributes is a
    claim nobody signed, which RFC 5652 forbids (§11.1-11.3); OpenSSL refuses it too."""
    unsigned = bounded(si["unsigned_attrs"], MAX_UNSIGNED_ATTRIBUTES, "max_unsigned_attributes")
    for attr in unsigned:
        name = _SIGNED_ONLY.get(attr["type"].dotted)
        if name is not None:
            check.add(
                "signed_attributes_invalid",
                loc,
                f"a {name} attribute among the unsigned attributes (RFC 5652 §11: it must be "
                "signed)",
            )


def _check_key_usage(cert: x509.Certificate, check: SignerCheck, loc: str) -> None:
    ku = cert.key_usage_value
    if ku is None:
        return  # no restriction stated (RFC 5280 §4.2.1.3)
    usages = ku.native
    if "digital_signature" not in usages and "non_repudiation" not in usages:
        check.add(
            "key_usage_not_signing", loc, f"key usage is {', '.join(sorted(usages)) or 'empty'}"
        )
