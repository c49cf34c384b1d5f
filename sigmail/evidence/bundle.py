"""The evidence bundle: a zip holding everything one verdict was decided with.

Layout (docs/forensics.md has the full description)::

    manifest.json                 what is where, with the SHA-256 of every other member
    verdict.json                  the verdict (sigmail.verdict/1), as returned
    input/<name>                  the verified file; input/content/<name>: a .p7s's signed file
    policy/<name>.toml            the policy text (its SHA-256 is the verdict's policy.sha256)
    anchors/<SHA-256>.der         every trust anchor of the store (class in the manifest)
    certificates/<SHA-256>.der    every other certificate a chain was built from or through,
                                  signature and TSA chains alike, and configured intermediates
    revocation/<sha256>.crl|ocsp  every CRL and OCSP response offered to a chain validation,
                                  embedded in the input or fetched
    timestamps/<n>.tst            the RFC 3161 tokens the input carries (DER)

The zip is deterministic: the same verification gives the same bytes (members sorted, fixed
dates), so a bundle's own SHA-256 can be written in a register.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import re
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from asn1crypto import x509

from sigmail._version import __version__
from sigmail.errors import EvidenceBundleError
from sigmail.revocation.evidence import (
    EvidenceKind,
    FetchFailure,
    IssuerLookup,
    RevocationItem,
    RevocationLookup,
)
from sigmail.trust.certificates import fingerprint, load_certificate, name_to_text
from sigmail.verdict.model import Verdict

__all__ = ["BUNDLE_SCHEMA", "EvidenceBundle", "read_bundle"]

BUNDLE_SCHEMA = "sigmail.evidence/1"
MANIFEST = "manifest.json"
VERDICT = "verdict.json"

# A bundle is read into memory whole; these bound what a hostile zip can make us allocate.
MAX_MEMBERS = 20_000
MAX_TOTAL_BYTES = 1024 * 1024 * 1024
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_MEMBER = re.compile(r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _iso(when: datetime | None) -> str | None:
    if when is None:
        return None
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _as_given(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat().replace("+00:00", "Z")


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text.replace("Z", "+00:00"))


def safe_name(name: str | None, default: str) -> str:
    """A member name from an attacker-chosen file name: the base name, plain characters."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = _SAFE.sub("_", base).strip("._")[:120]
    return base or default


