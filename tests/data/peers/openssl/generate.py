"""Re-enact OpenSSL's CMS signing tests and write the files they verify.

    python tests/data/peers/openssl/generate.py

OpenSSL's ``test/recipes/80-test_cms.t`` signs most of its files at test time: ``openssl cms
-sign`` with the keys and certificates of ``test/smime-certs`` (copied unchanged to ``base/``)
over ``test/smcont.txt``, then ``openssl cms -verify -CAfile smroot.pem``, and the test says
whether the verification must pass. This script runs the same ``openssl cms`` commands (the
system's ``openssl`` binary, with the test's options) and writes each result to ``files/``.
Before a file is kept, the test's own verification command is run on it; a result other than
the test's expectation stops the run (the re-enactment would be wrong), and what it gave is
kept in the manifest as ``confirmed``.

The signatures carry the time they are made (signingTime) and DSA, ECDSA and RSA-PSS are
randomised, so a rerun writes new bytes: rerun it only to change the cases. It updates, for
the cases it makes, ``sha256``, ``at`` (five minutes after signing) and ``peer.confirmed`` in
``manifest.json`` and adds a case it does not find there; then ``record.py --write`` records
sigmail's side.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
BASE = HERE / "base"
FILES = HERE / "files"
REPO, COMMIT = "sgallagher/openssl-1", "9a2f78e14a67eeaadefc77d05f0778fc9684d26c"
TEST = "test/recipes/80-test_cms.t"
CONTENT = "base/smcont.txt"  # test/smcont.txt

RSA1, RSA2, DSA1, DSA2 = "smrsa1.pem", "smrsa2.pem", "smdsa1.pem", "smdsa2.pem"
FOUR = ["-signer", RSA1, "-signer", RSA2, "-signer", DSA1, "-signer", DSA2]


@dataclass(frozen=True)
class Case:
    id: str
    line: int  # of the test's name in 80-test_cms.t
    name: str  # the test's name
    sign: list[str]  # openssl cms -sign ... (file names are base/'s)
    form: str  # the output's form: DER, PEM or SMIME
    detached: bool = False  # verified with -content smcont.txt
    resign: list[str] = field(default_factory=list)  # a second step, cms -resign ...
    verify: list[str] = field(default_factory=list)  # options of the test's -verify
    valid: bool = True  # what the test expects of the verification
    detail: str = ""
    bare: bool = False  # also the S/MIME message's CMS as DER (<id>-bare.cms), with its content


CASES = [
    Case("der-attached-rsa", 73, "signed content DER format, RSA key",
         ["-nodetach", "-certfile", "smroot.pem", "-signer", RSA1], "DER",
         detail="RSA-2048, SHA-256, content attached, the root carried too"),
    Case("der-detached-rsa", 81, "signed detached content DER format, RSA key",
         ["-signer", RSA1], "DER", detached=True, detail="RSA-2048, SHA-256, detached"),
    Case("ber-streaming-rsa", 90, "signed content test streaming BER format, RSA",
         ["-nodetach", "-stream", "-signer", RSA1], "DER",
         detail="RSA-2048, indefinite-length BER (streaming), content attached"),
    Case("der-attached-dsa", 99, "signed content DER format, DSA key",
         ["-nodetach", "-signer", DSA1], "DER", detail="DSA-2048 signer, SHA-256"),
    Case("smime-multipart-rsa-sha1", 162, "signed content S/MIME format, RSA key SHA1",
         ["-md", "sha1", "-certfile", "smroot.pem", "-signer", RSA1], "SMIME",
         detail="multipart/signed S/MIME, RSA-2048, SHA-1 (signed with the default "
         "provider, verified with it too)"),
    Case("smime-opaque-four-signers", 179,
         "signed content test streaming S/MIME format, 2 DSA and 2 RSA keys",
         ["-nodetach", *FOUR, "-stream"], "SMIME",
         detail="application/pkcs7-mime S/MIME, four SignerInfos (two RSA, two DSA)"),
    Case("smime-multipart-four-signers", 191,
         "signed content test streaming multipart S/MIME format, 2 DSA and 2 RSA keys",
         [*FOUR, "-stream"], "SMIME",
         detail="multipart/signed S/MIME, four SignerInfos (two RSA, two DSA)"),
    Case("ber-keyid-four-signers", 251,
         "signed content test streaming BER format, 2 DSA and 2 RSA keys, keyid",
         ["-nodetach", "-keyid", *FOUR, "-stream"], "DER",
         detail="four SignerInfos identified by subjectKeyIdentifier (two RSA, two DSA)"),
    Case("smime-receipt-request", 276, "signed content MIME format, RSA key, signed receipt "
         "request", ["-nodetach", "-signer", RSA1, "-receipt_request_to", "test@openssl.org",
                     "-receipt_request_all"], "SMIME",
         detail="application/pkcs7-mime S/MIME, RSA-2048, a signed receiptRequest attribute"),
    Case("der-cades-rsa", 399, "signed content DER format, RSA key, CAdES-BES compatible",
         ["-cades", "-nodetach", "-certfile", "smroot.pem", "-signer", RSA1], "DER",
         verify=["-cades"], detail="CAdES-BES (signing-certificate-v2), RSA-2048, SHA-256"),
    Case("der-cades-rsa-sha512", 417,
         "signed content DER format, RSA key, SHA512 md, CAdES-BES compatible",
         ["-cades", "-md", "sha512", "-nodetach", "-certfile", "smroot.pem", "-signer", RSA1],
         "DER", verify=["-cades"], detail="CAdES-BES, RSA-2048, SHA-512"),
    Case("der-cades-resigned", 436,
         "resigned content DER format, RSA key, SHA256 md, CAdES-BES compatible",
         ["-cades", "-binary", "-nodetach", "-nosmimecap", "-md", "sha256",
          "-certfile", "smroot.pem", "-signer", RSA1], "DER",
         resign=["-cades", "-binary", "-nodetach", "-nosmimecap", "-md", "sha256",
                 "-certfile", "smroot.pem", "-signer", RSA2], verify=["-cades"],
         detail="CAdES-BES signed by RSA #1, then a second CAdES-BES SignerInfo added by "
         "RSA #2 (cms -resign)"),
    Case("pem-pss", 487, "signed content test streaming PEM format, RSA keys, PSS signature",
         ["-nodetach", "-signer", RSA1, "-keyopt", "rsa_padding_mode:pss"], "PEM",
         detail="RSASSA-PSS (default parameters), SHA-256"),
    Case("pem-pss-saltlen-max", 497,
         "signed content test streaming PEM format, RSA keys, PSS signature, saltlen=max",
         ["-nodetach", "-signer", RSA1, "-keyopt", "rsa_padding_mode:pss",
          "-keyopt", "rsa_pss_saltlen:max"], "PEM",
         detail="RSASSA-PSS, salt length 222 (the maximum for RSA-2048 and SHA-256)"),
    Case("pem-pss-no-attributes", 508,
         "signed content test streaming PEM format, RSA keys, PSS signature, no attributes",
         ["-nodetach", "-noattr", "-signer", RSA1, "-keyopt", "rsa_padding_mode:pss"], "PEM",
         detail="RSASSA-PSS over the content itself (no signed attributes)"),
    Case("pem-pss-mgf1-sha384", 518,
         "signed content test streaming PEM format, RSA keys, PSS signature, SHA384 MGF1",
         ["-nodetach", "-signer", RSA1, "-keyopt", "rsa_padding_mode:pss",
          "-keyopt", "rsa_mgf1_md:sha384"], "PEM",
         detail="RSASSA-PSS with SHA-256 and MGF1-SHA-384"),
    Case("pem-pss-saltlen-16", 528,
         "signed content test streaming PEM format, RSA keys, PSS signature, saltlen=16",
         ["-nodetach", "-signer", RSA1, "-md", "sha256", "-keyopt", "rsa_padding_mode:pss",
          "-keyopt", "rsa_pss_saltlen:16"], "PEM", detail="RSASSA-PSS, salt length 16"),
    Case("pem-pss-rsa1024-sha512", 652,
         "signed content test streaming PEM format, RSA keys, PSS signature, "
         "saltlen=auto-digestmax, digestsize > maximum salt length",
         ["-nodetach", "-signer", "smrsa1024.pem", "-md", "sha512",
          "-keyopt", "rsa_padding_mode:pss", "-keyopt", "rsa_pss_saltlen:auto-digestmax"],
         "PEM", detail="RSASSA-PSS with SHA-512 by an RSA-1024 key (salt length 62)"),
    Case("der-resigned-content-type", 668,
         "signed content test - check that content type is added to additional "
         "signerinfo, RSA keys",
         ["-binary", "-nodetach", "-stream", "-signer", RSA1, "-md", "SHA256"], "DER",
         resign=["-binary", "-nodetach", "-signer", RSA2, "-md", "SHA256"],
         detail="signed by RSA #1, a second SignerInfo added by RSA #2 (cms -resign), each "
         "with its content-type attribute"),
    Case("smime-multipart-rsa", 1045, "accept perform CMS signature with smime certificate",
         ["-certfile", "smroot.pem", "-signer", RSA1], "SMIME", detached=True, bare=True,
         detail="multipart/signed S/MIME, RSA-2048, SHA-256 (verified with -content)"),
    Case("smime-multipart-codesign", 1079,
         "fail verify CMS signature with code signing certificate for purpose smime_sign",
         ["-certfile", "smroot.pem", "-signer", "csrsa1.pem"], "SMIME", detached=True,
         valid=False, bare=True, detail="signed by a certificate whose extendedKeyUsage is "
         "codeSigning only: verification for S/MIME (the default purpose) fails"),
]  # fmt: skip


def _openssl(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["openssl", "cms", *args], cwd=cwd, capture_output=True, check=False)


def _make(case: Case, tmp: Path) -> tuple[bytes, bytes | None, str]:
    """Sign (and re-sign) as the test does; return the file, its CMS as DER where the case
    asks for it, and what the test's -verify says."""
    for name in BASE.iterdir():
        (tmp / name.name).write_bytes(name.read_bytes())
    outform = [] if case.form == "SMIME" else ["-outform", case.form]
    done = _openssl("-sign", "-in", "smcont.txt", *outform, *case.sign, "-out", "out", cwd=tmp)
    if done.returncode:
        raise SystemExit(f"{case.id}: openssl cms -sign failed: {done.stderr.decode()}")
    if case.resign:
        done = _openssl("-resign", "-in", "out", "-inform", case.form, *outform, *case.resign,
                        "-out", "out2", cwd=tmp)  # fmt: skip
        if done.returncode:
            raise SystemExit(f"{case.id}: openssl cms -resign failed: {done.stderr.decode()}")
        (tmp / "out").write_bytes((tmp / "out2").read_bytes())
    content = ["-content", "smcont.txt"] if case.detached else []
    inform = [] if case.form == "SMIME" else ["-inform", case.form]
    check = _openssl("-verify", "-in", "out", *inform, *case.verify, "-CAfile", "smroot.pem",
                     *content, "-out", "verified", cwd=tmp)  # fmt: skip
    if (check.returncode == 0) != case.valid:
        raise SystemExit(f"{case.id}: openssl cms -verify gave {check.returncode}, the test "
                         f"expects {'success' if case.valid else 'failure'}: "
                         f"{check.stderr.decode()}")  # fmt: skip
    said = check.stderr.decode().strip().splitlines()
    said = said[0] if case.valid else said[-1].split(":", 5)[-1]
    version = subprocess.run(["openssl", "version"], capture_output=True, check=True)
    bare = None
    if case.bare:  # the same signature, as the SignedData the message carries
        done = _openssl("-cmsout", "-in", "out", "-outform", "DER", "-out", "bare", cwd=tmp)
        if done.returncode:
            raise SystemExit(f"{case.id}: openssl cms -cmsout failed: {done.stderr.decode()}")
        bare = (tmp / "bare").read_bytes()
    confirmed = f"{version.stdout.decode().split('(')[0].strip()}: {said}"
    return (tmp / "out").read_bytes(), bare, confirmed


