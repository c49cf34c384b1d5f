"""What a clerk reading mail in webmail sees: the verdict's tag in front of the Subject (and,
for messages with no signature at all, an optional leading notice part), written by the real
milter and configured per verdict."""

from __future__ import annotations

from email.header import decode_header, make_header

import pytest
from milter_support import MilterStarter, signed_message, tampered_message, unsigned_message
from miltertest import constants as mc

from sigmail.errors import MilterConfigError
from sigmail.milter.config import DEFAULT_SUBJECT_TAGS, parse_config
from sigmail.milter.headers import tagged_subject


@pytest.fixture
def milter(responder):
    with MilterStarter() as start:
        yield start


def shown(value: bytes | str) -> str:
    """The Subject as a mail reader displays it."""
    text = value.decode() if isinstance(value, bytes) else value
    return str(make_header(decode_header(text)))


def subject_changes(reply) -> list[tuple[str, dict]]:
    return [
        (code, args)
        for code, args in reply.changes
        if code in (mc.SMFIR_CHGHEADER, mc.SMFIR_ADDHEADER) and args["name"] == "Subject"
    ]


@pytest.mark.parametrize(
    ("make", "tag"),
    [
        (tampered_message, "[KHÔNG HỢP LỆ]"),
        (unsigned_message, "[KHÔNG KÝ SỐ]"),
        (lambda: signed_message(signer="public-signer"), "[KHÔNG HỢP LỆ]"),
    ],
)
def test_the_subject_carries_the_verdicts_tag(milter, make, tag):
    running = milter()
    with running.client() as mta:
        reply = mta.send_message(make())
    ((code, args),) = subject_changes(reply)
    assert code == mc.SMFIR_CHGHEADER and args["index"] == 1
    assert args["value"].startswith("=?utf-8?")  # RFC 2047: a Subject is ASCII on the wire
    assert shown(args["value"]).startswith(tag + " ")


def test_an_official_message_keeps_its_subject(milter):
    running = milter()
    with running.client() as mta:
        reply = mta.send_message(signed_message())
    assert subject_changes(reply) == []
    assert DEFAULT_SUBJECT_TAGS["official"] == ""


def test_tags_are_configured_per_verdict_and_can_be_turned_off(milter):
    config = parse_config('[subject_tag]\ninvalid = ""\nunsigned = "[UNSIGNED]"\n')
    running = milter(subject_tags=config.subject_tags)
    with running.client() as mta:
        assert subject_changes(mta.send_message(tampered_message())) == []
        ((_, args),) = subject_changes(mta.send_message(unsigned_message()))
    assert args["value"] == "[UNSIGNED] Thong bao (khong ky)"  # ASCII: no encoding needed


def test_a_message_without_subject_gets_one(milter):
    running = milter()
    message = unsigned_message().replace(b"Subject: Thong bao (khong ky)\r\n", b"")
    with running.client() as mta:
        ((code, args),) = subject_changes(mta.send_message(message))
    assert code == mc.SMFIR_ADDHEADER and shown(args["value"]) == "[KHÔNG KÝ SỐ]"


def test_the_failsafe_verdict_is_tagged_too(milter):
    running = milter(max_message_bytes=2000)
    with running.client() as mta:
        ((_, args),) = subject_changes(mta.send_message(signed_message()))
    assert shown(args["value"]).startswith("[CHƯA XÁC ĐỊNH] ")


@pytest.mark.parametrize(
    ("original", "tag", "display"),
    [
        (b"Thong bao", "[KHÔNG KÝ SỐ]", "[KHÔNG KÝ SỐ] Thong bao"),
        # Between two encoded words white space is not shown: the space goes inside ours.
        (b"=?utf-8?b?VGjDtG5nIGLDoW8=?=", "[KHÔNG KÝ SỐ]", "[KHÔNG KÝ SỐ] Thông báo"),
        (b"=?utf-8?q?a?=", "[TAG]", "[TAG] a"),
        (b"plain", "[TAG]", "[TAG] plain"),
        (None, "[TAG]", "[TAG]"),
        (b"", "[KHÔNG KÝ SỐ]", "[KHÔNG KÝ SỐ]"),
    ],
)
def test_tagged_subject(original, tag, display):
    value = tagged_subject(original, tag)
    assert value.isascii()
    assert shown(value) == display


