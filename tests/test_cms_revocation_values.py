"""CAdES revocation-values (id-aa-ets-revocationValues, ETSI EN 319 122-1 5.3.4): the CRLs and
OCSP responses a CAdES-LT/LTA signer keeps in an unsigned attribute are evidence like those of
SignedData.crls. asn1crypto has no spec for the attribute, so its value came back as a bare
``Any`` and reading it raised: every CAdES-LT and -LTA file (DSS's, the ETSI plugtests') was
``malformed`` (found by the dss-cades peer suite, docs/peer-suites.md)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from asn1crypto import cms, core, crl, ocsp

from sigmail import OfflineRevocation, TrustStore, Verifier
from sigmail.cms.signed_data import signer_revocation
from sigmail.revocation.evidence import EvidenceKind

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
MANIFEST = json.loads((VECTORS / "manifest.json").read_text("utf-8"))
REVOCATION_VALUES = "1.2.840.113549.1.9.16.2.24"


class _CRLs(core.SequenceOf):
    _child_spec = crl.CertificateList


class _BasicOCSPs(core.SequenceOf):
    _child_spec = ocsp.BasicOCSPResponse


class _RevocationValues(core.Sequence):
    # RFC 5126 6.3.4 (its module has EXPLICIT TAGS), written here apart from sigmail's own
    _fields = [  # noqa: RUF012 - asn1crypto reads the class attribute
        ("crl_vals", _CRLs, {"explicit": 0, "optional": True}),
        ("ocsp_vals", _BasicOCSPs, {"explicit": 1, "optional": True}),
    ]


def _vector(name: str) -> dict:
    return next(v for v in MANIFEST["vectors"] if v["name"] == name)


def _moved_to_revocation_values() -> bytes:
    """Vector embedded-revocation with its two CRLs and its OCSP response moved from
    SignedData.crls into the signer's revocation-values attribute (unsigned, so the signature
    still holds), encoded as a CAdES signer writes it."""
    info = cms.ContentInfo.load((VECTORS / _vector("embedded-revocation")["path"]).read_bytes())
    signed = info["content"]
    crls, basics = [], []
    for choice in signed["crls"]:
        if choice.name == "crl":
            crls.append(choice.chosen)
        else:
            response = ocsp.OCSPResponse.load(choice.chosen["other_rev_info"].dump())
            basics.append(response["response_bytes"]["response"].parsed)
    assert len(crls) == 2 and len(basics) == 1
    values = _RevocationValues({"crl_vals": crls, "ocsp_vals": basics})
    attribute = cms.CMSAttribute(
        {"type": REVOCATION_VALUES, "values": [core.Any.load(values.dump())]}
    )
    signer = signed["signer_infos"][0]
    signer["unsigned_attrs"] = cms.CMSAttributes([attribute])
    signed["crls"] = None
    return info.dump(force=False)


def test_signer_revocation_reads_the_attribute():
    data = _moved_to_revocation_values()
    signer = cms.ContentInfo.load(data)["content"]["signer_infos"][0]
    kinds = sorted(item.kind.value for item in signer_revocation(signer))
    assert kinds == sorted([EvidenceKind.CRL.value] * 2 + [EvidenceKind.OCSP.value])


def test_a_signature_with_revocation_values_is_verified_with_them():
    # Before the fix: malformed ("signer info does not parse: 'Any' object is not
    # subscriptable"). Offline, with no evidence, it would be revocation_unavailable: official
    # shows the attribute's CRLs and OCSP response are what revocation was checked with.
    vector = _vector("embedded-revocation")
    verifier = Verifier(
        trust=TrustStore.load(official=[VECTORS / p for p in vector["trust"]["official"]]),
        policy=vector["policy"],
        revocation=OfflineRevocation(),
        strict=True,
    )
    at = datetime.fromisoformat(vector["at"].replace("Z", "+00:00"))
    verdict = verifier.verify(_moved_to_revocation_values(), at=at, name="lt.p7m")
    assert (verdict.verdict.value, sorted(verdict.reasons)) == ("official", [])
