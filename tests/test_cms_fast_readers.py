"""What the fast readers take from an encoding is what asn1crypto reads: a SignerInfo's
attributes (sigmail/cms/attributes.py: the same types, values parsed with the same specs,
the same failures; the message digest, content type and signing time read from their DER
forms), a SignedData's certificates (cms/signed_data.certificates_of) and the
whole SignedData (cms/plain_signed_data.py) — on every signer and SignedData of the CMS
vectors and on those encodings mutated."""

from __future__ import annotations

from pathlib import Path

import pytest
from asn1crypto import cms, core
from hypothesis import given, settings
from hypothesis import strategies as st

from sigmail.cms.attributes import (
    SignedAttributes,
    _read_raw,
    attribute_values,
    octets_of,
    oid_encoding,
    time_of,
)
from sigmail.cms.plain_signed_data import read_plain
from sigmail.cms.signed_data import (
    _certificate_der,
    _certificate_ders,
    _from_asn1crypto,
    _from_plain,
    decode_cms_bytes,
)
from sigmail.limits import Budget, LimitExceeded, Limits
from sigmail.problems import ASN1_ERRORS, MalformedInput

VECTORS = Path(__file__).resolve().parents[1] / "vectors"


def _signed_data() -> list[cms.SignedData]:
    """The SignedData of every CMS vector that holds one (some are broken on purpose)."""
    found = []
    for der in CMS_FILES:
        try:
            content = cms.ContentInfo.load(der)
            if content["content_type"].native == "signed_data":
                found.append(content["content"])
        except (*ASN1_ERRORS, KeyError, TypeError):
            continue
    return found


def _set_of(*elements: bytes) -> bytes:
    body = b"".join(elements)
    return b"\x31\x82" + len(body).to_bytes(2, "big") + body


def _each(read, signed_data: list[cms.SignedData]) -> list:
    """``read(sd)``'s items for every SignedData that reads (a vector broken on purpose
    raises somewhere in it)."""
    found = []
    for sd in signed_data:
        try:
            found.extend(read(sd))
        except (*ASN1_ERRORS, KeyError, TypeError):
            continue
    return found


CMS_FILES = [
    decode_cms_bytes(p.read_bytes())
    for p in sorted((VECTORS / "cms").glob("*.p7[ms]"))
    if p.read_bytes()[:1] in (b"0", b"-", b"M")
]
SIGNED_DATA = _signed_data()
# Each signer's signed attributes, as the SET OF that was signed.
SAMPLES = _each(
    lambda sd: [
        _set_of(si["signed_attrs"].contents)
        for si in sd["signer_infos"]
        if si["signed_attrs"].contents
    ],
    SIGNED_DATA,
)


def _view(pairs):
    """Everything a check reads: types, value counts, each value's class, encoding, meaning."""
    try:
        out = []
        for dotted, values in pairs:
            parsed = []
            for value in values:
                try:
                    native = repr(value.native)
                except ASN1_ERRORS:
                    native = "unreadable"
                parsed.append((type(value).__name__, value.dump(), native))
            out.append((dotted, len(values), parsed))
        return out
    except ASN1_ERRORS as exc:
        return ("raises", type(exc).__name__)


def _compare(der: bytes) -> bool:
    """Whether the encoding reader took ``der``; asserts it agrees with asn1crypto if so."""
    try:
        fast_attrs, slow_attrs = cms.CMSAttributes.load(der), cms.CMSAttributes.load(der)
    except ASN1_ERRORS:
        return False
    fast = _read_raw(fast_attrs)
    if fast is None:
        return False
    try:
        slow = [(a["type"].dotted, a["values"]) for a in slow_attrs]
    except ASN1_ERRORS as exc:
        slow_view = ("raises", type(exc).__name__)
    else:
        slow_view = _view(slow)
    assert _view(fast) == slow_view
    return True


def test_the_vectors_have_signed_attributes_to_compare():
    assert len(SAMPLES) >= 40