@dataclass(frozen=True, slots=True)
class EvidenceBundle:
    """A bundle in memory: the manifest and the other members by path.

    Make one with :func:`sigmail.evidence.verify_with_evidence`, read one with
    :func:`read_bundle`; :meth:`to_bytes` / :meth:`write` give the zip.
    """

    manifest: dict[str, Any]
    files: dict[str, bytes] = field(repr=False)

    # -- what it holds ---------------------------------------------------------------------
    @property
    def data(self) -> bytes:
        return self.files[self.manifest["input"]["path"]]

    @property
    def content(self) -> bytes | None:
        entry = self.manifest.get("content")
        return None if entry is None else self.files[entry["path"]]

    @property
    def name(self) -> str | None:
        return self.manifest["input"]["name"]

    @property
    def validation_time(self) -> datetime:
        at = _time(self.manifest["validation_time"])
        if at is None:
            raise EvidenceBundleError("the manifest has no validation time", member="manifest")
        return at

    @property
    def receipt_time(self) -> datetime | None:
        return _time(self.manifest.get("receipt_time"))

    @property
    def policy_text(self) -> str:
        return self.files[self.manifest["policy"]["path"]].decode("utf-8")

    @property
    def verdict(self) -> Verdict:
        """The verdict recorded when the bundle was made."""
        return Verdict.from_dict(json.loads(self.files[VERDICT]))

    @property
    def verdict_json(self) -> str:
        return self.files[VERDICT].decode("utf-8")

    def anchors(self) -> list[tuple[str, bytes]]:
        """(class, DER) of every trust anchor the verification was given."""
        return [(a["class"], self.files[a["path"]]) for a in self.manifest["trust"]["anchors"]]

    def intermediates(self) -> list[bytes]:
        """DER of the untrusted CA certificates the trust store was configured with."""
        return [self.files[p] for p in self.manifest["trust"]["intermediates"]]

    def lookups(self) -> list[tuple[str, str, str, RevocationLookup]]:
        """(certificate SHA-256, issuer SHA-256, time asked about, answer) of every
        revocation lookup the verification made."""
        out = []
        for entry in self.manifest["lookups"]:
            items = tuple(
                RevocationItem(
                    EvidenceKind(i["kind"]), self.files[i["path"]], i["origin"], i.get("url")
                )
                for i in entry["items"]
            )
            failures = tuple(
                FetchFailure(
                    f["url"], EvidenceKind(f["kind"]), f["error"], _time(f.get("retry_after"))
                )
                for f in entry["failures"]
            )
            out.append(
                (
                    entry["certificate"],
                    entry["issuer"],
                    entry["at"],
                    RevocationLookup(items=items, failures=failures),
                )
            )
        return out

    def issuer_fetches(self) -> list[tuple[str, IssuerLookup]]:
        """(URL, answer) of every AIA caIssuers fetch the verification made."""
        by_sha = {c["sha256"]: c["path"] for c in self.manifest.get("certificates", [])}
        out = []
        for entry in self.manifest.get("issuer_fetches", []):
            failure = entry.get("failure")
            out.append(
                (
                    entry["url"],
                    IssuerLookup(
                        certificates=tuple(
                            load_certificate(self.files[by_sha[fp]]) for fp in entry["certificates"]
                        ),
                        failure=None
                        if failure is None
                        else FetchFailure(
                            entry["url"],
                            EvidenceKind.ISSUER,
                            failure["error"],
                            _time(failure.get("retry_after")),
                        ),
                    ),
                )
            )
        return out

    # -- the zip ---------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            members = [
                (MANIFEST, _manifest_bytes(self.manifest)),
                *sorted(self.files.items()),
            ]
            for path, data in members:
                info = zipfile.ZipInfo(path, date_time=_ZIP_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                zf.writestr(info, data)
        return buffer.getvalue()

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write the zip (atomically: a half-written bundle never has the final name)."""
        target = Path(path)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            tmp.write_bytes(self.to_bytes())
            os.replace(tmp, target)
        except OSError:
            tmp.unlink(missing_ok=True)
            raise
        return target


def _manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return (json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()


# -- building ------------------------------------------------------------------------------


class _Builder:
    """Collects members, one copy per distinct content."""

    def __init__(self, anchors: dict[str, str]) -> None:
        self.files: dict[str, bytes] = {}
        self.anchor_classes = anchors  # fingerprint → class
        self.certificates: dict[str, dict[str, Any]] = {}
        self.revocation: dict[str, dict[str, Any]] = {}

    def add(self, path: str, data: bytes) -> str:
        self.files[path] = data
        return path

    def cert(self, cert: x509.Certificate) -> str:
        fp = fingerprint(cert)
        if fp not in self.certificates:
            folder = "anchors" if fp in self.anchor_classes else "certificates"
            path = self.add(f"{folder}/{fp}.der", cert.dump())
            self.certificates[fp] = {
                "path": path,
                "sha256": fp,
                "subject": name_to_text(cert.subject),
                "issuer": name_to_text(cert.issuer),
                "serial": format(cert.serial_number, "X"),
            }
        return fp

    def item(self, item: RevocationItem) -> dict[str, Any]:
        digest = item.sha256
        if digest not in self.revocation:
            path = self.add(f"revocation/{digest}.{item.kind.value}", item.der)
            self.revocation[digest] = {
                "path": path,
                "sha256": digest,
                "kind": item.kind.value,
                "origin": item.origin,
                "url": item.url,
            }
        return {
            "path": self.revocation[digest]["path"],
            "kind": item.kind.value,
            "origin": item.origin,
            "url": item.url,
        }


def build_bundle(
    *,
    verdict: Verdict,
    data: bytes,
    name: str | None,
    content: bytes | None,
    content_name: str | None,
    at: datetime,
    receipt_time: datetime | None,
    policy: Any,
    policy_text: str,
    trust: Any,
    limits: Any,
    lookups: list,
    validations: list,
    tokens: list,
    issuer_fetches: list | None = None,
) -> EvidenceBundle:
    """Assemble the bundle from a capture (see :func:`sigmail.evidence.verify_with_evidence`)."""
    anchor_classes = {a.sha256: a.anchor_class.value for a in trust.anchors}
    b = _Builder(anchor_classes)

    kind = verdict.kind or "bin"
    input_path = b.add(f"input/{safe_name(name, f'input.{kind}')}", data)
    manifest: dict[str, Any] = {
        "schema": BUNDLE_SCHEMA,
        "generator": f"sigmail {__version__}",
        "input": {
            "path": input_path,
            "name": name,
            "sha256": _sha256(data),
            "size": len(data),
            "kind": verdict.kind,
        },
        "content": None,
        # As given (offset kept): the verdict records them so, and replay must too.
        "validation_time": _as_given(at),
        "receipt_time": _as_given(receipt_time),
    }
    if content is not None:
        path = b.add(f"input/content/{safe_name(content_name, 'content.bin')}", content)
        manifest["content"] = {
            "path": path,
            "name": content_name,
            "sha256": _sha256(content),
            "size": len(content),
        }

    policy_path = b.add(f"policy/{safe_name(policy.name, 'policy')}.toml", policy_text.encode())
    manifest["policy"] = {
        "path": policy_path,
        "name": policy.name,
        "version": policy.version,
        "sha256": policy.sha256,
        "source": policy.source,
    }

    anchors = []
    for anchor in sorted(trust.anchors, key=lambda a: a.sha256):
        b.cert(anchor.certificate)
        anchors.append(
            {
                "path": b.certificates[anchor.sha256]["path"],
                "sha256": anchor.sha256,
                "class": anchor.anchor_class.value,
                "subject": name_to_text(anchor.certificate.subject),
                "used": False,
            }
        )
    configured = [b.certificates[b.cert(c)]["path"] for c in trust.intermediates]
    manifest["trust"] = {
        "identity": trust.identity,
        "anchors": anchors,
        "intermediates": sorted(set(configured)),
    }
    manifest["limits"] = dataclasses.asdict(limits)

    chains = []
    used_anchors: set[str] = set()
    for v in validations:
        result = v.result
        chain_path = [b.cert(c) for c in result.path]
        anchor = result.anchor.sha256 if result.anchor is not None else None
        if anchor is not None and result.ok:
            used_anchors.add(anchor)
        chains.append(
            {
                "purpose": v.purpose,
                "leaf": b.cert(v.leaf),
                "at": _iso(result.at),
                "ok": result.ok,
                "failure": None if result.failure is None else result.failure.detail,
                "path": chain_path,
                "anchor": anchor,
                "offered": sorted({b.cert(c) for c in v.offered}),
                "embedded_revocation": sorted({b.item(i)["path"] for i in v.embedded}),
            }
        )
    for entry in anchors:
        entry["used"] = entry["sha256"] in used_anchors
    manifest["chains"] = chains

    manifest["lookups"] = [
        {
            "certificate": b.cert(lk.certificate),
            "issuer": b.cert(lk.issuer),
            "at": _iso(lk.at),
            "items": [b.item(i) for i in lk.answer.items],
            "failures": [
                {
                    "url": f.url,
                    "kind": f.kind.value,
                    "error": f.error,
                    "retry_after": _iso(f.retry_after),
                }
                for f in lk.answer.failures
            ],
        }
        for lk in lookups
    ]

    manifest["issuer_fetches"] = [
        {
            "url": url,
            "certificates": [b.cert(c) for c in answer.certificates],
            "failure": None
            if answer.failure is None
            else {
                "error": answer.failure.error,
                "retry_after": _iso(answer.failure.retry_after),
            },
        }
        for url, answer in (issuer_fetches or [])
    ]

    stamps = []
    for n, token in enumerate(tokens):
        path = b.add(f"timestamps/{n:02d}-{_sha256(token.der)[:16]}.tst", token.der)
        stamps.append({"path": path, "where": token.where, "gen_time": _iso(_gen_time(token.der))})
    manifest["timestamps"] = stamps

    b.add(VERDICT, (verdict.to_json() + "\n").encode())
    manifest["verdict"] = {
        "path": VERDICT,
        "verdict": verdict.verdict.value,
        "reasons": list(verdict.reasons),
    }
    manifest["certificates"] = [b.certificates[fp] for fp in sorted(b.certificates)]
    manifest["revocation"] = [b.revocation[d] for d in sorted(b.revocation)]
    manifest["files"] = {path: _sha256(blob) for path, blob in sorted(b.files.items())}
    return EvidenceBundle(manifest=manifest, files=dict(b.files))


def _gen_time(der: bytes) -> datetime | None:
    from asn1crypto import cms

    try:
        info = cms.ContentInfo.load(der)
        tst = info["content"]["encap_content_info"]["content"].parsed
        return tst["gen_time"].native
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


# -- reading -------------------------------------------------------------------------------


def read_bundle(source: str | os.PathLike[str] | bytes) -> EvidenceBundle:
    """Read and check a bundle; raises :class:`EvidenceBundleError` if it cannot be trusted
    to be what its manifest says (a member missing, extra or with another SHA-256)."""
    where = "<bytes>" if isinstance(source, bytes | bytearray) else str(source)

    def fail(message: str, member: str | None = None) -> EvidenceBundleError:
        return EvidenceBundleError(message, source=where, member=member)

    try:
        raw = bytes(source) if isinstance(source, bytes | bytearray) else Path(source).read_bytes()
    except OSError as exc:
        raise fail(f"cannot read: {exc.strerror}") from exc
    files: dict[str, bytes] = {}
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_MEMBERS:
                raise fail(f"more than {MAX_MEMBERS} members")
            if sum(i.file_size for i in infos) > MAX_TOTAL_BYTES:
                raise fail(f"more than {MAX_TOTAL_BYTES} bytes uncompressed")
            for info in infos:
                if info.is_dir():
                    continue
                if not _MEMBER.match(info.filename) or ".." in info.filename.split("/"):
                    raise fail("unexpected member name", info.filename)
                if info.filename in files:
                    raise fail("member appears twice", info.filename)
                files[info.filename] = zf.read(info)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
        if isinstance(exc, EvidenceBundleError):
            raise
        raise fail(f"not a readable zip file ({exc})") from exc

    if MANIFEST not in files:
        raise fail("no manifest.json: not a sigmail evidence bundle")
    try:
        manifest = json.loads(files.pop(MANIFEST))
    except (ValueError, UnicodeDecodeError) as exc:
        raise fail(f"manifest is not JSON ({exc})", MANIFEST) from exc
    if not isinstance(manifest, dict) or manifest.get("schema") != BUNDLE_SCHEMA:
        raise fail(f"manifest schema is not {BUNDLE_SCHEMA}", MANIFEST)
    listed = manifest.get("files")
    required = ("input", "policy", "trust", "lookups", "validation_time", "limits", "files")
    missing = [key for key in required if key not in manifest]
    if missing or not isinstance(listed, dict):
        raise fail(f"manifest lacks {', '.join(missing) or 'a files table'}", MANIFEST)
    input_entry = manifest["input"]
    policy_entry = manifest["policy"]
    if not isinstance(input_entry, dict) or not isinstance(policy_entry, dict):
        raise fail("manifest input and policy must be tables", MANIFEST)

    # The two checks a replay depends on most, with their own messages.
    data = files.get(str(input_entry.get("path")))
    if data is None:
        raise fail("the input named by the manifest is missing", input_entry.get("path"))
    if _sha256(data) != input_entry.get("sha256"):
        raise fail(
            f"input hash mismatch: the file's SHA-256 is {_sha256(data)}, the manifest says "
            f"{input_entry.get('sha256')} (the bundle was altered)",
            input_entry["path"],
        )
    content_entry = manifest.get("content")
    if content_entry is not None:
        content = files.get(content_entry.get("path"))
        if content is None or _sha256(content) != content_entry.get("sha256"):
            raise fail(
                "detached content hash mismatch (the bundle was altered)", content_entry.get("path")
            )
    policy_bytes = files.get(str(policy_entry.get("path")))
    if policy_bytes is None:
        raise fail("the policy named by the manifest is missing", policy_entry.get("path"))
    if _sha256(policy_bytes) != policy_entry.get("sha256"):
        raise fail(
            f"policy hash mismatch: the policy text's SHA-256 is {_sha256(policy_bytes)}, the "
            f"manifest says {policy_entry.get('sha256')} (the bundle was altered)",
            policy_entry["path"],
        )
    try:
        recorded_policy = json.loads(files[VERDICT])["policy"]["sha256"]
    except (KeyError, TypeError, ValueError) as exc:
        raise fail(f"no readable verdict ({exc})", VERDICT) from exc
    if recorded_policy != policy_entry["sha256"]:
        raise fail(
            f"policy hash mismatch: the verdict was decided under policy {recorded_policy}, "
            f"the manifest names {policy_entry['sha256']}",
            VERDICT,
        )

    unlisted = sorted(set(files) - set(listed))
    if unlisted:
        raise fail("member not in the manifest", unlisted[0])
    for path, digest in sorted(listed.items()):
        blob = files.get(path)
        if blob is None:
            raise fail("member listed in the manifest is missing", path)
        if _sha256(blob) != digest:
            raise fail(f"hash mismatch: SHA-256 {_sha256(blob)}, manifest says {digest}", path)
    return EvidenceBundle(manifest=manifest, files=files)
