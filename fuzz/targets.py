"""What one fuzz input is run through, and what counts as a finding.

A target returns normally or raises. Raising an :class:`~sigmail.errors.InputSignal` (bad
input, a spent budget) is the parsers' contract and not a finding; any other exception is.
The ``verify`` target runs a strict :class:`~sigmail.Verifier`, so a bug caught at its boundary
surfaces as :class:`~sigmail.errors.InternalError` instead of an ``internal_error`` verdict;
the verdict's invariants are checked too (every reason a known code, every finding with a
locator and a basis, JSON round-trips).

What is timed is sigmail's work: for ``verify``, the verdict and its JSON encoding (what
``sigmail verify --json`` does). The invariant check that follows (decoding the JSON again,
comparing) is the harness's and runs after the clock stops: for a 4 MB message of 381
carried documents it took 0.7 s against sigmail's 0.27 s.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache

from fuzz.seeds import VECTORS
from sigmail.errors import InputSignal
from sigmail.limits import Budget, Limits

__all__ = ["AT", "CHECKS", "TARGETS", "Finding", "check_verdict", "run", "run_timed"]

AT = datetime(2026, 6, 1, tzinfo=UTC)
# The fuzzer's own wall clock is the campaign's 1 s limit; sigmail's budget stays as shipped.
LIMITS = Limits()


class Finding(AssertionError):
    """A verdict that breaks an invariant (the exception raised by the verify target)."""


def mime_walk(data: bytes, name: str | None = None) -> None:
    """The MIME walker: the tree, every leaf decoded, the signed entity's canonical bytes."""
    from sigmail.smime.canonical import canonicalize, has_bare_lf
    from sigmail.smime.mime import MimeParser

    parser = MimeParser(Budget(LIMITS))
    root = parser.parse_message(data)
    for entity in root.walk():
        entity.get("from")
        entity.get_all("received")
        if entity.is_multipart:
            continue
        parser.decoded_digest(entity)
        if entity.content_type in ("application/pkcs7-mime", "application/x-pkcs7-mime"):
            parser.decoded(entity)
    if root.is_multipart and root.children:
        signed = root.children[0]
        if has_bare_lf(data, signed.start, signed.end):
            canonicalize(data[signed.start : signed.end])


def cms_parse(data: bytes, name: str | None = None) -> None:
    """The CMS parser: SignedData, its certificates, signer infos and embedded revocation.

    ``parse_signed_data`` must turn every structural problem into MalformedInput. The signer
    attributes are parsed lazily, later, and their callers (``verify_signer_infos``,
    ``verify_timestamp_token``) catch asn1crypto's ``ASN1_ERRORS`` into a ``malformed``
    finding on that signature: the same here."""
    from sigmail.cms.signed_data import parse_signed_data, signer_revocation
    from sigmail.problems import ASN1_ERRORS

    budget = Budget(LIMITS)
    parsed = parse_signed_data(data, budget)
    for si in parsed.signer_infos:
        try:
            signer_revocation(si, budget)
        except ASN1_ERRORS:
            continue


def pdf_read(data: bytes, name: str | None = None) -> None:
    """The PDF reader: revisions, every object of every revision, streams decoded, the
    signature dictionaries."""
    from sigmail.pdf.document import PdfDocument
    from sigmail.pdf.objects import Stream
    from sigmail.pdf.signatures import find_signatures

    doc = PdfDocument(data, Budget(LIMITS))
    for revision in range(1, doc.last + 1):
        doc.catalog(revision)
        for num in list(doc.revision(revision).entries)[:2000]:
            value = doc.get(num, revision)
            if isinstance(value, Stream):
                doc.decoded(value)
    for sig in find_signatures(doc):
        sig.contents  # noqa: B018 - reading it is the test
        sig.contents_span  # noqa: B018


def _handler_context():
    """What the format handlers get from the verifier: trust, time, a fresh budget, offline
    revocation (the verifiers' own settings, policy basic)."""
    from sigmail.contract import VerificationContext

    v = _verifiers()[0]
    return VerificationContext(
        trust=v.trust,
        validation_time=AT,
        budget=Budget(LIMITS),
        algorithms=v.policy.algorithms,
        chain_params=v.policy.chain,
        revocation_source=v.revocation,
        chain_cache=v.chain_cache,
        tz_quirk=v.policy.tz_quirk,
    )


def _nested(inner: bytes, /, *, name: str | None, content: bytes | None = None):
    return _verifiers()[0].verify(inner, at=AT, name=name, content=content)


