"""The vn-gov policy, check by check (C1–C12): verdict, reason and legal basis on test-PKI
vectors, and each rule on its own."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sigmail import OfflineRevocation, OnlineRevocation, TrustStore, Verifier
from sigmail.policy.checks import (
    CHECKS,
    Case,
    c7_required_signers,
    c8_signing_order,
    c9_agency_membership,
)
from sigmail.policy.model import load_policy
from sigmail.policy.roles import MAX_UID_CHARS, _uid_prefixes, classify, fold
from sigmail.trust.certificates import parse_certificates, summarize
from sigmail.verdict.model import SignatureReport, SignatureStatus, VerdictKind
from sigmail.verdict.reasons import Effect

ROOT = Path(__file__).resolve().parent.parent
VECTORS = {
    v["name"]: v for v in json.loads((ROOT / "vectors/manifest.json").read_text("utf-8"))["vectors"]
}
VN_GOV = load_policy("vn-gov")
SHARED = ROOT.parent / "shared" / "vn-trust"


def verify_under_vn_gov(name: str):
    vector = VECTORS[name]
    vectors = ROOT / "vectors"
    at = datetime.fromisoformat(vector["at"].replace("Z", "+00:00"))
    trust = TrustStore.load(
        official=[vectors / p for p in vector["trust"].get("official", [])],
        public=[vectors / p for p in vector["trust"].get("public", [])],
    )
    revocation = (
        OnlineRevocation(clock=lambda: at, allow_networks=["127.0.0.1/32"])
        if vector["mode"] == "online"
        else OfflineRevocation()
    )
    verifier = Verifier(trust=trust, policy=VN_GOV, revocation=revocation, strict=True)
    return verifier.verify((vectors / vector["path"]).read_bytes(), at=at, name=vector["name"])


# check, vector, verdict, reason code, effect, words of the legal basis
TABLE = [
    (
        "C1",
        "no-signerinfos",
        "unsigned",
        "no_signature",
        Effect.UNSIGNED,
        "NĐ 30/2020/NĐ-CP Điều 5",
    ),
    (
        "C2",
        "tampered-econtent",
        "invalid",
        "digest_mismatch",
        Effect.INVALID,
        "NĐ 130/2018/NĐ-CP Điều 9 khoản 1",
    ),
    (
        "C3",
        "vn-unknown-root",
        "invalid",
        "untrusted_chain",
        Effect.INVALID,
        "NĐ 130/2018/NĐ-CP Điều 9 khoản 2",
    ),
    (
        "C4",
        "revoked-before-tst",
        "invalid",
        "certificate_revoked",
        Effect.INVALID,
        "NĐ 23/2025/NĐ-CP",
    ),
    (
        "C4",
        "revoked-no-tst",
        "indeterminate",
        "revoked_no_poe",
        Effect.INDETERMINATE,
        "NĐ 130/2018/NĐ-CP Điều 9 khoản 1, Điều 79",
    ),
    ("C5", "vn-rsa1024", "invalid", "weak_key", Effect.INVALID, "TT 15/2025/TT-BKHCN"),
    ("C5", "sha1-digest", "invalid", "weak_algorithm", Effect.INVALID, "TT 15/2025/TT-BKHCN"),
    (
        "C6",
        "vn-public-ca-signer",
        "not_official",
        "public_ca_signer",
        Effect.NOT_OFFICIAL,
        "Luật GDĐT 2023 Điều 22",
    ),
    (
        "C7",
        "vn-person-only",
        "not_official",
        "missing_agency_signature",
        Effect.NOT_OFFICIAL,
        "NĐ 30/2020/NĐ-CP Điều 5",
    ),
    (
        "C7",
        "vn-agency-only",
        "not_official",
        "missing_person_signature",
        Effect.NOT_OFFICIAL,
        "NĐ 30/2020/NĐ-CP Điều 5",
    ),
    (
        "C8",
        "vn-agency-then-person",
        "invalid",
        "signing_order_invalid",
        Effect.INVALID,
        "NĐ 30/2020/NĐ-CP Điều 32 khoản 2 điểm d",
    ),
    (
        "C8",
        "vn-parallel-signatures",
        "not_official",
        "signing_order_unproven",
        Effect.NOT_OFFICIAL,
        "NĐ 30/2020/NĐ-CP Điều 32 khoản 2 điểm d",
    ),
    (
        "C9",
        "vn-person-of-another-agency",
        "not_official",
        "signer_not_of_agency",
        Effect.NOT_OFFICIAL,
        "NĐ 30/2020/NĐ-CP Điều 13",
    ),
    (
        "C10",
        "smime-vn-document-with-attachment",
        "official",
        "attachment_not_agency_signed",
        Effect.WARNING,
        "NĐ 30/2020/NĐ-CP Phụ lục I",
    ),
    (
        "C11",
        "smime-from-mismatch",
        "invalid",
        "signer_mismatch",
        Effect.INVALID,
        "CT 34/2008/CT-TTg",
    ),
    (
        "C11",
        "smime-wrapped-text-before",
        "not_official",
        "partially_signed",
        Effect.NOT_OFFICIAL,
        "QĐ 41/2011/QĐ-UBND",
    ),
    (
        "C12",
        "vn-person-then-agency",
        "official",
        "evidence_incomplete",
        Effect.INFO,
        "TT 41/2017/TT-BTTTT Điều 9",
    ),
]


@pytest.mark.parametrize(
    ("check", "vector", "verdict", "code", "effect", "basis"),
    TABLE,
    ids=[f"{row[0]}-{row[1]}" for row in TABLE],
)
def test_each_check_gives_its_verdict_reason_and_basis(
    responder, check, vector, verdict, code, effect, basis
):
    result = verify_under_vn_gov(vector)
    assert result.verdict.value == verdict, result.reasons
    found = [f for f in result.all_findings() if f.code == code]
    assert found, f"{code} not among {[f.code for f in result.all_findings()]}"
    assert all(f.check == check and f.effect is effect for f in found)
    assert basis in found[0].basis
    assert found[0].message_vi and found[0].message_en
    assert result.policy.name == "vn-gov" and len(result.policy.sha256) == 64


def test_message_attachments_are_judged_as_attachments(responder):
    """The first document of a message is the main one (person + agency); later ones are its
    attachments and need the agency's signature only (NĐ 30/2020 Phụ lục I)."""
    result = verify_under_vn_gov("smime-vn-document-with-attachment")
    main_document, appendix = result.documents
    assert main_document.verdict is VerdictKind.OFFICIAL
    assert appendix.verdict is VerdictKind.NOT_OFFICIAL
    assert appendix.reasons == ("missing_agency_signature",)


