"""The leanest HTTP server one could put around ``Verifier.verify`` (bench reference, issue 14).

    SIGMAIL_LEAN_CACHE=DIR SIGMAIL_LEAN_MODE=inline|canned python bench/lean_server.py PORT

Two uvicorn processes (httptools, uvloop) on one socket, each a raw ASGI application with one
warm Verifier: the request's raw body is the document, verified *inline* in the event loop
(``inline``), or not at all and a verdict computed once is sent back (``canned``: what HTTP
alone costs). No worker pool, no form parsing, no limits, no metrics, no log line, no
security headers: not something sigmail could ship (the loop blocks for a whole
verification, a slow one stalls every connection of that process), but an upper bound on
what any design of ``sigmail serve`` could deliver over HTTP on the same machine.
``bench_serve.py`` measures it in the same round as the service and the in-process loop.
A measurement baseline, never a way to run sigmail.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

AT = datetime(2026, 6, 1, tzinfo=UTC)
_state: dict = {}


def _verify(data: bytes, name: str | None) -> bytes:
    from bench_serve import _verifier

    from sigmail.service.worker import verdict_json

    verifier = _state.get("verifier")
    if verifier is None:
        verifier = _state["verifier"] = _verifier(os.environ["SIGMAIL_LEAN_CACHE"])
    return verdict_json(verifier.verify(data, at=AT, name=name))


async def app(scope, receive, send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    chunks, more = [], True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    data = b"".join(chunks)
    name = scope["query_string"].decode().partition("name=")[2] or None
    if os.environ.get("SIGMAIL_LEAN_MODE") == "canned":
        body = _state.get("canned") or _state.setdefault("canned", _verify(data, name))
    else:
        body = _verify(data, name)
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(
        "lean_server:app",
        host="127.0.0.1",
        port=int(sys.argv[1]),
        workers=2,
        log_level="warning",
        access_log=False,
        app_dir=str(ROOT / "bench"),
    )
