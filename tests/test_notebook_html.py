"""Verdict._repr_html_ / SignatureReport._repr_html_: what a notebook shows, and that the input
chooses none of the markup (names in certificates and file names are attacker-controlled)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from sigmail import OfflineRevocation, TrustStore, Verifier
from sigmail.verdict.html import BADGE_COLOURS, verdict_html
from sigmail.verdict.model import (
    PolicyRef,
    RevocationState,
    RevocationStatus,
    Verdict,
    VerdictKind,
)
from sigmail.verdict.reasons import VERDICT_LABELS
from sigmail.verdict.svg import coverage_svg

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "vectors"
MANIFEST = {
    v["name"]: v for v in json.loads((VECTORS / "manifest.json").read_text("utf-8"))["vectors"]
}
AT = datetime(2026, 6, 1, tzinfo=UTC)

# What the display may contain: HTML for tables and text, and inline SVG.
ALLOWED_TAGS = {
    "div", "span", "b", "br", "code", "table", "thead", "tbody", "tr", "th", "td",
    "details", "summary", "svg", "title", "rect", "line", "text", "path",
}  # fmt: skip


def _verify_offline(name: str) -> Verdict:
    vector = MANIFEST[name]
    trust = TrustStore.load(
        official=[VECTORS / p for p in vector["trust"]["official"]],
        public=[VECTORS / p for p in vector["trust"]["public"]],
    )
    verifier = Verifier(
        trust=trust, policy=vector["policy"], revocation=OfflineRevocation(), strict=True
    )
    return verifier.verify(
        (VECTORS / vector["path"]).read_bytes(), at=AT, name=Path(vector["path"]).name
    )


class _Markup(HTMLParser):
    """Every tag and attribute of a fragment, to check what the display is made of."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)

    def handle_data(self, data):
        self.text.append(data)


def _markup(fragment: str) -> _Markup:
    parser = _Markup()
    parser.feed(fragment)
    parser.close()
    return parser


def _assert_self_contained(fragment: str) -> _Markup:
    parsed = _markup(fragment)
    assert set(parsed.tags) <= ALLOWED_TAGS, set(parsed.tags) - ALLOWED_TAGS
    for name, value in parsed.attrs:
        assert not name.startswith("on"), f"event handler attribute {name}"
        assert name not in ("src", "href"), f"external resource via {name}={value}"
        assert "url(" not in (value or ""), "a style that loads something"
        assert "javascript:" not in (value or "").lower()
    return parsed


@pytest.mark.parametrize("kind", list(VerdictKind))
def test_badge_says_the_verdict_in_both_languages_in_its_colour(kind):
    verdict = Verdict(
        verdict=kind, reasons=(), validation_time=AT, policy=PolicyRef("basic", "1", "ab" * 32)
    )
    page = verdict._repr_html_()
    vi, en = VERDICT_LABELS[kind.value]
    assert f'class="sigmail-badge" data-verdict="{kind.value}"' in page
    text = " ".join(_assert_self_contained(page).text)
    assert vi in text and en in text
    assert BADGE_COLOURS[kind.value] in page


def test_pdf_verdict_shows_signers_chain_timeline_and_coverage():
    verdict = _verify_offline("pdf-person-b-lta")
    page = verdict._repr_html_()
    parsed = _assert_self_contained(page)
    text = " ".join(parsed.text)
    sig = verdict.signatures[0]
    assert sig.signer is not None and sig.signer.common_name in text
    assert "cá nhân / person" in text  # the role
    assert page.count('class="sigmail-timeline"') == len(verdict.signatures)
    assert 'class="sigmail-coverage"' in page
    assert "proven (timestamp)" in text  # B-LTA: the signing time is proven by a timestamp
    for element in sig.chain:  # the chain, subject by subject
        assert element.certificate.subject in text
    assert f"{verdict.size:,} bytes" in text


def test_signature_report_displays_itself():
    sig = _verify_offline("pdf-person-b-lt").signatures[0]
    fragment = sig._repr_html_()
    _assert_self_contained(fragment)
    assert 'class="sigmail-signature"' in fragment and 'class="sigmail-timeline"' in fragment


