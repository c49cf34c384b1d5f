"""The trust directory: CA certificates an agency installed, checked against the policy's pins.

sigmail ships fingerprints and names of the Vietnamese roots and sub-CAs (in the policy), not
the certificate files. ``install`` copies a certificate into the directory only if its SHA-256
is pinned (or the caller explicitly allows an unpinned one, giving its class); the layout is

    <trust dir>/official/*.pem       official-duty anchors (Ban Cơ yếu Chính phủ)
    <trust dir>/public/*.pem         licensed public CA anchors (national root)
    <trust dir>/intermediates/*.pem  sub-CA certificates that help build chains

The directory is ``$SIGMAIL_TRUST_DIR``, else ``$XDG_DATA_HOME/sigmail/trust``, else
``~/.local/share/sigmail/trust``.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from asn1crypto import pem

from sigmail.errors import TrustStoreError, UsageError
from sigmail.policy.model import AnchorPin, Policy
from sigmail.trust.certificates import fingerprint, name_to_text, parse_certificates
from sigmail.trust.store import TrustStore

__all__ = [
    "Installed",
    "default_trust_dir",
    "install",
    "installed",
    "load_trust_dir",
    "missing_anchor_help",
]

CLASS_DIRS = {"official": "official", "public": "public", "intermediate": "intermediates"}


def default_trust_dir() -> Path:
    explicit = os.environ.get("SIGMAIL_TRUST_DIR")
    if explicit:
        return Path(explicit)
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "sigmail" / "trust"


@dataclass(frozen=True, slots=True)
class Installed:
    path: Path
    sha256: str
    subject: str
    use: str  # "official" | "public" | "intermediate"
    not_after: datetime
    pin: AnchorPin | None


_SLUG_CHARS = 48


def _slug(text: str) -> str:
    """A readable file name: Vietnamese transliterated, not dropped ("Ban Cơ yếu Chính phủ"
    → "Ban-Co-yeu-Chinh-phu"; đ has no decomposition, so it is mapped by hand)."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    slug = re.sub(r"[^A-Za-z0-9]+", "-", bare).strip("-")
    if len(slug) > _SLUG_CHARS:
        cut = slug[:_SLUG_CHARS]
        slug = cut.rsplit("-", 1)[0] if "-" in cut else cut  # at a word boundary
    return slug or "ca"


def install(
    file: str | os.PathLike[str],
    *,
    trust_dir: Path,
    policy: Policy,
    allow_unpinned: bool = False,
    anchor_class: str | None = None,
) -> Installed:
    """Install one certificate file. Raises :class:`TrustStoreError` or :class:`UsageError`."""
    path = Path(file)
    try:
        certs = parse_certificates(path.read_bytes())
    except OSError as exc:
        raise TrustStoreError(f"cannot read: {exc.strerror}", path=str(path)) from exc
    except ValueError as exc:
        raise TrustStoreError(f"not a certificate ({exc})", path=str(path)) from exc
    if len(certs) != 1:
        raise TrustStoreError(f"holds {len(certs)} certificates; give one per file", path=str(path))
    cert = certs[0]
    sha = fingerprint(cert)
    pin = policy.pin(sha)
    if pin is not None:
        use = pin.anchor_class if pin.kind == "root" else "intermediate"
        if anchor_class is not None and anchor_class != pin.anchor_class:
            raise UsageError(f"{pin.name} is pinned as {pin.anchor_class}, not {anchor_class}")
    elif not allow_unpinned:
        raise TrustStoreError(
            f"SHA-256 {sha} is not pinned by policy {policy.name}: refusing to trust it "
            "(check the file's origin; --allow-unpinned --class official|public to insist)",
            path=str(path),
        )
    elif anchor_class not in ("official", "public", "intermediate"):
        raise UsageError("an unpinned certificate needs --class official, public or intermediate")
    else:
        use = anchor_class
    target_dir = trust_dir / CLASS_DIRS[use]
    target_dir.mkdir(parents=True, exist_ok=True)
    subject = name_to_text(cert.subject)
    # The pinned name, else the certificate's own (CN, then O): what a person looks for in
    # the directory listing.
    fields = cert.subject.native
    own = fields.get("common_name") or fields.get("organization_name") or subject
    own = own if isinstance(own, str) else subject  # a multi-valued CN is a list
    target = target_dir / f"{sha[:16].lower()}-{_slug(pin.name if pin else own)}.pem"
    target.write_bytes(pem.armor("CERTIFICATE", cert.dump()))
    return Installed(
        target, sha, subject, use, cert["tbs_certificate"]["validity"]["not_after"].native, pin
    )


def installed(trust_dir: Path, policy: Policy) -> list[Installed]:
    out = []
    for use, sub in CLASS_DIRS.items():
        for path in sorted((trust_dir / sub).glob("*.pem")):
            try:
                cert = parse_certificates(path.read_bytes())[0]
            except (OSError, ValueError):
                continue
            sha = fingerprint(cert)
            out.append(
                Installed(
                    path,
                    sha,
                    name_to_text(cert.subject),
                    use,
                    cert["tbs_certificate"]["validity"]["not_after"].native,
                    policy.pin(sha),
                )
            )
    return out


def load_trust_dir(trust_dir: Path) -> TrustStore:
    """The trust store of an installed directory (empty when there is none)."""
    parts = {use: trust_dir / sub for use, sub in CLASS_DIRS.items()}
    present = {use: [p] if p.is_dir() else [] for use, p in parts.items()}
    return TrustStore.load(
        official=present["official"],
        public=present["public"],
        intermediates=present["intermediate"],
    )


def missing_anchor_help(policy: Policy, trust_dir: Path, lang: str = "vi") -> str:
    """What to tell a user who has no trust anchor installed: where the files are published
    and the command that installs them."""
    head = (
        "Chưa cài đặt chứng thư số gốc tin cậy: không chữ ký nào có thể được tin cậy.\n"
        "Tải các chứng thư sau từ nơi công bố chính thức, rồi chạy `sigmail trust add TỆP`:\n"
        if lang == "vi"
        else "No trust anchor is installed: no signature can be trusted.\n"
        "Download these certificates from where they are published, then run "
        "`sigmail trust add FILE`:\n"
    )
    rows = [
        f"  - {p.name} ({p.anchor_class}, {p.kind}): {p.published or '-'}\n    SHA-256 {p.sha256}\n"
        for p in policy.anchors
    ]
    tail = f"(trust directory: {trust_dir}; or give --trust FILE for one run)\n"
    return head + "".join(rows) + tail
