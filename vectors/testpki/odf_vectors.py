"""Signed OpenDocument packages (vectors/odf.toml → vectors/odf/*.odt, *.ods), a vector family.

Plugged into :mod:`vectors.testpki.generator` (``FAMILY_MODULES``). The packages are written
as LibreOffice writes them (ODF 1.2 Part 3 §5; LibreOffice's xmlsecurity module): ``mimetype``
first and stored, ``META-INF/manifest.xml`` listing every stream, and
``META-INF/documentsignatures.xml`` holding one ``ds:Signature`` per signer whose SignedInfo
references every stream but ``mimetype`` and the signature file itself (XML streams through
C14N 1.0, others as they are), LibreOffice's ``dc:date`` SignatureProperty and the XAdES
SignedProperties (``idSignedProperties_<signature Id>``: SigningTime, SigningCertificate with
CertDigest and IssuerSerial, SignaturePolicyImplied). XAdES-T adds a SignatureTimeStamp by the
test TSA over the C14N of ds:SignatureValue. Macro signatures (``macrosignatures.xml``) cover
the ``Basic/`` streams and the manifest. Written apart from sigmail's verifier (sigmail/odf/)
on purpose; RSA PKCS#1 v1.5 is deterministic, ZIP times are pinned: the files are reproducible.
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
from urllib.parse import quote

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from .ooxml_vectors import ZIP_TIME, _b64sha, _c14n, _sub
from .pki import TestPKI
from .revocation import ocsp_response_for_certificate
from .timestamps import timestamp_token

__all__ = ["GENERATED_DIRS", "SPEC_FILES", "make"]

SPEC_FILES = ("odf.toml",)
GENERATED_DIRS = ("odf",)
OUT_DIR = "odf"

DS = "http://www.w3.org/2000/09/xmldsig#"
XADES = "http://uri.etsi.org/01903/v1.3.2#"
DSIG_ODF = "urn:oasis:names:tc:opendocument:xmlns:digitalsignature:1.0"
MANIFEST_NS = "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"
DC = "http://purl.org/dc/elements/1.1/"
C14N = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
DOCUMENT_SIGNATURES = "META-INF/documentsignatures.xml"
MACRO_SIGNATURES = "META-INF/macrosignatures.xml"

_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_STYLE = "urn:oasis:names:tc:opendocument:xmlns:style:1.0"
_META = "urn:oasis:names:tc:opendocument:xmlns:meta:1.0"
_SCRIPT = "http://openoffice.org/2000/script"
_LIBRARY = "http://openoffice.org/2000/library"
_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'

# A 1×1 PNG: a binary stream, hashed as it is (no transform).
_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def _content(package: str) -> bytes:
    if package == "ods":
        body = (
            '<office:spreadsheet><table:table table:name="PhuLuc">'
            '<table:table-row><table:table-cell office:value-type="string">'
            "<text:p>Kinh phí</text:p></table:table-cell>"
            '<table:table-cell office:value-type="float" office:value="1000000">'
            "<text:p>1000000</text:p></table:table-cell></table:table-row>"
            "</table:table></office:spreadsheet>"
        )
    else:
        lines = (
            "SỞ THÔNG TIN VÀ TRUYỀN THÔNG",
            "Số: 123/QĐ-STTTT",
            "QUYẾT ĐỊNH về việc thử nghiệm xác thực chữ ký số",
        )
        body = "<office:text>" + "".join(f"<text:p>{t}</text:p>" for t in lines) + "</office:text>"
    return (
        f'{_DECL}<office:document-content xmlns:office="{_OFFICE}" xmlns:text="{_TEXT}" '
        f'xmlns:table="{_TABLE}" office:version="1.3"><office:body>{body}</office:body>'
        "</office:document-content>"
    ).encode()


def _base(package: str, macros: bool) -> dict[str, bytes]:
    media_type = (
        "application/vnd.oasis.opendocument.spreadsheet"
        if package == "ods"
        else "application/vnd.oasis.opendocument.text"
    )
    streams = {
        "mimetype": media_type.encode(),
        "content.xml": _content(package),
        "styles.xml": (
            f'{_DECL}<office:document-styles xmlns:office="{_OFFICE}" xmlns:style="{_STYLE}" '
            'office:version="1.3"><office:styles><style:default-style style:family="paragraph"/>'
            "</office:styles></office:document-styles>"
        ).encode(),
        "meta.xml": (
            f'{_DECL}<office:document-meta xmlns:office="{_OFFICE}" xmlns:meta="{_META}" '
            'office:version="1.3"><office:meta><meta:generator>sigmail test vectors'
            "</meta:generator></office:meta></office:document-meta>"
        ).encode(),
        "Thumbnails/thumbnail.png": _PNG,
    }
    if macros:
        streams["Basic/script-lc.xml"] = (
            f'{_DECL}<library:libraries xmlns:library="{_LIBRARY}">'
            '<library:library library:name="Standard" library:link="false"/>'
            "</library:libraries>"
        ).encode()
        streams["Basic/Standard/script-lb.xml"] = (
            f'{_DECL}<library:library xmlns:library="{_LIBRARY}" library:name="Standard" '
            'library:readonly="false" library:passwordprotected="false">'
            '<library:element library:name="Module1"/></library:library>'
        ).encode()
        streams["Basic/Standard/Module1.xml"] = (
            f'{_DECL}<script:module xmlns:script="{_SCRIPT}" script:name="Module1" '
            'script:language="StarBasic">Sub Main\n  MsgBox "Xin chào"\nEnd Sub\n'
            "</script:module>"
        ).encode()
    streams["META-INF/manifest.xml"] = _manifest(streams, media_type)
    return streams


def _manifest(streams: dict[str, bytes], media_type: str) -> bytes:
    types = {".xml": "text/xml", ".png": "image/png"}
    entries = [f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{media_type}"/>']
    for name in streams:
        if name in ("mimetype", "META-INF/manifest.xml"):
            continue
        kind = types.get(name[name.rfind(".") :], "")
        entries.append(
            f'<manifest:file-entry manifest:full-path="{name}" manifest:media-type="{kind}"/>'
        )
    return (
        f'{_DECL}<manifest:manifest xmlns:manifest="{MANIFEST_NS}" manifest:version="1.3">'
        + "".join(entries)
        + "</manifest:manifest>"
    ).encode()


def _stream_digest(name: str, data: bytes) -> tuple[bool, str]:
    """(an XML stream, the base64 SHA-256 a signature lists): XML through C14N 1.0 of the
    document, as xmlsec computes it; other streams as they are."""
    if name.endswith(".xml"):
        return True, _b64sha(etree.tostring(etree.fromstring(data), method="c14n"))
    return False, _b64sha(data)


def _signature(
    pki: TestPKI,
    signer: str,
    streams: dict[str, bytes],
    signed_at: dt.datetime,
    *,
    sig_id: str,
    names: list[str],
    stamp_at: dt.datetime | None,
    lt_crls: dict[str, bytes] | None = None,
) -> etree._Element:
    """The ds:Signature of ``signer`` over the streams ``names``, as LibreOffice writes it."""
    cert = pki.certificates[signer]
    signature = etree.Element(f"{{{DS}}}Signature", nsmap={None: DS}, Id=sig_id)
    signed_info = _sub(signature, f"{{{DS}}}SignedInfo")
    _sub(signed_info, f"{{{DS}}}CanonicalizationMethod", Algorithm=C14N)
    _sub(signed_info, f"{{{DS}}}SignatureMethod", Algorithm=RSA_SHA256)
    for name in names:
        is_xml, value = _stream_digest(name, streams[name])
        reference = _sub(signed_info, f"{{{DS}}}Reference", URI=quote(name))
        if is_xml:
            transforms = _sub(reference, f"{{{DS}}}Transforms")
            _sub(transforms, f"{{{DS}}}Transform", Algorithm=C14N)
        _sub(reference, f"{{{DS}}}DigestMethod", Algorithm=SHA256)
        _sub(reference, f"{{{DS}}}DigestValue", value)
    value_el = _sub(signature, f"{{{DS}}}SignatureValue")
    key_info = _sub(signature, f"{{{DS}}}KeyInfo")
    x509_data = _sub(key_info, f"{{{DS}}}X509Data")
    serial = _sub(x509_data, f"{{{DS}}}X509IssuerSerial")
    _sub(serial, f"{{{DS}}}X509IssuerName", cert.issuer.rfc4514_string())
    _sub(serial, f"{{{DS}}}X509SerialNumber", str(cert.serial_number))
    for c in (cert, pki.issuer_of(signer)):
        _sub(
            x509_data,
            f"{{{DS}}}X509Certificate",
            base64.b64encode(c.public_bytes(Encoding.DER)).decode(),
        )

    when = signed_at.astimezone(dt.UTC)
    date_object = _sub(signature, f"{{{DS}}}Object")
    properties = _sub(date_object, f"{{{DS}}}SignatureProperties")
    prop_id = f"{sig_id}_date"
    prop = _sub(properties, f"{{{DS}}}SignatureProperty", Id=prop_id, Target=f"#{sig_id}")
    date = etree.SubElement(prop, f"{{{DC}}}date", nsmap={"dc": DC})
    date.text = when.strftime("%Y-%m-%dT%H:%M:%S.000000000")

    xades_object = _sub(signature, f"{{{DS}}}Object")
    qualifying = etree.SubElement(
        xades_object,
        f"{{{XADES}}}QualifyingProperties",
        {"Target": f"#{sig_id}"},
        nsmap={"xd": XADES},
    )
    signed_id = f"idSignedProperties_{sig_id}"
    signed_properties = _sub(qualifying, f"{{{XADES}}}SignedProperties", Id=signed_id)
    ssp = _sub(signed_properties, f"{{{XADES}}}SignedSignatureProperties")
    _sub(ssp, f"{{{XADES}}}SigningTime", when.strftime("%Y-%m-%dT%H:%M:%SZ"))
    holder = _sub(ssp, f"{{{XADES}}}SigningCertificate")
    cert_el = _sub(holder, f"{{{XADES}}}Cert")
    digest_el = _sub(cert_el, f"{{{XADES}}}CertDigest")
    _sub(digest_el, f"{{{DS}}}DigestMethod", Algorithm=SHA256)
    _sub(digest_el, f"{{{DS}}}DigestValue", _b64sha(cert.public_bytes(Encoding.DER)))
    issuer_serial = _sub(cert_el, f"{{{XADES}}}IssuerSerial")
    _sub(issuer_serial, f"{{{DS}}}X509IssuerName", cert.issuer.rfc4514_string())
    _sub(issuer_serial, f"{{{DS}}}X509SerialNumber", str(cert.serial_number))
    policy = _sub(ssp, f"{{{XADES}}}SignaturePolicyIdentifier")
    _sub(policy, f"{{{XADES}}}SignaturePolicyImplied")

    for uri, target, rtype in (
        (f"#{prop_id}", prop, "http://www.w3.org/2000/09/xmldsig#SignatureProperties"),
        (f"#{signed_id}", signed_properties, "http://uri.etsi.org/01903#SignedProperties"),
    ):
        reference = _sub(signed_info, f"{{{DS}}}Reference", Type=rtype, URI=uri)
        if rtype.endswith("SignedProperties"):
            transforms = _sub(reference, f"{{{DS}}}Transforms")
            _sub(transforms, f"{{{DS}}}Transform", Algorithm=C14N)
        _sub(reference, f"{{{DS}}}DigestMethod", Algorithm=SHA256)
        _sub(reference, f"{{{DS}}}DigestValue", _b64sha(_c14n(target)))
    raw = pki.keys[signer].sign(_c14n(signed_info), padding.PKCS1v15(), hashes.SHA256())
    value_el.text = base64.b64encode(raw).decode()
    if stamp_at is not None:
        imprint = hashlib.sha256(_c14n(value_el)).digest()
        token = timestamp_token(
            pki.certificates["tsa-official"],
            pki.keys["tsa-official"],
            hashed_message=imprint,
            gen_time=stamp_at,
        )
        unsigned = _sub(qualifying, f"{{{XADES}}}UnsignedProperties")
        usp = _sub(unsigned, f"{{{XADES}}}UnsignedSignatureProperties")
        stamp = _sub(usp, f"{{{XADES}}}SignatureTimeStamp", Id=f"{sig_id}_tst")
        _sub(stamp, f"{{{DS}}}CanonicalizationMethod", Algorithm=C14N)
        _sub(stamp, f"{{{XADES}}}EncapsulatedTimeStamp", base64.b64encode(token).decode())
        if lt_crls is not None:
            _add_lt(pki, lt_crls, usp, signer)
    return signature


def _add_lt(pki: TestPKI, crls: dict[str, bytes], usp, signer: str) -> None:
    """XAdES-LT: the issuer in CertificateValues, the CAs' CRLs and the signer's OCSP response
    (as of 2026-05-31) in RevocationValues: what an offline verifier needs."""
    values = _sub(usp, f"{{{XADES}}}CertificateValues")
    issuer = pki.issuer_of(signer)
    _sub(
        values,
        f"{{{XADES}}}EncapsulatedX509Certificate",
        base64.b64encode(issuer.public_bytes(Encoding.DER)).decode(),
    )
    revocation = _sub(usp, f"{{{XADES}}}RevocationValues")
    crl_values = _sub(revocation, f"{{{XADES}}}CRLValues")
    for name in ("ca-official", "root-official"):
        _sub(crl_values, f"{{{XADES}}}EncapsulatedCRLValue", base64.b64encode(crls[name]).decode())
    ocsp_values = _sub(revocation, f"{{{XADES}}}OCSPValues")
    clock = dt.datetime(2026, 5, 31, tzinfo=dt.UTC)
    response = ocsp_response_for_certificate(pki, signer, clock=clock)
    _sub(ocsp_values, f"{{{XADES}}}EncapsulatedOCSPValue", base64.b64encode(response).decode())


def _signature_file(signatures: list[etree._Element]) -> bytes:
    root = etree.Element(f"{{{DSIG_ODF}}}document-signatures", nsmap={None: DSIG_ODF})
    root.extend(signatures)
    return _DECL.encode() + etree.tostring(root)


def sign(
    pki: TestPKI,
    streams: dict[str, bytes],
    signers: list[str],
    times: list[dt.datetime],
    *,
    file: str = DOCUMENT_SIGNATURES,
    stamp: bool = False,
    lt_crls: dict[str, bytes] | None = None,
) -> dict[str, bytes]:
    """``streams`` with ``file`` holding one signature per signer. Document signatures cover
    every stream but mimetype and the file; macro signatures the Basic/ streams and the
    manifest."""
    streams = dict(streams)
    if file == MACRO_SIGNATURES:
        names = [*sorted(n for n in streams if n.startswith("Basic/")), "META-INF/manifest.xml"]
    else:
        names = sorted(n for n in streams if n not in ("mimetype", DOCUMENT_SIGNATURES))
    prefix = "ID_MACRO" if file == MACRO_SIGNATURES else "ID_DOC"
    signatures = [
        _signature(
            pki,
            signer,
            streams,
            when,
            sig_id=f"{prefix}{n}",
            names=names,
            stamp_at=when + dt.timedelta(minutes=2) if stamp or lt_crls else None,
            lt_crls=lt_crls,
        )
        for n, (signer, when) in enumerate(zip(signers, times, strict=True), start=1)
    ]
    streams[file] = _signature_file(signatures)
    return streams


def zip_streams(streams: dict[str, bytes]) -> bytes:
    """The package: mimetype first and stored (ODF 1.2 Part 3 §3.3), the rest deflated."""
    buffer = io.BytesIO()
    ordered = ["mimetype", *(n for n in streams if n != "mimetype")]
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in ordered:
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED
            info.create_system = 0
            archive.writestr(info, streams[name])
    return buffer.getvalue()


def _times(n: int, start_hour: int = 3) -> list[dt.datetime]:
    return [dt.datetime(2026, 5, 20, start_hour + i, tzinfo=dt.UTC) for i in range(n)]


def _build(pki: TestPKI, crls: dict[str, bytes], vector: dict[str, Any]) -> bytes:
    make = vector["make"]
    package = vector.get("package", "odt")
    macros = vector.get("macros", False) or make == "macro-only"
    streams = _base(package, macros)
    signers = list(vector.get("signers", ["person-an", "agency-stttt"]))
    if macros:
        macro_signers = list(vector.get("macro_signers", ["agency-stttt"]))
        streams = sign(
            pki, streams, macro_signers, _times(len(macro_signers), 2), file=MACRO_SIGNATURES
        )
    if make != "macro-only":
        streams = sign(
            pki,
            streams,
            signers,
            _times(len(signers)),
            stamp=vector.get("xades_t", False),
            lt_crls=crls if vector.get("xades_lt", False) else None,
        )
    if make == "tampered":
        streams["content.xml"] = streams["content.xml"].replace(
            "123/QĐ".encode(), "456/QĐ".encode()
        )
    elif make == "added-stream":
        streams["Pictures/added-after-signing.png"] = _PNG
    elif make == "removed-stream":
        del streams["Thumbnails/thumbnail.png"]
    elif make == "removed-signature":
        root = etree.fromstring(streams[DOCUMENT_SIGNATURES])
        root.remove(root[-1])  # the agency's, the last one
        streams[DOCUMENT_SIGNATURES] = _DECL.encode() + etree.tostring(root)
    elif make == "tampered-macro":
        streams["Basic/Standard/Module1.xml"] = streams["Basic/Standard/Module1.xml"].replace(
            b"Xin ch", b'Shell("rm -rf ~") \' ch'
        )
    return zip_streams(streams)


def make(pki: TestPKI, crls: dict[str, bytes], spec_dir: Path, out_dir: Path) -> list[dict]:
    """Write vectors/odf/* and return their manifest entries."""
    raw = tomllib.loads((spec_dir / "odf.toml").read_text("utf-8"))
    defaults, trust = raw["defaults"], raw["trust"]
    (out_dir / OUT_DIR).mkdir(parents=True, exist_ok=True)
    entries = []
    for entry in raw["vector"]:
        vector = {**defaults, **entry}
        data = _build(pki, crls, vector)
        path = f"{OUT_DIR}/{vector['name']}.{vector.get('package', 'odt')}"
        (out_dir / path).write_bytes(data)
        signers = (
            []
            if vector["make"] == "macro-only"
            else vector.get("signers", ["person-an", "agency-stttt"])
        )
        entries.append(
            {
                "name": vector["name"],
                "path": path,
                "sha256": hashlib.sha256(data).hexdigest(),
                "kind": "odf",
                "content": None,
                "content_sha256": None,
                "at": vector["at"].astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "trust": {k: list(v) for k, v in trust.items()},
                "mode": vector["mode"],
                "policy": vector["policy"],
                "expect": dict(vector["expect"]),
                "description": vector["description"],
                "deterministic": True,
                "made": f"{vector['make']} (ODF 1.2 signatures as LibreOffice writes them, "
                "XAdES, RSA PKCS#1 v1.5, SHA-256)",
                "signers": list(signers),
                "signing_time": None,
                "timestamp_time": None,
            }
        )
    return entries
