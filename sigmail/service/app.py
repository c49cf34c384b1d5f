"""The ASGI application of ``sigmail serve``: the API under /v1 and the clerk's page at /.

Routes, their answers and their errors are described in docs/service.md and served as
OpenAPI 3.1 at /openapi.json (:mod:`sigmail.service.openapi`).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import time
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sigmail.cli.options import parse_time
from sigmail.errors import UsageError
from sigmail.formats.detect import detect, file_suffix
from sigmail.service.config import ServiceConfig
from sigmail.service.metrics import CONTENT_TYPE_LATEST, ServiceMetrics
from sigmail.service.pool import PoolBroken, PoolBusy, PoolTimeout, VerifierPool
from sigmail.service.uploads import BadUpload, UploadTooLarge, UploadTooSlow, read_upload
from sigmail.service.worker import Job, JobResult, build_verifiers

__all__ = ["SECURITY_HEADERS", "create_app"]

log = logging.getLogger("sigmail.service")

# The page's own files only; inline style attributes are allowed because the verdict display
# (sigmail.verdict.html, shared with the notebook) is styled inline. No inline script runs.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
)
_PROBLEM = "application/problem+json"


class _SecurityHeaders:
    """Pure ASGI middleware (it does not buffer bodies): the strict headers on every answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in names]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        return await self.app(scope, receive, send_with_headers)


def problem(status: int, slug: str, title: str, detail: str, **headers: str) -> Response:
    """An RFC 9457 problem document."""
    body = {"type": f"urn:sigmail:problem:{slug}", "title": title, "status": status}
    body["detail"] = detail
    answer = Response(
        json.dumps(body, ensure_ascii=False).encode(), status_code=status, media_type=_PROBLEM
    )
    for name, value in headers.items():
        answer.headers[name.replace("_", "-")] = value
    return answer


def _basename(name: str | None) -> str | None:
    """A browser may send a path (C:\\fakepath\\x.pdf); the verdict names the file only."""
    if not name:
        return None
    return name.replace("\\", "/").rsplit("/", 1)[-1] or None


