"""Properties of ODF verification (hypothesis, derandomised): a byte changed in any stream of a
signed package is caught exactly when it changes what was signed — the stream's bytes, or for
an XML stream its canonical (C14N 1.0) form, which xmlsec and sigmail hash — and any bytes at
all give a verdict, never a traceback."""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from test_odf_package import AT, offline, signed

from vectors.testpki import odf_vectors as odf

ROOT = Path(__file__).resolve().parent.parent
STREAMS = sorted(n for n in signed(macros=True) if n not in ("mimetype", odf.DOCUMENT_SIGNATURES))


@cache
def package() -> dict[str, bytes]:
    return signed(macros=True)


@cache
def verifier():
    return offline()


def _signed_form(name: str, data: bytes) -> bytes | None:
    """What a signature hashes of the stream (None: an XML stream that no longer parses)."""
    if not name.endswith(".xml"):
        return data
    try:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        return etree.tostring(etree.fromstring(data, parser=parser), method="c14n")
    except etree.XMLSyntaxError:
        return None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(STREAMS),
    where=st.floats(min_value=0, max_value=1, exclude_max=True),
    flip=st.integers(min_value=1, max_value=255),
)
def test_a_changed_stream_is_caught_exactly_when_what_was_signed_changed(name, where, flip):
    streams = dict(package())
    data = streams[name]
    at = int(where * len(data))
    streams[name] = data[:at] + bytes([data[at] ^ flip]) + data[at + 1 :]
    changed = _signed_form(name, streams[name]) != _signed_form(name, data)
    verdict = verifier().verify(odf.zip_streams(streams), at=AT, name="qd.odt")
    if name == "META-INF/manifest.xml" and _signed_form(name, streams[name]) is None:
        # The package's own index no longer parses: the package is malformed, not read on.
        assert verdict.verdict.value == "invalid" and "malformed" in verdict.reasons
        return
    covering = [s for s in verdict.signatures if name in s.covers]
    assert covering  # every stream is covered by the document signatures, some by the macros'
    for sig in covering:
        broken = any(f.code == "digest_mismatch" and name in (f.detail or "") for f in sig.findings)
        assert broken is changed, (name, at, flip, sig.locator)
        assert sig.intact is (not changed)
    if changed:
        assert verdict.verdict.value == "invalid"


@settings(max_examples=80, deadline=None)
@given(st.binary(max_size=2048), st.sampled_from(["content.xml", odf.DOCUMENT_SIGNATURES]))
def test_any_bytes_in_a_stream_give_a_verdict(junk, name):
    streams = dict(package())
    streams[name] = junk
    verdict = verifier().verify(odf.zip_streams(streams), at=AT, name="qd.odt")
    assert verdict.verdict.value != "official"
    assert verdict.to_json()


def test_the_package_is_signed_at_the_times_the_generator_pins():
    verdict = verifier().verify(odf.zip_streams(package()), at=AT, name="qd.odt")
    times = [s.claimed_signing_time for s in verdict.signatures]
    assert times == [
        dt.datetime(2026, 5, 20, 3, tzinfo=dt.UTC),
        dt.datetime(2026, 5, 20, 4, tzinfo=dt.UTC),
    ]


ODF_VECTORS = sorted((ROOT / "vectors/odf").glob("*.od?"))


@pytest.mark.parametrize("path", ODF_VECTORS, ids=lambda p: p.name)
def test_every_odf_vector_keeps_the_verdict_invariants(path):
    """The invariants every verdict keeps (fuzz/invariants.py: known codes, a locator and a
    legal basis on each finding, a verdict no milder than its findings, JSON that reads
    back …), which tests/test_properties_invariants.py checks for the CMS, PDF and e-mail
    vectors only."""
    from fuzz.invariants import verdict_problems

    verdict = verifier().verify(path.read_bytes(), at=AT, name=path.name)
    assert verdict_problems(verdict) == []
