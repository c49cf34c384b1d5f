"""Every fuzz finding, kept as a regression test (tests/data/fuzz/findings.json lists them:
campaign, input number, what happened, the fix). A finding whose input is small is a file
under tests/data/fuzz/ and runs through the target that found it; a large one is rebuilt here
in its minimal shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fuzz import targets
from fuzz.seeds import VECTORS
from sigmail.limits import Budget, Limits
from sigmail.pdf.parser import ObjectParser, PdfSyntaxError
from sigmail.smime.headers import _split_parameters, parse_content_type
from sigmail.smime.mime import MimeParser

DATA = Path(__file__).resolve().parent / "data" / "fuzz"
FINDINGS = json.loads((DATA / "findings.json").read_text(encoding="utf-8"))["findings"]


def test_every_finding_names_its_campaign_its_fix_and_its_test():
    tests = {name for name in globals() if name.startswith("test_")}
    for f in FINDINGS:
        assert {"id", "format", "campaign", "found", "fix", "test"} <= set(f), f
        assert f["test"] in tests, f["id"]


def test_every_finding_input_is_handled():
    for finding in FINDINGS:
        if finding.get("file"):
            data = (DATA / finding["file"]).read_bytes()
            assert targets.run(finding["format"], data, finding.get("name")) is None, finding["id"]


def _split_reference(value: str) -> list[str]:
    """The split as it was before the fix (one step per character): the meaning to keep."""
    items, current, quoted, escaped = [], [], False, False
    for char in value:
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == ";" and not quoted:
            items.append("".join(current))
            current = []
            continue
        current.append(char)
    items.append("".join(current))
    return items


_dense = st.text(alphabet='ab;"\\ =\n', max_size=40)
_sparse = st.lists(
    st.one_of(st.text(alphabet="xyz=", min_size=1, max_size=60), st.sampled_from(list('";\\'))),
    max_size=30,
).map("".join)


@settings(max_examples=500, deadline=None)
@given(value=st.one_of(_dense, _sparse))
def test_parameter_split_means_what_it_meant(value):
    assert _split_parameters(value) == _split_reference(value)


def test_mime_many_parts_with_long_quoted_parameters():
    """mime-long-parameters: 412 parts whose Content-Type fields run to 5 KB each (with a
    quoted protocol=) took 1.26 s in the MIME walker, a Python step per character of every
    field. Rebuilt in its shape: every part is still read, its parameters right."""
    long_type = (
        'multipart/mixed; protocol="application/pkcs7-signature"; boundary="b%d"\r\n\t; x='
        + "y" * 5000
    )
    parts = 400
    body = b"plain\r\n"
    for n in range(parts, 0, -1):
        body = (
            b"Content-Type: "
            + (long_type % n).encode()
            + b"\r\n\r\n--b%d\r\n" % n
            + body
            + b"\r\n--b%d--\r\n" % n
        )
    message = b"From: a@b.cd\r\n" + body
    root = MimeParser(Budget(Limits(max_mime_depth=parts + 1))).parse_message(message)
    entities = list(root.walk())
    assert len(entities) == parts + 1
    assert entities[0].params == {
        "protocol": "application/pkcs7-signature",
        "boundary": "b1",
        "x": "y" * 5000,
    }
    ctype, params, _ = parse_content_type(long_type % 7, None)
    assert ctype == "multipart/mixed" and params["boundary"] == "b7"


def _many_copies(damaged: bool, copies: int = 383) -> bytes:
    """verify-many-carried-documents in its shape: lf-only.eml with its signature part
    carried ``copies`` more times (its base64 damaged: every copy malformed, as in input
    24,525 of seed 1; or intact: every copy a detached signature without its content)."""
    src = (VECTORS / "smime" / "lf-only.eml").read_bytes()
    boundary = b"------=_sigmail_signed_65e25252a42abd52"
    head, first, sig, tail = src.split(boundary)
    copy = sig.replace(b"\nMIIOTgYJ", b"\nMIIPTgYJ", 1) if damaged else sig
    assert copy != sig or not damaged
    return head + boundary + first + boundary + sig + (boundary + copy) * copies + boundary + tail


@pytest.mark.parametrize("damaged", [True, False])
def test_copies_of_a_carried_document_are_verified_once(damaged, monkeypatch):
    """verify-many-carried-documents: 383 copies of one carried document were each verified
    (1.25 s); now the first copy is, and every other gets its verdict under its own name."""
    from sigmail.verifier import Verifier

    verifier = targets._verifiers()[0]
    calls = []
    real = Verifier._verify

    def counting(self, data, **kw):
        calls.append(kw["name"])
        return real(self, data, **kw)

    monkeypatch.setattr(Verifier, "_verify", counting)
    seen = []
    verdict = verifier.verify(
        _many_copies(damaged), at=targets.AT, name="m.eml", on_document=seen.append
    )
    docs = verdict.documents
    assert len(docs) == 384 and len(calls) == 1 + 2  # the message, the original, one copy
    assert len({d.name for d in docs}) == 384 and [s.path for s in seen] == [d.name for d in docs]
    first = docs[1].to_dict()
    for d in docs[2:]:
        assert {**d.to_dict(), "name": None} == {**first, "name": None}
    if damaged:
        assert set(docs[1].reasons) == {"malformed"}
    else:
        # verified once each, the later copies no longer run out of the message's chain
        # budget (limit_exceeded): a copy is judged as its first copy is
        assert "limit_exceeded" not in verdict.reasons
    targets.check_verdict(verdict)


@pytest.mark.parametrize("blank", [b" ", b"\r\n", b"\x00", b"%c\n"])
def test_a_long_run_of_blanks_before_no_token_is_read_once(blank):
    """pdf input 44,141 of seed 1 (a 26 kB file): the first fast tokenizer hung on it. Its
    whitespace loop could give back what it had matched, so where no token followed, every
    way of splitting a run of blanks was tried (exponential); now it is possessive."""
    data = b"<< /A 1" + blank * 40 + b"}"
    with pytest.raises(PdfSyntaxError, match="dictionary key is not a name"):
        ObjectParser(data).parse(0)
    assert ObjectParser(b"[% 5\n 7]").parse(0)[0] == [7]  # a comment is never cut short


def test_a_zip_member_whose_deflate_data_is_damaged_is_malformed():
    """ooxml-zlib-error: zipfile's reader raises zlib.error on a damaged deflate stream;
    read_zip let it out (an internal_error through the verifier)."""
    data = (DATA / "ooxml-zlib-error.xlsx").read_bytes()
    verdict = targets._verifiers()[0].verify(data, at=targets.AT, name="x.xlsx")
    assert verdict.reasons == ("malformed",)
    assert "ZIP entry" in verdict.findings[0].detail


def test_parsed_certificates_kept_are_bounded_by_their_size(monkeypatch):
    """The verify worker grew by ~430 MB over 100,000 inputs: every distinct (mutated)
    certificate was kept parsed, 4,096 of them (146 MB for typical ones). The cache is now
    bounded by the size of the encodings too."""
    import base64

    from sigmail.bounded_cache import BoundedCache
    from sigmail.trust import certificates

    small = BoundedCache(max_entries=4096, max_weight=20_000, weigh=lambda der, _c: len(der))
    monkeypatch.setattr(certificates, "_loaded", small)
    pem = (VECTORS / "pki" / "certs" / "root-official.pem").read_bytes()
    der = bytearray(base64.b64decode(b"".join(pem.splitlines()[1:-1])))
    kept = []
    for n in range(60):  # distinct encodings: the last byte of the signature changed
        der[-1] = n
        kept.append(certificates.load_certificate(bytes(der)))
    assert small.weight <= 20_000 and small.weight == len(small) * len(der)
    assert 1 < len(small) < 60
    assert certificates.load_certificate(bytes(der)) is kept[-1]  # the newest is kept


@pytest.mark.parametrize(
    ("file", "reason"),
    [("ooxml-cert-cryptography.docx", "malformed"), ("ooxml-zip-version.docx", "unsupported")],
)
def test_ooxml_packages_the_campaign_broke_get_a_verdict(file, reason):
    """ooxml-cert-cryptography: a signer certificate asn1crypto reads and cryptography does
    not (ValueError out of xmldsig/crypto.py); ooxml-zip-version: zipfile's
    NotImplementedError for a ZIP version it lacks (out of ooxml/zipsafe.py). Both were an
    internal_error through the verifier."""
    data = (DATA / file).read_bytes()
    assert targets.run("ooxml", data, "x.docx") is None
    verdict = targets._verifiers()[0].verify(data, at=targets.AT, name="x.docx")
    assert reason in verdict.reasons


XML_CERTIFICATES = sorted((DATA / "xml-certificates").glob("*.xml"))


@pytest.mark.parametrize("path", XML_CERTIFICATES, ids=[p.stem for p in XML_CERTIFICATES])
def test_xml_signatures_with_certificates_that_break_late_get_a_verdict(path):
    """xml-certificate-fields: 29 places where a certificate in an XML signature (ds:KeyInfo,
    XAdES CertificateValues) parsed lazily, then raised in whatever read a field first (a key
    algorithm, a policy, an extended key usage, an IDNA name; cryptography's
    UnsupportedAlgorithm for an unknown key type): each was an internal_error. Now a
    certificate is parsed whole when loaded, and a broken one is a malformed finding.
    xml-cert-invalid-version (fourth round): version 10, which cryptography refuses with an
    exception that is not a ValueError."""
    data = path.read_bytes()
    assert targets.run("xml", data, "x.xml") is None
    verdict = targets._verifiers()[0].verify(data, at=targets.AT, name="x.xml")
    assert "internal_error" not in verdict.reasons
    assert str(verdict.verdict) in ("invalid", "indeterminate")
    assert {"malformed", "unsupported_algorithm", "signer_certificate_missing"} & set(
        verdict.reasons
    )


# Inputs of the verify campaign on which the fast CMS readers (2026-12-07) changed the verdict,
# found by fuzz/differential.py against 3fc872d; each must keep the verdict it had there.
_UNCHANGED = [
    (
        "differential-unread-attribute.p7m",
        "missing-cert.p7m",
        ["signer_certificate_missing", "signed_attributes_invalid", "digest_mismatch"],
        [
            [
                "signer_certificate_missing",
                "signed_attributes_invalid",
                "digest_mismatch",
                "no_proven_signing_time",
            ]
        ],
    ),
    (
        "differential-repeated-signing-time.p7m",
        "signing-time-two-values.p7m",
        ["signer_certificate_missing", "signed_attributes_invalid", "malformed"],
        [
            [
                "signer_certificate_missing",
                "signed_attributes_invalid",
                "malformed",
                "no_proven_signing_time",
            ]
        ],
    ),
    ("differential-attribute-certificate-choice.p7m", "revoked-before-tst.p7m", ["malformed"], []),
]


@pytest.mark.parametrize(("file", "name", "reasons", "signatures"), _UNCHANGED)
def test_the_fast_cms_readers_keep_each_verdict(file, name, reasons, signatures):
    _verdict, encoded = targets.verify_entry((DATA / file).read_bytes(), name)
    assert encoded["reasons"] == reasons
    assert [[f["code"] for f in s["findings"]] for s in encoded["signatures"]] == signatures
