"""Verdict ↔ plain JSON data, driven by the dataclass type hints so the two never drift."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from datetime import datetime
from enum import Enum
from functools import cache
from typing import Any

__all__ = ["from_dict", "to_dict", "to_json"]


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, tuple | list):
        return [_encode(v) for v in value]
    return value


def to_dict(obj: Any) -> dict:
    return _encode(obj)


def to_json(obj: Any, *, indent: int | None = 2) -> str:
    return json.dumps(to_dict(obj), ensure_ascii=False, indent=indent)


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _decode(tp: Any, value: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _decode(args[0], value)
    if origin is tuple:
        (item, _ellipsis) = typing.get_args(tp)
        return tuple(_decode(item, v) for v in value)
    if isinstance(tp, type):
        if dataclasses.is_dataclass(tp):
            return from_dict(tp, value)
        if issubclass(tp, Enum):
            return tp(value)
        if tp is datetime:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value


def from_dict(cls: type, data: dict) -> Any:
    hints = _hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.init and f.name in data:  # derived fields (init=False) are computed again
            kwargs[f.name] = _decode(hints[f.name], data[f.name])
    return cls(**kwargs)
