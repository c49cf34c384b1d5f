"""The headers the mail filter adds, the verdict→smime= table, and forged-header removal."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from milter_support import (
    AT,
    forwarded_message,
    signed_message,
    tampered_message,
    unsigned_message,
)

from sigmail.milter.headers import (
    SMIME_RESULTS,
    claims_authserv_id,
    failsafe_headers,
    fold,
    forged_headers,
    headers_for,
    smime_result,
    summary,
)
from sigmail.verdict.model import PolicyRef, Verdict, VerdictKind
from sigmail.verdict.reasons import REASONS, Effect

ROOT = Path(__file__).resolve().parent.parent
CERTS = ROOT / "vectors" / "pki" / "certs"
DOCS = ROOT / "docs" / "milter.md"
RFC7281 = {"none", "pass", "fail", "policy", "neutral", "temperror", "permerror"}


# -- the one table ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("verdict", "reasons", "expected"),
    [
        ("official", (), "pass"),
        ("official", ("micalg_mismatch",), "pass"),
        ("not_official", ("public_ca_signer",), "policy"),
        ("not_official", ("partially_signed",), "policy"),
        ("unsigned", ("no_signature",), "none"),
        ("invalid", ("digest_mismatch",), "fail"),
        ("invalid", ("signer_mismatch",), "fail"),
        ("invalid", ("malformed",), "fail"),
        ("indeterminate", ("revocation_unreachable",), "temperror"),
        ("indeterminate", ("revocation_unavailable",), "temperror"),
        ("indeterminate", ("internal_error",), "temperror"),
        ("indeterminate", ("limit_exceeded",), "temperror"),
        ("indeterminate", ("expired_no_poe",), "permerror"),
        ("indeterminate", ("revoked_no_poe", "revocation_unreachable"), "permerror"),
        ("indeterminate", ("encrypted",), "neutral"),
        ("indeterminate", ("unsupported",), "neutral"),
        ("indeterminate", ("encrypted", "expired_no_poe"), "permerror"),
        ("indeterminate", ("a_code_added_later",), "temperror"),
    ],
)
def test_smime_result_table(verdict, reasons, expected):
    assert smime_result(verdict, reasons) == expected


def test_every_verdict_and_indeterminate_reason_has_a_documented_result():
    for kind in VerdictKind:
        assert smime_result(str(kind), ()) in RFC7281
    assert {row[2] for row in SMIME_RESULTS} == RFC7281
    indeterminate = [c for c, r in REASONS.items() if r.effect is Effect.INDETERMINATE]
    for code in indeterminate:
        assert smime_result("indeterminate", (code,)) in {"temperror", "permerror", "neutral"}
    # docs/milter.md shows the same table, row for row.
    text = DOCS.read_text(encoding="utf-8")
    for verdict, reason, result in SMIME_RESULTS:
        row = re.compile(
            rf"\|\s*`{verdict}`\s*\|\s*{f'`{reason}`' if reason else '(any|—|other)'}[^|]*\|\s*"
            rf"`{result}`"
        )
        assert row.search(text), f"docs/milter.md lacks the row {verdict} {reason} → {result}"
    with pytest.raises(ValueError):
        smime_result("maybe", ())


# -- headers of real verdicts -------------------------------------------------------------------


@pytest.fixture(scope="module")
def verifier():
    import sigmail
    from sigmail.revocation import OnlineRevocation

    trust = sigmail.TrustStore.load(
        official=[str(CERTS / "root-official.pem")], public=[str(CERTS / "root-national.pem")]
    )
    return sigmail.Verifier(
        trust=trust, revocation=OnlineRevocation(allow_networks=["127.0.0.1/32"])
    )


def _parse(value: str):
    import authres.smime

    context = authres.FeatureContext(authres.smime)
    return authres.core.AuthenticationResultsHeader.parse_value(context, value)


@pytest.mark.parametrize(
    ("make", "verdict", "smime", "identifier"),
    [
        (signed_message, "official", "pass", "an.nv@stttt.tphcm.gov.vn"),
        (tampered_message, "invalid", "fail", "an.nv@stttt.tphcm.gov.vn"),
        (unsigned_message, "unsigned", "none", None),
        # The S/MIME verifier decides whether an unsigned wrapper around an official message
        # is unsigned or not_official (partially_signed); either way no signer is named.
        (lambda: forwarded_message(signed_message()), None, None, None),
    ],
)
def test_headers_for_real_verdicts(responder, verifier, make, verdict, smime, identifier):
    result = verifier.verify(make(), at=AT, receipt_time=AT)
    if verdict is None:
        verdict = str(result.verdict)
        assert verdict in ("unsigned", "not_official")
        smime = smime_result(verdict, result.reasons)
    assert str(result.verdict) == verdict
    ar, xv = headers_for(result, "mx.sigmail.test")
    assert ar.name == "Authentication-Results" and xv.name == "X-Sigmail-Verdict"
    parsed = _parse(ar.value)
    assert parsed.authserv_id == "mx.sigmail.test"
    (only,) = parsed.results
    assert (only.method, only.result) == ("smime", smime)
    assert only.body_smime_identifier == identifier
    assert xv.value.split()[0] == verdict
    assert xv.value.isascii() and ar.value.isascii()
    for code in result.reasons:
        assert code in xv.value
    for doc in result.documents:
        assert f'{doc.verdict} "{doc.name}"' in xv.value


def fake(verdict: str, reasons=(), documents=(), name=None) -> Verdict:
    return Verdict(
        verdict=VerdictKind(verdict),
        reasons=tuple(reasons),
        validation_time=datetime(2026, 6, 1, tzinfo=UTC),
        policy=PolicyRef("vn-gov", "1", "0" * 64),
        name=name,
        documents=tuple(documents),
    )


def test_document_summary_names_are_quoted_or_encoded():
    docs = [
        fake("official", name="quyet-dinh 123.pdf"),
        fake("invalid", name='Phụ lục "A".p7m'),
        fake("not_official", name='a"b\\c.pdf'),
    ]
    _, xv = headers_for(fake("official", documents=docs), "mx")
    value = xv.value
    assert value.startswith('official; documents: official "quyet-dinh 123.pdf", invalid =?utf-8?')
    assert 'not_official "a\\"b\\\\c.pdf"' in value
    from email.header import decode_header, make_header

    assert "Phụ lục" in str(make_header(decode_header(value)))


def test_long_summaries_are_cut_and_folded():
    docs = [fake("official", name=f"tai-lieu-{i:02}.pdf") for i in range(14)]
    reasons = [f"reason_{i}" for i in range(9)]
    header = headers_for(fake("indeterminate", reasons=reasons, documents=docs), "mx.example")[1]
    assert "+3 more)" in header.value and "+4 more" in header.value
    folded = header.folded()
    lines = f"{header.name}: {folded}".split("\n")
    assert all(len(line) <= 78 for line in lines)
    assert folded.replace("\n", "") == header.value  # unfolding gives the value back
    assert fold("X", "short") == "short"
    assert fold("X", "a" * 100 + " b") == "a" * 100 + "\n b"


def test_summary_of_a_plain_verdict_is_the_word():
    assert summary("official", (), ()) == "official"
    assert summary("invalid", ("signer_mismatch",), ()) == "invalid (signer_mismatch)"


def test_failsafe_headers():
    ar, xv = failsafe_headers("internal_error", "mx.example")
    assert ar.value == "mx.example; smime=temperror (indeterminate) reason=internal_error"
    assert xv.value == "indeterminate (internal_error)"
    ar, _ = failsafe_headers("limit_exceeded", "mx.example", "time budget (20 s) \\ é")
    assert "(indeterminate: time budget ?20 s? ? ?)" in ar.value


# -- forgery protection -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "ours"),
    [
        ("mx.sigmail.test; smime=pass", True),
        ("MX.Sigmail.Test; smime=pass", True),
        ("mx.sigmail.test 1; smime=pass", True),
        ("(comment) mx.sigmail.test; none", True),
        ("  mx.sigmail.test\r\n\t; dkim=pass header.d=x", True),
        ("mx.sigmail.test; this is not ( valid syntax", True),
        ("mx.sigmail.test", True),
        ("relay.example.net; spf=pass smtp.mailfrom=a@b", False),
        ("mx.sigmail.test.evil.example; smime=pass", False),
        ("evil.example; smime=pass (mx.sigmail.test)", False),
        ("", False),
        ("; smime=pass", False),
    ],
)
def test_claims_authserv_id(value, ours):
    assert claims_authserv_id(value, "mx.sigmail.test") is ours
    assert claims_authserv_id(value.encode(), "mx.sigmail.test") is ours


def test_forged_headers_in_protocol_order():
    headers = [
        (b"Received", b"from a"),
        (b"Authentication-Results", b"other.example; spf=pass"),
        (b"Authentication-Results", b"mx.sigmail.test; smime=pass"),
        (b"x-sigmail-verdict", b"official"),
        (b"authentication-results", b"MX.SIGMAIL.TEST; dkim=pass"),
        (b"X-Sigmail-Anything", b"whatever"),
        (b"Subject", b"hi"),
    ]
    assert forged_headers(headers, "mx.sigmail.test") == [
        ("authentication-results", 3),
        ("Authentication-Results", 2),
        ("X-Sigmail-Anything", 1),
        ("x-sigmail-verdict", 1),
    ]


# -- sigmail verify --headers -------------------------------------------------------------------


def test_verify_headers_prints_what_the_milter_adds(responder, tmp_path):
    message = tmp_path / "m.eml"
    message.write_bytes(tampered_message())
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sigmail",
            "verify",
            "-",
            "--headers",
            "--authserv-id",
            "mx.sigmail.test",
            "--fetch-allow",
            "127.0.0.1/32",
            "--trust",
            str(CERTS / "root-official.pem"),
            "--at",
            "2026-06-01T00:00:00Z",
            "--receipt-time",
            "2026-06-01T00:00:00Z",
        ],
        input=message.read_bytes(),
        capture_output=True,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 3, done.stderr
    out = done.stdout.decode()
    assert out == (
        "Authentication-Results: mx.sigmail.test; smime=fail (invalid)\n"
        " reason=digest_mismatch body.smime-identifier=an.nv@stttt.tphcm.gov.vn\n"
        "X-Sigmail-Verdict: invalid (digest_mismatch)\n"
    )


@pytest.mark.parametrize(
    ("from_", "address"),
    [
        ("Nguyen Van An <an.nv@stttt.tphcm.gov.vn>", "an.nv@stttt.tphcm.gov.vn"),
        # A display name that looks like an address is a display name: the mail is from the
        # angle address (getaddresses made two addresses of it, and so no From address at all).
        ("an.nv@stttt.tphcm.gov.vn <x@evil.example>", "x@evil.example"),
        ("an.nv@stttt.tphcm.gov.vn)<x@evil.example>", "x@evil.example"),
        ("a@x.example, b@y.example", None),
        ("", None),
    ],
)
def test_the_from_address_is_read_as_the_verifier_reads_it(from_, address):
    from sigmail.verdict.auth_results import _address_of

    assert _address_of(from_) == address
