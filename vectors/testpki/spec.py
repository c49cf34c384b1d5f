"""Reading pki.toml and vectors.toml into plain, validated dataclasses.

Both files are declarative: they say *what* exists (certificates, CRLs, documents, vectors and
their expected verdicts); :mod:`vectors.testpki.generator` decides *how* to make it. Unknown keys
are errors, so a typo in a TOML file fails loudly instead of silently making a different vector.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = [
    "CertificateSpec",
    "CrlSpec",
    "DocumentSpec",
    "PkiSpec",
    "Revocation",
    "SpecError",
    "VectorSpec",
    "VectorsSpec",
    "derived_serial",
    "load_pki_spec",
    "load_vectors_spec",
]

PKI_SPEC_FILE = "pki.toml"
VECTORS_SPEC_FILE = "vectors.toml"

KEY_TYPES = ("rsa-1024", "rsa-2048", "rsa-3072", "ec-p256", "ed25519", "ed448", "mldsa-65")
KEY_USAGES = (
    "digitalSignature",
    "nonRepudiation",
    "keyEncipherment",
    "dataEncipherment",
    "keyAgreement",
    "keyCertSign",
    "cRLSign",
)
EXTENDED_KEY_USAGES = (
    "clientAuth",
    "emailProtection",
    "msSmartcardLogin",
    "timeStamping",
    "OCSPSigning",
)
REVOCATION_REASONS = (
    "unspecified",
    "keyCompromise",
    "cACompromise",
    "affiliationChanged",
    "superseded",
    "cessationOfOperation",
    "certificateHold",
)
VERDICTS = ("official", "not_official", "unsigned", "invalid", "indeterminate")
MAKE_RECIPES = ("sign", "reuse", "flip-byte", "no-signer-infos", "garbage", "wrap", "content-info")
CONTENT_INFO_TYPES = ("enveloped_data", "authenticated_enveloped_data", "encrypted_data", "data")
DIGESTS = ("sha1", "sha256", "sha384", "sha512", "shake256")


class SpecError(ValueError):
    """pki.toml or vectors.toml says something the generator cannot make."""


def derived_serial(name: str) -> int:
    """The serial number of certificate ``name``: stable, positive, 63 bits (see pki.toml)."""
    digest = hashlib.sha256(f"sigmail-test-pki/{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


# -- pki.toml ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Revocation:
    at: datetime
    reason: str  # one of REVOCATION_REASONS; "certificateHold" means suspended


@dataclass(frozen=True, slots=True)
class CertificateSpec:
    name: str
    issuer: str  # name of the issuing certificate; itself for a self-signed root
    key: str  # one of KEY_TYPES
    subject: str  # RFC 4514
    not_before: datetime
    not_after: datetime
    serial: int
    ca: bool = False
    path_length: int | None = None
    key_usage: tuple[str, ...] = ()
    extended_key_usage: tuple[str, ...] = ()
    extended_key_usage_critical: bool = False
    policies: tuple[str, ...] = ()
    crl_distribution_point: bool = False
    ocsp: bool = False
    ca_issuers: bool = False
    ocsp_no_check: bool = False
    email: tuple[str, ...] = ()
    endpoints: str = "responder"
    endpoints_of: str | None = None  # whose URLs to advertise; default: the issuer's
    ocsp_responder_for: str | None = None
    revoked: Revocation | None = None

    @property
    def self_signed(self) -> bool:
        return self.issuer == self.name

    @property
    def advertised_ca(self) -> str:
        """The CA whose CRL/OCSP/caIssuers URLs this certificate carries."""
        return self.endpoints_of or self.issuer

    def status_at(self, when: datetime) -> Revocation | None:
        """The revocation in force at ``when`` (revoked or on hold), or None if still good."""
        if self.revoked is not None and self.revoked.at <= when:
            return self.revoked
        return None


@dataclass(frozen=True, slots=True)
class CrlSpec:
    name: str
    issuer: str
    number: int
    this_update: datetime
    next_update: datetime

    @property
    def path(self) -> str:
        return f"pki/crl/{self.name}.crl"


@dataclass(frozen=True, slots=True)
class PkiSpec:
    certificates: dict[str, CertificateSpec]  # in file order; issuers come before subjects
    crls: dict[str, CrlSpec]

    def issued_by(self, ca_name: str) -> list[CertificateSpec]:
        return [c for c in self.certificates.values() if c.issuer == ca_name and not c.self_signed]

    def ocsp_responder_of(self, ca_name: str) -> CertificateSpec | None:
        for cert in self.certificates.values():
            if cert.ocsp_responder_for == ca_name:
                return cert
        return None


_PROFILE_FIELDS = {
    "ca",
    "path_length",
    "key_usage",
    "extended_key_usage",
    "extended_key_usage_critical",
    "policies",
    "crl_distribution_point",
    "ocsp",
    "ca_issuers",
    "ocsp_no_check",
}
_CERT_FIELDS = _PROFILE_FIELDS | {
    "name",
    "issuer",
    "profile",
    "key",
    "subject",
    "not_before",
    "not_after",
    "email",
    "endpoints",
    "endpoints_of",
    "ocsp_responder_for",
    "revoked",
}


def _check_keys(where: str, table: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise SpecError(f"{where}: unknown key(s) {', '.join(unknown)}")


def _utc(where: str, value: Any) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise SpecError(f"{where}: expected a UTC date-time such as 2026-06-01T00:00:00Z")
    return value.astimezone(UTC)


def _one_of(where: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise SpecError(f"{where}: {value!r} is not one of {', '.join(allowed)}")
    return value


def _certificate(entry: dict[str, Any], profiles: dict[str, dict[str, Any]]) -> CertificateSpec:
    name = entry.get("name")
    if not isinstance(name, str):
        raise SpecError(f"[[certificate]] without a name: {entry}")
    where = f"certificate {name!r}"
    _check_keys(where, entry, _CERT_FIELDS)
    profile_name = entry.get("profile")
    if profile_name not in profiles:
        raise SpecError(f"{where}: unknown profile {profile_name!r}")
    merged = {**profiles[profile_name], **entry}  # the certificate overrides its profile
    merged.pop("profile")
    for usage in merged.get("key_usage", ()):
        _one_of(f"{where} key_usage", usage, KEY_USAGES)
    for usage in merged.get("extended_key_usage", ()):
        _one_of(f"{where} extended_key_usage", usage, EXTENDED_KEY_USAGES)
    revoked = None
    if "revoked" in merged:
        table = merged.pop("revoked")
        _check_keys(f"{where} revoked", table, {"at", "reason"})
        revoked = Revocation(
            at=_utc(f"{where} revoked.at", table.get("at")),
            reason=_one_of(f"{where} revoked.reason", table.get("reason"), REVOCATION_REASONS),
        )
    try:
        return CertificateSpec(
            name=name,
            issuer=merged.pop("issuer"),
            key=_one_of(f"{where} key", merged.pop("key", None), KEY_TYPES),
            subject=merged.pop("subject"),
            not_before=_utc(f"{where} not_before", merged.pop("not_before", None)),
            not_after=_utc(f"{where} not_after", merged.pop("not_after", None)),
            serial=derived_serial(name),
            revoked=revoked,
            **{k: tuple(v) if isinstance(v, list) else v for k, v in merged.items() if k != "name"},
        )
    except KeyError as missing:
        raise SpecError(f"{where}: missing {missing}") from None


def load_pki_spec(spec_dir: Path) -> PkiSpec:
    """Parse ``spec_dir/pki.toml``; checks that every name it refers to exists."""
    with (spec_dir / PKI_SPEC_FILE).open("rb") as f:
        data = tomllib.load(f)
    _check_keys(PKI_SPEC_FILE, data, {"profile", "certificate", "crl"})
    profiles = data.get("profile", {})
    for profile_name, profile in profiles.items():
        _check_keys(f"profile {profile_name!r}", profile, _PROFILE_FIELDS)

    certificates: dict[str, CertificateSpec] = {}
    for entry in data.get("certificate", []):
        cert = _certificate(entry, profiles)
        if cert.name in certificates:
            raise SpecError(f"certificate {cert.name!r} is defined twice")
        if not cert.self_signed and cert.issuer not in certificates:
            raise SpecError(f"certificate {cert.name!r}: issuer {cert.issuer!r} must come first")
        for ref in (cert.endpoints_of, cert.ocsp_responder_for):
            if ref is not None and ref not in certificates:
                raise SpecError(f"certificate {cert.name!r}: {ref!r} must be defined first")
        certificates[cert.name] = cert

    crls: dict[str, CrlSpec] = {}
    for entry in data.get("crl", []):
        where = f"crl {entry.get('name')!r}"
        _check_keys(where, entry, {"name", "issuer", "number", "this_update", "next_update"})
        crl = CrlSpec(
            name=entry["name"],
            issuer=entry["issuer"],
            number=entry["number"],
            this_update=_utc(f"{where} this_update", entry.get("this_update")),
            next_update=_utc(f"{where} next_update", entry.get("next_update")),
        )
        if crl.issuer not in certificates or not certificates[crl.issuer].ca:
            raise SpecError(f"{where}: issuer {crl.issuer!r} is not a CA of this PKI")
        crls[crl.name] = crl
    return PkiSpec(certificates=certificates, crls=crls)


# -- vectors.toml --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DocumentSpec:
    path: str  # relative to the vectors directory
    text: str


@dataclass(frozen=True, slots=True)
class VectorSpec:
    """One row of vectors.toml, with the defaults filled in."""

    name: str
    make: str
    kind: str  # "p7m" (content inside) or "p7s" (detached)
    file: str  # relative to the vectors directory
    content: str | None  # the detached content file (p7s only)
    at: datetime
    mode: str
    policy: str
    trust: dict[str, tuple[str, ...]]
    verdict: str
    reasons: tuple[str, ...]
    description: str
    # -- how to sign ("sign" recipe) --
    signers: tuple[str, ...] = ()
    document: str | None = None  # what is signed
    signing_time: datetime | None = None  # the claimed signingTime
    timestamp: datetime | None = None  # genTime of the signature timestamp, None: no timestamp
    timestamp_imprint: str = "signature"  # or "other-bytes"
    digest: str = "sha256"
    signature: str = "pkcs1v15"  # RSA only: "pkcs1v15" or "pss"
    signed_attributes: bool = True
    content_type_attribute: str | None = None  # override of the content-type attribute
    signing_certificate_attribute: str | None = None  # cert described by signing-certificate-v2
    # signed attribute name -> number of values it carries (signer_attributes_v2 is added)
    attribute_values: tuple[tuple[str, int], ...] = ()
    countersigners: tuple[str, ...] = ()  # countersign the first signer (RFC 5652 §11.4)
    certificates: tuple[str, ...] | None = None  # None: signers and their issuing CAs
    embed_crls: tuple[str, ...] = ()
    embed_ocsp: tuple[str, ...] = ()  # certificates whose OCSP response to embed
    ocsp_clock: datetime | None = None  # responder clock for embedded OCSP responses
    # -- "reuse" / "flip-byte" recipes --
    source: str | None = None  # another vector's name
    flip: str | None = None  # "econtent" or "signature"
    # -- "content-info" recipe: a ContentInfo that is not SignedData, holding the document --
    content_info: str | None = None  # one of CONTENT_INFO_TYPES
    # -- "garbage" recipe --
    length: int = 0
    seed: str = ""


@dataclass(frozen=True, slots=True)
class VectorsSpec:
    validation_time: datetime  # the default `at`; also the responder's default clock
    documents: dict[str, DocumentSpec] = field(default_factory=dict)
    vectors: dict[str, VectorSpec] = field(default_factory=dict)


# What a [[vector]] table may say: VectorSpec's fields, with `expect` standing for verdict+reasons.
_VECTOR_FIELDS = ({f.name for f in fields(VectorSpec)} - {"verdict", "reasons"}) | {"expect"}
_DEFAULT_FIELDS = {"at", "signing_time", "mode", "policy", "document", "ocsp_clock"}
_TIME_FIELDS = {"at", "signing_time", "timestamp", "ocsp_clock"}


def _documents(entries: list[dict[str, Any]]) -> dict[str, DocumentSpec]:
    documents: dict[str, DocumentSpec] = {}
    for entry in entries:
        where = f"document {entry.get('path')!r}"
        _check_keys(where, entry, {"path", "text", "copy_of", "replace"})
        if "text" in entry:
            text = entry["text"]
        else:
            # A near-copy: the original with one substring replaced, e.g. a changed digit.
            original = documents[entry["copy_of"]].text
            old, new = entry["replace"]
            if original.count(old) != 1:
                raise SpecError(f"{where}: {old!r} must occur exactly once in {entry['copy_of']}")
            text = original.replace(old, new)
        documents[entry["path"]] = DocumentSpec(path=entry["path"], text=text)
    return documents


def _vector(
    entry: dict[str, Any],
    defaults: dict[str, Any],
    trust: dict[str, list[str]],
    pki: PkiSpec,
    documents: dict[str, DocumentSpec],
    earlier: dict[str, VectorSpec],
) -> VectorSpec:
    name = entry.get("name")
    where = f"vector {name!r}"
    _check_keys(where, entry, _VECTOR_FIELDS)
    values: dict[str, Any] = {**defaults, **entry}
    values["make"] = _one_of(f"{where} make", values.get("make", "sign"), MAKE_RECIPES)
    values["kind"] = _one_of(f"{where} kind", values.get("kind", "p7m"), ("p7m", "p7s"))
    values["mode"] = _one_of(f"{where} mode", values["mode"], ("online", "offline"))
    for key in _TIME_FIELDS & set(values):
        values[key] = _utc(f"{where} {key}", values[key])

    expect = values.pop("expect", None)
    if not isinstance(expect, dict) or set(expect) != {"verdict", "reasons"}:
        raise SpecError(f"{where}: expect = {{ verdict = ..., reasons = [...] }} is required")
    values["verdict"] = _one_of(f"{where} expect.verdict", expect["verdict"], VERDICTS)
    values["reasons"] = tuple(expect["reasons"])
    values["trust"] = {k: tuple(v) for k, v in values.get("trust", trust).items()}

    source = values.get("source")
    if values["make"] == "wrap":
        # Another vector's .p7m becomes the content an outer signer signs (signing order).
        if source not in earlier or earlier[source].kind != "p7m":
            raise SpecError(f"{where}: source {source!r} must be a .p7m vector defined earlier")
        values["document"] = earlier[source].document
    if values["make"] in ("reuse", "flip-byte"):
        if source not in earlier:
            raise SpecError(f"{where}: source {source!r} must be a vector defined earlier")
        values["kind"] = earlier[source].kind
        # The derived file was signed by the same people at the same times as its source.
        for key in ("signers", "document", "signing_time", "timestamp"):
            values[key] = getattr(earlier[source], key)
    if values["make"] == "reuse":
        values.setdefault("file", earlier[source].file)
    values.setdefault("file", f"cms/{name}.{values['kind']}")
    if values["kind"] == "p7s":
        values.setdefault("content", values["document"])
        if values["content"] not in documents:
            raise SpecError(f"{where}: content {values['content']!r} is not a [[document]]")
    else:
        values["content"] = None
    if values["make"] in ("sign", "wrap"):
        if not values.get("signers"):
            raise SpecError(f"{where}: a signed vector needs signers")
        if values["document"] not in documents:
            raise SpecError(f"{where}: document {values['document']!r} is not a [[document]]")
        named = [
            *values["signers"],
            *values.get("countersigners", ()),
            *values.get("certificates", ()),
            *values.get("embed_ocsp", ()),
        ]
        if values.get("signing_certificate_attribute"):
            named.append(values["signing_certificate_attribute"])
        for cert_name in named:
            if cert_name not in pki.certificates:
                raise SpecError(f"{where}: unknown certificate {cert_name!r}")
        for crl_name in values.get("embed_crls", ()):
            if crl_name not in pki.crls:
                raise SpecError(f"{where}: unknown CRL {crl_name!r}")
        if "timestamp" in values and "signing_time" not in entry:
            # Unless told otherwise, the claimed time is the time the timestamp proves.
            values["signing_time"] = values["timestamp"]
    if values["make"] == "content-info":
        _one_of(f"{where} content_info", values.get("content_info"), CONTENT_INFO_TYPES)
        if values["document"] not in documents:
            raise SpecError(f"{where}: document {values['document']!r} is not a [[document]]")
    if "digest" in values:
        _one_of(f"{where} digest", values["digest"], DIGESTS)
    if "attribute_values" in values:
        table = values["attribute_values"]
        if not isinstance(table, dict) or not all(
            isinstance(n, int) and n >= 0 for n in table.values()
        ):
            raise SpecError(f"{where}: attribute_values = {{ name = count, ... }}")
        values["attribute_values"] = tuple(sorted(table.items()))
    for key in ("signers", "countersigners", "certificates", "embed_crls", "embed_ocsp"):
        if key in values:
            values[key] = tuple(values[key])
    return VectorSpec(**values)


def load_vectors_spec(spec_dir: Path, pki: PkiSpec | None = None) -> VectorsSpec:
    """Parse ``spec_dir/vectors.toml`` (and check its names against pki.toml)."""
    pki = pki or load_pki_spec(spec_dir)
    with (spec_dir / VECTORS_SPEC_FILE).open("rb") as f:
        data = tomllib.load(f)
    _check_keys(VECTORS_SPEC_FILE, data, {"defaults", "trust", "document", "vector"})
    defaults = data["defaults"]
    _check_keys("[defaults]", defaults, _DEFAULT_FIELDS)
    documents = _documents(data.get("document", []))
    vectors: dict[str, VectorSpec] = {}
    for entry in data.get("vector", []):
        vector = _vector(entry, defaults, data["trust"], pki, documents, vectors)
        if vector.name in vectors:
            raise SpecError(f"vector {vector.name!r} is defined twice")
        vectors[vector.name] = vector
    return VectorsSpec(
        validation_time=_utc("[defaults] at", defaults["at"]),
        documents=documents,
        vectors=vectors,
    )
