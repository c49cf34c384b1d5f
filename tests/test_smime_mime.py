"""The MIME layer of S/MIME verification: boundaries on raw bytes, header blocks, decoding,
canonical form, budgets (each exceeded → ``limit_exceeded``) and bad MIME (→ ``malformed``)."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sigmail import Limits, OfflineRevocation, OnlineRevocation, TrustStore, Verifier
from sigmail.cms.signed_data import parse_signed_data
from sigmail.limits import Budget
from sigmail.problems import MalformedInput
from sigmail.smime.canonical import canonicalize, has_bare_lf, signed_bytes
from sigmail.smime.headers import (
    MAX_PARAMETER_FIELD,
    parse_content_type,
    parse_header_block,
    parse_parameters,
)
from sigmail.smime.mime import MimeParser, decode_base64, split_multipart

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "vectors"
AT = datetime(2026, 6, 1, tzinfo=UTC)
PERSON = (VECTORS / "smime" / "person-official.eml").read_bytes()
SIGNED = b'From: a@b.cd\r\nContent-Type: multipart/signed; boundary="b"; protocol='


def verifier(**limits) -> Verifier:
    return Verifier(
        trust=TrustStore.load(official=[VECTORS / "pki/certs/root-official.pem"]),
        revocation=OfflineRevocation(),
        limits=Limits(**limits) if limits else None,
        strict=True,
    )


def parse(data: bytes, **limits):
    return MimeParser(Budget(Limits(**limits))).parse_message(data)


# -- boundaries and headers -------------------------------------------------------------------


def test_parts_end_before_the_line_break_of_the_next_delimiter():
    body = b"preamble\r\n--B\r\nA\r\n--B  \r\n\r\nB\r\n--B--\r\nepilogue\r\n"
    ranges, closed = split_multipart(body, 0, len(body), b"--B")
    assert closed
    assert [body[s:e] for s, e in ranges] == [b"A", b"\r\nB"]


def test_a_longer_boundary_line_is_not_a_delimiter():
    body = b"--B\r\none\r\n--BX\r\nstill one\r\n--B--\r\n"
    ranges, closed = split_multipart(body, 0, len(body), b"--B")
    assert closed and [body[s:e] for s, e in ranges] == [b"one\r\n--BX\r\nstill one"]


def test_a_delimiter_not_at_the_start_of_a_line_is_text():
    body = b"--B\nx --B\n--B--\n"
    ranges, _ = split_multipart(body, 0, len(body), b"--B")
    assert [body[s:e] for s, e in ranges] == [b"x --B"]


def test_unclosed_multipart_keeps_its_last_part_and_a_defect():
    msg = b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nhello\r\n--b\r\nworld\r\n'
    root = parse(msg)
    assert [c.body().tobytes() for c in root.children] == [b"hello", b"world\r\n"]
    assert "no closing delimiter" in root.defects


def test_header_block_unfolds_and_keeps_raw_offsets():
    msg = b"Subject: a\r\n  folded\r\nFrom: x@y.z\r\n\r\nbody"
    fields, body_start, separated = parse_header_block(msg, 0, len(msg))
    assert fields == [("subject", "a  folded"), ("from", "x@y.z")]
    assert separated and msg[body_start:] == b"body"


def test_an_entity_without_header_fields_is_all_body():
    fields, body_start, separated = parse_header_block(b"just text\r\n", 0, 11)
    assert fields == [] and body_start == 0 and not separated


def test_rfc2231_file_names_are_decoded():
    root = parse((VECTORS / "smime" / "pdf-attachment.eml").read_bytes())
    names = [e.filename for e in root.walk() if e.filename]
    assert "Quyết định 123-QĐ-STTTT.pdf" in names


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('a/b; name="x.pdf"', {"name": "x.pdf"}),
        ('a/b; name="say \\"hi\\".pdf"', {"name": 'say "hi".pdf'}),  # quoted-pair undone
        ('a/b; name="back\\\\slash"', {"name": "back\\slash"}),
        ("a/b; name*=utf-8''%E1%BA%A1.pdf", {"name": "ạ.pdf"}),  # RFC 2231, one section
        ('a/b; name*0="Quy"; name*1="et.pdf"', {"name": "Quyet.pdf"}),  # continuations
        ('a/b; NAME=plain; boundary="b;1"', {"name": "plain", "boundary": "b;1"}),
    ],
)
def test_parameters_are_unquoted_and_rfc2231_sections_joined(value, expected):
    assert parse_parameters(value) == ("a/b", expected)


def test_a_content_type_met_again_parses_the_same_and_gives_the_caller_its_own_dict():
    field = 'application/pkcs7-signature; name="smime.p7s"; smime-type=signed-data'
    first = parse_content_type(field, "attachment; filename=x.p7s")
    first[1]["name"] = "changed by a caller"
    second = parse_content_type(field, "attachment; filename=x.p7s")
    assert second == (
        "application/pkcs7-signature",
        {"name": "smime.p7s", "smime-type": "signed-data"},
        "x.p7s",
    )
    assert second[1] is not first[1]
    # The default type is part of what is kept: a missing field under multipart/digest
    assert parse_content_type(None, None, "message/rfc822")[0] == "message/rfc822"
    assert parse_content_type(None, None)[0] == "text/plain"


def test_a_content_type_too_long_to_parse_is_refused_every_time():
    field = "text/plain; x=" + "y" * MAX_PARAMETER_FIELD
    for _ in range(2):  # a failed parse is not kept as an answer
        with pytest.raises(MalformedInput):
            parse_content_type(field, None)


def test_lenient_base64_repairs_padding_and_skips_line_breaks():
    assert decode_base64(b"aGVs\r\nbG8") == b"hello"
    assert decode_base64(b"aGVsbG8=\r\n") == b"hello"
    assert decode_base64(b"aGVsbG8*=") == b"hello"


# -- the signed bytes ---------------------------------------------------------------------------


def _signed_part(message: bytes):
    root = parse(message)
    content, signature = root.children
    parsed = parse_signed_data(MimeParser(Budget(Limits())).decoded(signature), Budget(Limits()))
    return root, content, parsed


def test_crlf_message_is_hashed_in_place():
    root, content, parsed = _signed_part(PERSON)
    signed = signed_bytes(root.buf, content.start, content.end, parsed.signer_infos)
    assert not signed.canonicalized


def test_lf_only_message_is_hashed_in_canonical_form():
    lf = PERSON.replace(b"\r\n", b"\n")
    root, content, parsed = _signed_part(lf)
    assert has_bare_lf(root.buf, content.start, content.end)
    signed = signed_bytes(root.buf, content.start, content.end, parsed.signer_infos)
    assert signed.canonicalized
    original_root, original, _ = _signed_part(PERSON)
    expected = original_root.buf[original.start : original.end]
    assert canonicalize(lf[content.start : content.end]) == expected
    assert signed.digests.get("sha256") == hashlib.sha256(expected).digest()


@pytest.mark.parametrize("attachment", [1_000, 200_000], ids=["small", "over-64KiB"])
def test_line_ends_are_chosen_alike_on_both_sides_of_the_counting_threshold(attachment):
    """Small entities are counted for bare LFs before any attribute is read, large ones are
    compared with the message-digest first: both orders choose the same bytes."""
    from vectors.testpki.pki import load_pki
    from vectors.testpki.smime_vectors import signed_message

    blob = hashlib.shake_256(b"line ends").digest(attachment)
    crlf = signed_message(
        load_pki(VECTORS), "person-an", attachments=(("application/zip", "a.zip", blob),)
    )
    for message, canonical in ((crlf, False), (crlf.replace(b"\r\n", b"\n"), True)):
        root, content, parsed = _signed_part(message)
        signed = signed_bytes(root.buf, content.start, content.end, parsed.signer_infos)
        assert signed.canonicalized is canonical
        original_root, original, _ = _signed_part(crlf)
        expected = original_root.buf[original.start : original.end]
        assert signed.digests.get("sha256") == hashlib.sha256(expected).digest()


def test_mixed_line_ends_verify(responder):
    """A file with CRLF headers and a LF body (as some tools save it) is canonicalised."""
    head, sep, rest = PERSON.partition(b"\r\n\r\n")
    mixed = head + sep + rest.replace(b"\r\n", b"\n")
    v = Verifier(
        trust=TrustStore.load(official=[VECTORS / "pki/certs/root-official.pem"]),
        revocation=OnlineRevocation(clock=lambda: AT, timeout=2.0, allow_networks=["127.0.0.1/32"]),
        strict=True,
    )
    assert v.verify(mixed, at=AT, name="mixed.eml").verdict.value == "official"


# -- budgets: each exceeded → limit_exceeded, quickly -----------------------------------------


def _nested_multipart(depth: int) -> bytes:
    head = b"From: a@b.cd\r\nMIME-Version: 1.0\r\n"
    body = b"Content-Type: text/plain\r\n\r\ninnermost\r\n"
    for level in range(depth):
        boundary = f"b{level}".encode()
        body = (
            b'Content-Type: multipart/mixed; boundary="'
            + boundary
            + b'"\r\n\r\n--'
            + boundary
            + b"\r\n"
            + body
            + b"\r\n--"
            + boundary
            + b"--\r\n"
        )
    return head + body


def _many_parts(n: int) -> bytes:
    parts = b"".join(b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n" for _ in range(n))
    return (
        b'From: a@b.cd\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
        + parts
        + b"--b--\r\n"
    )


def _attachment(size: int) -> bytes:
    import base64

    data = base64.encodebytes(b"\x00" * size).replace(b"\n", b"\r\n")
    return (
        b'From: a@b.cd\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
        b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + data
        + b"\r\n--b--\r\n"
    )


@pytest.mark.parametrize(
    ("limit", "value", "message"),
    [
        ("max_input_bytes", 1000, PERSON),
        ("max_mime_depth", 8, _nested_multipart(12)),
        ("max_mime_parts", 50, _many_parts(60)),
        ("max_attachment_bytes", 10_000, _attachment(20_000)),
    ],
)
def test_each_limit_exceeded_gives_limit_exceeded(limit, value, message):
    within = verifier().verify(message, at=AT, name="m.eml")
    assert "limit_exceeded" not in within.reasons
    verdict = verifier(**{limit: value}).verify(message, at=AT, name="m.eml")
    assert verdict.verdict.value == "indeterminate"
    assert verdict.reasons == ("limit_exceeded",)
    assert limit in verdict.findings[0].detail


def test_forwarded_messages_nested_too_deep_stop_at_the_depth_limit():
    inner = PERSON
    for level in range(6):
        f = f"f{level}".encode()
        head = b'From: a@b.cd\r\nContent-Type: multipart/mixed; boundary="' + f + b'"\r\n\r\n'
        part = b"--" + f + b"\r\nContent-Type: message/rfc822\r\n\r\n" + inner
        inner = head + part + b"\r\n--" + f + b"--\r\n"
    verdict = verifier(max_mime_depth=4).verify(inner, at=AT, name="m.eml")
    depth, doc = 0, verdict
    while doc.documents:
        doc = doc.documents[0]
        depth += 1
    assert doc.reasons == ("limit_exceeded",) and depth <= 5


def test_pathological_delimiter_lines_finish_quickly():
    body = b"--b\r\n" + b"--bX\r\n" * 200_000 + b"--b--\r\n"
    msg = b'From: a@b.cd\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n' + body
    start = time.monotonic()
    verdict = verifier().verify(msg, at=AT, name="m.eml")
    assert time.monotonic() - start < 5
    assert verdict.verdict.value == "unsigned"


# -- bad MIME: a verdict with a reason, never a traceback --------------------------------------


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (b"\x00\x01 not a message at all", "malformed"),
        (b"From: a@b.cd\r\nContent-Type: multipart/mixed\r\n\r\nno boundary\r\n", "malformed"),
        (
            b'From: a@b.cd\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\nno delimiter\r\n',
            "malformed",
        ),
        (
            SIGNED + b'"application/pkcs7-signature"'
            b"\r\n\r\n--b\r\n\r\none\r\n--b\r\n\r\ntwo\r\n--b\r\n\r\nthree\r\n--b--\r\n",
            "malformed",
        ),
        (
            SIGNED + b'"application/pkcs7-signature"'
            b"\r\n\r\n--b\r\n\r\ntext\r\n--b\r\nContent-Type: application/pkcs7-signature"
            b"\r\nContent-Transfer-Encoding: base64\r\n\r\nbm90IENNUw==\r\n--b--\r\n",
            "malformed",
        ),
        (
            b"From: a@b.cd\r\nContent-Type: application/pkcs7-mime; smime-type=signed-data\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n!!!!\r\n",
            "malformed",
        ),
        (
            SIGNED + b'"application/pgp-signature"'
            b"\r\n\r\n--b\r\n\r\ntext\r\n--b\r\n\r\nsig\r\n--b--\r\n",
            "unsupported",
        ),
    ],
    ids=["garbage", "no-boundary", "no-delimiter", "three-parts", "not-cms", "opaque-junk", "pgp"],
)
def test_bad_mime_gets_a_reason(message, reason):
    verdict = verifier().verify(message, at=AT, name="bad.eml")
    assert reason in verdict.reasons
    assert verdict.verdict.value in ("invalid", "indeterminate")


def test_an_unsigned_message_is_unsigned():
    verdict = verifier().verify(b"From: a@b.cd\r\nSubject: hi\r\n\r\nhello\r\n", at=AT)
    assert verdict.verdict.value == "unsigned" and verdict.reasons == ("no_signature",)
    assert [p.locator for p in verdict.parts] == ["message"]