class _Service:
    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        verifiers = build_verifiers(config)  # trust and policies now: ConfigError at start
        self.trust = verifiers.get(config.policy_names[0]).trust
        self.revocation = verifiers.revocation.inner
        self.tokens = config.tokens()
        self.metrics = ServiceMetrics()
        self.pool = VerifierPool(config)

    # -- access ------------------------------------------------------------------------------
    def authorized(self, request: Request) -> bool:
        if not self.tokens:
            return True
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return False
        return any(hmac.compare_digest(token.strip(), t) for t in self.tokens)

    def unauthorized(self) -> Response:
        return problem(
            401,
            "token-required",
            "Token required",
            "this service needs Authorization: Bearer <token>",
            www_authenticate='Bearer realm="sigmail"',
        )

    # -- one verification -------------------------------------------------------------------
    async def verify(
        self, request: Request, *, evidence: bool
    ) -> tuple[JobResult | None, Response | None, dict]:
        """Read the upload and verify it: (result, None, facts) or (None, error answer, facts)."""
        config = self.config
        facts: dict = {}
        try:
            upload = await read_upload(
                request,
                limit=config.max_upload_bytes,
                idle=config.upload_idle_seconds,
                total=config.upload_seconds,
            )
        except UploadTooLarge as exc:
            self.metrics.rejected.labels("too_large").inc()
            return (
                None,
                problem(413, "too-large", "Upload too large", str(exc), connection="close"),
                facts,
            )
        except UploadTooSlow as exc:
            self.metrics.rejected.labels("too_slow").inc()
            return (
                None,
                problem(408, "too-slow", "Upload too slow", str(exc), connection="close"),
                facts,
            )
        except BadUpload as exc:
            return None, problem(400, "bad-upload", "No usable document", str(exc)), facts
        facts["size"] = len(upload.data)

        # The worker hashes the document it verifies; an answer refused before that
        # hashes it here, so every log line names the document.
        def refused() -> dict:
            facts.setdefault("sha256", hashlib.sha256(upload.data).hexdigest())
            return facts

        fields = upload.fields
        try:
            at = parse_time(fields["at"]) if "at" in fields else datetime.now(UTC)
            receipt = parse_time(fields["receipt_time"]) if "receipt_time" in fields else None
        except UsageError as exc:
            return None, problem(400, "bad-time", "Bad time", str(exc)), refused()
        if fields.get("lang", "vi") not in ("vi", "en"):
            return None, problem(400, "bad-lang", "Bad language", "lang is vi or en"), refused()
        policy = fields.get("policy", config.policy_names[0])
        if policy not in config.policy_names:
            names = ", ".join(config.policy_names)
            return (
                None,
                problem(400, "bad-policy", "Unknown policy", f"policy is one of {names}"),
                refused(),
            )
        name = _basename(upload.name)
        if config.archive_dir is not None:
            self._archive(upload.data, refused()["sha256"], name)
        job = Job(
            data=upload.data,
            name=name,
            content=upload.content,
            content_name=_basename(upload.content_name),
            at=at,
            receipt_time=receipt,
            policy=policy,
            evidence=evidence,
        )
        self.metrics.in_flight.inc()
        started = time.monotonic()
        try:
            result = await self.pool.run(job)
        except PoolBusy as exc:
            self.metrics.rejected.labels("busy").inc()
            retry = str(config.retry_after_seconds)
            return None, problem(503, "busy", "Busy", str(exc), retry_after=retry), refused()
        except (PoolTimeout, PoolBroken) as exc:
            self.metrics.rejected.labels("failed").inc()
            retry = str(config.retry_after_seconds)
            return (
                None,
                problem(
                    503, "unavailable", "Verification unavailable", str(exc), retry_after=retry
                ),
                refused(),
            )
        finally:
            self.metrics.in_flight.dec()
        self.metrics.latency.observe(time.monotonic() - started)
        self.metrics.upload_bytes.observe(len(upload.data))
        self.metrics.verdicts.labels(result.verdict).inc()
        self.metrics.revocation_fetches.inc(result.revocation_fetches)
        self.metrics.revocation_cache_hits.inc(result.revocation_cache_hits)
        facts.update(verdict=result.verdict, reasons=",".join(result.reasons) or "-", name=name)
        facts["sha256"] = result.sha256 or hashlib.sha256(upload.data).hexdigest()
        facts["lang"] = fields.get("lang", "vi")
        return result, None, facts

    def _archive(self, data: bytes, sha256: str, name: str | None) -> None:
        # The suffix follows the content, not the client's name: a PDF named ".exe" is kept
        # as ".pdf", a signed workbook as ".xlsx", what sigmail does not verify as ".bin".
        ext = file_suffix(detect(data, name), name) or ".bin"
        assert self.config.archive_dir is not None
        target = Path(self.config.archive_dir) / f"{sha256}{ext}"
        if not target.exists():
            target.write_bytes(data)


def _log_line(request: Request, status: int, started: float, facts: dict) -> None:
    """One line per request: what was verified (by hash and size) and how; never the content."""
    ms = (time.monotonic() - started) * 1000
    log.info(
        "%s %s %d sha256=%s size=%s verdict=%s reasons=%s ms=%.1f",
        request.method,
        request.url.path,
        status,
        facts.get("sha256", "-"),
        facts.get("size", "-"),
        facts.get("verdict", "-"),
        facts.get("reasons", "-"),
        ms,
    )


