"""Writes the files sigmail cannot verify that tests/test_formats_detect.py checks: one small,
real file per kind (Office Open XML, OpenDocument, XML, ZIP, images, text), made with the
standard library and Pillow, with pinned timestamps so that a re-run gives the same bytes.

    python tests/data/formats/make_inputs.py   # rewrites the files beside this script

MANIFEST.json (also written) says, per file, the kind detection must find and a word of the
label the verdict must name.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
WHEN = (2026, 5, 20, 10, 0, 0)
TEXT = "Số: 123/QĐ-STTTT\nQuyết định về việc thử nghiệm xác thực chữ ký số.\n"


def _zip(members: list[tuple[str, bytes]], *, stored_first: bool = False) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for n, (name, data) in enumerate(members):
            info = zipfile.ZipInfo(name, date_time=WHEN)
            info.compress_type = (
                zipfile.ZIP_STORED if stored_first and n == 0 else zipfile.ZIP_DEFLATED
            )
            z.writestr(info, data)
    return out.getvalue()


def _ooxml(part: str, main: str, body: str) -> bytes:
    types = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/{part}" ContentType="{main}"/></Types>'
    )
    return _zip([("[Content_Types].xml", types.encode()), (part, body.encode())])


def _odf(media_type: str) -> bytes:
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
        ' office:version="1.3"><office:body/></office:document-content>'
    )
    return _zip(
        [("mimetype", media_type.encode()), ("content.xml", content.encode())], stored_first=True
    )


def _image(fmt: str) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (2, 2), (200, 30, 30)).save(out, format=fmt)
    return out.getvalue()


FILES = {
    "letter.docx": (
        _ooxml(
            "word/document.xml",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
            "<w:document xmlns:w='http://schemas.openxmlformats.org/wordprocessingml/2006/main'/>",
        ),
        "ooxml",
        "Word",
    ),
    "table.xlsx": (
        _ooxml(
            "xl/workbook.xml",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
            "<workbook xmlns='http://schemas.openxmlformats.org/spreadsheetml/2006/main'/>",
        ),
        "ooxml",
        "Excel",
    ),
    "slides.pptx": (
        _ooxml(
            "ppt/presentation.xml",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
            "<p:presentation xmlns:p='http://schemas.openxmlformats.org/presentationml/2006/main'/>",
        ),
        "ooxml",
        "PowerPoint",
    ),
    "letter.odt": (_odf("application/vnd.oasis.opendocument.text"), "odf", "OpenDocument text"),
    "table.ods": (
        _odf("application/vnd.oasis.opendocument.spreadsheet"),
        "odf",
        "OpenDocument spreadsheet",
    ),
    "letter.xml": (
        ('<?xml version="1.0" encoding="UTF-8"?>\n<VanBan so="123/QĐ-STTTT"/>\n').encode(),
        "xml",
        "<VanBan>",
    ),
    "archive.zip": (_zip([("document.txt", TEXT.encode())]), "zip", "ZIP"),
    "image.png": (_image("PNG"), "image", "PNG"),
    "image.jpg": (_image("JPEG"), "image", "JPEG"),
    "image.gif": (_image("GIF"), "image", "GIF"),
    "image.tiff": (_image("TIFF"), "image", "TIFF"),
    "letter.txt": (TEXT.encode(), "text", "plain text"),
}


def main() -> None:
    manifest = []
    for name, (data, kind, label) in FILES.items():
        (HERE / name).write_bytes(data)
        manifest.append({"file": name, "kind": kind, "label": label})
    (HERE / "MANIFEST.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
