"""The long-running server: listening socket, one thread per MTA connection, signals.

* **Concurrency.** Each MTA connection (Postfix opens one per SMTP session) gets a thread
  that speaks the protocol; verification runs on a shared pool of ``workers`` threads, so at
  most that many messages are verified (and held in memory whole) at once, and a message
  over its time budget can be answered without waiting for it. The verifier is pure Python,
  so with ``processes`` > 0 (the default on a machine with several CPUs) each of those
  threads hands its message to one of that many worker processes, each with a warm verifier
  of its own (:mod:`.workers`, which says why the connections stay here); with
  ``processes = 0`` the threads share one Verifier with its chain cache and one revocation
  source with its caches (docs/milter.md, "Throughput", has the measurements).
* **Abuse.** At most ``max_connections`` connections (kept under RLIMIT_NOFILE); at the cap,
  or when accept() runs out of descriptors, idle connections are closed to make room (never
  one with a message in progress), and accept pauses instead of spinning. Each connection
  has an idle and a per-command read timeout (:class:`.protocol.PacketReader`).
* **SIGHUP** re-reads the configuration, trust anchors and policy. A configuration that does
  not load is logged and the running one kept. Messages in progress finish with the
  configuration they started with. (The socket and ``workers`` need a restart.)
* **SIGTERM/SIGINT** stop accepting connections, close idle ones, let messages in progress
  finish (up to ``shutdown_timeout``), then exit. The MTA retries whatever it had not
  finished handing over (``milter_default_action = tempfail``).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import resource
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
from sigmail.milter.workers import VerifierProcesses

__all__ = ["MilterServer", "open_listener"]

log = logging.getLogger("sigmail.milter")


# Connections the kernel holds until accepted. A flood fills it while the accept loop closes
# idle connections; a full one makes the MTA's connect fail at once (EAGAIN on a unix
# socket), so it is deep (the kernel caps it at net.core.somaxconn).
LISTEN_BACKLOG = 1024


def open_listener(spec: str, *, mode: int = 0o660, backlog: int = LISTEN_BACKLOG) -> socket.socket:
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
            raise ConfigError(f"socket {path}: {exc.strerror or exc}") from exc
    else:
        family = socket.AF_INET6 if kind == "inet6" else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            sock.close()
            raise ConfigError(f"socket {spec}: {exc.strerror or exc}") from exc
    sock.listen(backlog)
    return sock


# accept() failing for want of resources: wait, do not retry at once.
_RESOURCE_ERRNOS = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}
LOG_INTERVAL = 10.0
# Descriptors kept for everything but connections: the listener, spool files, revocation
# fetches, trust and policy files on reload, the log.
RESERVED_FDS = 64


def connection_cap(configured: int) -> int:
    """``max_connections``, lowered to fit the process's descriptor limit (RLIMIT_NOFILE)."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return configured
    fits = max(1, soft - RESERVED_FDS)
    if fits < configured:
        log.warning(
            "max_connections %d lowered to %d to fit the descriptor limit %d (LimitNOFILE)",
            configured,
            fits,
            soft,
        )
    return min(configured, fits)


