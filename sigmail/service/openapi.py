"""The OpenAPI 3.1 description of the service (``GET /openapi.json``), written by hand.

The verdict schema is the project's own (``sigmail/verdict/schema/verdict-1.json``, JSON
Schema 2020-12, which OpenAPI 3.1 embeds as is). tests/test_service_http.py checks the real
answers of a running server against this document.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from sigmail._version import __version__
from sigmail.service.config import ServiceConfig

__all__ = ["document"]


def _verdict_schemas() -> dict[str, Any]:
    """The verdict schema's definitions as components (its "#/$defs/X" become
    "#/components/schemas/X"): every OpenAPI tool resolves those, not all follow an embedded
    $id."""
    text = (
        resources.files("sigmail.verdict").joinpath("schema", "verdict-1.json").read_text("utf-8")
    )
    text = text.replace('"#/$defs/', '"#/components/schemas/')
    return json.loads(text)["$defs"]


def _problem(description: str, *, retry: bool = False) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": description,
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }
    if retry:
        answer["headers"] = {
            "Retry-After": {
                "description": "seconds",
                "schema": {"type": "string", "pattern": "^[0-9]+$"},
            }
        }
    return answer


def _json(ref: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": ref}}}}


# a token when the service is configured with tokens_file
_AUTH: list[dict[str, list[str]]] = [{"bearer": []}, {}]

_FIELDS = {
    "file": {
        "type": "string",
        "contentMediaType": "application/octet-stream",
        "description": "the document: .pdf, .eml, .p7m, .p7s or anything (all get a verdict)",
    },
    "content": {
        "type": "string",
        "contentMediaType": "application/octet-stream",
        "description": "the signed file of a detached .p7s",
    },
    "at": {
        "type": "string",
        "description": "validation time, ISO 8601 with an offset (default: now)",
    },
    "receipt_time": {
        "type": "string",
        "description": "a trusted time the input existed at (ISO 8601)",
    },
    "lang": {"type": "string", "enum": ["vi", "en"]},
    "policy": {
        "type": "string",
        "description": "a configured policy name (GET /v1/trust lists them)",
    },
}


def document(config: ServiceConfig) -> dict[str, Any]:
    query = [
        {
            "name": "evidence",
            "in": "query",
            "required": False,
            "description": "1: answer the evidence bundle (zip) instead of the verdict",
            "schema": {"type": "string", "enum": ["0", "1", "true", "false", "yes", "no"]},
        },
        {
            "name": "name",
            "in": "query",
            "required": False,
            "description": "the file name, for a raw (non-multipart) body",
            "schema": {"type": "string"},
        },
        *(
            {"name": key, "in": "query", "required": False, "schema": _FIELDS[key]}
            for key in ("at", "receipt_time", "lang", "policy")
        ),
    ]
    verify = {
        "summary": "Verify one document",
        "description": "Answers exactly the JSON `sigmail verify --json` prints for the same "
        "input and options, for every verdict (invalid and malformed input included).",
        "security": _AUTH,
        "parameters": query,
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {"type": "object", "required": ["file"], "properties": _FIELDS},
                },
                "application/octet-stream": {
                    "schema": {"type": "string", "contentMediaType": "application/octet-stream"}
                },
                "*/*": {"schema": {"type": "string"}},
            },
        },
        "responses": {
            "200": {
                "description": "the verdict (sigmail.verdict/1); with ?evidence=1 its bundle",
                "headers": {
                    "X-Sigmail-Verdict": {"schema": {"$ref": "#/components/schemas/VerdictKind"}}
                },
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Verdict"}},
                    "application/zip": {
                        "schema": {"type": "string", "contentMediaType": "application/zip"}
                    },
                },
            },
            "400": _problem(
                "no file, a bad time, language or policy, or an unusable multipart body"
            ),
            "401": _problem("a bearer token is required"),
            "408": _problem("the upload stalled or took too long"),
            "413": _problem(f"the body is over {config.max_upload_bytes} bytes"),
            "503": _problem("every worker is busy and the queue is full", retry=True),
        },
    }
    html = {
        "description": "the clerk's page",
        "content": {"text/html": {"schema": {"type": "string"}}},
    }
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "sigmail verification service",
            "version": __version__,
            "description": "Is this official document valid? See docs/service.md.",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "servers": [{"url": "/"}],
        "paths": {
            "/v1/verify": {"post": {"operationId": "verify", **verify}},
            "/v1/reasons": {
                "get": {
                    "operationId": "reasons",
                    "summary": "The reason-code table",
                    "responses": {
                        "200": _json("#/components/schemas/Reasons", "every reason code")
                    },
                }
            },
            "/v1/trust": {
                "get": {
                    "operationId": "trust",
                    "summary": "Trust anchors and policies",
                    "security": _AUTH,
                    "responses": {
                        "200": _json(
                            "#/components/schemas/Trust", "anchors with class and SHA-256"
                        ),
                        "401": _problem("a bearer token is required"),
                    },
                }
            },
            "/healthz": {
                "get": {
                    "operationId": "healthz",
                    "summary": "The process answers",
                    "responses": {"200": _json("#/components/schemas/Health", "alive")},
                }
            },
            "/readyz": {
                "get": {
                    "operationId": "readyz",
                    "summary": "Workers started, trust loaded, revocation cache usable",
                    "responses": {
                        "200": _json("#/components/schemas/Ready", "ready"),
                        "503": _json("#/components/schemas/Ready", "not ready"),
                    },
                }
            },
            "/metrics": {
                "get": {
                    "operationId": "metrics",
                    "summary": "Prometheus metrics (sigmail_*)",
                    "security": _AUTH,
                    "responses": {
                        "200": {
                            "description": "Prometheus text format",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        },
                        "401": _problem("a bearer token is required"),
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document",
                    "responses": {
                        "200": {
                            "description": "OpenAPI 3.1",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
            "/": {
                "get": {
                    "operationId": "page",
                    "summary": "The clerk's page",
                    "parameters": [
                        {
                            "name": "lang",
                            "in": "query",
                            "required": False,
                            "schema": _FIELDS["lang"],
                        }
                    ],
                    "responses": {"200": html, "401": _problem("a bearer token is required")},
                },
                "post": {
                    "operationId": "pageVerify",
                    "summary": "The page's form: the verdict as a page",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "required": ["file"],
                                    "properties": _FIELDS,
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": html,
                        "400": html,
                        "401": _problem("a bearer token is required"),
                        "408": html,
                        "413": html,
                        "503": html,
                    },
                },
            },
            "/static/{file}": {
                "get": {
                    "operationId": "static",
                    "summary": "The page's CSS, script and icon",
                    "parameters": [
                        {
                            "name": "file",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "the file",
                            "content": {"*/*": {"schema": {"type": "string"}}},
                        },
                        "404": {"description": "no such file"},
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                **_verdict_schemas(),  # Verdict, SignatureReport, Finding, …
                "VerdictKind": {
                    "type": "string",
                    "enum": ["official", "not_official", "unsigned", "invalid", "indeterminate"],
                },
                "Problem": {
                    "type": "object",
                    "required": ["type", "title", "status"],
                    "properties": {
                        "type": {"type": "string", "format": "uri"},
                        "title": {"type": "string"},
                        "status": {"type": "integer", "minimum": 400, "maximum": 599},
                        "detail": {"type": "string"},
                    },
                },
                "Reasons": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["code", "effect", "check", "basis", "vi", "en"],
                        "additionalProperties": False,
                        "properties": {
                            k: {"type": "string"}
                            for k in ("code", "effect", "check", "basis", "vi", "en")
                        },
                    },
                },
                "Trust": {
                    "type": "object",
                    "required": ["anchors", "policies"],
                    "properties": {
                        "anchors": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": [
                                    "subject",
                                    "class",
                                    "sha256",
                                    "not_before",
                                    "not_after",
                                ],
                                "properties": {
                                    "subject": {"type": "string"},
                                    "class": {"type": "string", "enum": ["official", "public"]},
                                    "sha256": {"type": "string", "pattern": "^[0-9A-F]{64}$"},
                                    "not_before": {"type": "string", "format": "date-time"},
                                    "not_after": {"type": "string", "format": "date-time"},
                                },
                            },
                        },
                        "policies": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                    },
                },
                "Health": {
                    "type": "object",
                    "required": ["status"],
                    "properties": {"status": {"const": "ok"}},
                },
                "Ready": {
                    "type": "object",
                    "required": ["status", "checks"],
                    "properties": {
                        "status": {"enum": ["ready", "not_ready"]},
                        "checks": {"type": "object", "additionalProperties": {"type": "boolean"}},
                    },
                },
            },
        },
    }
