"""Signed OpenDocument packages (sigmail/odf, sigmail/formats/odf.py): what the signatures cover,
every changed stream named, macro signatures apart, references that are not streams, ZIP
safety, detection by content, and a signed .ods annex in a message (C10). The vectors in
vectors/odf/ are checked against the manifest by test_vectors.py; here they are taken apart
and re-signed with the test PKI's keys (vectors/testpki/odf_vectors.py)."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from functools import cache
from pathlib import Path

import pytest
from lxml import etree

from sigmail import OfflineRevocation, OnlineRevocation, TrustStore, Verifier
from sigmail.odf.verify import stream_name
from sigmail.verdict.model import SignatureStatus, TimeSource
from vectors.testpki import odf_vectors as odf

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "vectors"
AT = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
ODS = "application/vnd.oasis.opendocument.spreadsheet"


def trust() -> TrustStore:
    return TrustStore.load(
        official=[VECTORS / "pki/certs/root-official.pem"],
        public=[VECTORS / "pki/certs/root-national.pem"],
    )


def online(policy: str = "basic") -> Verifier:
    return Verifier(
        trust=trust(),
        policy=policy,
        revocation=OnlineRevocation(clock=lambda: AT, allow_networks=["127.0.0.1/32"]),
        strict=True,
    )


def offline() -> Verifier:
    return Verifier(trust=trust(), policy="basic", revocation=OfflineRevocation(), strict=True)


@cache
def pki():
    from vectors.testpki.pki import KEYS_DIR, build_pki
    from vectors.testpki.spec import load_pki_spec

    return build_pki(load_pki_spec(VECTORS), VECTORS / KEYS_DIR, create_keys=False)


def streams_of(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {i.filename: archive.read(i) for i in archive.infolist()}


def signed(signers=("person-an", "agency-stttt"), *, package="odt", macros=False) -> dict:
    streams = odf._base(package, macros)
    times = [dt.datetime(2026, 5, 20, 3 + i, tzinfo=dt.UTC) for i in range(len(signers))]
    return odf.sign(pki(), streams, list(signers), times)


def vector(name: str) -> bytes:
    return next((VECTORS / "odf").glob(f"{name}.od?")).read_bytes()


def codes(verdict) -> list[str]:
    return [f.code for f in verdict.all_findings()]


# -- references ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "name"),
    [
        ("content.xml", "content.xml"),
        ("Pictures/a%20b.png", "Pictures/a b.png"),
        ("./content.xml", "content.xml"),
        ("META-INF/manifest.xml", "META-INF/manifest.xml"),
        ("#idSignedProperties", None),
        ("", None),
        ("/content.xml", None),
        ("../../etc/passwd", None),
        ("Pictures/../../x", None),
        ("http://example.net/x.xml", None),
        ("file:///etc/passwd", None),
        ("content.xml?x=1", None),
    ],
)
def test_a_reference_names_a_stream_only_by_a_relative_path_inside_the_package(uri, name):
    assert stream_name(uri) == name


# -- what the signatures cover ---------------------------------------------------------------


def test_person_then_agency_each_cover_every_stream(responder):
    verdict = online().verify(vector("odf-odt-person-agency"), at=AT, name="qd.odt")
    assert verdict.kind == "odf" and verdict.verdict.value == "official"
    person, agency = verdict.signatures
    assert (person.role, agency.role) == ("person", "agency")
    expected = sorted(
        n for n in streams_of(vector("odf-odt-person-agency")) if n not in ("mimetype",)
    )
    expected.remove("META-INF/documentsignatures.xml")
    for sig in (person, agency):
        assert sig.kind == "odf" and sig.status is SignatureStatus.PASSED
        assert list(sig.covers) == expected
        assert "META-INF/manifest.xml" in sig.covers
    assert person.claimed_signing_time == dt.datetime(2026, 5, 20, 3, tzinfo=dt.UTC)
    assert person.proven_signing_time is None


def test_xades_t_proves_each_signing_time_with_the_test_tsa(responder):
    verdict = online().verify(vector("odf-odt-xades-t"), at=AT, name="qd.odt")
    assert verdict.verdict.value == "official"
    for n, sig in enumerate(verdict.signatures):
        assert sig.proven_by is TimeSource.TIMESTAMP
        assert sig.proven_signing_time == dt.datetime(2026, 5, 20, 3 + n, 2, tzinfo=dt.UTC)
        assert sig.timestamp is not None and sig.timestamp.status is SignatureStatus.PASSED


@pytest.mark.parametrize(
    "stream",
    [
        "content.xml",
        "styles.xml",
        "meta.xml",
        "Thumbnails/thumbnail.png",
        "META-INF/manifest.xml",
        "Basic/Standard/Module1.xml",
    ],
)
def test_any_signed_stream_changed_is_invalid_and_named_by_every_signature(stream, responder):
    streams = signed(macros=True)
    data = streams[stream]
    streams[stream] = data[:-20] + bytes([data[-20] ^ 0x01]) + data[-19:]
    verdict = online().verify(odf.zip_streams(streams), at=AT, name="qd.odt")
    assert verdict.verdict.value == "invalid"
    for sig in verdict.signatures:
        assert sig.intact is False and sig.valid is True
        named = [f for f in sig.findings if f.code == "digest_mismatch"]
        assert named and all(stream in (f.detail or "") for f in named)


def test_every_changed_stream_is_named_not_only_the_first(responder):
    streams = signed()
    streams["content.xml"] = streams["content.xml"].replace("123/QĐ".encode(), "456/QĐ".encode())
    streams["Thumbnails/thumbnail.png"] = b"\x89PNG another picture"
    verdict = online().verify(odf.zip_streams(streams), at=AT, name="qd.odt")
    for sig in verdict.signatures:
        details = " ".join(f.detail or "" for f in sig.findings if f.code == "digest_mismatch")
        assert "content.xml" in details and "Thumbnails/thumbnail.png" in details


def test_a_stream_added_after_signing_is_named_as_not_covered(responder):
    verdict = online().verify(vector("odf-odt-added-stream"), at=AT, name="qd.odt")
    assert verdict.verdict.value == "not_official"
    (finding,) = [f for f in verdict.findings if f.code == "content_not_covered"]
    assert "Pictures/added-after-signing.png" in finding.detail
    assert all(s.status is SignatureStatus.PASSED for s in verdict.signatures)


def test_a_stream_added_and_listed_in_the_manifest_breaks_the_signed_manifest(responder):
    streams = signed()
    streams["Pictures/new.png"] = b"\x89PNG"
    streams["META-INF/manifest.xml"] = streams["META-INF/manifest.xml"].replace(
        b"</manifest:manifest>",
        b'<manifest:file-entry manifest:full-path="Pictures/new.png" '
        b'manifest:media-type="image/png"/></manifest:manifest>',
    )
    verdict = online().verify(odf.zip_streams(streams), at=AT, name="qd.odt")
    assert verdict.verdict.value == "invalid"
    assert "content_not_covered" in verdict.reasons
    assert any("META-INF/manifest.xml" in (f.detail or "") for f in verdict.all_findings())


def test_a_signature_over_only_some_streams_leaves_the_rest_uncovered(responder):
    streams = odf._base("odt", False)
    signature = odf._signature(
        pki(),
        "agency-stttt",
        streams,
        dt.datetime(2026, 5, 20, 4, tzinfo=dt.UTC),
        sig_id="ID_PART",
        names=["content.xml", "META-INF/manifest.xml"],
        stamp_at=None,
    )
    streams[odf.DOCUMENT_SIGNATURES] = odf._signature_file([signature])
    verdict = online().verify(odf.zip_streams(streams), at=AT, name="qd.odt")
    assert verdict.verdict.value == "not_official"
    (finding,) = [f for f in verdict.findings if f.code == "content_not_covered"]
    for name in ("styles.xml", "meta.xml", "Thumbnails/thumbnail.png"):
        assert name in finding.detail
    assert "content.xml" not in finding.detail.split(": ", 1)[1].split(", ")


# -- references that are not streams ---------------------------------------------------------


def _resigned_with_reference(uri: str) -> bytes:
    """A package whose agency signature also references ``uri`` (signed properly, so only
    sigmail's refusal can stop it)."""
    streams = odf._base("odt", False)
    names = sorted(n for n in streams if n != "mimetype")
    signature = odf._signature(
        pki(),
        "agency-stttt",
        streams,
        dt.datetime(2026, 5, 20, 4, tzinfo=dt.UTC),
        sig_id="ID_X",
        names=names,
        stamp_at=None,
    )
    signed_info = signature.find(f"{{{odf.DS}}}SignedInfo")
    reference = signed_info.find(f"{{{odf.DS}}}Reference")
    reference.set("URI", uri)
    streams[odf.DOCUMENT_SIGNATURES] = odf._signature_file([signature])
    return odf.zip_streams(streams)


@pytest.mark.parametrize(
    "uri",
    [
        "http://127.0.0.1:9/evil.xml",
        "file:///etc/passwd",
        "../outside.xml",
        odf.DOCUMENT_SIGNATURES,
    ],
)
def test_a_reference_outside_the_package_or_to_the_signature_file_is_never_followed(uri):
    verdict = offline().verify(_resigned_with_reference(uri), at=AT, name="qd.odt")
    assert verdict.verdict.value in ("indeterminate", "invalid")
    (sig,) = verdict.signatures
    assert sig.status is not SignatureStatus.PASSED
    assert any(f.code == "unsupported" and uri in (f.detail or "") for f in sig.findings)


# -- macro signatures ------------------------------------------------------------------------


def test_a_macro_signature_is_reported_apart_and_signs_no_document(responder):
    verdict = online().verify(vector("odf-odt-macro-only"), at=AT, name="qd.odt")
    assert verdict.verdict.value == "unsigned" and verdict.reasons == ("no_signature",)
    (macro,) = verdict.signatures
    assert macro.kind == "odf_macro" and macro.locator.startswith("macro signature 0")
    assert macro.status is SignatureStatus.PASSED and macro.role == "agency"
    assert set(macro.covers) == {
        "Basic/Standard/Module1.xml",
        "Basic/Standard/script-lb.xml",
        "Basic/script-lc.xml",
        "META-INF/manifest.xml",
    }


def test_the_document_signature_covers_the_macro_signature(responder):
    verdict = online().verify(vector("odf-odt-macros-signed"), at=AT, name="qd.odt")
    assert verdict.verdict.value == "official"
    kinds = [s.kind for s in verdict.signatures]
    assert kinds == ["odf", "odf", "odf_macro"]
    assert all("META-INF/macrosignatures.xml" in s.covers for s in verdict.signatures[:2])


def test_a_macro_signature_added_after_the_document_was_signed_is_not_covered(responder):
    streams = signed(macros=True)
    streams = odf.sign(
        pki(),
        streams,
        ["agency-stttt"],
        [dt.datetime(2026, 5, 21, tzinfo=dt.UTC)],
        file=odf.MACRO_SIGNATURES,
    )
    verdict = online().verify(odf.zip_streams(streams), at=AT, name="qd.odt")
    assert verdict.verdict.value == "not_official"
    (finding,) = [f for f in verdict.findings if f.code == "content_not_covered"]
    assert "META-INF/macrosignatures.xml" in finding.detail


def test_an_odt_annex_signed_only_in_its_macros_lacks_the_agency_signature(responder):
    verdict = online("vn-gov").verify(_message(vector("odf-odt-macro-only"), "phu-luc.odt"), at=AT)
    assert "attachment_not_agency_signed" in verdict.reasons


# -- a signed .ods annex in a message (C10) --------------------------------------------------


def _message(annex: bytes, name: str = "phu-luc.ods") -> bytes:
    from vectors.testpki.smime_vectors import signed_message

    main = (VECTORS / "pdf/pdf-person-then-agency.pdf").read_bytes()
    return signed_message(
        pki(),
        "agency-stttt",
        attachments=(("application/pdf", "quyet-dinh.pdf", main), (ODS, name, annex)),
        label="c10-ods",
    )


@pytest.mark.parametrize(
    ("annex", "agency_signed"),
    [("odf-ods-agency", True), ("odf-ods-person-agency", True), ("person-only", False)],
)
def test_an_ods_annex_answers_c10(annex, agency_signed, responder):
    if annex == "person-only":
        data = odf.zip_streams(signed(("person-an",), package="ods"))
    else:
        data = vector(annex)
    verdict = online("vn-gov").verify(_message(data), at=AT, name="thu.eml")
    assert [d.kind for d in verdict.documents] == ["pdf", "odf"]
    assert ("attachment_not_agency_signed" in verdict.reasons) is not agency_signed
    annex_verdict = verdict.documents[1]
    assert annex_verdict.name == "phu-luc.ods"
    assert any(s.role == "agency" for s in annex_verdict.signatures) is agency_signed


# -- the package -----------------------------------------------------------------------------


def _zip(entries: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(2026, 5, 20, 0, 0, 0))
            method = zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED
            archive.writestr(info, data, method)
    return buffer.getvalue()


def test_an_unsigned_odt_is_unsupported_and_named():
    streams = odf._base("odt", False)
    verdict = offline().verify(odf.zip_streams(streams), at=AT, name="qd.odt")
    assert verdict.kind == "odf" and verdict.reasons == ("unsupported",)
    assert "OpenDocument text" in verdict.findings[0].detail


def test_encrypted_streams_are_unsupported():
    streams = signed()
    streams["META-INF/manifest.xml"] = streams["META-INF/manifest.xml"].replace(
        b'manifest:full-path="content.xml" manifest:media-type="text/xml"/>',
        b'manifest:full-path="content.xml" manifest:media-type="text/xml">'
        b"<manifest:encryption-data/></manifest:file-entry>",
    )
    verdict = offline().verify(odf.zip_streams(streams), at=AT, name="qd.odt")
    assert verdict.reasons == ("unsupported",) and "encrypted" in verdict.findings[0].detail


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        (("../../etc/cron.d/evil", b"x"), "malformed"),
        (("/abs/path", b"x"), "malformed"),
        (("CONTENT.XML", b"<x/>"), "malformed"),  # the same name twice, case folded
    ],
)
def test_zip_safety_holds_for_odf_packages(extra, code):
    streams = signed()
    entries = [("mimetype", streams.pop("mimetype")), *streams.items(), extra]
    verdict = offline().verify(_zip(entries), at=AT, name="qd.odt")
    assert verdict.verdict.value == "invalid" and code in verdict.reasons