@pytest.mark.parametrize("index", range(len(SAMPLES)))
def test_every_vector_signer_reads_the_same(index):
    assert _compare(SAMPLES[index])  # every real signer takes the fast path


@given(
    st.sampled_from(SAMPLES) if SAMPLES else st.just(b"\x31\x00"),
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=4),
    st.booleans(),
)
@settings(max_examples=400, deadline=None)
def test_mutated_attributes_read_the_same_or_go_through_asn1crypto(der, flips, cut):
    data = bytearray(der)
    for position, byte in flips:
        data[2 + position % (len(data) - 2)] = byte  # the outer header kept: a SET OF
    if cut:
        data = data[: max(2, len(data) - flips[0][1])]
    _compare(bytes(data))


def test_an_indefinite_length_attribute_goes_through_asn1crypto():
    der = SAMPLES[0]
    attrs = cms.CMSAttributes.load(der)
    (first, *_rest) = attrs
    type_der, values = first["type"].dump(), first["values"].dump()
    indefinite = b"\x30\x80" + type_der + values + b"\x00\x00"
    wrapped = cms.CMSAttributes.load(b"\x31" + bytes([len(indefinite)]) + indefinite)
    assert _read_raw(wrapped) is None
    assert [d for d, _ in attribute_values(wrapped)] == [first["type"].dotted]


def test_a_repeated_single_valued_attribute_is_reported():
    attrs = cms.CMSAttributes.load(SAMPLES[0])
    first = attrs[0].dump()
    twice = first + first
    signed = SignedAttributes(cms.CMSAttributes.load(b"\x31" + bytes([len(twice)]) + twice))
    assert signed.count == 2
    assert len(list(signed.check_single_valued())) == 1
    assert signed.single(attrs[0]["type"].dotted) is None


# Each SignedData's certificates field, as a SET OF CertificateChoices.
FIELDS = _each(
    lambda sd: [_set_of(sd["certificates"].contents)] if sd["certificates"].contents else [],
    SIGNED_DATA,
)


def _compare_certificates(der: bytes) -> bool:
    try:
        fast_field, slow_field = cms.CertificateSet.load(der), cms.CertificateSet.load(der)
    except ASN1_ERRORS:
        return False
    fast = _certificate_ders(fast_field)
    if fast is None:
        return False
    try:
        slow = [_certificate_der(c) for c in slow_field if c.name == "certificate"]
    except ASN1_ERRORS as exc:
        raise AssertionError(f"the fast reader took what asn1crypto refuses: {exc}") from exc
    assert list(fast) == slow
    return True


def test_every_vector_signed_data_reads_the_same_certificates():
    assert len(FIELDS) >= 40
    assert all(_compare_certificates(der) for der in FIELDS)


@given(
    st.sampled_from(FIELDS) if FIELDS else st.just(b"\x31\x00"),
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=4),
)
@settings(max_examples=400, deadline=None)
def test_mutated_certificates_read_the_same_or_go_through_asn1crypto(der, flips):
    data = bytearray(der)
    for position, byte in flips:
        data[4 + position % (len(data) - 4)] = byte
    _compare_certificates(bytes(data))


def _outcome(parse, der: bytes, limits: Limits):
    try:
        parsed = parse(der, Budget(limits))
    except (MalformedInput, LimitExceeded, *ASN1_ERRORS) as exc:
        return ("raises", type(exc).__name__, str(exc))
    return (
        parsed.econtent_type,
        parsed.econtent,
        [c.dump() for c in parsed.certificates],
        [si.dump() for si in parsed.signer_infos],
        parsed.revocation,
        parsed.content_info.dump(),
    )


def _compare_signed_data(der: bytes, limits: Limits | None = None) -> bool:
    limits = limits or Limits()
    plain = read_plain(der)
    if plain is None:
        return False
    fast = _outcome(lambda d, b: _from_plain(d, plain, b), der, limits)
    slow = _outcome(lambda d, b: _from_asn1crypto(d, b, "document"), der, limits)
    assert fast == slow
    return True


