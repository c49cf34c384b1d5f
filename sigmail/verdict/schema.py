"""The JSON schema of ``sigmail.verdict/1``, derived from the verdict dataclasses.

The shipped file ``schema/verdict-1.json`` is this function's output (a test keeps them
equal), so the schema cannot drift from the types. Regenerate with
``python -m sigmail.verdict.schema > sigmail/verdict/schema/verdict-1.json``.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from datetime import datetime
from enum import Enum
from importlib import resources
from typing import Any

from sigmail.verdict.model import SCHEMA, Verdict
from sigmail.verdict.reasons import REASONS

__all__ = ["build_schema", "load_schema"]


def _type_schema(tp, defs: dict) -> dict:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        inner = _type_schema(args[0], defs)
        return {"anyOf": [inner, {"type": "null"}]}
    if origin is tuple:
        return {"type": "array", "items": _type_schema(typing.get_args(tp)[0], defs)}
    if tp is str:
        return {"type": "string"}
    if tp is int:
        return {"type": "integer"}
    if tp is bool:
        return {"type": "boolean"}
    if tp is datetime:
        return {"type": "string", "format": "date-time"}
    if isinstance(tp, type) and issubclass(tp, Enum):
        return {"type": "string", "enum": [m.value for m in tp]}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        name = tp.__name__
        if name not in defs:
            defs[name] = {}  # placeholder against recursion (Verdict.documents)
            defs[name] = _dataclass_schema(tp, defs)
        return {"$ref": f"#/$defs/{name}"}
    raise TypeError(f"no JSON schema for {tp!r}")


def _dataclass_schema(cls, defs: dict) -> dict:
    hints = typing.get_type_hints(cls)
    props = {}
    required = []
    for f in dataclasses.fields(cls):
        props[f.name] = _type_schema(hints[f.name], defs)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            required.append(f.name)
    if cls.__name__ == "Finding":
        props["code"] = {"type": "string", "enum": sorted(REASONS)}
    if cls is Verdict:
        props["schema"] = {"const": SCHEMA}
        props["reasons"] = {"type": "array", "items": {"type": "string", "enum": sorted(REASONS)}}
        required = sorted({*required, "schema", "documents", "signatures"})
    schema: dict[str, Any] = {"type": "object", "properties": props, "required": required}
    schema["additionalProperties"] = False
    return schema


def build_schema() -> dict:
    defs: dict = {}
    root = _type_schema(Verdict, defs)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://sigmail.invalid/schema/verdict-1.json",
        "title": SCHEMA,
        "description": "A sigmail verdict: document or message → signatures → findings.",
        **root,
        "$defs": dict(sorted(defs.items())),
    }


def load_schema() -> dict:
    text = (resources.files("sigmail.verdict") / "schema" / "verdict-1.json").read_text("utf-8")
    return json.loads(text)


if __name__ == "__main__":
    print(json.dumps(build_schema(), ensure_ascii=False, indent=2))
