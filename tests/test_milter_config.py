"""The milter configuration: the sample file, errors that name the line, actions, the CLI."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from sigmail.cli import build_parser, main
from sigmail.cli.milter_cmd import config_from_args
from sigmail.errors import ConfigError, MilterConfigError
from sigmail.milter.actions import (
    ActionSet,
    Disposition,
    DomainActions,
    check_reply,
    resolve,
)
from sigmail.milter.config import MilterConfig, load_config, parse_config, parse_socket
from sigmail.milter.runtime import Runtime

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "deploy" / "sigmail-milter.toml"
CERTS = ROOT / "vectors" / "pki" / "certs"


def test_the_sample_config_loads_with_its_documented_values():
    config = load_config(SAMPLE)
    assert config.socket == "unix:/var/spool/postfix/sigmail/milter.sock"
    assert config.authserv_id == "mail.stp.kontum.gov.vn"
    assert config.on_failure is Disposition.ACCEPT
    assert config.time_budget == 20.0 and config.max_message_bytes == 64 * 1024 * 1024
    assert config.trust_dir == "/var/lib/sigmail/trust"
    assert all(d is Disposition.ACCEPT for d in config.actions.default.by_verdict.values())
    override = config.actions.for_domain("vanthu.stp.kontum.gov.vn")
    assert override.by_verdict["invalid"] is Disposition.QUARANTINE
    assert override.by_verdict["unsigned"] is Disposition.ACCEPT  # inherited from [actions]
    # Every default of MilterConfig that the sample states is the same value.
    defaults = MilterConfig()
    for key in (
        "time_budget",
        "spool_memory_bytes",
        "on_failure",
        "shutdown_timeout",
        "max_connections",
        "idle_timeout",
        "read_timeout",
        "max_header_fields",
        "inline_bytes",
    ):
        assert getattr(config, key) == getattr(defaults, key)


def test_relative_paths_are_taken_from_the_config_file(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text('[trust]\nofficial = ["certs/root.pem"]\n[verify]\npolicy = "my.toml"\n')
    config = load_config(path)
    assert config.trust_official == (str(tmp_path / "certs/root.pem"),)
    assert config.policy == str(tmp_path / "my.toml")
    assert parse_config('[verify]\npolicy = "basic"\n').policy == "basic"


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("[milter]\nsocket = 'unix:/x'\nworkerz = 2\n", 3, "unknown key 'workerz'"),
        ("[miltr]\n", 1, "unknown section"),
        ("[milter]\n\ntime_budget = -1\n", 3, "time_budget must be a positive number"),
        ("[milter]\nworkers = 1.5\n", 2, "workers must be a positive integer"),
        ("[milter]\ninline_bytes = -1\n", 2, "inline_bytes must be an integer, 0 or more"),
        ("[milter]\ninline_bytes = true\n", 2, "inline_bytes must be an integer, 0 or more"),
        ("[milter]\nsocket = 'tcp:25'\n", 2, "unknown kind"),
        ("[milter]\nsocket = 'inet:99999@127.0.0.1'\n", 2, "bad port"),
        ("[milter]\non_failure = 'discard'\n", 2, 'on_failure must be "accept" or "tempfail"'),
        ("[milter]\nsocket_mode = 660\n", 2, "octal string"),
        ("[milter]\nauthserv_id = 'two words'\n", 2, "dot-atom"),
        ("[actions]\nofficial = 'accept'\ninvalid = 'bounce'\n", 3, "invalid must be one of"),
        ("[actions]\nreject_reply = '450 4.7.1 later'\n", 2, "reject_reply the reply code"),
        ("[actions]\ntempfail_reply = '550 5.7.1 no'\n", 2, "must be 4xx"),
        ("[actions]\nreject_reply = '550 5.7.1 Chữ ký'\n", 2, "printable ASCII"),
        ("[actions]\nreject_reply = 'go away'\n", 2, 'look like "550 5.7.1 text"'),
        (
            "[actions]\ninvalid = 'accept'\n\n[domains.'a.gov.vn']\nunsigned = 'drop'\n",
            5,
            "unsigned must be one of",
        ),
        ("[domains.'bad domain']\n", 1, "not a domain name"),
        ("[verify]\nat = 2026-06-01T00:00:00\n", 2, "UTC offset"),
        ("[verify]\noffline = 'yes'\n", 2, "offline must be true or false"),
        ("[verify]\nfetch_allow = '10.0.0.0/8'\n", 2, "fetch_allow must be a list of networks"),
        ("[verify]\nfetch_allow = ['intranet']\n", 2, "'intranet' is not an IP network"),
        ("[trust]\nofficial = [1]\n", 2, "list of paths"),
        ("[milter]\nsocket = \n", 2, "Invalid value"),
    ],
)
def test_errors_name_the_line(text, line, message):
    with pytest.raises(MilterConfigError) as caught:
        parse_config(text, source="milter.toml")
    error = caught.value
    assert isinstance(error, ConfigError)
    assert error.line == line, str(error)
    assert str(error).startswith(f"milter.toml:{line}: ")
    assert message in str(error)


def test_fetch_allow_reaches_the_online_source():
    config = parse_config("[verify]\nfetch_allow = ['10.20.0.0/16', '::1']\n")
    assert config.fetch_allow == ("10.20.0.0/16", "::1")
    config = config.with_(trust_official=(str(CERTS / "root-official.pem"),))
    network = Runtime.load(config).verifier.revocation.transport.network
    assert network.denial("10.20.1.1") is None and network.denial("::1") is None
    assert network.denial("10.21.0.1") == "10.21.0.1 is private (10.0.0.0/8)"
    assert config_from_args(parse("--fetch-allow", "192.168.7.0/24")).fetch_allow == (
        "192.168.7.0/24",
    )


def test_a_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(MilterConfigError, match="No such file"):
        load_config(tmp_path / "nope.toml")


def test_time_as_string_and_toml_datetime():
    a = parse_config("[verify]\nat = 2026-06-01T07:00:00+07:00\n").at
    b = parse_config("[verify]\nat = '2026-06-01T00:00:00Z'\n").at
    assert a == b == datetime(2026, 6, 1, tzinfo=UTC)


def test_parse_socket():
    assert parse_socket("unix:/run/s.sock") == ("unix", "/run/s.sock")
    assert parse_socket("local:/run/s.sock") == ("unix", "/run/s.sock")
    assert parse_socket("/run/s.sock") == ("unix", "/run/s.sock")
    assert parse_socket("inet:8891@127.0.0.1") == ("inet", ("127.0.0.1", 8891))
    assert parse_socket("inet:8891") == ("inet", ("127.0.0.1", 8891))
    assert parse_socket("inet6:8891@[::1]") == ("inet6", ("::1", 8891))
    for bad in ("unix:", "inet:x@h", "smtp:25", "relative"):
        with pytest.raises(ValueError):
            parse_socket(bad)


# -- actions ------------------------------------------------------------------------------------


def actions() -> DomainActions:
    return parse_config(
        """