def xml_verify(data: bytes, name: str | None = None) -> None:
    """The XML signature handler (``sigmail.formats.xml``) outside the verifier's boundary:
    parsing with its budgets, every ds:Signature, its references, transforms, XAdES
    properties and chain, and the coverage check."""
    from sigmail.formats.xml import verify_xml

    verify_xml(data, name=name, content=None, ctx=_handler_context(), nested=_nested)


def ooxml_verify(data: bytes, name: str | None = None) -> None:
    """The OOXML handler (``sigmail.formats.ooxml``) outside the verifier's boundary: the
    ZIP reader with its budgets, the package's relationships and content types, every
    signature part and the parts it covers."""
    from sigmail.formats.ooxml import verify_ooxml

    verify_ooxml(data, name=name, content=None, ctx=_handler_context(), nested=_nested)


@cache
def _verifiers():
    from sigmail import OfflineRevocation, TrustStore, Verifier

    trust = TrustStore.load(
        official=[VECTORS / "pki/certs/root-official.pem"],
        public=[VECTORS / "pki/certs/root-national.pem"],
    )
    return tuple(
        Verifier(
            trust=trust, policy=policy, revocation=OfflineRevocation(), limits=LIMITS, strict=True
        )
        for policy in ("basic", "vn-gov")
    )


@cache
def _known_codes() -> frozenset[str]:
    from sigmail.verdict.reasons import REASONS

    return frozenset(REASONS)


def check_verdict(verdict, encoded: dict | None = None) -> None:
    """The invariants every verdict keeps, whatever the input (raises :class:`Finding`).
    ``encoded`` is ``verdict.to_dict()`` when the caller already has it."""
    from sigmail.verdict.model import Verdict

    known = _known_codes()
    unknown = set(verdict.reasons) - known
    if unknown:
        raise Finding(f"unknown reason codes {sorted(unknown)}")
    if "internal_error" in verdict.reasons:
        raise Finding("internal_error verdict")
    findings = [*verdict.findings, *(f for s in verdict.signatures for f in s.findings)]
    for f in findings:
        if f.code not in known:
            raise Finding(f"finding with unknown code {f.code!r}")
        if not f.locator or not f.basis:
            raise Finding(f"finding {f.code} without a locator or a basis")
    # Encoded once, not for each side of the comparison: for a verdict of some 400 carried
    # documents one encoding is ~0.2 s, and three made the check slower than the verification.
    first = verdict.to_dict() if encoded is None else encoded
    again = Verdict.from_dict(json.loads(json.dumps(first)))
    if again.to_dict() != first:
        raise Finding("the verdict does not round-trip through JSON")


def verify_entry(data: bytes, name: str | None = None):
    """``Verifier.verify`` (strict, offline revocation), policy chosen by the input's first
    byte so that both policies see every kind of input, and the verdict's JSON encoding;
    ``CHECKS["verify"]`` checks what this returns."""
    verifiers = _verifiers()
    verifier = verifiers[data[0] % 2 if data else 0]
    verdict = verifier.verify(data, at=AT, name=name)
    return verdict, verdict.to_dict()


def _check_verify(result) -> None:
    check_verdict(*result)


TARGETS: dict[str, Callable[[bytes, str | None], object]] = {
    "mime": mime_walk,
    "cms": cms_parse,
    "pdf": pdf_read,
    "verify": verify_entry,
    "xml": xml_verify,
    "ooxml": ooxml_verify,
}


# What is checked of a target's result after the clock stops (the harness's work, untimed).
CHECKS: dict[str, Callable[[object], None]] = {"verify": _check_verify}


def run_timed(
    fmt: str, data: bytes, name: str | None, now: Callable[[], float]
) -> tuple[BaseException | None, float]:
    """The exception that is a finding (None: the input was handled), and the time ``now``
    measured for the target itself, its check excluded."""
    t0 = now()
    try:
        result = TARGETS[fmt](data, name)
    except InputSignal:
        return None, now() - t0
    except Exception as exc:  # RecursionError included: it can be thrown anywhere
        return exc, now() - t0
    elapsed = now() - t0
    check = CHECKS.get(fmt)
    if check is not None:
        try:
            check(result)
        except Exception as exc:
            return exc, elapsed
    return None, elapsed


def run(fmt: str, data: bytes, name: str | None) -> BaseException | None:
    """The exception that is a finding (None: the input was handled)."""
    return run_timed(fmt, data, name, _no_clock)[0]


def _no_clock() -> float:
    return 0.0


def warm_up(fmt: str) -> None:
    """Import and build what ``fmt`` uses once, before limits are set and timing starts."""
    from fuzz.seeds import seeds

    for seed in seeds(fmt)[:: max(1, len(seeds(fmt)) // 6)]:
        run(fmt, seed.data, seed.name)
