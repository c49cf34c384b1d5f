"""Evidence bundles: `sigmail verify --evidence` captures everything a verdict rests on, and
`sigmail verify --replay` decides the same verdict again offline from the bundle alone.

Online vectors fetch their CRL/OCSP evidence from the test PKI responder when the bundle is
made; the replay runs with every socket connection refused.
"""

from __future__ import annotations

import hashlib
import io
import json
import socket
import zipfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from sigmail import OfflineRevocation, OnlineRevocation, TrustStore, Verifier
from sigmail.cli import main
from sigmail.errors import EvidenceBundleError, UsageError
from sigmail.evidence import EvidenceBundle, read_bundle, replay, verify_with_evidence

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "vectors"
MANIFEST = {
    v["name"]: v for v in json.loads((VECTORS / "manifest.json").read_text("utf-8"))["vectors"]
}
TRUST = [
    "--trust",
    str(VECTORS / "pki/certs/root-official.pem"),
    "--trust-public",
    str(VECTORS / "pki/certs/root-national.pem"),
]


def _at(vector) -> datetime:
    return datetime.fromisoformat(vector["at"].replace("Z", "+00:00"))


def _verifier(vector) -> Verifier:
    trust = TrustStore.load(
        official=[VECTORS / p for p in vector["trust"]["official"]],
        public=[VECTORS / p for p in vector["trust"]["public"]],
    )
    revocation = (
        OnlineRevocation(timeout=2.0, allow_networks=["127.0.0.1/32"])
        if vector["mode"] == "online"
        else OfflineRevocation()
    )
    return Verifier(trust=trust, policy=vector["policy"], revocation=revocation, strict=True)


def _capture(name: str, **kw):
    vector = MANIFEST[name]
    data = (VECTORS / vector["path"]).read_bytes()
    content = (VECTORS / vector["content"]).read_bytes() if vector["content"] else None
    return verify_with_evidence(
        kw.pop("verifier", None) or _verifier(vector),
        data,
        at=kw.pop("at", _at(vector)),
        name=Path(vector["path"]).name,
        content=content,
        **kw,
    )


