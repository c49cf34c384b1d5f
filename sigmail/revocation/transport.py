"""HTTP(S) for the online revocation source: one URL in, the response body out."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["HttpTransport", "Transport", "describe"]

Transport = Callable[[str, bytes | None, float], bytes]
"""``(url, body, timeout) -> bytes``: GET when ``body`` is None, else POST it (an OCSP request)."""


class HttpTransport:
    """Plain HTTP(S) with a timeout and a size ceiling; no proxy unless one is configured.

    TLS certificates of CRL/OCSP servers are *not* verified against any trust store: the
    evidence is signed and checked by the chain validator, and sigmail never consults the
    OS or certifi stores.
    """

    def __init__(
        self,
        *,
        max_bytes: int = 32 * 1024 * 1024,
        proxy: str | None = None,
        user_agent: str = "sigmail",
    ) -> None:
        import ssl  # imported here: offline runs never pay for the HTTP stack
        import urllib.request

        self.max_bytes = max_bytes
        self.user_agent = user_agent
        tls = ssl.create_default_context()
        tls.check_hostname = False
        tls.verify_mode = ssl.CERT_NONE
        handlers = [
            urllib.request.ProxyHandler({"http": proxy, "https": proxy} if proxy else {}),
            urllib.request.HTTPSHandler(context=tls),
        ]
        self._opener = urllib.request.build_opener(*handlers)

    def __call__(self, url: str, body: bytes | None, timeout: float) -> bytes:
        headers = {"User-Agent": self.user_agent}
        if body is not None:
            headers["Content-Type"] = "application/ocsp-request"
        import urllib.request

        request = urllib.request.Request(
            url, data=body, headers=headers, method="POST" if body is not None else "GET"
        )
        with self._opener.open(request, timeout=timeout) as response:
            data = response.read(self.max_bytes + 1)
        if len(data) > self.max_bytes:
            raise ValueError(f"response larger than {self.max_bytes} bytes")
        return data


def describe(exc: BaseException) -> str:
    import urllib.error

    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return f"unreachable: {exc.reason}"
    if isinstance(exc, TimeoutError):
        return "timed out"
    return f"{type(exc).__name__}: {exc}"
