"""Who sent the message: the From address against the signer's certificate (C11).

The rules (docs/smime.md):

* **Exactly one From address.** No From field, several From fields, several mailboxes in one,
  a mailbox without an address or a From field that does not parse → ``sender_ambiguous``
  (invalid): a clerk cannot tell who the sender is.
* **The From address is the signer's.** It must equal an e-mail address of the certificate
  of a signer of *every* signature layer of the message (a layer with several SignerInfos
  needs one of them to match: the person and the agency co-sign). The local part is compared
  exactly, the domain case-insensitively (RFC 5321 §2.4). Otherwise ``signer_mismatch``
  (invalid: spoofing).
* **The certificate's addresses** are its subjectAltName rfc822Names. Only a certificate that
  has none is read for the legacy subject ``emailAddress`` attribute (RFC 8550 §3 asks
  receivers to recognise both; where a CA wrote SANs, they are what it vouched for).
* **Display names.** A display name that itself contains an address other than the actual
  one (``"manager@corp" <eve@corp>``) is ``display_name_deceptive`` (warning); when the
  address it shows does not belong to the signer either, the shown sender is spoofed and that
  is ``signer_mismatch`` too.
* **Sender.** A Sender field whose address differs from From is ``sender_header_differs``
  (warning). It never substitutes for From: the rule book names From.
"""

from __future__ import annotations

from collections.abc import Sequence

from asn1crypto import x509

from sigmail.smime.headers import (
    Mailbox,
    addresses_in_text,
    decode_words,
    normalize_address,
    parse_mailboxes,
)
from sigmail.smime.mime import Entity
from sigmail.smime.signatures import SignatureLayer
from sigmail.verdict.model import Finding

__all__ = ["certificate_addresses", "check_sender", "from_mailbox"]

_EMAIL_ADDRESS_OID = "1.2.840.113549.1.9.1"
MAX_ADDRESS_FIELD = 16 * 1024  # a From or Sender field longer than this names nobody clearly


def certificate_addresses(cert: x509.Certificate) -> tuple[str, ...]:
    """The e-mail addresses a certificate vouches for, normalised (see the module docstring)."""
    found: list[str] = []
    san = cert.subject_alt_name_value
    if san is not None:
        found = [gn.native for gn in san if gn.name == "rfc822_name"]
    if not found:
        for rdn in cert.subject.chosen:
            for ava in rdn:
                if ava["type"].dotted == _EMAIL_ADDRESS_OID:
                    value = ava["value"].native
                    if isinstance(value, str):
                        found.append(value)
    return tuple(dict.fromkeys(normalize_address(a) for a in found))


def from_mailbox(root: Entity) -> tuple[Mailbox | None, list[str]]:
    """The one From mailbox, or None and why there is not exactly one."""
    values = root.get_all("from")
    if not values:
        return None, ["the message has no From field"]
    if len(values) > 1:
        return None, [f"the message has {len(values)} From fields"]
    if len(values[0]) > MAX_ADDRESS_FIELD:
        return None, [f"the From field is longer than {MAX_ADDRESS_FIELD} characters"]
    parsed = parse_mailboxes(values[0])
    problems = list(parsed.problems)
    if not parsed.mailboxes:
        problems.append("the From field is empty")
    elif len(parsed.mailboxes) > 1:
        problems.append(f"the From field lists {len(parsed.mailboxes)} mailboxes")
    elif parsed.mailboxes[0].address is None:
        problems.append("the From field has no address")
    if problems:
        return None, problems
    return parsed.mailboxes[0], []


def sender_text(root: Entity) -> str | None:
    """What the register shows as the sender: the mailbox, or the decoded field(s) as they are."""
    mailbox, _problems = from_mailbox(root)
    if mailbox is not None:
        return str(mailbox)
    values = [decode_words(v[:MAX_ADDRESS_FIELD]) for v in root.get_all("from")]
    return ", ".join(v for v in values if v) or None


def check_sender(root: Entity, layers: Sequence[SignatureLayer]) -> list[Finding]:
    """The C11 identity findings of a message whose signature layers are ``layers``."""
    findings: list[Finding] = []
    mailbox, problems = from_mailbox(root)
    if mailbox is None:
        findings.append(Finding.of("sender_ambiguous", "header From", "; ".join(problems)))
        return findings
    assert mailbox.address is not None
    actual = normalize_address(mailbox.address)
    shown = [
        normalize_address(a)
        for a in addresses_in_text(mailbox.display_name)
        if normalize_address(a) != actual
    ]
    for address in dict.fromkeys(shown):
        findings.append(
            Finding.of(
                "display_name_deceptive",
                "header From",
                f"the display name shows {address}, the address is {actual}",
            )
        )
    findings.extend(_check_sender_field(root, actual))

    for layer in layers:
        if not layer.signers:
            continue  # no signer certificate: already a C2 failure of that signature
        held = {i: certificate_addresses(cert) for i, cert in layer.signers.items()}
        holders = {a for addresses in held.values() for a in addresses}
        which = ", ".join(f"signature {i}" for i in held)
        if actual not in holders:
            listed = ", ".join(sorted(holders)) or "no e-mail address"
            findings.append(
                Finding.of(
                    "signer_mismatch",
                    "header From",
                    f"From is {actual}; the certificate of {which} holds {listed}",
                )
            )
        for address in dict.fromkeys(shown):
            if address not in holders:
                findings.append(
                    Finding.of(
                        "signer_mismatch",
                        "header From",
                        f"the display name shows {address}, which the certificate of {which} "
                        "does not hold",
                    )
                )
    return findings


def _check_sender_field(root: Entity, actual: str) -> list[Finding]:
    values = root.get_all("sender")
    if not values:
        return []
    if len(values) > 1:
        return [Finding.of("sender_header_differs", "header Sender", "several Sender fields")]
    if len(values[0]) > MAX_ADDRESS_FIELD:
        return [
            Finding.of("sender_header_differs", "header Sender", "the Sender field is too long")
        ]
    parsed = parse_mailboxes(values[0])
    addresses = [normalize_address(m.address) for m in parsed.mailboxes if m.address]
    if parsed.problems or len(addresses) != 1:
        return [
            Finding.of("sender_header_differs", "header Sender", "the Sender field does not parse")
        ]
    if addresses[0] != actual:
        return [
            Finding.of(
                "sender_header_differs", "header Sender", f"Sender is {addresses[0]}, From {actual}"
            )
        ]
    return []
