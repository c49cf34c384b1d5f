"""Control-flow exceptions for bad *input* inside the core.

They never leave a verify call: the entry point turns each into a finding (``malformed``,
``unsupported``) on a verdict. Budgets have their own, :class:`sigmail.limits.LimitExceeded`.
"""

from __future__ import annotations

__all__ = ["InputProblem", "MalformedInput", "UnsupportedInput"]


class InputProblem(Exception):
    code = "malformed"

    def __init__(self, detail: str, locator: str = "document") -> None:
        self.detail = detail
        self.locator = locator
        super().__init__(detail)


class MalformedInput(InputProblem):
    code = "malformed"


class UnsupportedInput(InputProblem):
    code = "unsupported"
