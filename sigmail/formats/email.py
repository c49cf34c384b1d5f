"""E-mail messages (.eml): S/MIME signatures, coverage of every part, the sender's identity.

The work is in :mod:`sigmail.smime`; this is the format handler the verifier calls.
"""

from __future__ import annotations

from sigmail.contract import FormatResult, NestedVerifier, VerificationContext

__all__ = ["verify_email"]


def verify_email(
    data: bytes,
    *,
    name: str | None,
    content: bytes | None,
    ctx: VerificationContext,
    nested: NestedVerifier,
) -> FormatResult:
    """``content`` has no meaning for a message (what is signed is inside it) and is ignored."""
    from sigmail.smime.message import verify_message

    return verify_message(data, ctx=ctx, nested=nested)
