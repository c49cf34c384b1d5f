"""The clerk's page over HTTP (a real uvicorn server): languages, labels, the verdict summary,
and every string from the request or the document escaped. The browser tests are in
tests/test_serve_browser.py."""

from __future__ import annotations

import html
import re

import httpx
import pytest
from serve_support import (
    EVIL_CN,
    EVIL_FILE_NAME,
    EVIL_ORG,
    TRUST,
    VECTORS,
    ServeProcess,
    common_name,
    pdf_signed_by_html_name,
)

from sigmail.verdict.reasons import VERDICT_ACTIONS, VERDICT_LABELS

AT = "2026-06-01T00:00:00Z"


@pytest.fixture(scope="module")
def server(tmp_path_factory, responder):
    s = ServeProcess(tmp_path_factory.mktemp("page"), *TRUST, "--policy", "basic", "--workers", "1")
    yield s
    s.terminate()


def _post(server, path, data=None, **files):
    return httpx.post(server.url + path, files=files, data=data or {}, timeout=60)


@pytest.mark.parametrize(
    ("query", "lang", "submit"), [("", "vi", "Kiểm tra"), ("?lang=en", "en", "Verify")]
)
def test_the_page_speaks_vietnamese_by_default_and_english_on_request(server, query, lang, submit):
    page = httpx.get(server.url + "/" + query).text
    assert f'<html lang="{lang}">' in page
    assert f'<button type="submit" id="submit">{submit}</button>' in page
    # every form control has a label that names it
    for control in re.findall(r'<input type="(?:file|text)" id="([a-z]+)"', page):
        assert f'<label for="{control}">' in page, control
    assert re.findall(r'<input type="file" id="(\w+)"', page) == ["file", "content"]


def test_the_page_needs_nothing_from_elsewhere(server):
    page = httpx.get(server.url + "/").text
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets and all(a.startswith(("/static/", "/?lang=")) for a in assets), assets
    for asset in ("/static/app.css", "/static/app.js", "/static/icon.svg"):
        answer = httpx.get(server.url + asset)
        assert answer.status_code == 200
        assert not re.search(
            r"https?://|@import|url\(", answer.text.replace("http://www.w3.org/2000/svg", "")
        )
    assert (
        httpx.get(server.url + "/static/app.js")
        .headers["content-type"]
        .startswith(("text/javascript", "application/javascript"))
    )


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_an_official_pdf_shows_badge_action_and_signers(server, lang):
    pdf = VECTORS / "pdf/pdf-agency-then-person.pdf"
    page = _post(
        server, f"/?lang={lang}", {"at": AT, "lang": lang}, file=(pdf.name, pdf.read_bytes())
    ).text
    index = 0 if lang == "vi" else 1
    assert 'id="verdict" data-verdict="official"' in page
    assert html.escape(VERDICT_LABELS["official"][index]) in page
    assert html.escape(VERDICT_ACTIONS["official"][index]) in page
    names = re.findall(r'<td class="signer-name">([^<]*)</td>', page)
    assert names == [html.escape(common_name(n)) for n in ("agency-stttt", "person-an")]
    assert 'class="sigmail-verdict"' in page  # the notebook display below the summary
    assert "<svg" in page  # its timeline and byte-range coverage


def test_a_tampered_pdf_shows_the_finding_and_its_basis(server):
    pdf = VECTORS / "pdf/pdf-tampered-byte.pdf"
    page = _post(server, "/", {"at": AT}, file=(pdf.name, pdf.read_bytes())).text
    assert 'data-verdict="invalid"' in page
    assert "<code>digest_mismatch</code>" in page
    assert "NĐ 30/2020/NĐ-CP" in page


def test_html_in_the_file_name_and_the_signer_name_is_escaped(server):
    page = _post(server, "/", {"at": AT}, file=(EVIL_FILE_NAME, pdf_signed_by_html_name())).text
    assert "<img src=x" not in page and "<script>alert" not in page
    assert "onerror=alert(1)&gt;" in page
    assert '<td id="file-name">' not in page  # (the name sits in a dd)
    assert f'<dd id="file-name">{html.escape(EVIL_FILE_NAME)}</dd>' in page
    assert f'<td class="signer-name">{html.escape(EVIL_CN)}</td>' in page
    assert html.escape(EVIL_ORG) in page


def test_a_request_the_page_cannot_use_is_shown_as_an_alert(server):
    answer = _post(server, "/?lang=en", {"at": "not a time", "lang": "en"}, file=("a.pdf", b"%PDF"))
    assert answer.status_code == 400
    assert 'role="alert"' in answer.text and "not an ISO 8601 time" in answer.text
    assert '<html lang="en">' in answer.text
