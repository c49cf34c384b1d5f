"""``sigmail serve``: the verification service (HTTP API under /v1) and the clerk's web page.

A front-end: the core never imports it. :func:`create_app` builds the Starlette application
from a :class:`ServiceConfig`; verification runs in worker processes
(:mod:`sigmail.service.pool`), each keeping one Verifier per policy and its caches, and answers
exactly what ``sigmail verify --json`` prints. See docs/service.md.

Needs the ``service`` extra (``pip install 'sigmail[service]'``).
"""

from __future__ import annotations

from sigmail.service.config import ServiceConfig, load_service_config

__all__ = ["ServiceConfig", "create_app", "load_service_config"]


def create_app(config: ServiceConfig):
    from sigmail.service.app import create_app as build

    return build(config)