def _rezip(bundle_bytes: bytes, change) -> bytes:
    """A copy of the zip with members changed by ``change(name, data) -> data | None``."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(bundle_bytes)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = change(info.filename, src.read(info))
            if data is not None:
                dst.writestr(info.filename, data)
    return out.getvalue()


# -- the command line ----------------------------------------------------------------------


def test_cli_replay_of_an_online_verification_gives_the_identical_verdict_json(
    capsys, responder, tmp_path, monkeypatch
):
    bundle = tmp_path / "qd.evidence.zip"
    pdf = VECTORS / "pdf/pdf-person-then-agency.pdf"
    args = ["verify", "--json", *TRUST, "--at", "2026-06-01T00:00:00+07:00", "--policy", "basic"]
    args += ["--fetch-allow", "127.0.0.1/32"]  # the test PKI responder
    rc = main([*args, "--evidence", str(bundle), str(pdf)])
    original, _ = capsys.readouterr()
    assert rc == 0 and json.loads(original)["verdict"] == "official"

    # the fetched evidence is in the bundle: OCSP for each signer, the CRL for the CA
    manifest = read_bundle(bundle).manifest
    fetched = [r for r in manifest["revocation"] if r["origin"] == "fetched"]
    assert {r["kind"] for r in fetched} == {"ocsp", "crl"}
    assert all(r["url"].startswith("http://127.0.0.1:47831/") for r in fetched)

    # replay: no network at all (every connection attempt fails the test), same JSON byte
    # for byte, same exit code
    monkeypatch.setattr(socket, "create_connection", _no_network)
    monkeypatch.setattr(socket.socket, "connect", _no_network)
    rc = main(["verify", "--json", "--replay", str(bundle)])
    replayed, err = capsys.readouterr()
    assert rc == 0, err
    assert replayed == original
    assert err == ""


def _no_network(*args, **kwargs):
    raise AssertionError("network use during replay")


def test_cli_text_replay_and_usage_errors(capsys, responder, tmp_path):
    bundle = tmp_path / "b.zip"
    p7m = str(VECTORS / "cms/revoked-no-tst.p7m")
    at = ["--at", "2026-06-01T00:00:00Z", "--policy", "basic"]
    assert main(["verify", *TRUST, *at, "--evidence", str(bundle), p7m]) == 4
    first, _ = capsys.readouterr()
    assert main(["verify", "--replay", str(bundle)]) == 4
    again, _ = capsys.readouterr()
    assert again.split(":", 1)[1] == first.split(":", 1)[1]  # same text, other path
    # several files with --evidence, or trust/time options with --replay: exit 64
    assert main(["verify", *TRUST, *at, "--evidence", str(bundle), p7m, p7m]) == 64
    assert "exactly one" in capsys.readouterr().err
    assert main(["verify", "--replay", *TRUST, str(bundle)]) == 64
    assert "--trust from the bundle" in capsys.readouterr().err
    assert main(["verify", "--replay", "--at", "2027-01-01T00:00:00Z", str(bundle)]) == 64
    assert main(["verify", "--replay", p7m]) == 64
    assert "not a readable zip" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("member", "message"),
    [("input/", "input hash mismatch"), ("policy/", "policy hash mismatch")],
)
def test_cli_refuses_a_tampered_bundle_with_exit_64(capsys, tmp_path, member, message):
    bundle = tmp_path / "b.zip"
    p7m = str(VECTORS / "cms/vn-official-offline.p7m")
    args = ["verify", *TRUST, "--offline", "--at", "2026-06-01T00:00:00Z", "--policy", "vn-gov"]
    assert main([*args, "--evidence", str(bundle), p7m]) == 0
    capsys.readouterr()

    def flip(name, data):
        if name.startswith(member) and name.count("/") == 1:
            return data[:-3] + bytes([data[-3] ^ 1]) + data[-2:]
        return data

    tampered = tmp_path / "tampered.zip"
    tampered.write_bytes(_rezip(bundle.read_bytes(), flip))
    assert main(["verify", "--replay", str(tampered)]) == 64
    out, err = capsys.readouterr()
    assert out == "" and message in err and "altered" in err


# -- the library ---------------------------------------------------------------------------


def test_every_vector_replays_to_the_identical_verdict(responder):
    """All of vectors/manifest.json: captured (online ones fetch), then replayed offline. The
    capture itself gives the verdict a plain verification gives."""
    bundles = {}
    for name, vector in MANIFEST.items():
        verifier = _verifier(vector)
        data = (VECTORS / vector["path"]).read_bytes()
        content = (VECTORS / vector["content"]).read_bytes() if vector["content"] else None
        plain = verifier.verify(
            data, at=_at(vector), name=Path(vector["path"]).name, content=content
        )
        verdict, bundle = _capture(name, verifier=verifier)
        assert verdict.to_json() == plain.to_json(), name
        bundles[name] = (verdict, bundle.to_bytes())
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket, "create_connection", _no_network)
        mp.setattr(socket.socket, "connect", _no_network)
        for name, (verdict, zipped) in bundles.items():
            result = replay(zipped, strict=True)
            assert result.verdict.to_json() == verdict.to_json(), name
            assert result.identical and result.unanswered == (), name
            assert result.verdict.verdict.value == MANIFEST[name]["expect"]["verdict"], name


def test_bundle_holds_chains_tsa_chain_anchors_evidence_timestamps_policy_and_times(responder):
    verdict, bundle = _capture("revoked-after-tst", receipt_time=datetime(2026, 5, 1, tzinfo=UTC))
    m = bundle.manifest
    sig = verdict.signatures[0]
    assert m["schema"] == "sigmail.evidence/1"
    assert m["input"]["sha256"] == hashlib.sha256(bundle.data).hexdigest() == verdict.sha256
    assert m["validation_time"] == "2026-06-01T00:00:00Z"
    assert m["receipt_time"] == "2026-05-01T00:00:00Z"
    assert m["policy"] | {"path": None} == {
        "path": None,
        "name": "basic",
        "version": "1",
        "sha256": verdict.policy.sha256,
        "source": "<builtin basic>",
    }
    assert hashlib.sha256(bundle.policy_text.encode()).hexdigest() == verdict.policy.sha256
    # the signer's chain and the TSA's chain, as DER files named by their SHA-256
    purposes = {c["purpose"]: c for c in m["chains"]}
    assert purposes["signature"]["path"] == [e.certificate.sha256 for e in sig.chain]
    assert purposes["timestamp"]["path"] == [e.certificate.sha256 for e in sig.timestamp.chain]
    for chain in m["chains"]:
        for fp in chain["path"]:
            folder = "anchors" if fp == chain["anchor"] else "certificates"
            der = bundle.files[f"{folder}/{fp}.der"]
            assert hashlib.sha256(der).hexdigest().upper() == fp
    anchors = {a["sha256"]: a for a in m["trust"]["anchors"]}
    assert {a["class"] for a in anchors.values()} == {"official", "public"}
    assert anchors[sig.chain[-1].certificate.sha256]["used"] is True
    # the OCSP response that showed the later revocation, fetched, with its URL
    ocsp = [r for r in m["revocation"] if r["kind"] == "ocsp"]
    assert ocsp and ocsp[0]["origin"] == "fetched" and "/ocsp/" in ocsp[0]["url"]
    assert all(lk["at"] == "2026-02-01T00:00:00Z" for lk in m["lookups"])  # the proven time
    # the timestamp token itself
    (token,) = m["timestamps"]
    assert token["gen_time"] == "2026-02-01T00:00:00Z" and token["where"] == "signer 0"
    assert bundle.files[token["path"]][:1] == b"\x30"
    # the verdict, and nothing unlisted
    assert bundle.verdict == verdict
    assert set(m["files"]) == set(bundle.files)


def test_a_warm_chain_cache_still_gives_a_complete_bundle(responder):
    """A cache hit makes no revocation lookup; the capture must not depend on it."""
    vector = MANIFEST["person-and-agency"]
    verifier = _verifier(vector)
    data = (VECTORS / vector["path"]).read_bytes()
    verifier.verify(data, at=_at(vector))
    verifier.verify(data, at=_at(vector))
    assert verifier.chain_cache.hits > 0
    verdict, bundle = _capture("person-and-agency", verifier=verifier)
    assert verdict.verdict.value == "official"
    assert len(bundle.manifest["lookups"]) == 4  # two signers, each signer and its CA
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket, "create_connection", _no_network)
        assert replay(bundle.to_bytes()).identical


def test_failures_are_replayed_too(responder):
    """An unreachable responder is unreachable again on replay, with the same retry time."""
    verdict, bundle = _capture("unreachable-responder")
    assert verdict.retry_after is not None
    failures = [f for lk in bundle.manifest["lookups"] for f in lk["failures"]]
    assert failures and all(f["retry_after"] for f in failures)
    result = replay(bundle)
    assert result.identical and result.verdict.retry_after == verdict.retry_after


def test_detached_content_and_a_local_time_zone_round_trip(responder):
    ict = timezone(timedelta(hours=7))
    verdict, bundle = _capture(
        "person-detached", at=datetime(2026, 6, 1, 7, tzinfo=ict), content_name="document.txt"
    )
    assert bundle.manifest["content"]["path"] == "input/content/document.txt"
    assert bundle.manifest["validation_time"] == "2026-06-01T07:00:00+07:00"
    assert verdict.verdict.value == "official"
    assert replay(bundle).identical


def test_the_zip_is_deterministic(tmp_path):
    first = _capture("vn-official-offline")[1].to_bytes()
    second = _capture("vn-official-offline")[1].to_bytes()
    assert first == second
    path = _capture("vn-official-offline")[1].write(tmp_path / "b.zip")
    assert path.read_bytes() == first
    assert [p.name for p in tmp_path.iterdir()] == ["b.zip"]  # no temporary file left


def test_a_policy_file_is_bundled_and_a_changed_one_refused(tmp_path):
    source = (ROOT / "sigmail/policy/builtin/vn-gov.toml").read_text(encoding="utf-8")
    policy = tmp_path / "so-tttt.toml"
    policy.write_text(source.replace('name = "vn-gov"', 'name = "so-tttt"', 1), encoding="utf-8")
    vector = MANIFEST["vn-official-offline"]
    trust = TrustStore.load(official=[VECTORS / p for p in vector["trust"]["official"]])
    verifier = Verifier(trust=trust, policy=policy, revocation=OfflineRevocation(), strict=True)
    data = (VECTORS / vector["path"]).read_bytes()
    verdict, bundle = verify_with_evidence(verifier, data, at=_at(vector))
    assert verdict.policy.name == "so-tttt"
    assert bundle.manifest["policy"]["path"] == "policy/so-tttt.toml"
    assert replay(bundle).identical
    policy.write_text(source + "\n# edited\n", encoding="utf-8")
    with pytest.raises(UsageError, match="changed since it was loaded"):
        verify_with_evidence(verifier, data, at=_at(vector))


def _offline_bundle() -> bytes:
    return _capture("vn-official-offline")[1].to_bytes()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda n, d: d + b"x" if n.startswith("input/") else d, "input hash mismatch"),
        (lambda n, d: d + b"# x\n" if n.startswith("policy/") else d, "policy hash mismatch"),
        (lambda n, d: d + b" " if n == "verdict.json" else d, "verdict.json: hash mismatch"),
        (lambda n, d: None if n.startswith("revocation/") else d, "missing"),
        (lambda n, d: None if n == "manifest.json" else d, "no manifest.json"),
    ],
    ids=["input", "policy", "verdict", "missing-member", "no-manifest"],
)
def test_a_tampered_bundle_is_refused(change, message):
    with pytest.raises(EvidenceBundleError, match=message):
        replay(_rezip(_offline_bundle(), change))


def test_a_manifest_naming_another_policy_or_an_extra_member_is_refused():
    zipped = _offline_bundle()

    def other_policy(name, data):
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        manifest["policy"]["sha256"] = "0" * 64
        return json.dumps(manifest).encode()

    with pytest.raises(EvidenceBundleError, match="policy hash mismatch"):
        read_bundle(_rezip(zipped, other_policy))

    extra = io.BytesIO(zipped)
    with zipfile.ZipFile(extra, "a") as zf:
        zf.writestr("revocation/extra.crl", b"\x30\x00")
    with pytest.raises(EvidenceBundleError, match="not in the manifest"):
        read_bundle(extra.getvalue())
    with pytest.raises(EvidenceBundleError, match="not a readable zip"):
        read_bundle(b"PK\x03\x04 not really")


def test_bundle_member_names_never_come_from_the_input_unsanitised():
    vector = MANIFEST["vn-official-offline"]
    verdict, bundle = verify_with_evidence(
        _verifier(vector),
        (VECTORS / vector["path"]).read_bytes(),
        at=_at(vector),
        name="../../etc/<script>passwd.p7m",
    )
    assert bundle.manifest["input"]["path"] == "input/script_passwd.p7m"
    assert bundle.manifest["input"]["name"] == "../../etc/<script>passwd.p7m"
    assert replay(bundle).verdict.name == verdict.name
    assert isinstance(read_bundle(bundle.to_bytes()), EvidenceBundle)


def test_embedded_evidence_is_bundled_with_its_origin():
    """A PAdES B-LT file carries its CRLs and OCSP response (DSS): offered to the chain
    validation, so in the bundle, marked embedded."""
    verdict, bundle = _capture("pdf-person-b-lt")
    assert verdict.verdict.value == "official"
    kinds = {(r["kind"], r["origin"]) for r in bundle.manifest["revocation"]}
    assert kinds == {("crl", "embedded"), ("ocsp", "embedded")}
    signature_chain = next(c for c in bundle.manifest["chains"] if c["purpose"] == "signature")
    assert len(signature_chain["embedded_revocation"]) == 3


def test_a_manifest_that_does_not_parse_is_refused_not_a_crash():
    bundle = _capture("vn-official-offline")[1]
    broken = EvidenceBundle(
        manifest={**bundle.manifest, "lookups": [{"certificate": "x"}]}, files=bundle.files
    )
    with pytest.raises(EvidenceBundleError, match="cannot rebuild the verification"):
        replay(broken)
    broken = EvidenceBundle(
        manifest={**bundle.manifest, "limits": {"max_signatures": 0}}, files=bundle.files
    )
    with pytest.raises(EvidenceBundleError, match="max_signatures"):
        replay(broken)
