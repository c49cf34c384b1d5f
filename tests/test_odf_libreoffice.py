"""LibreOffice as the other side: the signed vectors are ODF packages LibreOffice reads, and a
package LibreOffice wrote, signed by the test PKI, verifies. Skipped when ``soffice`` is not
installed (Debian: ``apt-get install libreoffice-writer-nogui libreoffice-calc-nogui``).

What is not cross-checked, and why: LibreOffice's own signature verification through UNO
(``DocumentDigitalSignatures.verifyDocumentContentSignatures``) returned no signer for any
package headless (7.4.7, NSS database given), and its headless signing
(``signDocumentWithCertificate``) ended the office process, so there is no LibreOffice-signed
file here (docs/xml-signatures.md)."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from test_odf_package import AT, online, pki

from vectors.testpki import odf_vectors as odf

ROOT = Path(__file__).resolve().parent.parent
SOFFICE = shutil.which("soffice")
pytestmark = pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed")


def _soffice(tmp_path: Path, *args: str) -> None:
    profile = (tmp_path / "profile").as_uri()
    subprocess.run(
        [SOFFICE, "--headless", "--norestore", f"-env:UserInstallation={profile}", *args],
        cwd=tmp_path,
        capture_output=True,
        timeout=180,
        check=True,
    )


def test_libreoffice_reads_the_signed_vectors_as_written(tmp_path):
    odt = ROOT / "vectors/odf/odf-odt-xades-t.odt"
    ods = ROOT / "vectors/odf/odf-ods-person-agency.ods"
    _soffice(tmp_path, "--convert-to", "txt:Text", "--outdir", str(tmp_path), str(odt))
    _soffice(tmp_path, "--convert-to", "csv", "--outdir", str(tmp_path), str(ods))
    text = (tmp_path / "odf-odt-xades-t.txt").read_text("utf-8-sig")
    assert "Số: 123/QĐ-STTTT" in text
    assert "1000000" in (tmp_path / "odf-ods-person-agency.csv").read_bytes().decode("latin-1")


def test_a_package_libreoffice_wrote_verifies_once_signed(tmp_path, responder):
    """LibreOffice's own .odt (settings.xml, manifest.rdf, Configurations2/ folders …),
    signed by person-an and the agency as LibreOffice signs: official; one byte of its
    settings changed afterwards: invalid, settings.xml named."""
    (tmp_path / "letter.txt").write_text("Số: 123/QĐ-STTTT\nQUYẾT ĐỊNH\n", "utf-8")
    _soffice(tmp_path, "--convert-to", "odt", "--outdir", str(tmp_path), "letter.txt")
    with zipfile.ZipFile(io.BytesIO((tmp_path / "letter.odt").read_bytes())) as archive:
        streams = {i.filename: archive.read(i) for i in archive.infolist() if not i.is_dir()}
    assert {"settings.xml", "manifest.rdf", "META-INF/manifest.xml"} <= set(streams)
    times = [dt.datetime(2026, 5, 20, 3 + i, tzinfo=dt.UTC) for i in range(2)]
    signed = odf.sign(pki(), streams, ["person-an", "agency-stttt"], times)
    verdict = online().verify(odf.zip_streams(signed), at=AT, name="letter.odt")
    assert verdict.kind == "odf" and verdict.verdict.value == "official", verdict.reasons
    assert "settings.xml" in verdict.signatures[0].covers
    signed["settings.xml"] = signed["settings.xml"].replace(b"true", b"false", 1)
    verdict = online().verify(odf.zip_streams(signed), at=AT, name="letter.odt")
    assert verdict.verdict.value == "invalid"
    assert any("settings.xml" in (f.detail or "") for f in verdict.all_findings())
