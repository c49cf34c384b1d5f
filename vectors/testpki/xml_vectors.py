"""Signed XML test documents (vectors/xml.toml → vectors/xml/*.xml), a vector family.

Plugged into :mod:`vectors.testpki.generator` (``FAMILY_MODULES``): :func:`make` writes the
documents and returns their manifest entries, shaped like the CMS ones with ``kind = "xml"``.

signxml is the signer (an independent implementation of what sigmail verifies), made
reproducible: RSA PKCS#1 v1.5 is deterministic, XAdES Ids come from a counter and
SigningTime is pinned. XAdES-T's SignatureTimeStamp is added afterwards, as a TSA client
does: an RFC 3161 token by tsa-official over the C14N 1.0 form of ds:SignatureValue. The
attacks (wrapping, comment game, entity bomb, XSLT) are edits of signed documents.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree
from signxml import SignatureConstructionMethod, XMLSigner
from signxml.xades import XAdESSigner

from .pki import TestPKI
from .revocation import ocsp_response_for_certificate
from .timestamps import timestamp_token

__all__ = ["GENERATED_DIRS", "SPEC_FILES", "make"]

SPEC_FILES = ("xml.toml",)
GENERATED_DIRS = ("xml",)
OUT_DIR = "xml"

DS = "http://www.w3.org/2000/09/xmldsig#"
XADES = "http://uri.etsi.org/01903/v1.3.2#"
C14N10 = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
XSLT = "http://www.w3.org/TR/1999/REC-xslt-19991116"

LETTER = """<VanBan xmlns="urn:sigmail:test:vanban" Id="vanban">
  <CoQuan>SỞ THÔNG TIN VÀ TRUYỀN THÔNG THÀNH PHỐ HỒ CHÍ MINH</CoQuan>
  <SoKyHieu>123/QĐ-STTTT</SoKyHieu>
  <NgayBanHanh>2026-05-20</NgayBanHanh>
  <TrichYeu>Về việc thử nghiệm xác thực chữ ký số trên văn bản điện tử</TrichYeu>
  <SoTien>1000000</SoTien>
</VanBan>"""

BOMB = (
    b'<?xml version="1.0"?>\n<!DOCTYPE VanBan [\n <!ENTITY a "aaaaaaaaaa">\n'
    + b"".join(
        f' <!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">\n'.encode() for i in range(9)
    )
    + b']>\n<VanBan xmlns="urn:sigmail:test:vanban">&j;</VanBan>\n'
)


@dataclass(frozen=True, slots=True)
class XmlVector:
    name: str
    make: str
    signer: str
    at: dt.datetime
    mode: str
    policy: str
    verdict: str
    reasons: tuple[str, ...]
    description: str
    signing_time: dt.datetime
    timestamp: dt.datetime | None
    trust: dict[str, list[str]]


def load_spec(spec_dir: Path) -> list[XmlVector]:
    raw = tomllib.loads((spec_dir / "xml.toml").read_text("utf-8"))
    defaults: dict[str, Any] = raw["defaults"]
    out = []
    for entry in raw["vector"]:
        merged = {**defaults, **entry}
        out.append(
            XmlVector(
                name=merged["name"],
                make=merged["make"],
                signer=merged.get("signer", "person-an"),
                at=merged["at"],
                mode=merged["mode"],
                policy=merged["policy"],
                verdict=merged["expect"]["verdict"],
                reasons=tuple(merged["expect"]["reasons"]),
                description=merged["description"],
                signing_time=merged["signing_time"],
                timestamp=merged.get("timestamp"),
                trust=raw["trust"],
            )
        )
    return out


class _PinnedXAdESSigner(XAdESSigner):
    """signxml's XAdES signer with Ids from a counter and a pinned SigningTime."""

    def __init__(self, signing_time: dt.datetime, **kw) -> None:
        super().__init__(**kw)
        self._pinned_time = signing_time
        self._counter = 0

    def _get_token(self, length=4):
        self._counter += 1
        return f"{self._counter:0{2 * length}X}"

    def add_signing_time(self, signed_signature_properties, sig_root, signing_settings):
        element = etree.SubElement(signed_signature_properties, f"{{{XADES}}}SigningTime")
        element.text = self._pinned_time.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _letter() -> etree._Element:
    return etree.fromstring(LETTER.encode("utf-8"))


def _sign(
    pki: TestPKI, signer: str, data, *, method, reference_uri=None, xades_time=None, c14n=C14N10
):
    cert = pki.certificates[signer]
    chain = [cert, pki.issuer_of(signer)]
    if xades_time is not None:
        tool = _PinnedXAdESSigner(xades_time, method=method, c14n_algorithm=c14n)
    else:
        tool = XMLSigner(method=method, c14n_algorithm=c14n)
    kw = {"reference_uri": reference_uri} if reference_uri else {}
    return tool.sign(data, key=pki.keys[signer], cert=chain, always_add_key_value=False, **kw)


