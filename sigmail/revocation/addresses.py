"""Which addresses the fetching layer may connect to: the SSRF guard.

The URLs sigmail fetches come from certificates, and the caIssuers URL of a certificate whose
issuer is missing comes from whoever sent the message: without a guard, any sender could make
the mail filter issue requests to the loopback, the LAN or a cloud metadata service. So every
connection, and every redirect hop, is checked against a deny-list **after resolution**: the
host name is resolved once, every address it resolves to must be allowed, and the connection
goes to one of those very addresses (DNS rebinding between the check and the connect cannot
happen).

Decision for one address: the most specific matching network wins; an allow entry wins a tie
with a deny entry; an address no entry matches is allowed. So ``allow=["10.1.2.0/24"]`` opens
an internal CRL mirror without opening the rest of 10/8, and allowing ``169.254.0.0/16`` still
leaves the metadata address ``169.254.169.254/32`` denied. An IPv6 address that embeds an IPv4
one (IPv4-mapped ``::ffff:a.b.c.d``, IPv4-compatible, SIIT, NAT64 ``64:ff9b::/96``, 6to4
``2002::/16``) must pass for both.
"""

from __future__ import annotations

import concurrent.futures
import ipaddress
import os
import socket
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from sigmail.errors import ConfigError
from sigmail.revocation.failures import FetchDenied, FetchError, FetchTimeout

__all__ = [
    "DEFAULT_DENIED",
    "METADATA_ADDRESSES",
    "NetworkPolicy",
    "Resolver",
    "system_resolver",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

Resolver = Callable[[str, int], Sequence[str]]
"""``(host, port) -> addresses`` (text form); raises OSError when the name does not resolve."""


# Denied unless allowed (label = why, shown in the failure).
DEFAULT_DENIED: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", "'this network'"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "shared address space (CGNAT)"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "IETF protocol assignments"),
    ("192.0.2.0/24", "documentation"),
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),  # includes the broadcast address
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("64:ff9b:1::/48", "local-use NAT64"),
    ("100::/64", "discard-only"),
    ("2001::/32", "Teredo tunnel"),  # the IPv4 client behind it is obfuscated: not checked
    ("2001:db8::/32", "documentation"),
    ("fc00::/7", "unique local (ULA)"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local"),
    ("ff00::/8", "multicast"),
)

# Cloud instance-metadata services: denied as /32 (/128) so that allowing a whole link-local or
# private range for a local responder does not open them; only an exact allow does.
METADATA_ADDRESSES: tuple[tuple[str, str], ...] = (
    ("169.254.169.254/32", "cloud metadata service (AWS, GCP, Azure, OpenStack, DigitalOcean)"),
    ("169.254.170.2/32", "cloud metadata service (AWS ECS task credentials)"),
    ("168.63.129.16/32", "cloud metadata service (Azure WireServer)"),
    ("100.100.100.200/32", "cloud metadata service (Alibaba Cloud)"),
    ("192.0.0.192/32", "cloud metadata service (Oracle Cloud)"),
    ("fd00:ec2::254/128", "cloud metadata service (AWS, IPv6)"),
)