def test_a_signature_file_that_is_not_xml_is_malformed_not_a_traceback():
    streams = signed()
    streams[odf.DOCUMENT_SIGNATURES] = b"<document-signatures><unclosed>"
    verdict = offline().verify(odf.zip_streams(streams), at=AT, name="qd.odt")
    assert verdict.verdict.value == "invalid" and "malformed" in verdict.reasons


def test_a_signature_file_with_a_doctype_is_refused():
    streams = signed()
    body = streams[odf.DOCUMENT_SIGNATURES].split(b"\n", 1)[1]
    streams[odf.DOCUMENT_SIGNATURES] = (
        b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a "aaaa">]>\n' + body
    )
    verdict = offline().verify(odf.zip_streams(streams), at=AT, name="qd.odt")
    assert "malformed" in verdict.reasons and "DOCTYPE" in " ".join(
        f.detail or "" for f in verdict.all_findings()
    )


@pytest.mark.parametrize("misleading", ["qd.pdf", "qd.docx", "qd.p7m", None])
def test_content_decides_the_format_not_the_name(misleading, responder):
    verdict = online().verify(vector("odf-odt-person-agency"), at=AT, name=misleading)
    assert verdict.kind == "odf" and verdict.verdict.value == "official"


def test_a_signature_that_does_not_verify_covers_nothing(responder):
    """A forged signature naming the added stream (its SignatureValue copied from a real one)
    must not make the added stream "covered"."""
    streams = signed()
    streams["Pictures/added.png"] = b"\x89PNG added"
    names = sorted(n for n in streams if n not in ("mimetype", odf.DOCUMENT_SIGNATURES))
    forged = odf._signature(
        pki(),
        "agency-stttt",
        streams,
        dt.datetime(2026, 5, 20, 5, tzinfo=dt.UTC),
        sig_id="ID_FORGED",
        names=names,
        stamp_at=None,
    )
    real = etree.fromstring(streams[odf.DOCUMENT_SIGNATURES])
    value = f"{{{odf.DS}}}SignatureValue"
    forged.find(value).text = real[0].find(value).text
    real.append(forged)
    streams[odf.DOCUMENT_SIGNATURES] = etree.tostring(real)
    verdict = online().verify(odf.zip_streams(streams), at=AT, name="qd.odt")
    assert verdict.signatures[2].valid is False
    (finding,) = [f for f in verdict.findings if f.code == "content_not_covered"]
    assert "Pictures/added.png" in finding.detail


