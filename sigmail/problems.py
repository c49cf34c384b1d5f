"""Control-flow exceptions for bad *input* inside the core.

They never leave a verify call: the entry point turns each into a finding (``malformed``,
``unsupported``) on a verdict. Budgets have their own, :class:`sigmail.limits.LimitExceeded`.
"""

from __future__ import annotations

from sigmail import asn1_bounds  # noqa: F401 - bounds asn1crypto's OID decoding, see there
from sigmail.errors import InputSignal

__all__ = ["ASN1_ERRORS", "InputProblem", "MalformedInput", "UnsupportedInput"]

# What asn1crypto raises on bad bytes. It parses lazily, so these can surface at any first
# read of a field, not only at load time; RecursionError comes from a structure nested deeper
# than Python's stack (asn1crypto bounds only indefinite-length nesting).
ASN1_ERRORS = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    OverflowError,
    AttributeError,
    RecursionError,
)


class InputProblem(InputSignal):
    code = "malformed"

    def __init__(self, detail: str, locator: str = "document") -> None:
        self.detail = detail
        self.locator = locator
        super().__init__(detail)


class MalformedInput(InputProblem):
    code = "malformed"


class UnsupportedInput(InputProblem):
    code = "unsupported"