_EMBEDS_IPV4 = (
    ipaddress.IPv6Network("::ffff:0:0/96"),  # IPv4-mapped
    ipaddress.IPv6Network("::/96"),  # IPv4-compatible (deprecated)
    ipaddress.IPv6Network("::ffff:0:0:0/96"),  # IPv4-translated (SIIT)
    ipaddress.IPv6Network("64:ff9b::/96"),  # NAT64 well-known prefix
)
_SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses ``getaddrinfo`` gives for a TCP connection, in its order, once each."""
    out: list[str] = []
    for *_, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        address = str(sockaddr[0])
        if address not in out:
            out.append(address)
    return out


_RESOLVERS: concurrent.futures.ThreadPoolExecutor | None = None
_RESOLVERS_LOCK = threading.Lock()


def _resolvers() -> concurrent.futures.ThreadPoolExecutor:
    """The threads name lookups run in, so a caller can stop waiting for one. A lookup that
    hangs keeps its thread until the system resolver gives up; a few threads bound that."""
    global _RESOLVERS
    with _RESOLVERS_LOCK:
        if _RESOLVERS is None:
            _RESOLVERS = concurrent.futures.ThreadPoolExecutor(8, "sigmail-resolver")
        return _RESOLVERS


def _forget_resolvers_after_fork() -> None:
    # A forked child (an audit worker process) has none of the parent's threads: a pool
    # inherited from the parent would accept lookups and never run them.
    global _RESOLVERS
    _RESOLVERS = None


os.register_at_fork(after_in_child=_forget_resolvers_after_fork)


@dataclass(frozen=True, slots=True)
class _Rule:
    network: IPNetwork
    allow: bool
    label: str


def _networks(values: Iterable[str | IPNetwork], what: str) -> tuple[IPNetwork, ...]:
    if isinstance(values, str):
        raise ConfigError(f"{what} must be a list of networks, not the string {values!r}")
    out = []
    for value in values:
        try:
            out.append(ipaddress.ip_network(value, strict=False))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{what}: {value!r} is not an IP network ({exc})") from None
    return tuple(out)


@dataclass(frozen=True, slots=True)
class NetworkPolicy:
    """Where fetching may connect. ``allow`` and ``deny`` add to the defaults (CIDR strings or
    ``ipaddress`` networks; a bare address is a /32 or /128); ``deny_defaults=False`` drops
    :data:`DEFAULT_DENIED` (the metadata addresses stay denied unless allowed one by one).
    ``resolver`` is injectable for unit tests; the system resolver is the default."""

    allow: tuple[IPNetwork, ...] = ()
    deny: tuple[IPNetwork, ...] = ()
    deny_defaults: bool = True
    resolver: Resolver = field(default=system_resolver, compare=False, repr=False)
    _rules: tuple[_Rule, ...] = field(init=False, compare=False, repr=False)

    @classmethod
    def parse(
        cls, *, allow: Iterable[str | IPNetwork] = (), deny: Iterable[str | IPNetwork] = ()
    ) -> NetworkPolicy:
        """The policy of networks given as CIDR strings or ``ipaddress`` networks (configuration
        files, command lines); a bad entry is a ConfigError naming it."""
        return cls(allow=_networks(allow, "allow_networks"), deny=_networks(deny, "deny_networks"))

    def __post_init__(self) -> None:
        object.__setattr__(self, "allow", _networks(self.allow, "allow_networks"))
        object.__setattr__(self, "deny", _networks(self.deny, "deny_networks"))
        rules = [_Rule(ipaddress.ip_network(n), False, label) for n, label in METADATA_ADDRESSES]
        if self.deny_defaults:
            rules += [_Rule(ipaddress.ip_network(n), False, label) for n, label in DEFAULT_DENIED]
        rules += [_Rule(n, False, "denied by configuration") for n in self.deny]
        rules += [_Rule(n, True, "allowed by configuration") for n in self.allow]
        # Most specific first, allow before deny at equal length: the first match decides.
        rules.sort(key=lambda r: (-r.network.prefixlen, not r.allow))
        object.__setattr__(self, "_rules", tuple(rules))

    # -- one address -------------------------------------------------------------------------
    def _verdict(self, address: IPAddress) -> _Rule | None:
        """The most specific rule matching ``address``, allow winning a tie; None: no rule."""
        for rule in self._rules:
            if rule.network.version == address.version and address in rule.network:
                return rule
        return None

    def denial(self, address: str | IPAddress) -> str | None:
        """Why ``address`` may not be connected to, or None if it may."""
        ip = ipaddress.ip_address(address) if isinstance(address, str) else address
        if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id:
            ip = ipaddress.IPv6Address(ip.compressed.split("%", 1)[0])
        candidates: list[IPAddress] = [ip]
        if isinstance(ip, ipaddress.IPv6Address):
            if int(ip) > 1 and any(ip in net for net in _EMBEDS_IPV4):  # not :: or ::1
                candidates.append(ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF))
            elif ip in _SIX_TO_FOUR and ip.sixtofour is not None:
                candidates.append(ip.sixtofour)
        for candidate in candidates:
            rule = self._verdict(candidate)
            if rule is not None and not rule.allow:
                shown = str(candidate) if candidate == ip else f"{candidate} (in {ip})"
                return f"{shown} is {rule.label} ({rule.network})"
        return None

    # -- one host ----------------------------------------------------------------------------
    def resolve(self, host: str, port: int, *, timeout: float | None = None) -> tuple[str, ...]:
        """The addresses to connect to for ``host``: all of them allowed, else FetchDenied.

        ``host`` is a name or an address literal (brackets allowed); the resolver turns numeric
        forms such as ``2130706433`` or ``0x7f.1`` into the address they mean, so those are
        judged by what they connect to. ``timeout`` bounds the wait for the resolver
        (``getaddrinfo`` has none of its own beyond the system's, which a slow name server of
        the sender's choosing would set): past it, FetchTimeout."""
        name = host[1:-1] if host.startswith("[") and host.endswith("]") else host
        try:
            if timeout is None:
                addresses = tuple(self.resolver(name, port))
            else:
                lookup = _resolvers().submit(self.resolver, name, port)
                addresses = tuple(lookup.result(timeout=max(timeout, 0.0)))
        except concurrent.futures.TimeoutError:
            raise FetchTimeout(f"timed out resolving {name}") from None
        except (OSError, UnicodeError) as exc:
            raise FetchError(f"cannot resolve {name}: {exc}") from exc
        if not addresses:
            raise FetchError(f"cannot resolve {name}: no address")
        for address in addresses:
            try:
                reason = self.denial(address)
            except ValueError:
                reason = f"{address!r} is not an IP address"
            if reason is not None:
                via = "" if address == name else f"{name} → "
                raise FetchDenied(f"denied: {via}{reason}")
        return addresses