def create_app(config: ServiceConfig) -> Starlette:
    """The application; loading trust and policies here raises ConfigError before serving."""
    from sigmail.service import openapi, page

    service = _Service(config)
    metrics = service.metrics

    def counted(route: str, answer: Response) -> Response:
        metrics.requests.labels(route, str(answer.status_code)).inc()
        return answer

    async def verify(request: Request) -> Response:
        started = time.monotonic()
        if not service.authorized(request):
            answer = service.unauthorized()
            _log_line(request, 401, started, {})
            return counted("/v1/verify", answer)
        evidence = request.query_params.get("evidence") in ("1", "true", "yes")
        result, error, facts = await service.verify(request, evidence=evidence)
        if error is not None:
            answer = error
        elif result is None:  # pragma: no cover - verify() answers one or the other
            raise AssertionError("neither a result nor an error")
        elif evidence:
            stem = Path(facts.get("name") or "document").stem or "document"
            answer = Response(
                result.body,
                media_type="application/zip",
                headers={
                    "content-disposition": f'attachment; filename="{_ascii(stem)}.evidence.zip"',
                    "x-sigmail-verdict": result.verdict,
                },
            )
        else:
            answer = Response(
                result.body,
                media_type="application/json",
                headers={"x-sigmail-verdict": result.verdict},
            )
        _log_line(request, answer.status_code, started, facts)
        return counted("/v1/verify", answer)

    async def reasons(request: Request) -> Response:
        from sigmail.verdict.reasons import reasons_json

        rows = reasons_json()
        return counted("/v1/reasons", JSONResponse(rows))

    async def trust(request: Request) -> Response:
        if not service.authorized(request):
            return counted("/v1/trust", service.unauthorized())
        anchors = [
            {
                "subject": a.subject.human_friendly,
                "class": a.anchor_class.value,
                "sha256": a.sha256,
                "not_before": a.certificate.not_valid_before.isoformat().replace("+00:00", "Z"),
                "not_after": a.certificate.not_valid_after.isoformat().replace("+00:00", "Z"),
            }
            for a in service.trust.anchors
        ]
        body = {"anchors": anchors, "policies": list(config.policy_names)}
        return counted("/v1/trust", JSONResponse(body))

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        checks = {
            "workers": service.pool.ready,
            "trust_anchors": len(service.trust.anchors) > 0,
            "revocation_cache": _cache_usable(config.revocation_cache),
        }
        ready = all(checks.values())
        body = {"status": "ready" if ready else "not_ready", "checks": checks}
        return JSONResponse(body, status_code=200 if ready else 503)

    async def metrics_route(request: Request) -> Response:
        if not service.authorized(request):
            return counted("/metrics", service.unauthorized())
        metrics.queue_depth.set(service.pool.waiting)
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    async def openapi_route(request: Request) -> Response:
        return JSONResponse(openapi.document(config))

    async def page_get(request: Request) -> Response:
        if config.page == "off":
            return problem(404, "not-found", "Not found", "the page is turned off")
        if config.page == "token" and not service.authorized(request):
            return service.unauthorized()
        return HTMLResponse(page.render(page.language(request), None))

    async def page_post(request: Request) -> Response:
        if config.page == "off":
            return problem(404, "not-found", "Not found", "the page is turned off")
        started = time.monotonic()
        if config.page == "token" and not service.authorized(request):
            return service.unauthorized()
        result, error, facts = await service.verify(request, evidence=False)
        lang = facts.get("lang") or page.language(request)
        if error is not None:
            detail = json.loads(bytes(error.body))
            answer = HTMLResponse(
                page.render(lang, None, error=detail), status_code=error.status_code
            )
            for header in ("retry-after", "connection"):
                if header in error.headers:
                    answer.headers[header] = error.headers[header]
        else:
            assert result is not None
            answer = HTMLResponse(page.render(lang, json.loads(result.verdict_json)))
        _log_line(request, answer.status_code, started, facts)
        return counted("/", answer)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        await service.pool.start()
        log.info(
            "sigmail serve ready on %s: %d workers, queue %d, %d anchors, policies %s",
            config.listen,
            config.workers,
            config.queue,
            len(service.trust.anchors),
            ",".join(config.policy_names),
        )
        try:
            yield
        finally:
            service.pool.close()

    static = resources.files("sigmail.service").joinpath("static")
    routes = [
        Route("/", page_get, methods=["GET"]),
        Route("/", page_post, methods=["POST"]),
        Route("/v1/verify", verify, methods=["POST"]),
        Route("/v1/reasons", reasons, methods=["GET"]),
        Route("/v1/trust", trust, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_route, methods=["GET"]),
        Route("/openapi.json", openapi_route, methods=["GET"]),
        Mount("/static", StaticFiles(directory=str(static)), name="static"),
    ]
    middleware = [Middleware(_SecurityHeaders)]
    if config.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(config.cors_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["authorization", "content-type"],
                expose_headers=["x-sigmail-verdict", "retry-after"],
            )
        )
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.service = service
    return app


def _ascii(text: str) -> str:
    return "".join(c if (c.isascii() and c.isalnum()) or c in "-_." else "_" for c in text)[:80]


def _cache_usable(path: str | None) -> bool:
    """No cache configured is usable (nothing to read); a configured one must be a writable
    directory (online) or a readable one (offline)."""
    if path is None:
        return True
    import os

    p = Path(path)
    return p.is_dir() and os.access(p, os.R_OK | os.X_OK)
