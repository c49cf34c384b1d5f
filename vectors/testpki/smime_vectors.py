"""S/MIME test messages (vectors/smime.toml → vectors/smime/*.eml), a vector family.

Plugged into :mod:`vectors.testpki.generator` (``FAMILY_MODULES``): :func:`make` writes the
messages and returns their manifest entries, shaped like the CMS ones with ``kind = "eml"``.

Messages are assembled here byte by byte — CRLF line ends, header fields in a fixed order,
RFC 2047 B words for non-ASCII text, base64 in lines of 76 — and signed with the same CMS
signer as the CMS vectors (:mod:`vectors.testpki.cms`), so every file is reproducible. The
encrypted parts are EnvelopedData for a KEK recipient (AES key wrap, AES-256-CBC) with keys
derived from the vector's name: deterministic, decryptable by anyone who reads this file,
and never decrypted by sigmail, which only has to say "encrypted".
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asn1crypto import cms as asn1_cms
from cryptography.x509.oid import NameOID

from .cms import Signer, enveloped_data, signed_data
from .pki import TestPKI
from .timestamps import timestamp_token

__all__ = ["GENERATED_DIRS", "SPEC_FILES", "make", "signed_message"]

SPEC_FILES = ("smime.toml",)
GENERATED_DIRS = ("smime",)
OUT_DIR = "smime"

FORMS = ("multipart-signed", "opaque", "unsigned", "encrypted", "pgp-signed", "pgp-encrypted")
ENCODINGS = ("base64", "quoted-printable", "8bit", "7bit")
WRAPS = ("text-before", "hidden-html", "attached")
ATTACHMENT_KINDS = ("pdf", "p7m", "p7s-pair", "message", "encrypted")
VERDICTS = ("official", "not_official", "unsigned", "invalid", "indeterminate")
_KEYS = {
    "name",
    "form",
    "signers",
    "from",
    "extra_headers",
    "subject",
    "body",
    "encoding",
    "attachments",
    "wrap",
    "forward",
    "micalg",
    "timestamp",
    "signing_time",
    "econtent",
    "foreign_signer",
    "no_signer_infos",
    "tamper",
    "line_endings",
    "at",
    "mode",
    "policy",
    "expect",
    "documents",
    "description",
}
CRLF = b"\r\n"

# A one-page PDF with no signature (what an attached document looks like before the PDF
# verifier exists; afterwards it is simply an unsigned document).
PDF = (
    b"%PDF-1.4\n"
    b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    b"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n"
    b"3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>\nendobj\n"
    b"xref\n0 4\n0000000000 65535 f \n0000000009 00000 n \n0000000058 00000 n \n"
    b"0000000115 00000 n \ntrailer\n<< /Size 4 /Root 1 0 R >>\nstartxref\n186\n%%EOF\n"
)
PDF_NAME = "Quyết định 123-QĐ-STTTT.pdf"


class SmimeSpecError(ValueError):
    """smime.toml says something this module cannot make."""


@dataclass(frozen=True)
class MessageSpec:
    name: str
    form: str
    signers: tuple[str, ...]
    sender: str | None
    extra_headers: tuple[tuple[str, str], ...]
    subject: str
    body: str
    encoding: str
    attachments: tuple[dict[str, str], ...]
    wrap: str | None
    forward: str | None
    micalg: str | None
    timestamp: dt.datetime | None
    signing_time: dt.datetime
    econtent: str | None
    foreign_signer: str | None
    no_signer_infos: bool
    tamper: tuple[str, str] | None
    line_endings: str
    at: dt.datetime
    mode: str
    policy: str
    verdict: str
    reasons: tuple[str, ...]
    documents: dict[str, str] = field(default_factory=dict)
    description: str = ""


def _load(spec_dir: Path) -> tuple[dict[str, Any], list[MessageSpec]]:
    data = tomllib.loads((spec_dir / SPEC_FILES[0]).read_text(encoding="utf-8"))
    defaults = data.get("defaults", {})
    messages = []
    seen: set[str] = set()
    for entry in data.get("message", []):
        unknown = set(entry) - _KEYS
        name = entry.get("name")
        if unknown:
            raise SmimeSpecError(f"message {name!r}: unknown key(s) {', '.join(sorted(unknown))}")
        if not isinstance(name, str) or name in seen:
            raise SmimeSpecError(f"message {name!r}: missing or repeated name")
        seen.add(name)

        def one_of(key: str, value: Any, allowed: tuple[str, ...], name: str = name) -> Any:
            if value not in allowed:
                raise SmimeSpecError(f"message {name!r}: {key} {value!r} not in {allowed}")
            return value

        expect = entry.get("expect", {})
        for attachment in entry.get("attachments", []):
            one_of("attachment kind", attachment.get("kind"), ATTACHMENT_KINDS)
        tamper = entry.get("tamper")
        messages.append(
            MessageSpec(
                name=name,
                form=one_of("form", entry.get("form", "multipart-signed"), FORMS),
                signers=tuple(entry.get("signers", [])),
                sender=entry.get("from"),
                extra_headers=tuple(tuple(h) for h in entry.get("extra_headers", [])),
                subject=entry.get("subject", defaults["subject"]),
                body=entry.get("body", "letter"),
                encoding=one_of("encoding", entry.get("encoding", "base64"), ENCODINGS),
                attachments=tuple(entry.get("attachments", [])),
                wrap=one_of("wrap", entry.get("wrap"), (None, *WRAPS)),
                forward=entry.get("forward"),
                micalg=entry.get("micalg"),
                timestamp=entry.get("timestamp"),
                signing_time=entry.get(
                    "signing_time", entry.get("timestamp", defaults["signing_time"])
                ),
                econtent=entry.get("econtent"),
                foreign_signer=entry.get("foreign_signer"),
                no_signer_infos=bool(entry.get("no_signer_infos", False)),
                tamper=tuple(tamper) if tamper else None,
                line_endings=one_of(
                    "line_endings", entry.get("line_endings", "crlf"), ("crlf", "lf")
                ),
                at=entry.get("at", defaults["at"]),
                mode=one_of("mode", entry.get("mode", defaults["mode"]), ("online", "offline")),
                policy=entry.get("policy", defaults["policy"]),
                verdict=one_of("expect.verdict", expect.get("verdict"), VERDICTS),
                reasons=tuple(expect.get("reasons", [])),
                documents=dict(entry.get("documents", {})),
                description=entry.get("description", ""),
            )
        )
    return data, messages


# -- text encodings ------------------------------------------------------------------------------


def encoded_words(text: str) -> str:
    """``text`` as RFC 2047 B words (UTF-8), at most 45 bytes each, split on characters;
    ASCII text is returned as it is."""
    if text.isascii():
        return text
    words, chunk = [], b""
    for char in text:
        encoded = char.encode("utf-8")
        if len(chunk) + len(encoded) > 45:
            words.append(chunk)
            chunk = b""
        chunk += encoded
    words.append(chunk)
    return "\r\n ".join(f"=?UTF-8?B?{base64.b64encode(w).decode('ascii')}?=" for w in words)


def _mailbox(value: str) -> str:
    """A From/To value with a non-ASCII display name encoded (the address stays as it is)."""
    if value.isascii() or "<" not in value:
        return value
    display, _, rest = value.partition("<")
    return f"{encoded_words(display.strip())} <{rest}"


def _base64_lines(data: bytes) -> bytes:
    encoded = base64.b64encode(data)
    return CRLF.join(encoded[i : i + 76] for i in range(0, len(encoded), 76)) + CRLF


def _crlf(text: str) -> bytes:
    return text.strip("\n").replace("\n", "\r\n").encode("utf-8") + CRLF


def _encode_text(text: str, encoding: str) -> bytes:
    raw = _crlf(text)
    if encoding == "base64":
        return _base64_lines(raw)
    if encoding == "quoted-printable":
        lines = raw.split(CRLF)
        return CRLF.join(binascii.b2a_qp(line, istext=True) for line in lines)
    if encoding == "7bit" and not raw.isascii():
        raise SmimeSpecError("a 7bit body must be ASCII")
    return raw


def _headers(fields: list[tuple[str, str]]) -> bytes:
    return b"".join(f"{name}: {value}".encode() + CRLF for name, value in fields)


def _boundary(name: str, level: str) -> str:
    return f"----=_sigmail_{level}_{hashlib.sha256(name.encode()).hexdigest()[:16]}"


def _multipart(ctype: str, boundary: str, parts: list[bytes], extra: str = "") -> bytes:
    head = _headers([("Content-Type", f'{ctype}; boundary="{boundary}"{extra}')])
    body = CRLF.join(b"--" + boundary.encode() + CRLF + part for part in parts)
    return head + CRLF + body + CRLF + b"--" + boundary.encode() + b"--" + CRLF


# -- the parts -----------------------------------------------------------------------------------


@dataclass
class _Context:
    pki: TestPKI
    out_dir: Path
    made: dict[str, bytes]
    texts: dict[str, str]


def _text_part(text: str, encoding: str, ctype: str = "text/plain") -> bytes:
    return (
        _headers(
            [
                ("Content-Type", f"{ctype}; charset=utf-8"),
                ("Content-Transfer-Encoding", encoding),
            ]
        )
        + CRLF
        + _encode_text(text, encoding)
    )


def _attachment(ctype: str, name: str, data: bytes, disposition: str = "attachment") -> bytes:
    if name.isascii():
        params = f'; name="{name}"'
        disp = f'{disposition}; filename="{name}"'
    else:
        quoted = "".join(
            chr(b) if b < 0x80 and (chr(b).isalnum() or chr(b) in "-._") else f"%{b:02X}"
            for b in name.encode("utf-8")
        )
        params = ""
        disp = f"{disposition};\r\n filename*=utf-8''{quoted}"
    return (
        _headers(
            [
                ("Content-Type", ctype + params),
                ("Content-Transfer-Encoding", "base64"),
                ("Content-Disposition", disp),
            ]
        )
        + CRLF
        + _base64_lines(data)
    )


def _attachments(spec: MessageSpec, ctx: _Context) -> list[bytes]:
    parts = []
    for attachment in spec.attachments:
        kind = attachment["kind"]
        if kind == "pdf":
            parts.append(_attachment("application/pdf", PDF_NAME, PDF))
        elif kind == "p7m":
            data = (ctx.out_dir / attachment["source"]).read_bytes()
            parts.append(
                _attachment(
                    "application/pkcs7-mime; smime-type=signed-data",
                    attachment.get("name", "quyet-dinh-123.txt.p7m"),
                    data,
                )
            )
        elif kind == "p7s-pair":
            document = (ctx.out_dir / "cms/document.txt").read_bytes()
            signature = (ctx.out_dir / "cms/person-detached.p7s").read_bytes()
            parts.append(_attachment("text/plain; charset=utf-8", "document.txt", document))
            parts.append(_attachment("application/pkcs7-signature", "document.txt.p7s", signature))
        elif kind == "message":
            forwarded = ctx.made[attachment["source"]]
            parts.append(
                _headers([("Content-Type", "message/rfc822"), ("Content-Disposition", "inline")])
                + CRLF
                + forwarded
            )
        else:  # encrypted
            data = enveloped_data(_crlf(ctx.texts["letter"]), spec.name)
            parts.append(
                _attachment("application/pkcs7-mime; smime-type=enveloped-data", "smime.p7m", data)
            )
    return parts


def _pgp_part(ctype: str, block: str) -> bytes:
    """The second part of a PGP/MIME message (RFC 3156): ASCII armour around bytes that are
    *not* an OpenPGP packet. sigmail does not read OpenPGP at all (it says "unsupported" or
    "encrypted" from the MIME structure), so no OpenPGP implementation is needed to make it."""
    filler = base64.b64encode(hashlib.sha512(block.encode()).digest()).decode("ascii")
    armour = (
        f"-----BEGIN PGP {block}-----\r\n\r\n"
        f"{filler}\r\n"
        "(sigmail test data: placeholder bytes, not an OpenPGP packet)\r\n"
        f"-----END PGP {block}-----\r\n"
    )
    return _headers([("Content-Type", ctype)]) + CRLF + armour.encode("ascii")


def _content_entity(spec: MessageSpec, ctx: _Context) -> bytes:
    """The MIME entity that is signed: the text alone, or multipart/mixed with attachments."""
    text = _text_part(ctx.texts[spec.body], spec.encoding)
    attachments = _attachments(spec, ctx)
    if not attachments:
        return text
    return _multipart("multipart/mixed", _boundary(spec.name, "mixed"), [text, *attachments])


def _signers(spec: MessageSpec, ctx: _Context) -> list[Signer]:
    def stamp(signature: bytes) -> bytes:
        assert spec.timestamp is not None
        return timestamp_token(
            ctx.pki.certificates["tsa-official"],
            ctx.pki.keys["tsa-official"],
            hashed_message=hashlib.sha256(signature).digest(),
            gen_time=spec.timestamp,
        )

    return [
        Signer(
            cert=ctx.pki.certificates[name],
            key=ctx.pki.keys[name],
            signing_time=spec.signing_time,
            timestamper=stamp if spec.timestamp is not None else None,
        )
        for name in spec.signers
    ]


def _certificates(names: list[str], ctx: _Context) -> list:
    out: list[str] = []
    for name in names:
        for cert in (name, ctx.pki.spec.certificates[name].issuer):
            if cert not in out:
                out.append(cert)
    return [ctx.pki.certificates[c] for c in out]


def _signature(spec: MessageSpec, entity: bytes, ctx: _Context) -> bytes:
    """The DER SignedData of a multipart/signed (detached) or an opaque message."""
    signers = _signers(spec, ctx)
    names = list(spec.signers)
    if spec.foreign_signer:
        names.append(spec.foreign_signer)
    certificates = _certificates(names, ctx)
    if spec.no_signer_infos:
        return signed_data(
            entity, [], detached=True, certificates=_certificates(["person-an"], ctx)
        )
    if spec.econtent is not None:
        return signed_data(_crlf(spec.econtent), signers, detached=False, certificates=certificates)
    der = signed_data(entity, signers, detached=spec.form != "opaque", certificates=certificates)
    if spec.foreign_signer:
        other = signed_data(
            b"sigmail: other bytes, signed by someone else",
            [
                Signer(
                    cert=ctx.pki.certificates[spec.foreign_signer],
                    key=ctx.pki.keys[spec.foreign_signer],
                    signing_time=spec.signing_time,
                )
            ],
            detached=True,
        )
        info = asn1_cms.ContentInfo.load(der)
        foreign = asn1_cms.ContentInfo.load(other)["content"]["signer_infos"][0]
        content = info["content"]
        content["signer_infos"] = [*content["signer_infos"], foreign]
        der = info.dump(force=True)
    return der


def _common_name(ctx: _Context, signer: str) -> str:
    return _common_name_of(ctx.pki.certificates[signer])


def _top_headers(
    spec: MessageSpec, ctx: _Context, defaults: dict[str, Any]
) -> list[tuple[str, str]]:
    sender = spec.sender
    if sender is None:
        signer = spec.signers[0]
        sender = f"{_common_name(ctx, signer)} <{ctx.pki.spec.certificates[signer].email[0]}>"
    fields = [("From", _mailbox(sender))]
    fields += [(name, _mailbox(value)) for name, value in spec.extra_headers]
    fields += [
        ("To", _mailbox(defaults["to"])),
        ("Subject", encoded_words(spec.subject)),
        ("Date", defaults["date"]),
        ("Message-ID", f"<{spec.name}@sigmail.test>"),
        ("MIME-Version", "1.0"),
    ]
    return fields


def _message(spec: MessageSpec, ctx: _Context, defaults: dict[str, Any]) -> bytes:
    top = _headers(_top_headers(spec, ctx, defaults))
    if spec.form == "unsigned":
        if spec.forward:
            parts = [
                _text_part(ctx.texts["forward-note"], "base64"),
                _headers([("Content-Type", "message/rfc822")]) + CRLF + ctx.made[spec.forward],
            ]
            return top + _multipart("multipart/mixed", _boundary(spec.name, "mixed"), parts)
        return top + _content_entity(spec, ctx)
    if spec.form == "encrypted":
        data = enveloped_data(_content_entity(spec, ctx), spec.name)
        return top + _attachment(
            "application/pkcs7-mime; smime-type=enveloped-data", "smime.p7m", data
        )
    if spec.form == "pgp-signed":
        return top + _multipart(
            "multipart/signed",
            _boundary(spec.name, "signed"),
            [_content_entity(spec, ctx), _pgp_part("application/pgp-signature", "SIGNATURE")],
            extra='; protocol="application/pgp-signature"; micalg=pgp-sha256',
        )
    if spec.form == "pgp-encrypted":
        control = (
            _headers([("Content-Type", "application/pgp-encrypted")]) + CRLF + b"Version: 1" + CRLF
        )
        return top + _multipart(
            "multipart/encrypted",
            _boundary(spec.name, "encrypted"),
            [control, _pgp_part("application/octet-stream", "MESSAGE")],
            extra='; protocol="application/pgp-encrypted"',
        )

    entity = _content_entity(spec, ctx)
    der = _signature(spec, entity, ctx)
    if spec.form == "opaque":
        signed = _attachment("application/pkcs7-mime; smime-type=signed-data", "smime.p7m", der)
    else:
        micalg = spec.micalg or "sha-256"
        signed = _multipart(
            "multipart/signed",
            _boundary(spec.name, "signed"),
            [entity, _attachment("application/pkcs7-signature", "smime.p7s", der)],
            extra=f'; protocol="application/pkcs7-signature"; micalg={micalg}',
        )
    if spec.wrap is None:
        return top + signed
    if spec.wrap == "text-before":
        parts = [_text_part(ctx.texts["unsigned-before"], "8bit"), signed]
    elif spec.wrap == "hidden-html":
        html = (
            "<p><b>Quyết định số 123/QĐ-STTTT đã bị thu hồi.</b></p>\n"
            '<div style="display:none"><plaintext>\n'
        )
        parts = [_text_part(html, "8bit", "text/html"), signed]
    else:  # attached
        parts = [_text_part(ctx.texts["unsigned-before"], "8bit"), signed]
        # the signed part goes as an attachment: give it a disposition header
        head, _, rest = signed.partition(CRLF)
        parts[1] = (
            head + CRLF + b'Content-Disposition: attachment; filename="smime.p7s"' + CRLF + rest
        )
    return top + _multipart("multipart/mixed", _boundary(spec.name, "wrap"), parts)


def _finish(spec: MessageSpec, data: bytes) -> bytes:
    if spec.tamper is not None:
        old, new = (s.encode("utf-8") for s in spec.tamper)
        if data.count(old) != 1:
            raise SmimeSpecError(f"message {spec.name!r}: {spec.tamper[0]!r} is not unique")
        data = data.replace(old, new)
    if spec.line_endings == "lf":
        data = data.replace(CRLF, b"\n")
    return data


def _how(spec: MessageSpec) -> str:
    what = {
        "multipart-signed": "multipart/signed (detached SignedData, SHA-256, PKCS#1 v1.5)",
        "opaque": "application/pkcs7-mime signed-data (attached SignedData, SHA-256)",
        "unsigned": "unsigned message",
        "encrypted": "application/pkcs7-mime enveloped-data (KEK recipient, AES-256-CBC)",
        "pgp-signed": "PGP/MIME multipart/signed (RFC 3156) with placeholder armour",
        "pgp-encrypted": "PGP/MIME multipart/encrypted (RFC 3156) with placeholder armour",
    }[spec.form]
    parts = [what]
    if spec.signers:
        parts.append(f"signers [{', '.join(spec.signers)}], signingTime {_iso(spec.signing_time)}")
    parts.append(f"text {spec.body} in {spec.encoding}")
    if spec.attachments:
        kinds = ", ".join(
            a["kind"] + (f" {a['source']}" if "source" in a else "") for a in spec.attachments
        )
        parts.append(f"attachments [{kinds}]")
    for key in ("wrap", "forward", "micalg", "econtent", "foreign_signer", "tamper"):
        value = getattr(spec, key)
        if value:
            parts.append(f"{key} {value!r}")
    if spec.timestamp is not None:
        parts.append(f"tsa-official timestamp at {_iso(spec.timestamp)}")
    if spec.no_signer_infos:
        parts.append("no SignerInfo")
    if spec.line_endings == "lf":
        parts.append("bare LF line ends")
    return "; ".join(parts)


def _iso(when: dt.datetime | None) -> str | None:
    return None if when is None else when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def make(pki: TestPKI, crls: dict[str, bytes], spec_dir: Path, out_dir: Path) -> list[dict]:
    """Write every message of smime.toml into ``out_dir/smime``; return manifest entries."""
    data, messages = _load(spec_dir)
    defaults = data["defaults"]
    trust = {k: list(v) for k, v in data["trust"].items()}
    ctx = _Context(pki=pki, out_dir=out_dir, made={}, texts=data["text"])
    entries = []
    for spec in messages:
        message = _finish(spec, _message(spec, ctx, defaults))
        ctx.made[spec.name] = message
        path = f"{OUT_DIR}/{spec.name}.eml"
        target = out_dir / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(message)
        entries.append(
            {
                "name": f"smime-{spec.name}",
                "path": path,
                "sha256": hashlib.sha256(message).hexdigest(),
                "kind": "eml",
                "content": None,
                "content_sha256": None,
                "at": _iso(spec.at),
                "trust": trust,
                "mode": spec.mode,
                "policy": spec.policy,
                "expect": {"verdict": spec.verdict, "reasons": list(spec.reasons)},
                "documents": dict(sorted(spec.documents.items())),
                "description": spec.description,
                "deterministic": True,
                "made": _how(spec),
                "signers": list(spec.signers),
                "signing_time": _iso(spec.signing_time) if spec.signers else None,
                "timestamp_time": _iso(spec.timestamp),
            }
        )
    return entries


def signed_message(
    pki: TestPKI,
    signer: str,
    *,
    attachments: tuple[tuple[str, str, bytes], ...] = (),
    text: str = "Kính gửi: Sở Tư pháp tỉnh Kon Tum\n\nGửi kèm phụ lục.\n",
    label: str = "message",
) -> bytes:
    """A multipart/signed message from ``signer`` (From: its first address) with a text part
    and ``attachments`` as ``(content type, file name, data)``: for benchmarks and tests that
    need a message shaped otherwise than the vectors (a large attachment, say)."""
    entity = _text_part(text, "base64")
    if attachments:
        parts = [entity, *(_attachment(c, n, d) for c, n, d in attachments)]
        entity = _multipart("multipart/mixed", _boundary(label, "mixed"), parts)
    cert = pki.certificates[signer]
    der = signed_data(
        entity,
        [
            Signer(
                cert=cert,
                key=pki.keys[signer],
                signing_time=dt.datetime(2026, 5, 20, 3, tzinfo=dt.UTC),
            )
        ],
        detached=True,
        certificates=[cert, pki.issuer_of(signer)],
    )
    address = pki.spec.certificates[signer].email[0]
    top = _headers(
        [
            ("From", _mailbox(f"{_common_name_of(cert)} <{address}>")),
            ("To", "vanthu@stp.kontum.gov.vn"),
            ("Subject", encoded_words("Phụ lục kèm theo")),
            ("Message-ID", f"<{label}@sigmail.test>"),
            ("MIME-Version", "1.0"),
        ]
    )
    return top + _multipart(
        "multipart/signed",
        _boundary(label, "signed"),
        [entity, _attachment("application/pkcs7-signature", "smime.p7s", der)],
        extra='; protocol="application/pkcs7-signature"; micalg=sha-256',
    )


def _common_name_of(cert) -> str:
    return cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