def test_a_person_signed_message_is_official(responder):
    result = verify_under_vn_gov("smime-vn-person-message")
    assert result.verdict is VerdictKind.OFFICIAL, result.reasons
    assert result.signatures[0].role == "person"


def test_person_then_agency_is_official_with_roles_reported(responder):
    result = verify_under_vn_gov("vn-person-then-agency")
    assert result.verdict is VerdictKind.OFFICIAL, result.reasons
    person, agency = result.signatures
    assert (person.role, person.role_source) == ("person", "uid")
    assert (agency.role, agency.role_source) == ("agency", "uid")
    assert agency.earlier_signatures == (person.index,)


def test_timestamp_seven_hours_off_is_official_with_a_warning(responder):
    result = verify_under_vn_gov("vn-tz-quirk")
    assert result.verdict is VerdictKind.OFFICIAL
    assert "signing_time_tz_quirk" in result.reasons


def test_every_check_of_the_rule_book_is_in_the_table():
    assert [c.id for c in CHECKS] == [f"C{n}" for n in range(1, 13)]
    for check in CHECKS:
        assert (check.evaluate is None) == (check.applies_to == "verification")
        assert check.evaluate is not None or check.where


# -- roles ---------------------------------------------------------------------------------


def _summary(path: Path):
    return summarize(parse_certificates(path.read_bytes())[0])


@pytest.mark.skipif(not SHARED.exists(), reason="../shared/vn-trust is not beside the clone")
@pytest.mark.parametrize(
    ("file", "source"),
    [("chi-cuc-thue-q12-g1.der", "uid"), ("tong-cuc-thue-g2-org.der", "common_name")],
)
def test_the_real_agency_certificates_are_agencies(file, source):
    role = classify(VN_GOV, _summary(SHARED / "end-entity-samples" / file))
    assert (role.role, role.source) == ("agency", source)


@pytest.mark.parametrize(
    ("cn", "uid", "expected"),
    [
        ("Nguyễn Văn An", "CCCD:079085012345", ("person", "uid")),
        ("Nguyễn Văn An", "CMND:0123, MST:8000", ("person", "uid")),
        ("SỞ TƯ PHÁP", "MNS:1012345", ("agency", "uid")),
        ("SỞ TƯ PHÁP", None, ("agency", "common_name")),
        ("so tu phap", None, ("agency", "common_name")),
        ("Ủy ban nhân dân xã A", None, ("agency", "common_name")),
        ("UỶ BAN NHÂN DÂN HUYỆN B", None, ("agency", "common_name")),
        ("Chi cục Thuế khu vực", None, ("agency", "common_name")),
        ("Sơn Tùng", None, ("person", "default")),  # "Sơn" is not "SỞ"
        ("Bội Ngọc", None, ("person", "default")),  # folds to "boi", not "bo" (BỘ)
    ],
)
def test_role_rules_in_order(cn, uid, expected):
    base = _summary(ROOT / "vectors/pki/certs/person-an.pem")
    role = classify(VN_GOV, replace(base, common_name=cn, uid=uid))
    assert (role.role, role.source) == expected