def test_message_shows_its_parts_and_header_facts():
    verdict = _verify_offline("smime-vn-person-message")
    page = verdict._repr_html_()
    text = " ".join(_assert_self_contained(page).text)
    assert "MIME parts" in text and "part 1" in text
    assert verdict.subject in text and verdict.message_id in text


def test_timeline_marks_a_revocation_after_the_proven_signing_time():
    verdict = _verify_offline("pdf-person-b-lt")
    sig = verdict.signatures[0]
    revoked = datetime(2026, 3, 1, tzinfo=UTC)
    signer = dataclasses.replace(
        sig.chain[0],
        revocation=RevocationStatus(
            RevocationState.GOOD,
            "ocsp",
            "fetched",
            revoked_at=revoked,
            revocation_reason="key_compromise",
            this_update=datetime(2026, 5, 31, 23, tzinfo=UTC),
            next_update=datetime(2026, 6, 8, tzinfo=UTC),
        ),
    )
    sig = dataclasses.replace(sig, chain=(signer, *sig.chain[1:]))
    fragment = sig._repr_html_()
    _assert_self_contained(fragment)
    assert "revoked 2026-03-01 00:00:00 UTC" in fragment
    assert "revocation evidence: thisUpdate – nextUpdate" in fragment


def test_script_in_a_certificate_name_or_file_name_comes_out_escaped():
    data = _verify_offline("pdf-person-b-lt").to_dict()
    evil_cn = '<script>alert("cn")</script>'
    evil_file = '"><script>alert(1)</script><img src=x onerror=alert(2)>.pdf'
    data["name"] = evil_file
    data["subject"] = "<b onmouseover=alert(3)>Quyết định</b>"
    data["sender"] = "<svg onload=alert(4)>"
    signer = data["signatures"][0]["signer"]
    signer["common_name"] = evil_cn
    signer["subject"] = f"CN={evil_cn},O=<iframe src=//evil>"
    signer["emails"] = ["a@b<script>x</script>"]
    data["signatures"][0]["chain"][0]["certificate"]["subject"] = f"CN={evil_cn}"
    data["signatures"][0]["field"] = "<script>field</script>"
    data["findings"].append(
        {
            "code": "malformed",
            "effect": "invalid",
            "check": "C1",
            "locator": "<script>loc</script>",
            "message_vi": "<script>vi</script>",
            "message_en": "<script>en</script>",
            "basis": "<script>basis</script>",
            "detail": "</code></td><script>detail</script>",
        }
    )
    verdict = Verdict.from_dict(data)
    page = verdict._repr_html_()
    assert "<script" not in page.lower()
    assert "<img" not in page and "<iframe" not in page and "<svg onload" not in page
    assert "&lt;script&gt;alert(&quot;cn&quot;)&lt;/script&gt;" in page
    assert "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page
    parsed = _assert_self_contained(page)
    text = " ".join(parsed.text)
    assert evil_cn in text and evil_file in text  # shown as text, exactly
    sig_fragment = verdict.signatures[0]._repr_html_()
    assert "<script" not in sig_fragment.lower()
    _assert_self_contained(sig_fragment)


def test_nonsense_byte_ranges_are_clipped_not_drawn_outside():
    sig = _verify_offline("pdf-person-b-lt").signatures[0]
    odd = dataclasses.replace(sig, byte_range=(0, 10**12, -5, 3, 7))
    svg = coverage_svg([odd], 1000)
    _assert_self_contained(svg)
    assert 'width="-' not in svg and 'x="-' not in svg
    assert coverage_svg([odd], 0) == "" and coverage_svg([], 1000) == ""


def test_html_is_not_part_of_the_json():
    verdict = _verify_offline("vn-official-offline")
    assert "_repr_html_" not in verdict.to_json()
    assert Verdict.from_dict(json.loads(verdict.to_json())) == verdict
    assert verdict_html(verdict) == verdict._repr_html_()
