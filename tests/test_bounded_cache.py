"""The process-wide caches are bounded by the bytes they hold, not only by their count: they
are keyed by encodings anyone can make, and a long-lived worker (the milter's, the
service's) must not grow with every large certificate or CRL an attacker sends."""

from __future__ import annotations

import datetime as dt
import sys
import threading

import pytest
from asn1crypto import x509
from cryptography import x509 as cx509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from sigmail.bounded_cache import BoundedCache
from sigmail.cms import algorithms, signer_info
from sigmail.trust import certificates, revocation_status

KEY = ec.generate_private_key(ec.SECP256R1())


def test_least_recently_used_go_first_beyond_either_bound():
    cache = BoundedCache(max_entries=3, max_weight=100, weigh=lambda k, v: len(v))
    for k in "abc":
        cache.put(k, b"x" * 10)
    assert cache.get("a") == b"x" * 10  # now the most recent
    cache.put("d", b"x" * 10)  # over the count: b goes
    assert "b" not in cache and {"a", "c", "d"} <= {k for k in "abcd" if k in cache}
    cache.put("e", b"y" * 85)  # over the weight: the oldest used, c then a, go
    assert [k for k in "abcde" if k in cache] == ["d", "e"] and cache.weight == 95
    cache.put("f", b"z" * 500)  # heavier than the bound alone: kept, alone
    assert len(cache) == 1 and cache.get("f") == b"z" * 500 and cache.weight == 500


def test_put_keeps_the_first_value_replace_and_pop_adjust_the_weight():
    cache = BoundedCache(max_entries=10, max_weight=1000, weigh=lambda k, v: len(v or ""))
    first = cache.put("k", "first")
    assert cache.put("k", "second!") is first and cache.weight == 5
    cache.replace("k", "second!")
    assert cache.get("k") == "second!" and cache.weight == 7
    assert cache.get("absent", "default") == "default"
    cache.put("none", None)  # a stored None is told apart from a miss by the default
    assert cache.get("none", "missing") is None
    assert cache.pop("k") == "second!" and cache.weight == 0
    cache.clear()
    assert len(cache) == 0 and cache.weight == 0


def test_threads_keep_the_weight_exact():
    cache = BoundedCache(max_entries=50, max_weight=10_000, weigh=lambda k, v: v)

    def work(base):
        for i in range(2000):
            cache.put((base, i % 97), 1 + i % 7)
            cache.get((base, (i * 3) % 97))

    threads = [threading.Thread(target=work, args=(b,)) for b in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(cache) <= 50
    assert cache.weight == sum(v for v, _w in cache._entries.values())


def test_a_hit_racing_an_eviction_gives_the_value_or_a_miss():
    """Hits take no lock: a reader whose entry another thread evicts between the lookup and
    the move to the end still gets the value it found (or a miss), never an error."""
    cache = BoundedCache(max_entries=2, max_weight=10_000, weigh=lambda k, v: 1)
    errors: list[BaseException] = []
    wrong: list[tuple[int, object]] = []

    def evict():
        for i in range(20_000):
            cache.put(i % 5, i % 5 * 10)

    def read():
        try:
            for i in range(20_000):
                found = cache.get(i % 5, "miss")
                if found not in ("miss", i % 5 * 10):
                    wrong.append((i % 5, found))
        except BaseException as exc:  # pragma: no cover - the defect this test is for
            errors.append(exc)

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter can
    try:
        threads = [threading.Thread(target=f) for f in (evict, read, read, evict)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    assert errors == [] and wrong == []
    assert len(cache) <= 2
    assert cache.weight == len(cache)


def _large_certificate(n: int, size: int) -> x509.Certificate:
    """A parseable self-signed certificate carrying ``size`` bytes in an unknown extension."""
    name = cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, f"large {n}")])
    when = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    cert = (
        cx509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(KEY.public_key())
        .serial_number(n + 1)
        .not_valid_before(when)
        .not_valid_after(when + dt.timedelta(days=365))
        .add_extension(
            cx509.UnrecognizedExtension(
                cx509.ObjectIdentifier("1.3.6.1.4.1.99999.1"), b"\0" * size
            ),
            critical=False,
        )
        .sign(KEY, hashes.SHA256())
    )
    return certificates.load_certificate(cert.public_bytes(serialization.Encoding.DER))


