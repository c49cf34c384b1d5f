"""Revocation evidence for chain validation: CRLs and OCSP responses parsed once per DER
(bounded cache), their signatures verified, and the status of one certificate *at* the
validation time judged from them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from asn1crypto import keys, ocsp, x509

from sigmail.bounded_cache import BoundedCache
from sigmail.limits import Budget
from sigmail.problems import ASN1_ERRORS
from sigmail.revocation.evidence import (
    EvidenceKind,
    RevocationItem,
    RevocationLookup,
    RevocationSource,
)
from sigmail.trust.certificates import StableCertificateList, stable_crl
from sigmail.trust.chain_types import (
    RevocationRule,
)
from sigmail.trust.path_builder import (
    SigOutcome,
)
from sigmail.trust.signature_algorithms import hash_of
from sigmail.verdict.model import RevocationState, RevocationStatus

# Evidence without nextUpdate is usable this long after thisUpdate (certvalidator's default
# rule, applied the same way when sigmail reports the status).
_NO_NEXT_UPDATE_VALIDITY = timedelta(minutes=30)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # orders a CRL without thisUpdate first

# --------------------------------------------------------------------------------------------
# Revocation evidence: parsed once per DER (bounded cache), judged per certificate


@dataclass(slots=True)
class _ParsedCRL:
    obj: StableCertificateList
    issuer: object  # Name.hashable
    this_update: datetime | None
    next_update: datetime | None
    is_delta: bool
    _entries: dict[int, tuple[datetime, str | None]] | None = None

    def entry(self, serial: int) -> tuple[datetime, str | None] | None:
        """(revocation date, reason) of ``serial`` on this CRL, if listed."""
        if self._entries is None:
            listed = self.obj.listed_serials()
            if listed is not None and serial not in listed:
                return None
            entries: dict[int, tuple[datetime, str | None]] = {}
            for revoked in self.obj["tbs_cert_list"]["revoked_certificates"]:
                reason = revoked.crl_reason_value
                entries[revoked["user_certificate"].native] = (
                    revoked["revocation_date"].native,
                    reason.native if reason is not None else None,
                )
            self._entries = entries
        return self._entries.get(serial)


@dataclass(slots=True)
class _ParsedOCSP:
    obj: ocsp.OCSPResponse
    basic: ocsp.BasicOCSPResponse | None


# Parsed CRLs and OCSP responses by kind and encoding. A parsed CRL holds about 3 times its
# DER once consulted (plus the serial index of a large one), up to ~60 times once the entries
# of a listed serial are read (a 500 KB, 20,000-entry CRL: 1.5 MB, then 31 MB): weighed at 16
# times the DER, the cache keeps 8 MB of encodings at most.
_PARSED_WEIGHT = 16
_parse_cache: BoundedCache[tuple[str, bytes], _ParsedCRL | _ParsedOCSP | None] = BoundedCache(
    max_entries=4096,
    max_weight=128 * 1024 * 1024,
    weigh=lambda key, _value: _PARSED_WEIGHT * len(key[1]),
)


def _parse_crl(der: bytes) -> _ParsedCRL | None:
    try:
        obj = stable_crl(der)
        tbs = obj["tbs_cert_list"]
        return _ParsedCRL(
            obj=obj,
            issuer=obj.issuer.hashable,
            this_update=tbs["this_update"].native,
            next_update=tbs["next_update"].native,
            is_delta=obj.delta_crl_indicator_value is not None,
        )
    except ASN1_ERRORS:
        return None


def _parse_ocsp(der: bytes) -> _ParsedOCSP | None:
    try:
        obj = ocsp.OCSPResponse.load(der)
        basic = None
        if obj["response_status"].native == "successful":
            rb = obj["response_bytes"]
            if rb["response_type"].native == "basic_ocsp_response":
                basic = rb["response"].parsed
                basic["tbs_response_data"]["responses"].native  # noqa: B018 - parse now
        return _ParsedOCSP(obj, basic)
    except ASN1_ERRORS:
        return None


def _parsed(kind: str, der: bytes):
    parse = _parse_crl if kind == EvidenceKind.CRL else _parse_ocsp
    return _parse_cache.get_or_make((kind, der), lambda: parse(der))  # None: does not parse


@dataclass(slots=True)
class Evidence:
    """The revocation items of one call, parsed; lookups memoised per (cert, issuer)."""

    budget: Budget
    source: RevocationSource | None
    at: datetime
    refused: frozenset[str] = frozenset()  # hashes whose signatures are not evidence
    items: list[RevocationItem] = field(default_factory=list)
    seen: set[bytes] = field(default_factory=set)
    crls: list[tuple[_ParsedCRL, RevocationItem]] = field(default_factory=list)
    ocsps: list[tuple[_ParsedOCSP, RevocationItem]] = field(default_factory=list)
    lookups: dict[tuple[bytes, bytes], RevocationLookup] = field(default_factory=dict)

    def add(self, item: RevocationItem) -> None:
        if item.der in self.seen:
            return
        self.seen.add(item.der)
        self.items.append(item)
        self.budget.check_size("max_revocation_items", len(self.items))
        if item.kind == EvidenceKind.CRL:
            self.budget.check_size("max_crl_bytes", len(item.der))
            parsed = _parsed(EvidenceKind.CRL, item.der)
            if parsed is not None:
                self.crls.append((parsed, item))
        else:
            parsed = _parsed(EvidenceKind.OCSP, item.der)
            if parsed is not None:
                self.ocsps.append((parsed, item))

    def lookup(self, cert: x509.Certificate, issuer: x509.Certificate) -> RevocationLookup:
        key = (cert.sha256, issuer.sha256)
        found = self.lookups.get(key)
        if found is None:
            found = RevocationLookup()
            if self.source is not None:
                found = self.source.lookup(cert, issuer, at=self.at)
                for item in found.items:
                    self.add(item)
            self.lookups[key] = found
        return found


def _usable(this_update, next_update, at: datetime, retroactive: bool) -> bool:
    """certvalidator's default freshness rule, with zero tolerance."""
    if this_update is None:
        return False
    if next_update is None:
        next_update = this_update + _NO_NEXT_UPDATE_VALIDITY
    if not retroactive and at < this_update:
        return False
    return at <= next_update


