"""The long-running server: listening socket, one thread per MTA connection, signals.

* **Concurrency.** Each MTA connection (Postfix opens one per SMTP session) gets a thread
  that speaks the protocol; verification runs on a shared pool of ``workers`` threads, so at
  most that many messages are verified (and held in memory whole) at once, and a message
  over its time budget can be answered without waiting for it. The verifier is pure Python:
  threads share one Verifier with its chain cache and one revocation source with its caches
  (see docs/milter.md, "Throughput", for the measurement behind this choice).
* **SIGHUP** re-reads the configuration, trust anchors and policy. A configuration that does
  not load is logged and the running one kept. Messages in progress finish with the
  configuration they started with. (The socket and ``workers`` need a restart.)
* **SIGTERM/SIGINT** stop accepting connections, close idle ones, let messages in progress
  finish (up to ``shutdown_timeout``), then exit. The MTA retries whatever it had not
  finished handing over (``milter_default_action = tempfail``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import selectors
import signal
import socket
import stat
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from sigmail.errors import ConfigError
from sigmail.milter.config import MilterConfig, parse_socket
from sigmail.milter.runtime import Runtime
from sigmail.milter.session import Session

__all__ = ["MilterServer", "open_listener"]

log = logging.getLogger("sigmail.milter")


def open_listener(spec: str, *, mode: int = 0o660, backlog: int = 128) -> socket.socket:
    """Bind ``unix:/path`` or ``inet:PORT@HOST``; a stale unix socket file is replaced."""
    try:
        kind, address = parse_socket(spec)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    if kind == "unix":
        path = address
        if os.path.exists(path):
            if not stat.S_ISSOCK(os.lstat(path).st_mode):
                raise ConfigError(f"socket {path}: exists and is not a socket")
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                probe.connect(path)
            except OSError:
                os.unlink(path)  # nobody listens: a leftover of a killed milter
            else:
                raise ConfigError(f"socket {path}: another milter is listening on it")
            finally:
                probe.close()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(path)
            os.chmod(path, mode)
        except OSError as exc:
            sock.close()
            raise ConfigError(f"socket {path}: {exc.strerror}") from exc
    else:
        family = socket.AF_INET6 if kind == "inet6" else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            sock.close()
            raise ConfigError(f"socket {spec}: {exc.strerror}") from exc
    sock.listen(backlog)
    return sock


class MilterServer:
    """Serves milter connections with the runtime ``load()`` builds (again on reload)."""

    def __init__(
        self,
        load: Callable[[], Runtime],
        *,
        listener: socket.socket | None = None,
    ) -> None:
        self._load = load
        self.runtime = load()  # configuration errors surface here, before binding
        config: MilterConfig = self.runtime.config
        self.listener = listener or open_listener(config.socket, mode=config.socket_mode)
        self.unix_path = (
            self.listener.getsockname() if self.listener.family == socket.AF_UNIX else None
        )
        self.executor = ThreadPoolExecutor(
            max_workers=config.workers, thread_name_prefix="sigmail-verify"
        )
        self.sessions: set[Session] = set()
        self._sessions_lock = threading.Lock()
        self._stop = threading.Event()
        self._reload = threading.Event()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self.stopped = threading.Event()

    @property
    def address(self):
        return self.listener.getsockname()

    # -- control (any thread, or a signal handler) ---------------------------------------------

    def request_reload(self) -> None:
        self._reload.set()
        self._wake()

    def request_stop(self) -> None:
        self._stop.set()
        self._wake()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send(b"\0")

    def install_signal_handlers(self) -> None:
        """SIGHUP reloads, SIGTERM and SIGINT stop (main thread only)."""
        signal.signal(signal.SIGHUP, lambda *_: self.request_reload())
        signal.signal(signal.SIGTERM, lambda *_: self.request_stop())
        signal.signal(signal.SIGINT, lambda *_: self.request_stop())

    # -- serving -------------------------------------------------------------------------------

    def serve_forever(self) -> None:
        config = self.runtime.config
        log.info(
            "sigmail milter listening on %s (authserv-id %s, %d workers, policy %s%s)",
            config.socket if self.unix_path is None else f"unix:{self.unix_path}",
            config.authserv_id,
            config.workers,
            self.runtime.verifier.policy.name,
            ", offline" if config.offline else "",
        )
        self.listener.setblocking(False)
        selector = selectors.DefaultSelector()
        selector.register(self.listener, selectors.EVENT_READ, "accept")
        selector.register(self._wake_r, selectors.EVENT_READ, "wake")
        try:
            while not self._stop.is_set():
                for key, _ in selector.select(timeout=1.0):
                    if key.data == "accept":
                        self._accept()
                    else:
                        with contextlib.suppress(OSError):
                            self._wake_r.recv(4096)
                if self._reload.is_set():
                    self._reload.clear()
                    self.reload()
        finally:
            selector.close()
            self._shutdown()

    def _accept(self) -> None:
        while True:
            try:
                conn, peer = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.warning("accept failed: %s", exc)
                return
            conn.setblocking(True)
            if conn.family in (socket.AF_INET, socket.AF_INET6):
                # Nagle + delayed ACK make each milter round trip on loopback ~40 ms.
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            session = Session(
                conn,
                runtime=lambda: self.runtime,
                executor=self.executor,
                peer=str(peer) or "local",
            )
            with self._sessions_lock:
                self.sessions.add(session)
            threading.Thread(
                target=self._run_session, args=(session,), daemon=True, name="sigmail-milter"
            ).start()

    def _run_session(self, session: Session) -> None:
        try:
            session.run()
        finally:
            with self._sessions_lock:
                self.sessions.discard(session)

    def reload(self) -> bool:
        """Build a new runtime from the configuration; keep the old one if that fails."""
        try:
            runtime = self._load()
        except Exception as exc:  # ConfigError mostly; any failure keeps the running config
            log.error("reload failed, keeping the running configuration: %s", exc)
            return False
        old = self.runtime.config
        for what in ("socket", "workers"):
            if getattr(runtime.config, what) != getattr(old, what):
                log.warning("reload: %s changed; it takes effect at the next restart", what)
        self.runtime = runtime
        log.info("configuration reloaded (policy %s)", runtime.verifier.policy.name)
        return True

    def _shutdown(self) -> None:
        config = self.runtime.config
        self.listener.close()
        if self.unix_path:
            with contextlib.suppress(OSError):
                os.unlink(self.unix_path)
        deadline = time.monotonic() + config.shutdown_timeout
        log.info("stopping: finishing messages in progress (up to %gs)", config.shutdown_timeout)
        while True:
            with self._sessions_lock:
                sessions = list(self.sessions)
            if not sessions:
                break
            for session in sessions:
                with session.lock:
                    session.closing = True
                    idle = not session.busy
                if idle or time.monotonic() > deadline:
                    with contextlib.suppress(OSError):
                        session.sock.shutdown(socket.SHUT_RDWR)
            time.sleep(0.05)
        self.executor.shutdown(wait=True, cancel_futures=True)
        self._wake_r.close()
        self._wake_w.close()
        log.info("stopped")
        self.stopped.set()
