"""Every fuzz finding, kept as a regression test (tests/data/fuzz/findings.json lists them:
campaign, input number, what happened, the fix). A finding whose input is small is a file
under tests/data/fuzz/ and runs through the target that found it; a large one is rebuilt here
in its minimal shape."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from fuzz import targets
from sigmail.limits import Budget, Limits
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