def _crl_in_scope(parsed: _ParsedCRL, cert: x509.Certificate) -> bool:
    idp = parsed.obj.issuing_distribution_point_value
    if idp is None:
        return True
    if idp["only_some_reasons"].native is not None or idp["indirect_crl"].native:
        return False
    if idp["only_contains_attribute_certs"].native:
        return False
    if idp["only_contains_user_certs"].native and cert.ca:
        return False
    if idp["only_contains_ca_certs"].native and not cert.ca:
        return False
    dp = idp["distribution_point"]
    if dp.native is None:
        return True
    if dp.name != "full_name":
        return False
    idp_names = {gn.dump() for gn in dp.chosen}
    for cert_dp in cert.crl_distribution_points_value or ():
        name = cert_dp["distribution_point"]
        if name.name == "full_name" and idp_names & {gn.dump() for gn in name.chosen}:
            return True
    return False


@dataclass(frozen=True, slots=True)
class _Judgement:
    status: RevocationStatus
    fresh: datetime  # thisUpdate of the evidence, for choosing the freshest
    hash_algo: str | None


def _crl_applies(parsed, cert, issuer, evidence, checker, at, retroactive) -> bool:
    """``parsed`` is usable at ``at``, covers ``cert`` and is signed by ``issuer``'s key."""
    if parsed.issuer != cert.issuer.hashable:
        return False
    key_usage = issuer.key_usage_value
    if key_usage is not None and "crl_sign" not in key_usage.native:
        return False
    if not _usable(parsed.this_update, parsed.next_update, at, retroactive):
        return False
    try:
        if not _crl_in_scope(parsed, cert):
            return False
    except ASN1_ERRORS:
        return False
    obj = parsed.obj
    if hash_of(obj["signature_algorithm"]) in evidence.refused:
        return False
    verified = checker.check(
        obj["signature"].native,
        obj["tbs_cert_list"].dump(),
        issuer.public_key,
        obj["signature_algorithm"],
    )
    return verified.outcome is SigOutcome.VERIFIED


def _judge_crls(cert, issuer, evidence, checker, at, retroactive) -> list[_Judgement]:
    out = []
    deltas: list[_ParsedCRL] | None = None
    for parsed, item in evidence.crls:
        if parsed.is_delta:
            continue
        if not _crl_applies(parsed, cert, issuer, evidence, checker, at, retroactive):
            continue
        try:
            entry = parsed.entry(cert.serial_number)
            if deltas is None:
                deltas = [
                    d
                    for d, _ in evidence.crls
                    if d.is_delta
                    and _crl_applies(d, cert, issuer, evidence, checker, at, retroactive)
                ]
            number = parsed.obj.crl_number_value
            applicable = [
                d
                for d in deltas
                if number is not None and d.obj.delta_crl_indicator_value.native <= number.native
            ]
            if applicable:  # the freshest delta CRL based on this one overrides it
                delta = max(applicable, key=lambda d: d.this_update or _EPOCH)
                entry = delta.entry(cert.serial_number) or entry
        except ASN1_ERRORS:
            continue
        obj = parsed.obj
        state, revoked_at, reason = RevocationState.GOOD, None, None
        if entry is not None and entry[1] != "remove_from_crl":
            revoked_at, reason = entry
            reason = reason or "unspecified"
            if revoked_at < at:  # certvalidator: a CRL revocation counts strictly before
                state = (
                    RevocationState.ON_HOLD
                    if reason == "certificate_hold"
                    else RevocationState.REVOKED
                )
        out.append(
            _Judgement(
                RevocationStatus(
                    state=state,
                    source="crl",
                    origin=item.origin,
                    revoked_at=revoked_at,
                    revocation_reason=reason,
                    this_update=parsed.this_update,
                    next_update=parsed.next_update,
                ),
                parsed.this_update,
                hash_of(obj["signature_algorithm"]),
            )
        )
    return out