def test_most_vector_signed_data_take_the_plain_reader_and_read_the_same():
    taken = [_compare_signed_data(der) for der in CMS_FILES]
    assert sum(taken) >= 30


def test_the_plain_reader_keeps_the_limits():
    few = Limits(max_certificates=1, max_signatures=1)
    assert sum(_compare_signed_data(der, few) for der in CMS_FILES) >= 30


@given(
    st.sampled_from(CMS_FILES) if CMS_FILES else st.just(b"\x30\x00"),
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=4),
    st.booleans(),
)
@settings(max_examples=400, deadline=None)
def test_mutated_signed_data_reads_the_same_or_goes_through_asn1crypto(der, flips, header):
    data = bytearray(der)
    for position, byte in flips:
        # Half the time in the first 80 bytes, where the structure's headers are.
        where = position % min(len(data), 80) if header else position % len(data)
        data[where] = byte
    _compare_signed_data(bytes(data))


ALGORITHMS = sorted(
    set(
        _each(
            lambda sd: [si["signature_algorithm"].dump() for si in sd["signer_infos"]], SIGNED_DATA
        )
    )
)


@pytest.mark.parametrize("encoding", [*ALGORITHMS, b"\x30\x05\x06\x03\x2a\x03\x04"])
@pytest.mark.parametrize("digest_name", ["sha256", "sha384"])
def test_the_remembered_algorithm_names_are_asn1crypto_s(encoding, digest_name):
    """cms/algorithms remembers a signature algorithm's names by its encoding: asked twice,
    the answer (or the refusal of an algorithm asn1crypto does not know) is asn1crypto's."""
    from asn1crypto import algos

    from sigmail.cms.algorithms import (
        _signature_hash_name,
        signature_algorithm_name,
        signature_hash_name,
    )

    for _ in range(2):
        algorithm = algos.SignedDigestAlgorithm.load(encoding)
        try:
            expected = algorithm.signature_algo
        except (ValueError, KeyError):
            with pytest.raises((ValueError, KeyError)):
                signature_algorithm_name(algorithm)
            continue
        assert signature_algorithm_name(algorithm) == expected
        fresh = algos.SignedDigestAlgorithm.load(encoding)
        assert signature_hash_name(algorithm, digest_name) == _signature_hash_name(
            fresh, digest_name
        )


def test_the_vectors_sign_with_several_algorithms():
    assert len(ALGORITHMS) >= 5


def _attribute(oid: str, values: bytes) -> bytes:
    from asn1crypto import core

    body = core.ObjectIdentifier(oid).dump() + values
    return b"\x30" + bytes([len(body)]) + body


_PRIMITIVE_SET = b"\x11\x00"  # a SET's tag without the constructed bit: asn1crypto refuses it


def test_an_attribute_nobody_reads_is_not_parsed():
    """An attribute of a type no check reads, whose values do not parse, stays unparsed (as
    asn1crypto's lazy parsing left it before the fast readers): fuzz input 7 of seed 21
    became malformed instead of its verdict."""
    attrs = cms.CMSAttributes.load(SAMPLES[0])
    der = _set_of(*(a.dump() for a in attrs), _attribute("1.2.3.4", _PRIMITIVE_SET))
    signed = SignedAttributes(cms.CMSAttributes.load(der))
    assert signed.count == len(attrs) + 1
    assert list(signed.check_single_valued()) == []
    assert signed.single("1.2.840.113549.1.9.3") is not None  # content type, still read
    with pytest.raises(ASN1_ERRORS):
        len(signed.items[-1][1])  # only reading its values refuses it


def test_what_is_found_before_an_attribute_that_does_not_parse_is_reported():
    """check_single_valued yields each problem as found: a repeated signing time is reported
    before a signing-certificate attribute whose values do not parse (fuzz input 5101)."""
    when = cms.Time(name="utc_time", value="260520030000Z").dump()
    time = _attribute("1.2.840.113549.1.9.5", _set_of(when, when))
    der = _set_of(time, _attribute("1.2.840.113549.1.9.16.2.47", _PRIMITIVE_SET))
    signed = SignedAttributes(cms.CMSAttributes.load(der))
    found = []
    with pytest.raises(ASN1_ERRORS):
        for problem in signed.check_single_valued():
            found.append(problem)
    assert found == [
        "the signing-time attribute occurs with 2 values; it must occur once, with one value"
    ]