class MilterServer:
    """Serves milter connections with the runtime ``load()`` builds (again on reload)."""

    def __init__(
        self,
        load: Callable[[], Runtime],
        *,
        listener: socket.socket | None = None,
    ) -> None:
        runtime = load()  # configuration errors surface here, before binding
        config: MilterConfig = runtime.config
        self.listener = listener or open_listener(config.socket, mode=config.socket_mode)
        self.processes: VerifierProcesses | None = None
        if config.processes:
            try:
                self.processes = VerifierProcesses(config.processes, config)
            except BaseException:
                self.listener.close()
                raise
        self._load = lambda: load().with_processes(self.processes)
        self.runtime = runtime.with_processes(self.processes)
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
        self.max_connections = connection_cap(config.max_connections)
        self.evictions = 0
        self._backoff = 0.0
        self._logged: dict[str, tuple[float, int]] = {}

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
            "sigmail milter listening on %s (authserv-id %s, %d workers, %d processes, "
            "policy %s%s)",
            config.socket if self.unix_path is None else f"unix:{self.unix_path}",
            config.authserv_id,
            config.workers,
            self.processes.count if self.processes is not None else 0,
            self.runtime.verifier.policy.name,
            ", offline" if config.offline else "",
        )
        self.listener.setblocking(False)
        selector = selectors.DefaultSelector()
        selector.register(self.listener, selectors.EVENT_READ, "accept")
        selector.register(self._wake_r, selectors.EVENT_READ, "wake")
        paused_until = None
        try:
            while not self._stop.is_set():
                if paused_until is not None and time.monotonic() >= paused_until:
                    selector.register(self.listener, selectors.EVENT_READ, "accept")
                    paused_until = None
                timeout = 1.0 if paused_until is None else paused_until - time.monotonic()
                for key, _ in selector.select(timeout=max(0.0, timeout)):
                    if key.data == "accept":
                        pause = self._accept()
                        if pause:
                            selector.unregister(self.listener)
                            paused_until = time.monotonic() + pause
                    else:
                        with contextlib.suppress(OSError):
                            self._wake_r.recv(4096)
                if self._reload.is_set():
                    self._reload.clear()
                    self.reload()
        finally:
            selector.close()
            self._shutdown()

    def _accept(self) -> float | None:
        """Accept what is waiting; a pause in seconds if accepting must back off."""
        while True:
            try:
                conn, peer = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                self._backoff = 0.0
                return None
            except OSError as exc:
                if exc.errno not in _RESOURCE_ERRNOS:
                    self._log_limited("accept failed: %s", exc)
                    return None
                # Out of descriptors (or kernel memory): the listener stays readable, so
                # trying again at once spins. Close a few idle connections and pause while
                # their threads let go of the descriptors; with none to close, pause longer
                # each time. Connections already open are served all along.
                evicted = sum(self._evict_idle(reason="descriptor limit") for _ in range(8))
                if evicted:
                    self._backoff = 0.005
                else:
                    self._backoff = min(max(self._backoff * 2, 0.05), 1.0)
                self._log_limited(
                    "accept failed: %s (%d connections); pausing accept %.2fs",
                    exc.strerror or exc,
                    len(self.sessions),
                    self._backoff,
                )
                return self._backoff
            if len(self.sessions) >= self.max_connections and not self._evict_idle(
                reason="max_connections"
            ):
                self._log_limited(
                    "refused a connection: %d connections, all with a message in progress",
                    len(self.sessions),
                )
                conn.close()  # the MTA applies milter_default_action (tempfail)
                continue
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
            try:
                threading.Thread(
                    target=self._run_session, args=(session,), daemon=True, name="sigmail-milter"
                ).start()
            except RuntimeError as exc:  # no thread to be had (memory, RLIMIT_NPROC)
                with self._sessions_lock:
                    self.sessions.discard(session)
                conn.close()  # the MTA applies milter_default_action (tempfail)
                self._log_limited("refused a connection: cannot start a thread: %s", exc)
                return 0.05

    def _evict_idle(self, *, reason: str) -> bool:
        """Close a connection without a message in progress: one that never sent a message
        (a flood's, a stalled one's) before one that did (an MTA's), the longest idle first."""
        with self._sessions_lock:
            idle = [x for x in self.sessions if not x.busy and not x.evicted]
        if not idle:
            return False
        victim = min(idle, key=lambda x: (x.messages > 0, x.activity))
        victim.evicted = True
        with self._sessions_lock:
            self.sessions.discard(victim)  # its thread ends when the socket shuts down
        with contextlib.suppress(OSError):
            victim.sock.shutdown(socket.SHUT_RDWR)
        self.evictions += 1
        self._log_limited(
            "%s: closed the connection from %s, idle %.0fs, to make room (%d so far)",
            reason,
            victim.peer,
            time.monotonic() - victim.activity,
            self.evictions,
        )
        return True

    def _log_limited(self, fmt: str, *args) -> None:
        """A warning at most every LOG_INTERVAL seconds per message format (a flood of
        connections must not become a flood of log)."""
        now = time.monotonic()
        last, suppressed = self._logged.get(fmt, (float("-inf"), 0))
        if now - last < LOG_INTERVAL:
            self._logged[fmt] = (last, suppressed + 1)
            return
        self._logged[fmt] = (now, 0)
        more = f" ({suppressed} similar in the last {LOG_INTERVAL:g}s)" if suppressed else ""
        log.warning(fmt + more, *args)

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
        for what in ("socket", "workers", "processes"):
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
        if self.processes is not None:
            self.processes.shutdown()
        self._wake_r.close()
        self._wake_w.close()
        log.info("stopped")
        self.stopped.set()
