"""The SSRF deny-list (sigmail.revocation.addresses.NetworkPolicy), one address or host at a
time. The resolver is the system's (numeric host forms, /etc/hosts) unless a test injects one
to play a DNS answer."""

from __future__ import annotations

import ipaddress
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sigmail.errors import ConfigError
from sigmail.revocation.addresses import DEFAULT_DENIED, METADATA_ADDRESSES, NetworkPolicy
from sigmail.revocation.failures import FetchDenied, FetchError, FetchTimeout

DEFAULT = NetworkPolicy()


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.255.254", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.255", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "CGNAT"),
        ("169.254.1.1", "link-local"),
        ("169.254.169.254", "cloud metadata"),
        ("0.0.0.0", "'this network'"),
        ("255.255.255.255", "reserved"),
        ("224.0.0.1", "multicast"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fe80::1%2", "link-local"),  # a scope id does not hide it
        ("fd12:3456::1", "unique local"),
        ("fd00:ec2::254", "cloud metadata"),
        ("::ffff:127.0.0.1", "127.0.0.1 (in"),  # IPv4-mapped
        ("::ffff:169.254.169.254", "cloud metadata"),
        ("::127.0.0.1", "loopback"),  # IPv4-compatible
        ("64:ff9b::10.0.0.1", "private"),  # NAT64 well-known prefix
        ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
        ("2002:a9fe:a9fe::", "cloud metadata"),  # 6to4 of 169.254.169.254
    ],
)
def test_internal_addresses_are_denied_by_default(address, why):
    reason = DEFAULT.denial(address)
    assert reason is not None and why in reason


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", "1.1.1.1", "203.162.4.191", "172.32.0.1", "100.128.0.1", "2001:4860::8888"],
)
def test_public_addresses_are_allowed(address):
    assert DEFAULT.denial(address) is None


def test_the_most_specific_network_wins_and_metadata_stays_closed():
    policy = NetworkPolicy(allow=["10.1.2.0/24", "169.254.0.0/16"], deny=["8.8.8.0/24"])
    assert policy.denial("10.1.2.3") is None
    assert policy.denial("10.1.3.1") == "10.1.3.1 is private (10.0.0.0/8)"
    assert policy.denial("169.254.1.1") is None
    assert "cloud metadata" in policy.denial("169.254.169.254")
    assert policy.denial("8.8.8.8") == "8.8.8.8 is denied by configuration (8.8.8.0/24)"
    assert NetworkPolicy(allow=["169.254.169.254/32"]).denial("169.254.169.254") is None


def test_without_the_defaults_only_metadata_is_denied():
    policy = NetworkPolicy(deny_defaults=False)
    assert policy.denial("127.0.0.1") is None and policy.denial("10.0.0.1") is None
    assert "cloud metadata" in policy.denial("169.254.169.254")


def test_every_default_entry_is_a_network():
    for network, _label in (*DEFAULT_DENIED, *METADATA_ADDRESSES):
        ipaddress.ip_network(network)  # strict: no host bits set


@given(st.sampled_from([n for n, _ in DEFAULT_DENIED if "." in n]), st.integers(0, 2**32 - 1))
def test_a_denied_ipv4_address_is_denied_in_every_ipv6_form(network, number):
    net = ipaddress.IPv4Network(network)
    ip = ipaddress.IPv4Address(int(net.network_address) + number % net.num_addresses)
    assert DEFAULT.denial(ip) is not None
    for wrapped in (
        f"::ffff:{ip}",
        f"64:ff9b::{ip}",
        f"2002:{int(ip) >> 16:x}:{int(ip) & 0xFFFF:x}::",
    ):
        assert DEFAULT.denial(wrapped) is not None, wrapped


# -- hosts ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "[::1]", "localhost", "2130706433", "0x7f.1", "0177.0.0.1", "127.1"]
)
def test_every_spelling_of_the_loopback_is_denied(host):
    """Numeric forms are judged by what the system resolver makes of them, not by their text."""
    with pytest.raises(FetchDenied, match="is loopback"):
        DEFAULT.resolve(host, 80)


def test_one_denied_address_among_the_answers_denies_the_host():
    """A name answering with a public and an internal address cannot pick later."""
    policy = NetworkPolicy(resolver=lambda host, port: ["93.184.216.34", "10.0.0.7"])
    with pytest.raises(FetchDenied, match=r"^denied: crl\.example → 10\.0\.0\.7 is private"):
        policy.resolve("crl.example", 80)
    public = NetworkPolicy(resolver=lambda host, port: ["93.184.216.34"])
    assert public.resolve("crl.example", 80) == ("93.184.216.34",)


def test_a_name_that_does_not_resolve_is_a_fetch_error_not_a_denial():
    def nxdomain(host, port):
        raise OSError("Name or service not known")

    with pytest.raises(FetchError, match=r"cannot resolve crl\.invalid") as caught:
        NetworkPolicy(resolver=nxdomain).resolve("crl.invalid", 80)
    assert not isinstance(caught.value, FetchDenied)


@pytest.mark.parametrize("bad", [["nope"], ["10.0.0.0/33"], [None], "10.0.0.0/8"])
def test_a_bad_network_is_a_config_error(bad):
    with pytest.raises(ConfigError):
        NetworkPolicy(allow=bad)


def test_a_name_server_that_does_not_answer_is_cut_at_the_timeout():
    """The lookup is left to finish on its own; the fetch stops waiting for it."""
    released = threading.Event()

    def silent(host, port):
        released.wait(30)
        return ["93.184.216.34"]

    try:
        with pytest.raises(FetchTimeout, match=r"timed out resolving slow\.example"):
            NetworkPolicy(resolver=silent).resolve("slow.example", 80, timeout=0.2)
    finally:
        released.set()
    assert NetworkPolicy(resolver=silent).resolve("slow.example", 80, timeout=5.0) == (
        "93.184.216.34",
    )
