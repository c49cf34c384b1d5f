"""The chain cache's key: what it remembers between calls (the trust store's identity, the
text of the chain parameters) never lets two different validations share an entry."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from sigmail import TrustStore
from sigmail.cms.signed_data import parse_signed_data
from sigmail.limits import Budget, Limits
from sigmail.trust.chain_cache import ChainCache, _params_text
from sigmail.trust.chain_types import ChainParams

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
PARSED = parse_signed_data((VECTORS / "cms/person-official.p7m").read_bytes(), Budget(Limits()))
LEAF, INTERMEDIATES = PARSED.certificates[0], PARSED.certificates[1:]


def _key(trust: TrustStore, params: ChainParams) -> bytes:
    return ChainCache.key(LEAF, INTERMEDIATES, (), trust, params)


def test_the_key_tells_parameters_and_trust_stores_apart_and_is_stable():
    official = TrustStore.load(official=[VECTORS / "pki/certs/root-official.pem"])
    public = TrustStore.load(public=[VECTORS / "pki/certs/root-official.pem"])
    both = TrustStore.load(
        official=[VECTORS / "pki/certs/root-official.pem"],
        public=[VECTORS / "pki/certs/root-national.pem"],
    )
    tsa = ChainParams(required_leaf_eku=frozenset({"time_stamping"}))
    keys = {
        _key(official, ChainParams()),
        _key(public, ChainParams()),
        _key(both, ChainParams()),
        _key(official, tsa),
    }
    assert len(keys) == 4
    assert _key(official, ChainParams()) == _key(official, ChainParams())  # remembered text
    assert official.identity == official.identity
    assert public.identity != official.identity
    assert official.reclassified({a.sha256: "public" for a in official.anchors}).identity == (
        public.identity
    )


def test_unhashable_parameters_are_keyed_by_their_text_too():
    listed = dataclasses.replace(ChainParams(), refused_hashes=["md5"])  # type: ignore[arg-type]
    assert _params_text(listed) == repr(listed).encode()
    # Equal parameters share one text (the first one's: a frozenset's repr may list equal
    # sets in another order, which only made the key miss before), unequal ones differ.
    assert _params_text(ChainParams()) == _params_text(ChainParams())
    assert _params_text(ChainParams()).startswith(b"ChainParams(")
    assert _params_text(ChainParams()) != _params_text(listed)


def test_a_certificate_digest_is_its_encodings_and_kept_on_a_loaded_certificate():
    import hashlib

    from asn1crypto import pem, x509

    from sigmail.trust.certificates import der_sha256, fingerprint, load_certificate

    for path in sorted((VECTORS / "pki/certs").glob("*.pem")):
        der = pem.unarmor(path.read_bytes())[2]
        want = hashlib.sha256(der).digest()
        loaded, plain = load_certificate(der), x509.Certificate.load(der)
        assert der_sha256(loaded) == der_sha256(plain) == want
        assert der_sha256(loaded) is der_sha256(loaded)  # computed once, then kept
        assert fingerprint(loaded) == fingerprint(plain) == want.hex().upper()
