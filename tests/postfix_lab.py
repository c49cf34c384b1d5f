"""A private Postfix instance on 127.0.0.1 for the mail-filter tests and the benchmark.

Real Postfix, not a mock: its own configuration directory, queue and log file under a
temporary directory, an SMTP listener on a high port, chroot off, every non-local transport
routed to ``error:`` (nothing leaves the machine), and delivery by virtual(8) into one Maildir
under the same directory. The milter is wired in with ``smtpd_milters`` and
``milter_default_action = tempfail``. See ../shared/NOTES-PEERS.md for the pitfalls this
avoids (log only to syslog, the 2-second mtime wait, chroot, socket permissions).

``ensure_postfix()`` installs the Debian package when it is missing and we are root
(debconf "No configuration", so no system instance starts).
"""

from __future__ import annotations

import contextlib
import grp
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from pathlib import Path

__all__ = ["PostfixLab", "ensure_postfix", "free_port", "maildir_messages"]

POSTFIX = "/usr/sbin/postfix"
LOCAL_DOMAINS = ("stp.kontum.gov.vn", "stttt.tphcm.gov.vn", "hold.test", "reject.test")


def ensure_postfix() -> str | None:
    """None when Postfix is usable; otherwise why not (the caller skips with it)."""
    if shutil.which("postfix") or os.path.exists(POSTFIX):
        return None if os.geteuid() == 0 else "Postfix needs root to run a private instance"
    if os.geteuid() != 0:
        return "Postfix is not installed and installing it needs root (apt-get install postfix)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    steps = [
        ["apt-get", "update", "-qq"],
        ["debconf-set-selections"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "postfix"],
    ]
    for step in steps:
        stdin = (
            "postfix postfix/main_mailer_type select No configuration\n"
            if step[0] == "debconf-set-selections"
            else None
        )
        done = subprocess.run(
            step, input=stdin, env=env, capture_output=True, text=True, timeout=600
        )
        if done.returncode != 0:
            return f"installing Postfix failed at {' '.join(step)}: {done.stderr[-500:]}"
    return None if os.path.exists(POSTFIX) else "Postfix did not install"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PostfixLab:
    """One private instance. ``start()``, send mail to ``port``, read ``maildir``, ``stop()``."""

    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="sigmail-pf-")))
    port: int = field(default_factory=free_port)
    milter: str | None = None  # e.g. "unix:/tmp/…/milter.sock"
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def config_dir(self) -> Path:
        return self.root / "etc"

    @property
    def maildir(self) -> Path:
        return self.root / "mail" / "Maildir"

    @property
    def maillog(self) -> Path:
        return self.root / "maillog"

    def main_cf(self) -> dict[str, str]:
        nobody = pwd.getpwnam("nobody")
        settings = {
            "compatibility_level": "3.6",
            "queue_directory": str(self.root / "queue"),
            "data_directory": str(self.root / "data"),
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "myhostname": "mx.sigmail.test",
            "mydomain": "sigmail.test",
            "myorigin": "$myhostname",
            "mydestination": "",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "alias_maps": "",
            "alias_database": "",
            "local_recipient_maps": "",
            "default_transport": "error:nothing leaves this test machine",
            "relay_transport": "error:nothing leaves this test machine",
            "virtual_mailbox_domains": ", ".join(LOCAL_DOMAINS),
            "virtual_mailbox_base": str(self.root / "mail"),
            "virtual_mailbox_maps": "static:Maildir/",
            "virtual_uid_maps": f"static:{nobody.pw_uid}",
            "virtual_gid_maps": f"static:{nobody.pw_gid}",
            "virtual_minimum_uid": "1",
            "maillog_file": str(self.maillog),
            "maillog_file_prefixes": str(self.root),
            "smtpd_peername_lookup": "no",
            "smtp_dns_support_level": "disabled",
            "biff": "no",
            "append_dot_mydomain": "no",
            "smtputf8_enable": "no",
            "smtpd_banner": "$myhostname ESMTP sigmail-test",
            "message_size_limit": str(64 * 1024 * 1024),
            "virtual_mailbox_limit": "0",
            "milter_default_action": "tempfail",
            "milter_protocol": "6",
            "milter_connect_timeout": "5s",
            "milter_command_timeout": "10s",
            "milter_content_timeout": "30s",
            "in_flow_delay": "0",
            "smtpd_client_connection_rate_limit": "0",
            "smtpd_error_sleep_time": "0",
            "smtpd_soft_error_limit": "1000",
            "smtpd_hard_error_limit": "1000",
            "smtpd_recipient_restrictions": "permit_mynetworks, reject",
            "queue_run_delay": "300s",
            "minimal_backoff_time": "300s",
        }
        if self.milter:
            settings["smtpd_milters"] = self.milter
        settings.update(self.extra)
        return settings

    def master_cf(self) -> str:
        # Only the services a local test needs, every one with chroot off (column 5 = n).
        rows = [
            f"127.0.0.1:{self.port} inet n - n - - smtpd",
            "pickup unix n - n 60 1 pickup",
            "cleanup unix n - n - 0 cleanup",
            "qmgr unix n - n 300 1 qmgr",
            "rewrite unix - - n - - trivial-rewrite",
            "bounce unix - - n - 0 bounce",
            "defer unix - - n - 0 bounce",
            "trace unix - - n - 0 bounce",
            "verify unix - - n - 1 verify",
            "flush unix n - n 1000? 0 flush",
            "proxymap unix - - n - - proxymap",
            "proxywrite unix - - n - 1 proxymap",
            "smtp unix - - n - - smtp",
            "relay unix - - n - - smtp",
            "showq unix n - n - - showq",
            "error unix - - n - - error",
            "retry unix - - n - - error",
            "discard unix - - n - - discard",
            "local unix - n n - - local",
            "virtual unix - n n - - virtual",
            "lmtp unix - - n - - lmtp",
            "anvil unix - - n - 1 anvil",
            "scache unix - - n - 1 scache",
            "postlog unix-dgram n - n - 1 postlogd",
        ]
        return "\n".join(rows) + "\n"

    def write_config(self) -> None:
        os.chmod(self.root, 0o755)  # user postfix must reach the queue and the socket
        self.config_dir.mkdir(parents=True, exist_ok=True)
        (self.root / "queue").mkdir(exist_ok=True)
        (self.root / "data").mkdir(exist_ok=True)
        postfix = pwd.getpwnam("postfix")
        os.chown(self.root / "data", postfix.pw_uid, postfix.pw_gid)
        mail = self.root / "mail"
        mail.mkdir(exist_ok=True)
        nobody = pwd.getpwnam("nobody")
        os.chown(mail, nobody.pw_uid, nobody.pw_gid)
        main = "".join(f"{k} = {v}\n" for k, v in self.main_cf().items())
        (self.config_dir / "main.cf").write_text(main)
        (self.config_dir / "master.cf").write_text(self.master_cf())
        # A main.cf younger than a few seconds makes every Postfix command wait for its
        # mtime to settle; backdate both files.
        past = time.time() - 60
        for name in ("main.cf", "master.cf"):
            os.utime(self.config_dir / name, (past, past))

    def postfix(self, *args: str, check: bool = True, timeout: float = 60):
        return subprocess.run(
            [POSTFIX, "-c", str(self.config_dir), *args],
            capture_output=True,
            text=True,
            check=check,
            timeout=timeout,
        )

    def start(self) -> PostfixLab:
        self.write_config()
        self.postfix("check")
        self.postfix("start")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=1) as s,
            ):
                if s.recv(100).startswith(b"220"):
                    return self
            time.sleep(0.1)
        raise RuntimeError(f"Postfix did not answer on port {self.port}: {self.log_tail()}")

    def master_pid(self) -> int | None:
        pid_file = self.root / "queue" / "pid" / "master.pid"
        try:
            return int(pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def stop(self) -> None:
        """``postfix stop``, then wait for the master (by its PID) to be gone."""
        pid = self.master_pid()
        with contextlib.suppress(Exception):
            self.postfix("stop", check=False, timeout=30)
        if pid is None:
            return
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.05)
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def reload(self) -> None:
        self.write_config()
        self.postfix("reload")

    # -- looking --------------------------------------------------------------------------------

    def queue(self) -> list[dict]:
        """``postqueue -j``: one dict per queued message (queue_name, queue_id, …)."""
        done = subprocess.run(
            ["postqueue", "-c", str(self.config_dir), "-j"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
        return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]

    def postcat(self, queue_id: str) -> str:
        done = subprocess.run(
            ["postcat", "-c", str(self.config_dir), "-h", "-q", queue_id],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
        return done.stdout

    def flush_hold(self) -> None:
        subprocess.run(
            ["postsuper", "-c", str(self.config_dir), "-d", "ALL", "hold"],
            capture_output=True,
            check=False,
            timeout=30,
        )

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.maillog.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no maillog)"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def maildir_messages(maildir: Path) -> list[tuple[Path, object]]:
    """Every delivered message (new/ and cur/) with its parsed header."""
    out = []
    for sub in ("new", "cur"):
        folder = maildir / sub
        if folder.is_dir():
            for path in sorted(folder.iterdir()):
                with path.open("rb") as fh:
                    out.append((path, BytesHeaderParser().parse(fh)))
    return out


def group_id(name: str) -> int:
    return grp.getgrnam(name).gr_gid
