"""The bytes of the documents a message carries, found again for the register's text fields.

The verdict of a message lists its documents by name and SHA-256 but does not keep their
bytes (a verdict is a result, not an archive). To read a document's number and date, the
message is walked again with the verifier's own MIME parser (:mod:`sigmail.smime.mime`,
within the same budgets): every leaf part, the content of every opaque signature
(``application/pkcs7-mime`` signed-data, whose eContent is a MIME entity) and every forwarded
message, and a part whose decoded SHA-256 is a document's is that document. Nothing here
verifies anything; a part that cannot be read is simply not found.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator

from sigmail.limits import Budget, LimitExceeded, Limits
from sigmail.problems import InputProblem
from sigmail.smime.mime import Entity, MimeParser, child_locator
from sigmail.verdict.model import Verdict

__all__ = ["carried_documents"]

log = logging.getLogger("sigmail.audit")

_PKCS7_MIME = ("application/pkcs7-mime", "application/x-pkcs7-mime")
SEPARATOR = " / "


def _opaque_content(entity: Entity, parser: MimeParser) -> bytes | None:
    """The eContent of an opaque signature part (the message's own, not a .p7m document)."""
    from sigmail.cms.signed_data import parse_signed_data
    from sigmail.smime.attachments import is_opaque_signature_name

    if entity.content_type not in _PKCS7_MIME and not (
        entity.content_type == "application/octet-stream"
        and (entity.filename or "").lower() == "smime.p7m"
    ):
        return None
    if not is_opaque_signature_name(entity.filename):
        return None
    if "enveloped" in entity.params.get("smime-type", "").lower():
        return None
    try:
        return parse_signed_data(parser.decoded(entity), parser.budget).econtent
    except InputProblem:
        return None


def _leaves(entity: Entity, parser: MimeParser) -> Iterator[Entity]:
    if entity.is_multipart:
        for child in entity.children:
            yield from _leaves(child, parser)
        return
    inner = _opaque_content(entity, parser)
    if inner is None:
        yield entity
        return
    try:
        content = parser.parse_entity(
            inner, 0, len(inner), locator=child_locator(entity.locator, 1), depth=entity.depth + 1
        )
    except InputProblem:
        return
    yield from _leaves(content, parser)


def carried_documents(
    message: bytes,
    verdict: Verdict,
    visit: Callable[[str, Verdict, bytes, bytes | None], None],
    *,
    limits: Limits | None = None,
    prefix: str = "",
) -> None:
    """Call ``visit(path, document_verdict, data, content)`` for every document ``verdict``
    lists, at any depth (documents of forwarded messages too), with its bytes and, for a
    ``.p7s``, the part it signs. ``path`` names the document within the message
    (``"part 2.eml / quyet-dinh.p7m"``)."""
    if not verdict.documents:
        return
    wanted: dict[str, list[Verdict]] = {}
    for doc in verdict.documents:
        if doc.sha256:
            wanted.setdefault(doc.sha256, []).append(doc)
    parser = MimeParser(Budget(limits or Limits()))
    try:
        root = parser.parse_message(bytes(message))
        leaves = list(_leaves(root, parser))
    except (InputProblem, LimitExceeded) as exc:
        log.debug("cannot walk the message again: %s", exc)
        return
    by_name = {leaf.filename: leaf for leaf in leaves if leaf.filename}
    for leaf in leaves:
        try:
            body = parser.decoded(leaf)
        except (InputProblem, LimitExceeded):
            continue
        found = wanted.get(hashlib.sha256(body).hexdigest())
        if not found:
            continue
        for doc in found:
            path = f"{prefix}{doc.name}"
            if doc.kind == "eml":
                visit(path, doc, body, None)
                carried_documents(body, doc, visit, limits=limits, prefix=path + SEPARATOR)
                continue
            content = None
            if doc.name and doc.name.lower().endswith(".p7s"):
                sibling = by_name.get(doc.name[: -len(".p7s")])
                if sibling is not None and sibling is not leaf:
                    try:
                        content = parser.decoded(sibling)
                    except (InputProblem, LimitExceeded):
                        content = None
            visit(path, doc, body, content)
        del wanted[hashlib.sha256(body).hexdigest()]