def _ocsp_signer_verified(basic, issuer, checker, refused) -> bool:
    """Whether ``basic`` is signed by ``issuer`` or by a responder ``issuer`` delegated to."""
    tbs = basic["tbs_response_data"]
    if hash_of(basic["signature_algorithm"]) in refused:
        return False

    def verify(key: keys.PublicKeyInfo) -> bool:
        result = checker.check(
            basic["signature"].native, tbs.dump(), key, basic["signature_algorithm"]
        )
        return result.outcome is SigOutcome.VERIFIED

    responder_id = tbs["responder_id"]
    if responder_id.name == "by_key":
        by_issuer = responder_id.native == issuer.public_key.sha1
    else:
        by_issuer = responder_id.chosen == issuer.subject
    if by_issuer:
        return verify(issuer.public_key)
    for responder in basic["certs"] or ():
        if responder_id.name == "by_key":
            if responder.public_key.sha1 != responder_id.native:
                continue
        elif responder.subject != responder_id.chosen:
            continue
        eku = responder.extended_key_usage_value
        if eku is None or "ocsp_signing" not in eku.native:
            continue
        if responder.issuer != issuer.subject:
            continue
        if hash_of(responder["signature_algorithm"]) in refused:
            continue
        issued = checker.check_certificate(responder, issuer.public_key)
        if issued.outcome is SigOutcome.VERIFIED and verify(responder.public_key):
            return True
    return False


def cert_id_hashes(
    algo: str, cert: x509.Certificate, issuer: x509.Certificate
) -> tuple[bytes, bytes]:
    """The issuerNameHash and issuerKeyHash by which an OCSP CertID (RFC 6960, 4.1.1) names
    ``cert``, with ``algo``. asn1crypto caches them for SHA-1 and SHA-256 only (it has no
    ``sha384``/``sha512`` attribute); the others are computed the same way."""
    if algo in ("sha1", "sha256"):
        return getattr(cert.issuer, algo), getattr(issuer.public_key, algo)
    key = bytes(issuer.public_key["public_key"])  # as asn1crypto's PublicKeyInfo.sha256
    return hashlib.new(algo, cert.issuer.dump()).digest(), hashlib.new(algo, key).digest()


def _judge_ocsps(cert, issuer, evidence, checker, at, retroactive) -> list[_Judgement]:
    out = []
    for parsed, item in evidence.ocsps:
        basic = parsed.basic
        if basic is None:
            continue
        signer_checked: bool | None = None
        for single in basic["tbs_response_data"]["responses"]:
            cert_id = single["cert_id"]
            algo = cert_id["hash_algorithm"]["algorithm"].native
            if algo not in ("sha1", "sha256", "sha384", "sha512"):
                continue
            if cert_id["serial_number"].native != cert.serial_number or (
                cert_id["issuer_name_hash"].native,
                cert_id["issuer_key_hash"].native,
            ) != cert_id_hashes(algo, cert, issuer):
                continue
            this_update = single["this_update"].native
            next_update = single["next_update"].native
            if not _usable(this_update, next_update, at, retroactive):
                continue
            if signer_checked is None:
                signer_checked = _ocsp_signer_verified(basic, issuer, checker, evidence.refused)
            if not signer_checked:
                break
            status = single["cert_status"]
            state, revoked_at, reason = RevocationState.GOOD, None, None
            if status.name == "revoked":
                revoked_at = status.chosen["revocation_time"].native
                reason = status.chosen["revocation_reason"].native or "unspecified"
                if revoked_at <= at:  # certvalidator: an OCSP revocation counts at `at` too
                    state = (
                        RevocationState.ON_HOLD
                        if reason == "certificate_hold"
                        else RevocationState.REVOKED
                    )
            elif status.name != "good":
                state = RevocationState.UNKNOWN
            out.append(
                _Judgement(
                    RevocationStatus(
                        state=state,
                        source="ocsp",
                        origin=item.origin,
                        revoked_at=revoked_at,
                        revocation_reason=reason,
                        this_update=this_update,
                        next_update=next_update,
                    ),
                    this_update,
                    hash_of(basic["signature_algorithm"]),
                )
            )
    return out


def judge_status(
    cert, issuer, rule, evidence, checker, params
) -> tuple[RevocationStatus, str | None]:
    """The status of ``cert`` at ``evidence.at`` and the hash algorithm of the evidence used."""
    if rule is RevocationRule.NONE:
        return RevocationStatus(RevocationState.NOT_CHECKED), None
    at, retro = evidence.at, params.retroactive_revocation
    judged = _judge_crls(cert, issuer, evidence, checker, at, retro) + _judge_ocsps(
        cert, issuer, evidence, checker, at, retro
    )
    if not judged:
        return RevocationStatus(RevocationState.UNKNOWN), None
    # A permanent revocation on any verified evidence stands; otherwise the freshest
    # definitive answer (a later CRL may have released a hold).
    revoked = [j for j in judged if j.status.state is RevocationState.REVOKED]
    definitive = [j for j in judged if j.status.state is not RevocationState.UNKNOWN]
    pool = revoked or definitive or judged
    best = max(pool, key=lambda j: j.fresh)
    return best.status, best.hash_algo