def test_xades_lt_verifies_offline_from_what_it_embeds():
    verdict = offline().verify(vector("odf-odt-xades-lt"), at=AT, name="qd.odt")
    assert verdict.verdict.value == "official", verdict.reasons
    for sig in verdict.signatures:
        assert sig.proven_by is TimeSource.TIMESTAMP
        leaf = sig.chain[0]
        assert leaf.revocation is not None and leaf.revocation.origin == "embedded"
    # The same signatures without their embedded evidence: nothing to judge revocation by.
    assert offline().verify(vector("odf-odt-xades-t"), at=AT).verdict.value == "indeterminate"


def test_sigmail_verify_reads_an_odt(capsys, responder):
    from sigmail.cli import main

    path = VECTORS / "odf/odf-odt-person-agency.odt"
    argv = ["verify", "--json", str(path), "--at", AT.isoformat()]
    argv += ["--trust", str(VECTORS / "pki/certs/root-official.pem")]
    argv += ["--trust-public", str(VECTORS / "pki/certs/root-national.pem")]
    code = main([*argv, "--policy", "basic", "--fetch-allow", "127.0.0.1/32"])
    verdict = json.loads(capsys.readouterr().out)
    assert code == 0 and verdict["kind"] == "odf" and verdict["verdict"] == "official"
    assert [s["kind"] for s in verdict["signatures"]] == ["odf", "odf"]