@pytest.mark.parametrize(
    ("module", "name", "use"),
    [
        (certificates, "_loaded", lambda cert: certificates.load_certificate(cert.dump())),
        (certificates, "_summaries", certificates.summarize),
        (
            certificates,
            "_stable",
            lambda cert: certificates.stable_certificate(x509.Certificate.load(cert.dump())),
        ),
        (signer_info, "_cert_digests", lambda cert: signer_info.certificate_digest("sha256", cert)),
        (signer_info, "_issuer_serials", signer_info._issuer_serial_der),
    ],
)
def test_caches_keyed_by_certificates_hold_a_bounded_number_of_bytes(
    monkeypatch, module, name, use
):
    shipped = getattr(module, name)
    # the shipped bounds, scaled down: 200 KB certificates against a 1 MB allowance
    scaled = BoundedCache(
        max_entries=shipped.max_entries, max_weight=1024 * 1024, weigh=shipped._weigh
    )
    monkeypatch.setattr(module, name, scaled)
    for n in range(40):  # 8 MB of distinct certificates, each one used
        use(_large_certificate(n, 200_000))
    assert 0 < scaled.weight <= 1024 * 1024 and len(scaled) < 40
    assert shipped.max_weight <= 8 * 1024 * 1024  # what the docs promise per cache


def _self_signed(common_name: str) -> bytes:
    name = cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    when = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    return (
        cx509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(KEY.public_key())
        .serial_number(7)
        .not_valid_before(when)
        .not_valid_after(when + dt.timedelta(days=365))
        .sign(KEY, hashes.SHA256())
        .public_bytes(serialization.Encoding.DER)
    )


def test_names_are_normalised_as_asn1crypto_does_it_once_per_encoding(monkeypatch):
    from pathlib import Path

    from asn1crypto import pem

    monkeypatch.setattr(
        certificates,
        "_loaded",
        BoundedCache(max_entries=1, max_weight=1, weigh=lambda k, v: len(k)),
    )
    names = BoundedCache(max_entries=4096, max_weight=1 << 20, weigh=certificates._name_keys._weigh)
    monkeypatch.setattr(certificates, "_name_keys", names)
    pems = sorted((Path(__file__).parent.parent / "vectors/pki/certs").glob("*.pem"))
    ders = [pem.unarmor(p.read_bytes())[2] for p in pems] + [
        _self_signed("Sở Tư pháp  Kon\u00adTum")
    ]
    for der in ders * 2:  # the second time, every name's key comes from the memo
        cert = certificates.load_certificate(der)
        plain = x509.Certificate.load(der)
        for ours, theirs in ((cert.subject, plain.subject), (cert.issuer, plain.issuer)):
            assert ours._eq_key() == (theirs.hashable, tuple(len(rdn) for rdn in theirs.chosen))
    assert 0 < len(names) < 2 * len(ders)  # issuers are the subjects of others: shared
    # A name RFC 4518 prohibits (a private-use character) is refused every time, not kept.
    for _ in range(2):
        with pytest.raises(ValueError):
            certificates.load_certificate(_self_signed("agency \ue000"))


def test_parsed_revocation_data_is_weighed_at_its_parsed_size():
    cache = revocation_status._parse_cache
    assert cache._weigh(("crl", b"x" * 1000), None) == 16_000
    assert cache.max_weight <= 128 * 1024 * 1024


def test_public_keys_are_weighed_by_their_encoding():
    spki = KEY.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert algorithms._load_public_key(spki) is algorithms._load_public_key(spki)
    assert algorithms._public_keys._weigh(spki, None) == 2 * len(spki)


def test_fetched_responses_are_kept_within_max_cached_bytes():
    from sigmail.revocation.cache import Entry
    from sigmail.revocation.evidence import EvidenceKind, RevocationItem
    from sigmail.revocation.online import OnlineRevocation

    source = OnlineRevocation(max_cached_bytes=100_000)
    for n in range(10):  # ten 30 KB CRLs from ten URLs
        item = RevocationItem(EvidenceKind.CRL, bytes(30_000), "fetched", f"http://x/{n}.crl")
        source._memory.replace(f"crl:http://x/{n}.crl", Entry(item, None))
    assert len(source._memory) == 3 and source._memory.weight <= 100_000
    assert "crl:http://x/9.crl" in source._memory


def test_get_or_make_makes_once_keeps_none_and_keeps_nothing_on_error():
    cache = BoundedCache(max_entries=10, max_weight=1000, weigh=lambda k, v: 1)
    made = []

    def make(value):
        made.append(value)
        return value

    assert cache.get_or_make("a", lambda: make(1)) == 1
    assert cache.get_or_make("a", lambda: make(2)) == 1 and made == [1]
    assert cache.get_or_make("n", lambda: make(None)) is None
    assert cache.get_or_make("n", lambda: make("again")) is None and made == [1, None]

    def broken():
        raise ValueError("does not parse")

    with pytest.raises(ValueError):
        cache.get_or_make("b", broken)
    assert "b" not in cache