@pytest.mark.parametrize(
    "original",
    [
        "[KHÔNG KÝ SỐ] đã gắn".encode(),
        b"=?utf-8?b?W0tIw5RORyBLw50gU+G7kF0=?= x",
    ],
)
def test_a_subject_already_tagged_is_left(original):
    assert tagged_subject(original, "[KHÔNG KÝ SỐ]") is None
    assert tagged_subject(b"anything", "") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[subject_tag]\ninvalid = "' + "x" * 41 + '"\n', "at most 40 characters"),
        ("[subject_tag]\ninvalid = 3\n", "printable text"),
        ('[subject_tag]\ninvalid = "a\\nb"\n', "printable text"),
        ('[subject_tag]\nbogus = "x"\n', "unknown key 'bogus'"),
        ('[notice]\nunsigned = ""\n', "non-empty text"),
        ('[notice]\nofficial = "x"\n', "unknown key 'official'"),
    ],
)
def test_bad_tag_configuration_is_a_config_error(text, message):
    with pytest.raises(MilterConfigError, match=message):
        parse_config(text)


# -- the notice part ------------------------------------------------------------------------------

NOTICE = "Thư này KHÔNG có chữ ký số. Không coi là văn bản chính thức.\nsigmail"


def delivered_copy(message: bytes, reply) -> bytes:
    """The message as the MTA writes it after the milter's changes (deletions, additions at
    the end of the header, a replaced body); the inserted verdict fields are left out."""
    head, _, body = message.partition(b"\r\n\r\n")
    fields: list[list[bytes]] = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            fields[-1][1] += b"\r\n" + line
        else:
            name, _, value = line.partition(b":")
            fields.append([name, value.lstrip(b" ")])
    replaced = None
    for code, args in reply.changes:
        if code == mc.SMFIR_CHGHEADER:
            name, index = args["name"].encode().lower(), args["index"]
            same = [f for f in fields if f[0].lower() == name]
            target = same[index - 1]
            if args["value"]:
                target[1] = args["value"].encode()
            else:
                fields.remove(target)
        elif code == mc.SMFIR_ADDHEADER:
            fields.append([args["name"].encode(), args["value"].encode()])
        elif code == mc.SMFIR_REPLBODY:
            chunk = args["buf"]
            replaced = (replaced or b"") + (chunk.encode() if isinstance(chunk, str) else chunk)
    header = b"".join(name + b": " + value + b"\r\n" for name, value in fields)
    return header + b"\r\n" + (body if replaced is None else replaced)


def test_an_unsigned_message_gets_a_leading_notice_part(milter, responder):
    import email
    from email import policy

    from milter_support import AT, CERTS

    import sigmail

    running = milter(unsigned_notice=NOTICE + "\n")
    original = unsigned_message()
    with running.client() as mta:
        assert mta.actions & mc.SMFIF_CHGBODY
        reply = mta.send_message(original)
    out = delivered_copy(original, reply)
    parsed = email.message_from_bytes(out, policy=policy.default)
    assert parsed.get_content_type() == "multipart/mixed"
    first, second = parsed.get_payload()
    assert first.get_content_type() == "text/plain" and first.get_content() == (
        NOTICE.replace("\n", "\r\n") + "\r\n"
    )
    # The original entity, unchanged: its Content-* fields and its body bytes.
    _, _, original_body = original.partition(b"\r\n\r\n")
    assert original_body in out
    assert (
        second.get_content()
        == email.message_from_bytes(original, policy=policy.default).get_content()
    )
    # Still unsigned for the verifier, with no new finding.
    trust = sigmail.TrustStore.load(official=[str(CERTS / "root-official.pem")])
    before = sigmail.Verifier(trust=trust).verify(original, at=AT)
    after = sigmail.Verifier(trust=trust).verify(out, at=AT)
    assert str(after.verdict) == str(before.verdict) == "unsigned"
    assert after.reasons == before.reasons


@pytest.mark.parametrize("make", [signed_message, tampered_message])
def test_a_signed_message_never_gets_a_notice(milter, make):
    running = milter(unsigned_notice=NOTICE)
    with running.client() as mta:
        reply = mta.send_message(make())
    assert not [c for c, _ in reply.changes if c == mc.SMFIR_REPLBODY]
    assert not [a for c, a in reply.changes if c == mc.SMFIR_CHGHEADER and a["name"] != "Subject"]


def test_without_a_notice_the_milter_does_not_ask_to_change_bodies(milter):
    running = milter()
    with running.client() as mta:
        assert not mta.actions & mc.SMFIF_CHGBODY
        reply = mta.send_message(unsigned_message())
    assert not [c for c, _ in reply.changes if c == mc.SMFIR_REPLBODY]


def test_notice_configuration():
    config = parse_config('[notice]\nunsigned = """\nThư không ký số.\n"""\n')
    assert config.unsigned_notice == "Thư không ký số.\n"
    assert parse_config("").unsigned_notice is None