[actions]
invalid = "reject"
indeterminate = "tempfail"
[domains."hold.gov.vn"]
invalid = "quarantine"
quarantine_reason = "held by sigmail: {verdict}"
[domains."*.kontum.gov.vn"]
invalid = "accept"
unsigned = "quarantine"
[domains."stp.kontum.gov.vn"]
unsigned = "reject"
reject_reply = "550 5.7.1 Unsigned mail is refused here"
"""
    ).actions


@pytest.mark.parametrize(
    ("verdict", "recipients", "disposition", "domain"),
    [
        ("official", ["<a@x.vn>"], Disposition.ACCEPT, None),
        ("invalid", ["<a@x.vn>"], Disposition.REJECT, None),
        ("invalid", ["<a@hold.gov.vn>"], Disposition.QUARANTINE, "hold.gov.vn"),
        ("invalid", ["<a@HOLD.gov.vn.>"], Disposition.QUARANTINE, "hold.gov.vn"),
        ("invalid", ["<a@so.kontum.gov.vn>"], Disposition.ACCEPT, "so.kontum.gov.vn"),
        ("invalid", ["<a@a.b.kontum.gov.vn>"], Disposition.ACCEPT, "a.b.kontum.gov.vn"),
        ("unsigned", ["<a@kontum.gov.vn>"], Disposition.ACCEPT, None),  # * is subdomains only
        ("unsigned", ["<a@stp.kontum.gov.vn>"], Disposition.REJECT, "stp.kontum.gov.vn"),
        ("unsigned", ["<a@so.kontum.gov.vn>"], Disposition.QUARANTINE, "so.kontum.gov.vn"),
        # The strictest recipient decides: reject > tempfail > quarantine > accept.
        ("invalid", ["<a@so.kontum.gov.vn>", "<b@hold.gov.vn>"], Disposition.QUARANTINE, None),
        ("invalid", ["<a@hold.gov.vn>", "<b@x.vn>"], Disposition.REJECT, None),
        ("indeterminate", ["<a@hold.gov.vn>"], Disposition.TEMPFAIL, "hold.gov.vn"),
        ("official", [], Disposition.ACCEPT, None),
        ("official", ["postmaster"], Disposition.ACCEPT, None),
    ],
)
def test_resolve(verdict, recipients, disposition, domain):
    decision = resolve(actions(), verdict, recipients)
    assert decision.disposition is disposition
    if domain is not None:
        assert decision.domain == domain.lower().rstrip(".")


def test_decisions_carry_their_texts():
    rules = actions()
    reject = resolve(rules, "unsigned", ["<a@stp.kontum.gov.vn>"])
    assert reject.reply == "550 5.7.1 Unsigned mail is refused here"
    held = resolve(rules, "invalid", ["<a@hold.gov.vn>"])
    assert held.quarantine_reason == "held by sigmail: invalid"
    later = resolve(rules, "indeterminate", ["<a@x.vn>"])
    assert later.reply.startswith("451 4.7.1 ")
    assert resolve(DomainActions(), "invalid", ["<a@x.vn>"]).disposition is Disposition.ACCEPT
    assert ActionSet().by_verdict["invalid"] is Disposition.ACCEPT


def test_check_reply():
    assert check_reply("550 5.7.1 No", "5") is None
    assert check_reply("550 No", "5") is None
    assert check_reply("550", "5") is None
    assert check_reply("550 4.7.1 No", "5") is not None
    assert check_reply("550 5.7.1 100%", "5") is not None


# -- the command line ---------------------------------------------------------------------------


def parse(*argv: str):
    return build_parser().parse_args(["milter", *argv])


def test_cli_options_override_the_file(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text(
        "[milter]\nsocket = 'unix:/a.sock'\nworkers = 3\n[verify]\npolicy = 'basic'\n"
        "[trust]\nofficial = ['/x.pem']\n"
    )
    config = config_from_args(
        parse(
            "--config",
            str(path),
            "--socket",
            "inet:8891@127.0.0.1",
            "--trust",
            "/y.pem",
            "--trust-public",
            "/z.pem",
            "--offline",
            "--revocation-cache",
            "/c",
            "--authserv-id",
            "mx.example",
            "--at",
            "2026-06-01T00:00:00Z",
        )
    )
    assert config.socket == "inet:8891@127.0.0.1"
    assert config.workers == 3 and config.policy == "basic"
    assert config.trust_official == ("/y.pem",) and config.trust_public == ("/z.pem",)
    assert config.offline and config.revocation_cache == "/c"
    assert config.authserv_id == "mx.example"
    assert config.at == datetime(2026, 6, 1, tzinfo=UTC)
    assert config_from_args(parse("--config", str(path))).trust_official == ("/x.pem",)


def test_cli_check_and_errors(capsys, tmp_path):
    trust = ["--trust", str(CERTS / "root-official.pem")]
    assert main(["milter", "--check", *trust, "--authserv-id", "mx.example"]) == 0
    assert "configuration usable" in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text("[milter]\nworkers = 0\n")
    assert main(["milter", "--check", "--config", str(bad)]) == 64
    assert f"{bad}:2: workers must be a positive integer" in capsys.readouterr().err
    assert main(["milter", "--check", "--socket", "tcp:25", *trust]) == 64
    empty = tmp_path / "empty-trust"
    empty.mkdir()
    assert main(["milter", "--check", "--trust-dir", str(empty)]) == 64
    assert "no trust anchors" in capsys.readouterr().err


def test_runtime_uses_the_fixed_time_or_the_receipt():
    config = MilterConfig(trust_official=(str(CERTS / "root-official.pem"),), policy="basic")
    runtime = Runtime.load(config)
    seen = {}

    class Spy:
        def verify(self, data, *, at, receipt_time, name):
            seen.update(at=at, receipt_time=receipt_time)

    received = datetime(2026, 11, 1, tzinfo=UTC)
    Runtime(config, Spy()).verify(b"x", received_at=received)
    assert seen == {"at": received, "receipt_time": received}
    fixed = datetime(2026, 6, 1, tzinfo=UTC)
    Runtime(config.with_(at=fixed, receipt_time=False), Spy()).verify(b"x", received_at=received)
    assert seen == {"at": fixed, "receipt_time": None}
    assert runtime.verifier.limits.max_seconds == config.time_budget