def test_uid_prefixes_are_read_in_one_bounded_pass():
    assert _uid_prefixes("MST:0301234567, CCCD : 079085012345") == {"MST", "CCCD"}
    assert _uid_prefixes("Mã:1") == set()  # ASCII letters only, as the prefixes are
    # 40,000 letters and no colon: a regular expression tried at every position took 10 s.
    assert _uid_prefixes("a" * 70_000) == set()
    assert _uid_prefixes(" " * MAX_UID_CHARS + "CCCD:1") == set()  # read only this far


def test_the_registry_decides_first(tmp_path):
    text = (ROOT / "sigmail/policy/builtin/vn-gov.toml").read_text("utf-8")
    person = _summary(ROOT / "vectors/pki/certs/person-an.pem")
    text += (
        f'\n[[registry]]\nagency = "Văn thư Sở TT&TT"\nrole = "agency"\n'
        f'sha256 = "{person.sha256}"\n'
    )
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    role = classify(load_policy(path), person)
    assert (role.role, role.source, role.agency) == ("agency", "registry", "Văn thư Sở TT&TT")


def test_fold_ignores_diacritics_case_and_spacing():
    assert fold("  SỞ  Thông tin và Truyền thông ") == fold("so thong tin va truyen thong")
    assert fold("Đà Nẵng") == "da nang"


# -- the document rules on their own -------------------------------------------------------


def _sig(index, role, earlier=(), cert="person-an"):
    return SignatureReport(
        index=index,
        locator=f"signature {index}",
        status=SignatureStatus.PASSED,
        intact=True,
        valid=True,
        signer=_summary(ROOT / f"vectors/pki/certs/{cert}.pem"),
        role=role,
        earlier_signatures=earlier,
    )


def _case(*sigs, kind="pdf", role="document"):
    return Case(kind=kind, document_role=role, signatures=sigs, findings=())


def test_c7_attachments_need_only_the_agency():
    assert (
        c7_required_signers(
            VN_GOV, _case(_sig(0, "agency", cert="agency-stttt"), role="attachment")
        )
        == []
    )
    codes = [f.code for f in c7_required_signers(VN_GOV, _case(_sig(0, "person")))]
    assert codes == ["missing_agency_signature"]


def test_c8_order_from_containment():
    person, agency = _sig(0, "person"), _sig(1, "agency", (0,), "agency-stttt")
    assert c8_signing_order(VN_GOV, _case(person, agency)) == []
    person_late = _sig(1, "person", (0,))
    agency_first = _sig(0, "agency", cert="agency-stttt")
    assert [f.code for f in c8_signing_order(VN_GOV, _case(agency_first, person_late))] == [
        "signing_order_invalid"
    ]
    assert c8_signing_order(load_policy("basic"), _case(agency_first, person_late)) == []


def test_c9_membership_by_organisation_names():
    same = _case(_sig(0, "person"), _sig(1, "agency", (0,), "agency-stttt"))
    assert c9_agency_membership(VN_GOV, same) == []
    other = _case(
        _sig(0, "person", cert="person-other-agency"), _sig(1, "agency", (0,), "agency-stttt")
    )
    assert [f.code for f in c9_agency_membership(VN_GOV, other)] == ["signer_not_of_agency"]
    kontum = _case(
        _sig(0, "person", cert="person-other-agency"), _sig(1, "agency", (0,), "agency-stp-kontum")
    )
    assert c9_agency_membership(VN_GOV, kontum) == []


def test_basic_policy_has_no_document_rules(responder):
    vector = VECTORS["vn-agency-then-person"]
    assert vector["policy"] == "vn-gov"
    basic = Verifier(
        trust=TrustStore.load(official=[ROOT / "vectors/pki/certs/root-official.pem"]),
        policy="basic",
        revocation=OnlineRevocation(
            clock=lambda: datetime(2026, 6, 1, tzinfo=UTC), allow_networks=["127.0.0.1/32"]
        ),
        strict=True,
    )
    result = basic.verify(
        (ROOT / "vectors" / vector["path"]).read_bytes(), at=datetime(2026, 6, 1, tzinfo=UTC)
    )
    assert result.verdict is VerdictKind.OFFICIAL
    assert result.signatures[1].earlier_signatures == (0,)