def _entry(case: Case, data: bytes, at: datetime, confirmed: str, bare: bool = False) -> dict:
    suffix = {"DER": "cms", "PEM": "pem", "SMIME": "eml"}[case.form]
    ident = f"{case.id}-bare" if bare else case.id
    entry = {
        "id": ident,
        "file": f"files/{ident}.{'cms' if bare else suffix}",
        "sha256": hashlib.sha256(data).hexdigest(),
        "source": {
            "repo": REPO,
            "commit": COMMIT,
            "path": TEST,
            "licence": "Apache-2.0",
            "generated": "re-enacted by generate.py: the test's openssl cms -sign command with "
            "its keys (test/smime-certs) over test/smcont.txt"
            + (f"; the SignedData of {case.id}.eml as DER (openssl cms -cmsout)" if bare else ""),
        },
    }
    if case.detached:
        entry["content"] = CONTENT
        entry["content_sha256"] = hashlib.sha256((HERE / CONTENT).read_bytes()).hexdigest()
    verb = "succeeds" if case.valid else "fails"
    entry |= {
        "anchors": ["smroot"],
        "at": at.isoformat(),
        "peer": {
            "outcome": "valid" if case.valid else "invalid",
            "detail": f"openssl cms -verify -CAfile smroot.pem {verb} ({case.detail}"
            + (
                "; the same signature as the message's, as bare DER with its content)"
                if bare
                else ")"
            ),
            "test": f'{TEST}:{case.line} "{case.name}"',
            "confirmed": confirmed,
        },
    }
    return entry


def main() -> None:
    manifest_path = HERE / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    by_id = {c["id"]: c for c in manifest["cases"]}
    FILES.mkdir(exist_ok=True)
    for case in CASES:
        signed_at = datetime.now(UTC).replace(microsecond=0)
        with tempfile.TemporaryDirectory() as tmp:
            data, bare, confirmed = _make(case, Path(tmp))
        at = signed_at + timedelta(minutes=5)
        made = [(_entry(case, data, at, confirmed), data)]
        if bare is not None:
            said = f"{confirmed} (on {case.id}.eml, the same SignedData)"
            made.append((_entry(case, bare, at, said, bare=True), bare))
        for new, written in made:
            (HERE / new["file"]).write_bytes(written)
            if new["id"] in by_id:  # keep what was written by hand (sigmail's side, the reason)
                old = by_id[new["id"]]
                old["sha256"], old["at"] = new["sha256"], new["at"]
                old["peer"]["confirmed"] = new["peer"]["confirmed"]
            else:
                manifest["cases"].append(new)
            print(f"{new['file']}: {len(written)} bytes, {new['peer']['confirmed']}")
    text = json.dumps(manifest, indent=1, ensure_ascii=False) + "\n"
    manifest_path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