def _bytes(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8") + b"\n"


def _find(root: etree._Element, path: str) -> etree._Element:
    found = root.find(path, namespaces={"ds": DS, "xades": XADES, "v": "urn:sigmail:test:vanban"})
    assert found is not None, path
    return found


def _add_timestamp(pki: TestPKI, signed: etree._Element, gen_time: dt.datetime) -> None:
    """XAdES-T: a SignatureTimeStamp over ds:SignatureValue (C14N 1.0) in UnsignedProperties."""
    value = _find(signed, ".//ds:SignatureValue")
    imprint = hashlib.sha256(etree.tostring(value, method="c14n")).digest()
    token = timestamp_token(
        pki.certificates["tsa-official"],
        pki.keys["tsa-official"],
        hashed_message=imprint,
        gen_time=gen_time,
    )
    qualifying = _find(signed, ".//xades:QualifyingProperties")
    unsigned = etree.SubElement(qualifying, f"{{{XADES}}}UnsignedProperties")
    usp = etree.SubElement(unsigned, f"{{{XADES}}}UnsignedSignatureProperties")
    stamp = etree.SubElement(usp, f"{{{XADES}}}SignatureTimeStamp", Id="sigmail-tst-1")
    etree.SubElement(stamp, f"{{{DS}}}CanonicalizationMethod", Algorithm=C14N10)
    encapsulated = etree.SubElement(stamp, f"{{{XADES}}}EncapsulatedTimeStamp")
    encapsulated.text = base64.b64encode(token).decode()


def _add_lt_values(pki: TestPKI, crls: dict[str, bytes], signed, vector: XmlVector) -> None:
    """XAdES-LT: CertificateValues and RevocationValues (CRLs of the CAs, OCSP of the
    signer), the material an offline verifier needs."""
    qualifying = _find(signed, ".//xades:QualifyingProperties")
    unsigned = qualifying.find(f"{{{XADES}}}UnsignedProperties")
    if unsigned is None:
        unsigned = etree.SubElement(qualifying, f"{{{XADES}}}UnsignedProperties")
        etree.SubElement(unsigned, f"{{{XADES}}}UnsignedSignatureProperties")
    usp = unsigned[0]
    values = etree.SubElement(usp, f"{{{XADES}}}CertificateValues")
    issuer = pki.spec.certificates[vector.signer].issuer
    for name in (issuer,):
        item = etree.SubElement(values, f"{{{XADES}}}EncapsulatedX509Certificate")
        item.text = base64.b64encode(pki.certificates[name].public_bytes(Encoding.DER)).decode()
    revocation = etree.SubElement(usp, f"{{{XADES}}}RevocationValues")
    crl_values = etree.SubElement(revocation, f"{{{XADES}}}CRLValues")
    for name in ("ca-official", "root-official"):
        item = etree.SubElement(crl_values, f"{{{XADES}}}EncapsulatedCRLValue")
        item.text = base64.b64encode(crls[name]).decode()
    ocsp_values = etree.SubElement(revocation, f"{{{XADES}}}OCSPValues")
    item = etree.SubElement(ocsp_values, f"{{{XADES}}}EncapsulatedOCSPValue")
    clock = dt.datetime(2026, 5, 31, tzinfo=dt.UTC)
    response = ocsp_response_for_certificate(pki, vector.signer, clock=clock)
    item.text = base64.b64encode(response).decode()


def _enveloped(pki, vector):
    return _sign(pki, vector.signer, _letter(), method=SignatureConstructionMethod.enveloped)


def _make(pki: TestPKI, crls: dict[str, bytes], vector: XmlVector, made: dict) -> bytes:
    enveloped = SignatureConstructionMethod.enveloped
    kind = vector.make
    if kind == "enveloped":
        return _bytes(_enveloped(pki, vector))
    if kind == "enveloping":
        payload = etree.fromstring(LETTER.replace(' Id="vanban"', "").encode("utf-8"))
        signed = _sign(pki, vector.signer, payload, method=SignatureConstructionMethod.enveloping)
        return _bytes(signed)
    if kind == "detached":
        # The signature beside the data it signs: <HoSo> wraps the letter and the signature,
        # which references the letter by its Id.
        wrapper = etree.Element(
            "{urn:sigmail:test:vanban}HoSo", nsmap={None: "urn:sigmail:test:vanban"}
        )
        wrapper.append(_letter())
        signed = _sign(pki, vector.signer, wrapper, method=enveloped, reference_uri="#vanban")
        return _bytes(signed)
    if kind in ("xades-b", "xades-t", "xades-lt"):
        signed = _sign(
            pki, vector.signer, _letter(), method=enveloped, xades_time=vector.signing_time
        )
        if kind in ("xades-t", "xades-lt"):
            assert vector.timestamp is not None
            _add_timestamp(pki, signed, vector.timestamp)
        if kind == "xades-lt":
            _add_lt_values(pki, crls, signed, vector)
        return _bytes(signed)
    base = etree.fromstring(made["xml-enveloped"])
    if kind == "tampered":
        _find(base, "v:SoTien").text = "9000000"
        return _bytes(base)
    if kind == "comment-game":
        amount = _find(base, "v:SoTien")
        amount.text = "1"  # a reader taking the first text node reads 1, not 1000000
        comment = etree.Comment(" sigmail ")
        comment.tail = "000000"
        amount.append(comment)
        return _bytes(base)
    if kind == "xslt-transform":
        transforms = _find(base, ".//ds:Reference/ds:Transforms")
        etree.SubElement(transforms, f"{{{DS}}}Transform", Algorithm=XSLT)
        return _bytes(base)
    by_id = etree.fromstring(made["xml-enveloped-by-id"])
    if kind == "xsw-moved":
        # XSW: the signed letter moves into the signature's ds:Object; a forged letter (no Id)
        # takes its place under a new root a reader reads.
        signature = _find(by_id, "ds:Signature")
        by_id.remove(signature)
        forged = etree.fromstring(
            LETTER.replace(' Id="vanban"', "").replace("1000000", "9000000").encode("utf-8")
        )
        # The wrapper in a namespace of its own: the letters keep their own xmlns, so the
        # moved letter canonicalises as it did when signed.
        root = etree.Element("{urn:sigmail:test:hoso}HoSo", nsmap={None: "urn:sigmail:test:hoso"})
        root.append(forged)
        root.append(signature)
        holder = etree.SubElement(signature, f"{{{DS}}}Object")
        holder.append(by_id)
        return _bytes(root)
    if kind == "xsw-duplicate-id":
        forged = etree.fromstring(LETTER.replace("1000000", "9000000").encode("utf-8"))
        root = etree.Element(
            "{urn:sigmail:test:vanban}HoSo", nsmap={None: "urn:sigmail:test:vanban"}
        )
        root.append(forged)
        root.append(by_id)
        return _bytes(root)
    if kind == "xsw-namespaced-id":
        forged = etree.fromstring(
            LETTER.replace(' Id="vanban"', ' xmlns:x="urn:x" x:Id="vanban"')
            .replace("1000000", "9000000")
            .encode("utf-8")
        )
        root = etree.Element(
            "{urn:sigmail:test:vanban}HoSo", nsmap={None: "urn:sigmail:test:vanban"}
        )
        root.append(forged)
        root.append(by_id)
        return _bytes(root)
    raise ValueError(f"xml.toml: unknown make {kind!r}")


def make(pki: TestPKI, crls: dict[str, bytes], spec_dir: Path, out_dir: Path) -> list[dict]:
    """Write vectors/xml/*.xml and return their manifest entries."""
    (out_dir / OUT_DIR).mkdir(parents=True, exist_ok=True)
    made: dict[str, bytes] = {}
    entries = []
    for vector in load_spec(spec_dir):
        if vector.make == "entity-bomb":
            data = BOMB
        elif vector.make == "enveloped-by-id":
            signed = _sign(
                pki,
                vector.signer,
                _letter(),
                method=SignatureConstructionMethod.enveloped,
                reference_uri="#vanban",
                # Exclusive C14N: the letter hashes the same wherever it is moved (what the
                # xsw-moved attack needs to keep the digest).
                c14n=EXC_C14N,
            )
            data = _bytes(signed)
        else:
            data = _make(pki, crls, vector, made)
        made[vector.name] = data
        path = f"{OUT_DIR}/{vector.name}.xml"
        (out_dir / path).write_bytes(data)
        entries.append(
            {
                "name": vector.name,
                "path": path,
                "sha256": hashlib.sha256(data).hexdigest(),
                "kind": "xml",
                "content": None,
                "content_sha256": None,
                "at": vector.at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "trust": {k: list(v) for k, v in vector.trust.items()},
                "mode": vector.mode,
                "policy": vector.policy,
                "expect": {"verdict": vector.verdict, "reasons": list(vector.reasons)},
                "description": vector.description,
                "deterministic": True,
                "made": f"{vector.make} by {vector.signer} (signxml, RSA PKCS#1 v1.5, SHA-256)",
                "signers": [vector.signer] if vector.make != "entity-bomb" else [],
                "signing_time": None,
                "timestamp_time": (
                    vector.timestamp.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                    if vector.timestamp
                    else None
                ),
            }
        )
    return entries
