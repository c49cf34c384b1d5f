"""Other projects' signature-validation suites, run through sigmail (issue 10).

Each suite under ``tests/data/peers/<suite>/`` has a ``manifest.json``: per case the file (with
its source repository, commit, path and licence), what the peer's own test expects of it (and
the test line that says so), and what sigmail answers. The comparison is the peer's
"intact, and chains to the suite's own test root": ``valid`` on the peer's side is ``official``
on sigmail's. The roots are given explicitly as official anchors (pinned by SHA-256 in the
manifest, never an OS store), at the case's explicit validation time, with revocation checked
only when evidence is at hand (the test PKIs publish no reachable CRL or OCSP).

Every case asserts sigmail's *recorded* verdict and the reasons that decide it, so a
disagreement written down with its category keeps the test meaningful: it fails if sigmail's
behaviour changes either way. ``python tests/data/peers/record.py`` shows what changed.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from pathlib import Path

import pytest
from asn1crypto import cms, pem

from sigmail import OfflineRevocation, TrustStore, Verifier
from sigmail.cms.signed_data import decode_cms_bytes
from sigmail.problems import ASN1_ERRORS
from sigmail.verdict.model import Verdict
from sigmail.verdict.reasons import Effect, reason

ROOT = Path(__file__).resolve().parents[1]
PEERS = ROOT / "tests" / "data" / "peers"
POLICY = ROOT / "tests" / "data" / "corpus-policy.toml"
SUITES = sorted(p.parent.name for p in PEERS.glob("*/manifest.json"))
CATEGORIES = {"stricter by design", "lenient by design", "unsupported"}
# Findings that do not decide a verdict; the rest are recorded and asserted exactly.
_NOT_DECIDING = {Effect.WARNING, Effect.INFO}


def load_manifest(suite: str) -> dict:
    return json.loads((PEERS / suite / "manifest.json").read_text(encoding="utf-8"))


def _certificates_in_pdf(data: bytes) -> list[bytes]:
    """Every certificate the PDF's signatures carry (an anchor taken from a fetched file)."""
    out = []
    for found in re.finditer(rb"/Contents\s*<([0-9A-Fa-f\s]+)>", data):
        hexdigits = re.sub(rb"\s", b"", found.group(1))
        hexdigits = hexdigits[: len(hexdigits) // 2 * 2].decode()
        try:
            signed = cms.ContentInfo.load(bytes.fromhex(hexdigits))
            out += [c.chosen.dump() for c in signed["content"]["certificates"] or []]
        except ASN1_ERRORS:
            continue  # not a signature's CMS (an empty field, a timestamp placeholder)
    return out


_TIMESTAMP_ATTRIBUTES = {"1.2.840.113549.1.9.16.2.14", "1.2.840.113549.1.9.16.2.48"}


def _certificates_in_signed_data(signed: cms.SignedData) -> list[bytes]:
    found = [c.chosen.dump() for c in signed["certificates"] or [] if c.name == "certificate"]
    try:
        return found + _certificates_in_attributes(list(signed["signer_infos"]))
    except (ValueError, TypeError, KeyError):  # an attribute that does not parse: none from it
        return found


def _certificates_in_attributes(signer_infos: list) -> list[bytes]:
    found: list[bytes] = []
    for si in signer_infos:  # the signature timestamps' TSA certificates too, countersigners'
        for attr in si["unsigned_attrs"] or []:
            if attr["type"].dotted in _TIMESTAMP_ATTRIBUTES:
                for token in attr["values"]:
                    if isinstance(token, cms.ContentInfo):  # not a token that parses: none
                        found += _certificates_in_signed_data(token["content"])
            elif attr["type"].dotted == "1.2.840.113549.1.9.6":  # counter-signature
                signer_infos.extend(attr["values"])
    return found


def _certificates_in_cms(data: bytes) -> list[bytes]:
    """Every certificate a CMS SignedData file carries (DER, BER, PEM or base64), its
    signature timestamps' included."""
    signed = cms.ContentInfo.load(decode_cms_bytes(data))["content"]
    return _certificates_in_signed_data(signed)


def _anchor_der(suite_dir: Path, entry: dict) -> bytes:
    if "extract_from" in entry:
        carrier = (suite_dir / entry["extract_from"]).read_bytes()
        pdf = entry["extract_from"].endswith(".pdf")
        candidates = _certificates_in_pdf(carrier) if pdf else _certificates_in_cms(carrier)
    else:
        data = (suite_dir / entry["file"]).read_bytes()
        candidates = [pem.unarmor(data)[2] if pem.detect(data) else data]
    for der in candidates:
        if hashlib.sha256(der).hexdigest() == entry["sha256"]:
            return der
    raise AssertionError(f"anchor {entry} is not the pinned certificate")


def missing_files(suite: str, case: dict) -> list[str]:
    """The case's files a fetched suite does not have yet (python tests/data/peers/fetch.py),
    its anchors' files included."""
    anchors = load_manifest(suite)["anchors"]
    names = [case["file"], *([case["content"]] if "content" in case else [])]
    names += [anchors[a]["file"] for a in case["anchors"] if "file" in anchors.get(a, {})]
    return [n for n in names if not (PEERS / suite / n).is_file()]


def run_case(suite: str, manifest: dict, case: dict) -> Verdict:
    """sigmail's verdict on one case: the suite's roots as official anchors, at the case's time."""
    suite_dir = PEERS / suite
    anchors = [_anchor_der(suite_dir, manifest["anchors"][name]) for name in case["anchors"]]
    verifier = Verifier(
        trust=TrustStore.from_certificates(official=anchors),
        policy=POLICY,
        revocation=OfflineRevocation(),
        strict=True,
    )
    path = suite_dir / case["file"]
    # a detached signature (.p7s) is given the file it signs
    content = (suite_dir / case["content"]).read_bytes() if "content" in case else None
    at = datetime.fromisoformat(case["at"])
    return verifier.verify(path.read_bytes(), at=at, name=path.name, content=content)


def deciding_reasons(verdict: Verdict) -> list[str]:
    return sorted({c for c in verdict.reasons if reason(c).effect not in _NOT_DECIDING})


def agreement(case: dict, verdict_value: str) -> str:
    """``agree`` when sigmail accepts exactly what the peer accepts."""
    peer_accepts = case["peer"]["outcome"] == "valid"
    return "agree" if peer_accepts == (verdict_value == "official") else "disagree"


def _cases() -> list[tuple[str, dict, dict]]:
    out = []
    for suite in SUITES:
        manifest = load_manifest(suite)
        out.extend((suite, manifest, case) for case in manifest["cases"])
    return out


CASES = _cases()
DOC = ROOT / "docs" / "peer-suites.md"
DOC_BEGIN = "<!-- generated from the manifests: python tests/data/peers/record.py --docs -->"
DOC_END = "<!-- end of the generated part -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def docs_tables() -> str:
    """The figures and every disagreement, as docs/peer-suites.md shows them."""
    lines = [
        "| suite | source | commit | licence | cases | agree | disagree |",
        "|---|---|---|---|---:|---:|---:|",
    ]
    manifests = {suite: load_manifest(suite) for suite in SUITES}
    totals = [0, 0, 0]
    for suite, manifest in manifests.items():
        cases = manifest["cases"]
        source = cases[0]["source"]
        agree = sum(c["agreement"] == "agree" for c in cases)
        totals = [totals[0] + len(cases), totals[1] + agree, totals[2] + len(cases) - agree]
        lines.append(
            f"| {suite} | [{source['repo']}](https://github.com/{source['repo']}) "
            f"| `{source['commit'][:12]}` | {source['licence']} | {len(cases)} | {agree} "
            f"| {len(cases) - agree} |"
        )
    lines.append(f"| **all** | | | | **{totals[0]}** | **{totals[1]}** | **{totals[2]}** |")
    for suite, manifest in manifests.items():
        lines += ["", f"### {suite}: disagreements", ""]
        rows = [c for c in manifest["cases"] if c["agreement"] == "disagree"]
        by_category: dict[str, int] = {}
        for c in rows:
            by_category[c["category"]] = by_category.get(c["category"], 0) + 1
        summary = ", ".join(f"{n} {cat}" for cat, n in sorted(by_category.items()))
        lines.append(f"{len(rows)} of {len(manifest['cases'])} ({summary or 'none'}).")
        if not rows:
            continue
        lines += [
            "",
            "| case | the peer says | sigmail says | category | why |",
            "|---|---|---|---|---|",
        ]
        for c in rows:
            ours = c["sigmail"]["verdict"]
            if c["sigmail"]["reasons"]:
                ours += " (" + ", ".join(f"`{r}`" for r in c["sigmail"]["reasons"]) + ")"
            lines.append(
                f"| `{c['id']}` | {c['peer']['outcome']}: {_cell(c['peer']['detail'])} "
                f"(`{c['peer']['test']}`) | {ours} | {c['category']} | {_cell(c['reason'])} |"
            )
    return "\n".join([DOC_BEGIN, *lines, DOC_END])


@pytest.mark.parametrize(
    ("suite", "manifest", "case"), CASES, ids=[f"{s}:{c['id']}" for s, _m, c in CASES]
)
def test_peer_case_gets_the_recorded_verdict(suite: str, manifest: dict, case: dict):
    if missing := missing_files(suite, case):
        pytest.skip(f"{missing} not fetched: python tests/data/peers/fetch.py")
    verdict = run_case(suite, manifest, case)
    recorded = case["sigmail"]
    assert "internal_error" not in verdict.reasons, verdict.reasons
    assert (verdict.verdict.value, deciding_reasons(verdict)) == (
        recorded["verdict"],
        recorded["reasons"],
    ), f"{case['peer']['outcome']} for the peer ({case['peer']['detail']})"
    if verdict.verdict.value == "official":
        # never official on a signature that did not pass
        assert verdict.signatures
        assert all(s.status.value == "passed" for s in verdict.signatures)


@pytest.mark.parametrize("suite", SUITES)
def test_manifest_is_complete_and_its_agreement_is_what_the_verdicts_say(suite: str):
    manifest = load_manifest(suite)
    suite_dir = PEERS / suite
    ids = [c["id"] for c in manifest["cases"]]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    for case in manifest["cases"]:
        assert manifest.get("fetch") or not missing_files(suite, case), case["id"]
        if not missing_files(suite, case):
            data = (suite_dir / case["file"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == case["sha256"], case["id"]
        if "content" in case and not missing_files(suite, case):
            content = (suite_dir / case["content"]).read_bytes()
            assert hashlib.sha256(content).hexdigest() == case["content_sha256"], case["id"]
        assert set(case["source"]) >= {"repo", "commit", "path", "licence"}, case["id"]
        assert len(case["source"]["commit"]) == 40
        assert case["peer"]["outcome"] in {"valid", "invalid"}, case["id"]
        assert case["peer"]["test"] and case["peer"]["detail"], case["id"]
        datetime.fromisoformat(case["at"])  # explicit validation time, never the clock
        assert case["anchors"] and set(case["anchors"]) <= set(manifest["anchors"]), case["id"]
        assert case["agreement"] == agreement(case, case["sigmail"]["verdict"]), case["id"]
        if case["agreement"] == "disagree":
            assert case["category"] in CATEGORIES, case["id"]
            assert case["reason"].strip().endswith("."), case["id"]
        else:
            assert "category" not in case and "reason" not in case, case["id"]


def test_no_recorded_false_accept():
    # A case the peer calls broken or tampered that sigmail calls official would be the worst
    # failure a verifier can have; only "lenient by design" may record one, with its reason,
    # or a known false accept not fixed yet, marked so and said so in its reason.
    for suite, _manifest, case in CASES:
        if case["peer"]["outcome"] == "invalid" and case["sigmail"]["verdict"] == "official":
            if case.get("false_accept_to_fix"):
                assert case["reason"].startswith("FALSE ACCEPT, to fix:"), (suite, case["id"])
                continue
            assert case["category"] == "lenient by design", (suite, case["id"])


def test_every_suite_has_cases():
    assert SUITES, f"no manifests under {PEERS}"
    for suite in SUITES:
        assert load_manifest(suite)["cases"], suite


def test_docs_page_shows_the_manifests():
    page = DOC.read_text(encoding="utf-8")
    assert docs_tables() in page, "regenerate: python tests/data/peers/record.py --docs"


def test_a_dsa_signature_prints_no_python_warning():
    """cryptography 51 warns on every DSA key it loads or checks; `sigmail verify` of OpenSSL's
    DSA case printed four lines of Python beside the verdict on the clerk's terminal."""
    import subprocess
    import sys

    suite = ROOT / "tests/data/peers/openssl"
    case = next(c for c in load_manifest("openssl")["cases"] if c["id"] == "der-attached-dsa")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sigmail",
            "verify",
            "--json",
            "--offline",
            "--at",
            case["at"],
            "--trust",
            str(suite / "anchors/smroot.pem"),
            str(suite / case["file"]),
        ],
        capture_output=True,
        text=True,
    )
    assert json.loads(done.stdout)["verdict"] == case["sigmail"]["verdict"]
    assert "Warning" not in done.stderr, done.stderr
