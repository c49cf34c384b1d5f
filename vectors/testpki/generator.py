"""Make the test PKI, the signed vectors and manifest.json from pki.toml and vectors.toml.

``python vectors/generate.py`` runs :func:`main`. Output is reproducible: keys are reused from
``vectors/pki/keys/``, times are pinned, and every signature except RSA-PSS is deterministic, so
:func:`check` can regenerate into a temporary directory and compare hashes with the manifest.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asn1crypto import cms as asn1_cms
from cryptography.hazmat.primitives import serialization

from . import endpoints
from .cms import Signer, content_info, signed_data
from .pki import CERTS_DIR, KEYS_DIR, TestPKI, build_pki
from .revocation import ocsp_response_for_certificate
from .spec import (
    PKI_SPEC_FILE,
    VECTORS_SPEC_FILE,
    VectorSpec,
    VectorsSpec,
    load_pki_spec,
    load_vectors_spec,
)
from .timestamps import timestamp_token

__all__ = ["MANIFEST_FILE", "MANIFEST_SCHEMA", "check", "generate", "main"]

MANIFEST_FILE = "manifest.json"
MANIFEST_SCHEMA = "sigmail.vectors/1"
GENERATOR = "vectors/generate.py"
VECTORS_DIR = Path(__file__).resolve().parent.parent

# Subdirectories that hold only generated files; they are emptied before each run so a renamed
# vector leaves nothing stale behind. Keys are never deleted.
GENERATED_DIRS = ("cms", CERTS_DIR, "pki/crl")

# Vector families besides the CMS files of vectors.toml (S/MIME messages, PDFs). A family is a
# module of this package with:
#   SPEC_FILES: tuple[str, ...]       its TOML files in vectors/ (copied when --out is elsewhere)
#   GENERATED_DIRS: tuple[str, ...]   directories holding only its generated files
#   make(pki, crls, spec_dir, out_dir) -> list[dict]   write its files, return manifest entries
#                                     shaped like the CMS ones (name, path, sha256, kind, …)
# A family whose module does not exist yet is skipped.
FAMILY_MODULES = ("smime_vectors", "pdf_vectors", "xml_vectors", "ooxml_vectors", "odf_vectors")


def _families() -> list[Any]:
    import importlib
    import importlib.util

    found = []
    for name in FAMILY_MODULES:
        qualified = f"{__package__}.{name}"
        if importlib.util.find_spec(qualified) is not None:
            found.append(importlib.import_module(qualified))
    return found


# What a "other-bytes" timestamp stamps instead of the signature value.
OTHER_BYTES = b"sigmail: these bytes are not the signature value of any SignerInfo"


def _iso(when: dt.datetime | None) -> str | None:
    return None if when is None else when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True, slots=True)
class MadeVector:
    data: bytes
    made: str  # one line: how the file was made
    deterministic: bool


class _VectorMaker:
    """Turns one VectorSpec into bytes; keeps what earlier vectors made for reuse/flip-byte."""

    def __init__(self, pki: TestPKI, spec: VectorsSpec, crls: dict[str, bytes]):
        self.pki = pki
        self.spec = spec
        self.crls = crls
        self.made: dict[str, MadeVector] = {}

    def make(self, vector: VectorSpec) -> MadeVector:
        recipe: Callable[[VectorSpec], MadeVector] = {
            "sign": self._sign,
            "wrap": self._wrap,
            "reuse": self._reuse,
            "flip-byte": self._flip_byte,
            "no-signer-infos": self._no_signer_infos,
            "garbage": self._garbage,
            "content-info": self._content_info,
        }[vector.make]
        made = recipe(vector)
        self.made[vector.name] = made
        return made

    def _document(self, path: str) -> bytes:
        return self.spec.documents[path].text.encode("utf-8")

    def _timestamper(self, vector: VectorSpec) -> Callable[[bytes], bytes] | None:
        if vector.timestamp is None:
            return None
        gen_time = vector.timestamp

        def stamp(signature: bytes) -> bytes:
            stamped = signature if vector.timestamp_imprint == "signature" else OTHER_BYTES
            return timestamp_token(
                self.pki.certificates["tsa-official"],
                self.pki.keys["tsa-official"],
                hashed_message=hashlib.sha256(stamped).digest(),
                gen_time=gen_time,
            )

        return stamp

    def _default_certificates(self, signers: tuple[str, ...]) -> list[str]:
        names: list[str] = []
        for signer in signers:
            for name in (signer, self.pki.spec.certificates[signer].issuer):
                if name not in names:
                    names.append(name)
        return names

    def _wrap(self, vector: VectorSpec) -> MadeVector:
        assert vector.source is not None
        inner = self.made[vector.source]
        made = self._sign(vector, content=inner.data)
        how = made.made.replace(
            f"SignedData over {vector.document}", f"SignedData over the .p7m of {vector.source}"
        )
        return MadeVector(made.data, how, made.deterministic and inner.deterministic)

    def _sign(self, vector: VectorSpec, content: bytes | None = None) -> MadeVector:
        assert vector.document is not None
        signing_cert = vector.signing_certificate_attribute
        signers = [
            Signer(
                cert=self.pki.certificates[name],
                key=self.pki.keys[name],
                digest=vector.digest,
                pss=vector.signature == "pss",
                signed_attributes=vector.signed_attributes,
                signing_time=vector.signing_time,
                content_type_attribute=vector.content_type_attribute,
                signing_certificate=self.pki.certificates[signing_cert] if signing_cert else None,
                timestamper=self._timestamper(vector),
                attribute_values=vector.attribute_values,
                countersigners=tuple(
                    Signer(
                        cert=self.pki.certificates[counter],
                        key=self.pki.keys[counter],
                        digest=vector.digest,
                        signing_time=vector.signing_time,
                    )
                    for counter in vector.countersigners
                )
                if i == 0
                else (),
            )
            for i, name in enumerate(vector.signers)
        ]
        if vector.certificates is None:
            cert_names = self._default_certificates((*vector.signers, *vector.countersigners))
        else:
            cert_names = list(vector.certificates)
        assert vector.ocsp_clock is not None
        data = signed_data(
            self._document(vector.document) if content is None else content,
            signers,
            detached=vector.kind == "p7s",
            certificates=[self.pki.certificates[name] for name in cert_names],
            crls=[self.crls[name] for name in vector.embed_crls],
            ocsp_responses=[
                ocsp_response_for_certificate(self.pki, name, clock=vector.ocsp_clock)
                for name in vector.embed_ocsp
            ],
        )
        randomised = vector.signature == "pss" or any(
            self.pki.spec.certificates[name].key.startswith("mldsa") for name in vector.signers
        )
        return MadeVector(data, self._describe(vector, cert_names), not randomised)

    def _signer_description(self, vector: VectorSpec, name: str) -> str:
        key = self.pki.spec.certificates[name].key
        if key.startswith("ec-"):
            scheme = "deterministic ECDSA"
        elif key.startswith("ed"):
            scheme = "pure EdDSA (RFC 8419)"
        elif key.startswith("mldsa"):
            scheme = "ML-DSA (FIPS 204, hedged)"
        else:
            scheme = "RSASSA-PSS" if vector.signature == "pss" else "PKCS#1 v1.5"
        if vector.digest == "shake256":
            digest = "SHAKE256-512"
        else:
            digest = vector.digest.upper().replace("SHA", "SHA-")
        return f"{name} ({key.upper()}, {scheme}, {digest})"

    def _describe(self, vector: VectorSpec, cert_names: list[str]) -> str:
        signers = " + ".join(self._signer_description(vector, name) for name in vector.signers)
        where = "detached" if vector.kind == "p7s" else "attached"
        parts = [f"{where} SignedData over {vector.document} by {signers}"]
        if vector.countersigners:
            counters = " + ".join(
                self._signer_description(vector, n) for n in vector.countersigners
            )
            parts.append(f"countersigned by {counters}")
        if not vector.signed_attributes:
            parts.append("no signed attributes")
        else:
            parts.append(f"signingTime {_iso(vector.signing_time)}")
        if vector.content_type_attribute:
            parts.append(f"content-type attribute {vector.content_type_attribute}")
        if vector.signing_certificate_attribute:
            parts.append(f"signing-certificate-v2 of {vector.signing_certificate_attribute}")
        for attribute, count in vector.attribute_values:
            parts.append(f"{attribute} with {count} value(s)")
        if vector.timestamp is not None:
            stamped = (
                "the signature value" if vector.timestamp_imprint == "signature" else "other bytes"
            )
            parts.append(f"tsa-official timestamp at {_iso(vector.timestamp)} over {stamped}")
        parts.append(f"certificates [{', '.join(cert_names)}]")
        if vector.embed_crls:
            parts.append(f"embedded CRLs [{', '.join(vector.embed_crls)}]")
        if vector.embed_ocsp:
            parts.append(
                f"embedded OCSP for [{', '.join(vector.embed_ocsp)}] at {_iso(vector.ocsp_clock)}"
            )
        return "; ".join(parts)

    def _reuse(self, vector: VectorSpec) -> MadeVector:
        assert vector.source is not None
        source = self.made[vector.source]
        how = f"the file of vector {vector.source}, verified {vector.mode}"
        if vector.content:
            how += f" with content {vector.content}"
        return MadeVector(source.data, how, source.deterministic)

    def _flip_byte(self, vector: VectorSpec) -> MadeVector:
        assert vector.source is not None
        source = self.made[vector.source]
        signed = asn1_cms.ContentInfo.load(source.data)["content"]
        if vector.flip == "econtent":
            region = signed["encap_content_info"]["content"].native
            # The first ASCII digit, so the content stays valid UTF-8 ("123" becomes "023").
            within = next(i for i, byte in enumerate(region) if 0x30 <= byte <= 0x39)
        elif vector.flip == "signature":
            region = signed["signer_infos"][0]["signature"].native
            within = len(region) // 2  # not the first byte: the value stays below the modulus
        else:
            raise ValueError(f"vector {vector.name!r}: flip must be econtent or signature")
        # Edit the encoding in place (nothing is re-encoded): find the region's bytes, which
        # occur exactly once, and flip the lowest bit of one of them.
        if source.data.count(region) != 1:
            raise ValueError(f"vector {vector.name!r}: the {vector.flip} bytes are not unique")
        offset = source.data.index(region) + within
        data = bytearray(source.data)
        data[offset] ^= 0x01
        how = f"the file of vector {vector.source} with byte {offset} ({vector.flip}) XOR 0x01"
        return MadeVector(bytes(data), how, source.deterministic)

    def _no_signer_infos(self, vector: VectorSpec) -> MadeVector:
        assert vector.document is not None
        data = signed_data(self._document(vector.document), [])
        how = f"SignedData v1 with {vector.document} as eContent, no certificates, no SignerInfos"
        return MadeVector(data, how, True)

    def _content_info(self, vector: VectorSpec) -> MadeVector:
        assert vector.document is not None and vector.content_info is not None
        data = content_info(vector.content_info, self._document(vector.document), vector.name)
        how = f"ContentInfo {vector.content_info} holding {vector.document}"
        if vector.content_info != "data":
            how += f" (AES-256, keys derived from {vector.name!r}; no signature)"
        return MadeVector(data, how, True)

    def _garbage(self, vector: VectorSpec) -> MadeVector:
        data = hashlib.shake_256(vector.seed.encode()).digest(vector.length)
        return MadeVector(data, f"{vector.length} bytes of SHAKE-256({vector.seed!r})", True)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _write_certificates(pki: TestPKI, out_dir: Path) -> list[dict[str, Any]]:
    entries = []
    for name, spec in pki.spec.certificates.items():
        cert = pki.certificates[name]
        pem = cert.public_bytes(serialization.Encoding.PEM)
        _write(out_dir / CERTS_DIR / f"{name}.pem", pem)
        entries.append(
            {
                "name": name,
                "path": f"{CERTS_DIR}/{name}.pem",
                "sha256": _sha256(pem),
                "subject": cert.subject.rfc4514_string(),
                "issuer": spec.issuer,
                "serial": f"{cert.serial_number:x}",
                "not_before": _iso(spec.not_before),
                "not_after": _iso(spec.not_after),
                "key": spec.key,
            }
        )
    return entries


def _write_crls(pki: TestPKI, out_dir: Path) -> tuple[dict[str, bytes], list[dict[str, Any]]]:
    crls: dict[str, bytes] = {}
    entries = []
    for name, crl in pki.spec.crls.items():
        crls[name] = pki.build_crl(crl)
        _write(out_dir / crl.path, crls[name])
        revoked = [c.name for c in pki.spec.issued_by(crl.issuer) if c.status_at(crl.this_update)]
        entries.append(
            {
                "name": name,
                "path": crl.path,
                "sha256": _sha256(crls[name]),
                "issuer": crl.issuer,
                "this_update": _iso(crl.this_update),
                "next_update": _iso(crl.next_update),
                "revoked": revoked,
            }
        )
    return crls, entries


def _write_vectors(
    pki: TestPKI, spec: VectorsSpec, crls: dict[str, bytes], out_dir: Path
) -> list[dict[str, Any]]:
    for document in spec.documents.values():
        _write(out_dir / document.path, document.text.encode("utf-8"))
    maker = _VectorMaker(pki, spec, crls)
    entries = []
    for vector in spec.vectors.values():
        made = maker.make(vector)
        _write(out_dir / vector.file, made.data)
        content = spec.documents[vector.content].text.encode("utf-8") if vector.content else None
        entries.append(
            {
                "name": vector.name,
                "path": vector.file,
                "sha256": _sha256(made.data),
                "kind": vector.kind,
                "content": vector.content,
                "content_sha256": _sha256(content) if content is not None else None,
                "at": _iso(vector.at),
                "trust": {k: list(v) for k, v in vector.trust.items()},
                "mode": vector.mode,
                "policy": vector.policy,
                "expect": {"verdict": vector.verdict, "reasons": list(vector.reasons)},
                "description": vector.description,
                "deterministic": made.deterministic,
                "made": made.made,
                "signers": list(vector.signers),
                "signing_time": _iso(vector.signing_time) if vector.signers else None,
                "timestamp_time": _iso(vector.timestamp),
            }
        )
    return entries


def generate(spec_dir: Path, out_dir: Path, *, create_keys: bool = True) -> dict[str, Any]:
    """Make everything under ``out_dir`` from the TOML files in ``spec_dir``; return the manifest.

    Keys are read from ``spec_dir/pki/keys`` (and created there when missing, if
    ``create_keys``); when ``out_dir`` is elsewhere, the keys and the two TOML files are copied
    so that ``out_dir`` is a complete vectors directory the responder can serve.
    """
    pki_spec = load_pki_spec(spec_dir)
    vectors_spec = load_vectors_spec(spec_dir, pki_spec)
    pki = build_pki(pki_spec, spec_dir / KEYS_DIR, create_keys=create_keys)

    families = _families()
    for sub in (*GENERATED_DIRS, *(d for f in families for d in f.GENERATED_DIRS)):
        shutil.rmtree(out_dir / sub, ignore_errors=True)
    if out_dir.resolve() != spec_dir.resolve():
        shutil.copytree(spec_dir / KEYS_DIR, out_dir / KEYS_DIR, dirs_exist_ok=True)
        for name in (
            PKI_SPEC_FILE,
            VECTORS_SPEC_FILE,
            *(n for f in families for n in f.SPEC_FILES),
        ):
            shutil.copyfile(spec_dir / name, out_dir / name)

    certificate_entries = _write_certificates(pki, out_dir)
    crls, crl_entries = _write_crls(pki, out_dir)
    vector_entries = _write_vectors(pki, vectors_spec, crls, out_dir)
    for family in families:
        vector_entries += family.make(pki, crls, spec_dir, out_dir)
    key_entries = [
        {
            "name": name,
            "path": f"{KEYS_DIR}/{name}.key.pem",
            "sha256": _sha256((out_dir / KEYS_DIR / f"{name}.key.pem").read_bytes()),
            "type": spec.key,
        }
        for name, spec in pki_spec.certificates.items()
    ]
    manifest = {
        "schema": MANIFEST_SCHEMA,
        "generator": GENERATOR,
        "validation_time": _iso(vectors_spec.validation_time),
        "responder": endpoints.RESPONDER_URL,
        "pki": sorted(certificate_entries, key=lambda e: e["name"]),
        "crls": sorted(crl_entries, key=lambda e: e["name"]),
        "keys": sorted(key_entries, key=lambda e: e["name"]),
        "vectors": sorted(vector_entries, key=lambda e: e["name"]),
    }
    _write(out_dir / MANIFEST_FILE, dump_manifest(manifest).encode("utf-8"))
    return manifest


def dump_manifest(manifest: dict[str, Any]) -> str:
    """The manifest as stable JSON: sorted keys, indent 2, UTF-8 text, trailing newline."""
    return json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


MANIFEST_HEADER = ("schema", "generator", "validation_time", "responder")
MANIFEST_SECTIONS = ("pki", "crls", "keys", "vectors")


def _parses_as_signed_data(data: bytes) -> bool:
    try:
        info = asn1_cms.ContentInfo.load(data)
        return info["content_type"].native == "signed_data" and bool(info.native)
    except ValueError:
        return False


def _parses(kind: str, data: bytes) -> bool:
    """Whether a non-reproducible file is at least well-formed for its kind."""
    if kind == "pdf":
        return data.startswith(b"%PDF-") and b"%%EOF" in data[-1024:]
    if kind == "eml":
        return b"\n\n" in data.replace(b"\r\n", b"\n")
    return _parses_as_signed_data(data)


def _compare_section(
    section: str,
    committed: list[dict[str, Any]],
    fresh: list[dict[str, Any]],
    dirs: tuple[Path, Path],
) -> list[str]:
    """Differences between the committed and regenerated entries of one manifest section."""
    committed_dir, fresh_dir = dirs
    old = {entry["name"]: entry for entry in committed}
    new = {entry["name"]: entry for entry in fresh}
    problems = [
        f"{section} {name}: only in the {'committed' if name in old else 'regenerated'} manifest"
        for name in sorted(old.keys() ^ new.keys())
    ]
    for name in sorted(old.keys() & new.keys()):
        before, after = dict(old[name]), dict(new[name])
        if not after.get("deterministic", True):
            # RSA-PSS: the bytes differ on every run; both files must still be SignedData.
            for directory, entry, which in (
                (committed_dir, before, "committed"),
                (fresh_dir, after, "regenerated"),
            ):
                if not _parses(entry.get("kind", "p7m"), (directory / entry["path"]).read_bytes()):
                    problems.append(f"{section} {name}: the {which} file does not parse")
            del before["sha256"], after["sha256"]
        problems += [
            f"{section} {name}: {field} was {before.get(field)!r}, now {after.get(field)!r}"
            for field in sorted(before.keys() | after.keys())
            if before.get(field) != after.get(field)
        ]
    return problems


def _committed_files_match(spec_dir: Path, manifest: dict[str, Any]) -> list[str]:
    problems = []
    for section in MANIFEST_SECTIONS:
        for entry in manifest.get(section, []):
            path = spec_dir / entry["path"]
            if not path.is_file():
                problems.append(f"{section} {entry['name']}: {entry['path']} is missing")
            elif _sha256(path.read_bytes()) != entry["sha256"]:
                problems.append(f"{section} {entry['name']}: {entry['path']} differs from manifest")
    return problems


def check(spec_dir: Path = VECTORS_DIR) -> list[str]:
    """Regenerate into a temporary directory and compare with the committed manifest.

    Returns the differences found (empty: reproducible). Every field of every entry must be
    equal; for a non-deterministic vector (RSA-PSS) all but the SHA-256, and both its files must
    parse. The committed files must also match the committed manifest.
    """
    committed = json.loads((spec_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(prefix="sigmail-vectors-") as tmp:
        fresh = generate(spec_dir, Path(tmp), create_keys=False)
        problems = [
            f"manifest {key}: committed {committed.get(key)!r}, regenerated {fresh[key]!r}"
            for key in MANIFEST_HEADER
            if committed.get(key) != fresh[key]
        ]
        for section in MANIFEST_SECTIONS:
            problems += _compare_section(
                section, committed.get(section, []), fresh[section], (spec_dir, Path(tmp))
            )
    return problems + _committed_files_match(spec_dir, committed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python vectors/generate.py",
        description="Make sigmail's test PKI and signed vectors from pki.toml and vectors.toml.",
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--out", type=Path, default=VECTORS_DIR, help="output directory (default: vectors/)"
    )
    group.add_argument(
        "--check",
        action="store_true",
        help="regenerate into a temporary directory; fail if anything differs from manifest.json",
    )
    args = parser.parse_args(argv)
    if args.check:
        problems = check(VECTORS_DIR)
        for problem in problems:
            print(problem, file=sys.stderr)
        print(
            "vectors: reproducible" if not problems else f"vectors: {len(problems)} difference(s)"
        )
        return 1 if problems else 0
    args.out.mkdir(parents=True, exist_ok=True)
    manifest = generate(VECTORS_DIR, args.out)
    print(
        f"wrote {len(manifest['pki'])} certificates, {len(manifest['crls'])} CRLs and "
        f"{len(manifest['vectors'])} vectors to {args.out}"
    )
    return 0