def test_a_memo_key_is_the_received_encoding_even_where_dump_would_re_encode():
    """A header whose length octets end in 0x80 makes asn1crypto's dump() re-encode (and parse
    the children); the memos of cms/algorithms and cms/signer_info key by what was received."""
    from asn1crypto import core

    from sigmail.cms.ber import received_encoding

    odd = b"\x04\x82\x00\x80" + bytes(range(128))  # a non-minimal length ending in 0x80
    value = core.OctetString.load(odd)
    assert received_encoding(value) == odd
    assert value.dump() != odd  # re-encoded, minimal (and the value's header replaced)


def _asn1crypto_reads(encoding: bytes, spec):
    """What parsing ``encoding`` as a value of ``spec`` gives (as RawValues does), or the
    exception's type."""
    try:
        value = core._parse_build(encoding, spec=spec)[0]
        return value.chosen.native if isinstance(value, core.Choice) else value.native
    except (*ASN1_ERRORS, KeyError, TypeError) as exc:
        return type(exc)


_DIGITS = st.text("0123456789", min_size=12, max_size=14)
_TIMES = st.one_of(
    # the DER forms with any digits (no such month or day included), then anything close
    _DIGITS.filter(lambda d: len(d) == 12).map(lambda d: b"\x17\x0d" + d.encode() + b"Z"),
    _DIGITS.filter(lambda d: len(d) == 14).map(lambda d: b"\x18\x0f" + d.encode() + b"Z"),
    st.builds(
        lambda tag, body: bytes([tag, len(body)]) + body,
        st.sampled_from([0x17, 0x18, 0x04]),
        st.binary(max_size=17) | st.text("0123456789Z+-.\n ", max_size=17).map(str.encode),
    ),
)


@settings(max_examples=600, deadline=None)
@given(_TIMES)
def test_a_time_read_from_its_encoding_is_what_asn1crypto_reads(encoding):
    fast = time_of(encoding)
    if fast is not None:
        assert fast == _asn1crypto_reads(encoding, cms.Time)
        assert fast.utcoffset() is not None and not fast.utcoffset()


def test_a_utctime_s_century_and_the_forms_left_to_asn1crypto():
    assert time_of(b"\x17\x0d491231235959Z").year == 2049
    assert time_of(b"\x17\x0d500101000000Z").year == 1950
    assert time_of(b"\x18\x0f20260520030000Z").isoformat() == "2026-05-20T03:00:00+00:00"
    for other in (
        b"\x17\x0b2605200300Z",  # no seconds
        b"\x17\x11260520030000+0700",  # an offset
        b"\x18\x1220260520030000.5Z",  # a fraction
        b"\x17\x0d261320030000Z",  # no 13th month: asn1crypto raises
        b"\x17\x0e260520030000Z\n",  # a newline its pattern's $ lets through
    ):
        assert time_of(other) is None


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3), st.binary(max_size=130))
def test_an_octet_string_read_from_its_encoding_is_what_asn1crypto_reads(prefix, body):
    for encoding in (b"\x04" + bytes([len(body) & 0xFF]) + body, prefix + body):
        fast = octets_of(encoding)
        if fast is not None:
            assert fast == _asn1crypto_reads(encoding, core.OctetString)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 2),
    st.lists(st.integers(0, 2**70), min_size=1, max_size=8),
    st.integers(0, 39),
)
def test_an_oid_s_encoding_reads_back_as_that_oid(first, rest, second):
    dotted = ".".join(map(str, [first, second if first < 2 else rest[0], *rest[1:]]))
    assert core.ObjectIdentifier.load(oid_encoding(dotted)).dotted == dotted
