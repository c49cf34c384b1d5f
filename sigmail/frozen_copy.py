"""A changed copy of a dataclass: what ``dataclasses.replace`` gives, at about half its cost.

``dataclasses.replace`` walks every field's metadata, builds a keyword dictionary and calls
the generated ``__init__``: 8-11 µs for a SignatureReport (29 fields), which a small
message's verification paid three to four times. :func:`changed` copies the fields with one
getter made per class, sets the changed ones, then runs ``__post_init__`` as ``__init__``
would, so derived fields (a SignatureReport's ``integrity`` and ``trust``) are derived again.
"""

from __future__ import annotations

import dataclasses
from operator import attrgetter
from typing import Any, TypeVar

__all__ = ["changed"]

T = TypeVar("T")

_Layout = tuple[frozenset[str], tuple[str, ...], Any, tuple[tuple[str, Any, Any], ...]]
_LAYOUTS: dict[type, _Layout] = {}


def _layout(cls: type) -> _Layout:
    layout = _LAYOUTS.get(cls)
    if layout is None:
        fields = dataclasses.fields(cls)
        given = tuple(f.name for f in fields if f.init)
        derived = tuple((f.name, f.default, f.default_factory) for f in fields if not f.init)
        values_of = attrgetter(*given) if given else (lambda _obj: ())
        layout = _LAYOUTS[cls] = (frozenset(given), given, values_of, derived)
    return layout


def changed(obj: T, /, **changes: Any) -> T:
    """``dataclasses.replace(obj, **changes)`` for a dataclass with the generated ``__init__``
    and no InitVars: an equal object, and the same error as ``replace`` for a field that
    cannot be given or does not exist."""
    cls = type(obj)
    names, given, values_of, derived = _layout(cls)
    if not names.issuperset(changes):
        # replace raises for it, as this Python does (init=False: ValueError before 3.13,
        # TypeError since).
        return dataclasses.replace(obj, **changes)  # type: ignore[type-var]
    new = object.__new__(cls)
    put = object.__setattr__
    values = values_of(obj)
    for name, value in zip(given, (values,) if len(given) == 1 else values, strict=True):
        put(new, name, value)
    for name, value in changes.items():
        put(new, name, value)
    for name, default, factory in derived:
        if default is not dataclasses.MISSING:
            put(new, name, default)
        elif factory is not dataclasses.MISSING:
            put(new, name, factory())
    post_init = getattr(new, "__post_init__", None)
    if post_init is not None:
        post_init()
    return new
