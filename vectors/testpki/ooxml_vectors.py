"""Signed Office packages (vectors/ooxml.toml → vectors/ooxml/*.docx, *.xlsx), a vector family.

Plugged into :mod:`vectors.testpki.generator` (``FAMILY_MODULES``). The packages are written
with fixed ZIP timestamps and signed as Office signs (ECMA-376 Part 2 §13): a signature
origin part, one ``_xmlsignatures/sigN.xml`` per signer, each an XMLDSig whose SignedInfo
covers the package object (a ds:Manifest of every part, Relationships parts through the
relationship transform) and the XAdES SignedProperties (SigningTime, SigningCertificateV2).
The relationship transform here is written apart from sigmail's (sigmail/ooxml/) on purpose,
from the standard's text. RSA PKCS#1 v1.5 is deterministic, so the files are reproducible.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import tomllib
import zipfile
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from .pki import TestPKI

__all__ = ["GENERATED_DIRS", "SPEC_FILES", "make"]

SPEC_FILES = ("ooxml.toml",)
GENERATED_DIRS = ("ooxml",)
OUT_DIR = "ooxml"

DS = "http://www.w3.org/2000/09/xmldsig#"
XADES = "http://uri.etsi.org/01903/v1.3.2#"
MDSSI = "http://schemas.openxmlformats.org/package/2006/digital-signature"
RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
C14N = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
REL_TRANSFORM = "http://schemas.openxmlformats.org/package/2006/RelationshipTransform"
XSLT = "http://www.w3.org/TR/1999/REC-xslt-19991116"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SIG_REL = "http://schemas.openxmlformats.org/package/2006/relationships/digital-signature/"
OFFICE_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
ZIP_TIME = (2026, 5, 20, 10, 0, 0)

_WORD_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml"
_XL_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def _rels(entries: list[tuple[str, str, str]]) -> bytes:
    items = "".join(f'<Relationship Id="{i}" Type="{t}" Target="{g}"/>' for i, t, g in entries)
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
        f'<Relationships xmlns="{RELS}">{items}</Relationships>'
    ).encode()


def _content_types(overrides: dict[str, str]) -> bytes:
    items = "".join(f'<Override PartName="{p}" ContentType="{t}"/>' for p, t in overrides.items())
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Default Extension="sigs" '
        'ContentType="application/vnd.openxmlformats-package.digital-signature-origin"/>'
        f"{items}</Types>"
    ).encode()


APP_TYPE = "application/vnd.openxmlformats-officedocument.extended-properties+xml"
APP = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
    b'<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
    b"<Application>sigmail test vectors</Application></Properties>"
)


def _docx(padding_bytes: int = 0) -> dict[str, bytes]:
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    lines = [
        "SỞ THÔNG TIN VÀ TRUYỀN THÔNG",
        "Số: 123/QĐ-STTTT",
        "QUYẾT ĐỊNH về việc thử nghiệm xác thực chữ ký số",
    ]
    if padding_bytes:
        # Filler paragraphs of varied text (a real letter compresses ~4:1, not 1000:1).
        seed, filler, size = b"sigmail", [], 0
        while size < padding_bytes:
            seed = hashlib.sha256(seed).digest()
            text = base64.b64encode(seed * 3).decode()
            filler.append(text)
            size += len(text) + 40
        lines += filler
    body = "".join(f"<w:p><w:r><w:t>{t}</w:t></w:r></w:p>" for t in lines)
    document = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
        f'<w:document xmlns:w="{w}"><w:body>{body}</w:body></w:document>'
    ).encode()
    styles = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
        f'<w:styles xmlns:w="{w}"><w:style w:type="paragraph" w:styleId="Normal">'
        '<w:name w:val="Normal"/></w:style></w:styles>'
    ).encode()
    return {
        "[Content_Types].xml": _content_types(
            {
                "/word/document.xml": f"{_WORD_TYPE}.document.main+xml",
                "/word/styles.xml": f"{_WORD_TYPE}.styles+xml",
                "/docProps/app.xml": APP_TYPE,
            }
        ),
        "_rels/.rels": _rels(
            [
                ("rId1", OFFICE_REL + "officeDocument", "word/document.xml"),
                ("rId2", OFFICE_REL + "extended-properties", "docProps/app.xml"),
            ]
        ),
        "word/document.xml": document,
        "word/_rels/document.xml.rels": _rels([("rId1", OFFICE_REL + "styles", "styles.xml")]),
        "word/styles.xml": styles,
        "docProps/app.xml": APP,
    }


def _xlsx() -> dict[str, bytes]:
    s = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    r = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    workbook = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
        f'<workbook xmlns="{s}" xmlns:r="{r}"><sheets>'
        '<sheet name="PhuLuc" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ).encode()
    sheet = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
        f'<worksheet xmlns="{s}"><sheetData>'
        '<row r="1"><c r="A1" t="inlineStr"><is><t>Kinh phí</t></is></c>'
        '<c r="B1"><v>1000000</v></c></row></sheetData></worksheet>'
    ).encode()
    return {
        "[Content_Types].xml": _content_types(
            {
                "/xl/workbook.xml": f"{_XL_TYPE}.sheet.main+xml",
                "/xl/worksheets/sheet1.xml": f"{_XL_TYPE}.worksheet+xml",
                "/docProps/app.xml": APP_TYPE,
            }
        ),
        "_rels/.rels": _rels(
            [
                ("rId1", OFFICE_REL + "officeDocument", "xl/workbook.xml"),
                ("rId2", OFFICE_REL + "extended-properties", "docProps/app.xml"),
            ]
        ),
        "xl/workbook.xml": workbook,
        "xl/_rels/workbook.xml.rels": _rels(
            [("rId1", OFFICE_REL + "worksheet", "worksheets/sheet1.xml")]
        ),
        "xl/worksheets/sheet1.xml": sheet,
        "docProps/app.xml": APP,
    }


def _content_type(parts: dict[str, bytes], name: str) -> str:
    root = etree.fromstring(parts["[Content_Types].xml"])
    ns = "{http://schemas.openxmlformats.org/package/2006/content-types}"
    for override in root.iter(f"{ns}Override"):
        if override.get("PartName").lower() == "/" + name.lower():
            return override.get("ContentType")
    extension = name.rsplit(".", 1)[-1].lower()
    for default in root.iter(f"{ns}Default"):
        if default.get("Extension").lower() == extension:
            return default.get("ContentType")
    raise KeyError(name)


def _rels_transform(data: bytes) -> tuple[bytes, list[str]]:
    """ECMA-376-2 §13.2.4.24 with every relationship but the signature origin selected,
    then C14N; returns the octets and the selected Ids."""
    root = etree.fromstring(data)
    chosen = sorted(
        (e for e in root if e.get("Type") != SIG_REL + "origin"), key=lambda e: e.get("Id")
    )
    out = etree.Element(f"{{{RELS}}}Relationships", nsmap={None: RELS})
    for element in chosen:
        item = etree.SubElement(out, f"{{{RELS}}}Relationship", dict(element.attrib))
        if item.get("TargetMode") is None:
            item.set("TargetMode", "Internal")
    return etree.tostring(out, method="c14n"), [e.get("Id") for e in chosen]


def _c14n(element) -> bytes:
    """C14N of ``element`` in its context: a copy parsed on its own (libxml2's C14N of a
    sub-element writes a wrong xmlns="" where the default namespace is declared above)."""
    return etree.tostring(etree.fromstring(etree.tostring(element, with_tail=False)), method="c14n")


def _b64sha(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def _sub(parent, tag, text=None, **attrib):
    element = etree.SubElement(parent, tag, attrib)
    if text is not None:
        element.text = text
    return element


def signature_part(
    pki: TestPKI,
    signer: str,
    parts: dict[str, bytes],
    signed_at: dt.datetime,
    *,
    sig_id: str,
    xslt: bool = False,
) -> bytes:
    """The XMLDSig of ``signer`` over ``parts`` (every part but the signature parts)."""
    cert = pki.certificates[signer]
    chain = [cert, pki.issuer_of(signer)]
    nsmap = {None: DS}
    signature = etree.Element(f"{{{DS}}}Signature", nsmap=nsmap, Id=sig_id)
    signed_info = _sub(signature, f"{{{DS}}}SignedInfo")
    _sub(signed_info, f"{{{DS}}}CanonicalizationMethod", Algorithm=C14N)
    _sub(signed_info, f"{{{DS}}}SignatureMethod", Algorithm=RSA_SHA256)
    value = _sub(signature, f"{{{DS}}}SignatureValue")
    key_info = _sub(signature, f"{{{DS}}}KeyInfo")
    x509_data = _sub(key_info, f"{{{DS}}}X509Data")
    for c in chain:
        _sub(
            x509_data,
            f"{{{DS}}}X509Certificate",
            base64.b64encode(c.public_bytes(Encoding.DER)).decode(),
        )

    package_object = _sub(signature, f"{{{DS}}}Object", Id="idPackageObject")
    manifest = _sub(package_object, f"{{{DS}}}Manifest")
    for name in sorted(parts):
        if name.startswith("_xmlsignatures/") or name == "[Content_Types].xml":
            continue
        reference = _sub(
            manifest, f"{{{DS}}}Reference", URI=f"/{name}?ContentType={_content_type(parts, name)}"
        )
        data = parts[name]
        if name.endswith(".rels"):
            transforms = _sub(reference, f"{{{DS}}}Transforms")
            transform = _sub(transforms, f"{{{DS}}}Transform", Algorithm=REL_TRANSFORM)
            data, ids = _rels_transform(data)
            for rid in ids:
                item = etree.SubElement(
                    transform, f"{{{MDSSI}}}RelationshipReference", nsmap={"mdssi": MDSSI}
                )
                item.set("SourceId", rid)
            _sub(transforms, f"{{{DS}}}Transform", Algorithm=C14N)
        elif xslt and name.endswith("document.xml"):
            transforms = _sub(reference, f"{{{DS}}}Transforms")
            _sub(transforms, f"{{{DS}}}Transform", Algorithm=XSLT)
        _sub(reference, f"{{{DS}}}DigestMethod", Algorithm=SHA256)
        _sub(reference, f"{{{DS}}}DigestValue", _b64sha(data))
    properties = _sub(package_object, f"{{{DS}}}SignatureProperties")
    prop = _sub(properties, f"{{{DS}}}SignatureProperty", Id="idSignatureTime", Target=f"#{sig_id}")
    when = signed_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    time_el = etree.SubElement(prop, f"{{{MDSSI}}}SignatureTime", nsmap={"mdssi": MDSSI})
    _sub(time_el, f"{{{MDSSI}}}Format", "YYYY-MM-DDThh:mm:ssTZD")
    _sub(time_el, f"{{{MDSSI}}}Value", when)

    xades_object = _sub(signature, f"{{{DS}}}Object")
    qualifying = etree.SubElement(
        xades_object,
        f"{{{XADES}}}QualifyingProperties",
        {"Target": f"#{sig_id}"},
        nsmap={"xd": XADES},
    )
    signed_properties = _sub(qualifying, f"{{{XADES}}}SignedProperties", Id="idSignedProperties")
    ssp = _sub(signed_properties, f"{{{XADES}}}SignedSignatureProperties")
    _sub(ssp, f"{{{XADES}}}SigningTime", when)
    v2 = _sub(ssp, f"{{{XADES}}}SigningCertificateV2")
    cert_el = _sub(v2, f"{{{XADES}}}Cert")
    cert_digest = _sub(cert_el, f"{{{XADES}}}CertDigest")
    _sub(cert_digest, f"{{{DS}}}DigestMethod", Algorithm=SHA256)
    _sub(cert_digest, f"{{{DS}}}DigestValue", _b64sha(cert.public_bytes(Encoding.DER)))

    for uri, target, rtype in (
        ("#idPackageObject", package_object, DS + "Object"),
        ("#idSignedProperties", signed_properties, "http://uri.etsi.org/01903#SignedProperties"),
    ):
        reference = _sub(signed_info, f"{{{DS}}}Reference", Type=rtype, URI=uri)
        transforms = _sub(reference, f"{{{DS}}}Transforms")
        _sub(transforms, f"{{{DS}}}Transform", Algorithm=C14N)
        _sub(reference, f"{{{DS}}}DigestMethod", Algorithm=SHA256)
        _sub(reference, f"{{{DS}}}DigestValue", _b64sha(_c14n(target)))
    canonical = _c14n(signed_info)
    raw = pki.keys[signer].sign(canonical, padding.PKCS1v15(), hashes.SHA256())
    value.text = base64.b64encode(raw).decode()
    return b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n' + etree.tostring(
        signature
    )


def add_signatures(pki, parts: dict[str, bytes], signers, times, *, xslt=False) -> dict[str, bytes]:
    """``parts`` with the signature origin and one signature part per signer."""
    parts = dict(parts)
    package_rels = etree.fromstring(parts["_rels/.rels"])
    if not any(e.get("Type") == SIG_REL + "origin" for e in package_rels):
        item = etree.SubElement(package_rels, f"{{{RELS}}}Relationship")
        item.attrib.update(
            dict(Id="rIdSig", Type=SIG_REL + "origin", Target="_xmlsignatures/origin.sigs")
        )
        parts["_rels/.rels"] = etree.tostring(
            package_rels, xml_declaration=True, encoding="UTF-8", standalone=True
        )
        parts["_xmlsignatures/origin.sigs"] = b""
    types = etree.fromstring(parts["[Content_Types].xml"])
    entries = []
    for n, (signer, when) in enumerate(zip(signers, times, strict=True), start=1):
        name = f"_xmlsignatures/sig{n}.xml"
        sig_type = "application/vnd.openxmlformats-package.digital-signature-xmlsignature+xml"
        override = etree.SubElement(
            types, "{http://schemas.openxmlformats.org/package/2006/content-types}Override"
        )
        override.attrib.update(dict(PartName=f"/{name}", ContentType=sig_type))
        parts["[Content_Types].xml"] = etree.tostring(
            types, xml_declaration=True, encoding="UTF-8", standalone=True
        )
        parts[name] = signature_part(
            pki, signer, parts, when, sig_id=f"idPackageSignature{n}", xslt=xslt
        )
        entries.append((f"rId{n}", SIG_REL + "signature", f"sig{n}.xml"))
    parts["_xmlsignatures/_rels/origin.sigs.rels"] = _rels(entries)
    return parts


def zip_parts(parts: dict[str, bytes], *, stored: tuple[str, ...] = ()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in parts.items():
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_STORED if name in stored else zipfile.ZIP_DEFLATED
            info.create_system = 0
            archive.writestr(info, data)
    return buffer.getvalue()


def _bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        parts = _docx()
        for name, data in parts.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=ZIP_TIME), data, zipfile.ZIP_DEFLATED)
        info = zipfile.ZipInfo("word/media/zeros.bin", date_time=ZIP_TIME)
        archive.writestr(info, b"\x00" * (48 * 1024 * 1024), zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def _traversal() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in _docx().items():
            archive.writestr(zipfile.ZipInfo(name, date_time=ZIP_TIME), data, zipfile.ZIP_DEFLATED)
        archive.writestr(zipfile.ZipInfo("../../etc/cron.d/evil", date_time=ZIP_TIME), b"x")
    return buffer.getvalue()


def _build(pki, vector: dict[str, Any]) -> bytes:
    make = vector["make"]
    if make == "zip-bomb":
        return _bomb()
    if make == "zip-traversal":
        return _traversal()
    base = _xlsx() if vector.get("package") == "xlsx" else _docx(vector.get("filler", 0))
    signers = vector.get("signers", ["person-an", "agency-stttt"])
    times = [
        dt.datetime(2026, 5, 20, 3, tzinfo=dt.UTC) + dt.timedelta(hours=i)
        for i in range(len(signers))
    ]
    parts = add_signatures(pki, base, signers, times, xslt=make == "xslt")
    if make == "tampered":
        parts["word/document.xml"] = parts["word/document.xml"].replace(
            "123/QĐ".encode(), "456/QĐ".encode()
        )
    elif make == "added-part":
        parts["word/_rels/document.xml.rels"] = parts["word/_rels/document.xml.rels"].replace(
            b"</Relationships>",
            f'<Relationship Id="rId9" Type="{OFFICE_REL}customXml" '
            'Target="../customXml/item1.xml"/></Relationships>'.encode(),
        )
        parts["customXml/item1.xml"] = b'<?xml version="1.0"?><PhuLuc>added after signing</PhuLuc>'
    elif make == "retargeted-relationship":
        parts["word/_rels/document.xml.rels"] = parts["word/_rels/document.xml.rels"].replace(
            b'Target="styles.xml"', b'Target="styles2.xml"'
        )
        parts["word/styles2.xml"] = parts["word/styles.xml"]
    elif make == "removed-signature":
        del parts["_xmlsignatures/sig2.xml"]
    return zip_parts(parts)


def make(pki: TestPKI, crls: dict[str, bytes], spec_dir: Path, out_dir: Path) -> list[dict]:
    """Write vectors/ooxml/* and return their manifest entries."""
    raw = tomllib.loads((spec_dir / "ooxml.toml").read_text("utf-8"))
    defaults, trust = raw["defaults"], raw["trust"]
    (out_dir / OUT_DIR).mkdir(parents=True, exist_ok=True)
    entries = []
    for entry in raw["vector"]:
        vector = {**defaults, **entry}
        data = _build(pki, vector)
        suffix = ".xlsx" if vector.get("package") == "xlsx" else ".docx"
        path = f"{OUT_DIR}/{vector['name']}{suffix}"
        (out_dir / path).write_bytes(data)
        entries.append(
            {
                "name": vector["name"],
                "path": path,
                "sha256": hashlib.sha256(data).hexdigest(),
                "kind": "ooxml",
                "content": None,
                "content_sha256": None,
                "at": vector["at"].astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "trust": {k: list(v) for k, v in trust.items()},
                "mode": vector["mode"],
                "policy": vector["policy"],
                "expect": dict(vector["expect"]),
                "description": vector["description"],
                "deterministic": True,
                "made": f"{vector['make']} (ECMA-376-2 signatures, RSA PKCS#1 v1.5, SHA-256)",
                "signers": list(vector.get("signers", ["person-an", "agency-stttt"])),
                "signing_time": None,
                "timestamp_time": None,
            }
        )
    return entries
