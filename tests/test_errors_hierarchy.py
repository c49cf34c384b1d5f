"""Every exception class sigmail defines is under the one root of sigmail/errors.py, and
the internal signals are not ValueErrors (a parser's ``except ValueError`` must not swallow a
spent budget or an algorithm refusal)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import sigmail
from sigmail.errors import InputSignal, SigmailError, SigmailException
from sigmail.limits import LimitExceeded

# Modules that need an optional extra (pandas, dask) or start a front-end on import.
OPTIONAL = {"sigmail.notebook.register", "sigmail.__main__"}


def _defined_exceptions():
    for info in pkgutil.walk_packages(sigmail.__path__, "sigmail."):
        if info.name in OPTIONAL:
            continue
        try:
            module = importlib.import_module(info.name)
        except ImportError:  # an optional dependency that is not installed
            continue
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, BaseException) and obj.__module__ == module.__name__:
                yield obj


def test_every_exception_sigmail_defines_has_the_one_root():
    found = set(_defined_exceptions())
    assert len(found) >= 10  # the walk saw the package, not an empty tree
    strays = sorted(c.__qualname__ for c in found if not issubclass(c, SigmailException))
    assert strays == []


@pytest.mark.parametrize("signal", sorted(InputSignal.__subclasses__(), key=lambda c: c.__name__))
def test_internal_signals_are_not_value_errors(signal):
    assert not issubclass(signal, ValueError)
    assert not issubclass(signal, SigmailError)


def test_a_spent_budget_passes_through_a_parsers_value_error_handler():
    with pytest.raises(LimitExceeded):
        try:
            raise LimitExceeded("mime_parts", 10, 11)
        except ValueError:  # what a parser catches around a library call
            pytest.fail("LimitExceeded was caught as ValueError")
