"""The test PKI's private keys: generated once, kept in git, reused on every run.

Reusing the keys is what makes regeneration byte-for-byte reproducible (RSA PKCS#1 v1.5 and
deterministic ECDSA signatures depend only on key and message). They are test keys: PEM,
PKCS#8, unencrypted, and must never protect anything real.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa

__all__ = [
    "PrivateKey",
    "digest_bytes",
    "hash_algorithm",
    "is_eddsa",
    "key_matches",
    "load_or_create_key",
    "sign",
    "uses_hash",
]

PrivateKey = (
    rsa.RSAPrivateKey
    | ec.EllipticCurvePrivateKey
    | ed25519.Ed25519PrivateKey
    | ed448.Ed448PrivateKey
)


def _mldsa():
    # ML-DSA (FIPS 204) needs cryptography >= 47 on OpenSSL >= 3.5; only the ML-DSA test
    # certificate needs it, so it is imported when that key is first made or loaded.
    from cryptography.hazmat.primitives.asymmetric import mldsa

    return mldsa


def _generate(key_type: str):
    if key_type.startswith("rsa-"):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(key_type[4:]))
    if key_type == "ec-p256":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if key_type == "ed448":
        return ed448.Ed448PrivateKey.generate()
    if key_type == "mldsa-65":
        return _mldsa().MLDSA65PrivateKey.generate()
    raise ValueError(f"unknown key type {key_type!r}")


def key_matches(key, key_type: str) -> bool:
    if isinstance(key, rsa.RSAPrivateKey):
        return key_type == f"rsa-{key.key_size}"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return isinstance(key.curve, ec.SECP256R1) and key_type == "ec-p256"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key_type == "ed25519"
    if isinstance(key, ed448.Ed448PrivateKey):
        return key_type == "ed448"
    return key_type == "mldsa-65" and isinstance(key, _mldsa().MLDSA65PrivateKey)


def load_or_create_key(keys_dir: Path, name: str, key_type: str, *, create: bool) -> PrivateKey:
    """The key ``keys_dir/<name>.key.pem``; made (and written) first if allowed.

    ``create=False`` is for ``--check``: a missing key means the committed vectors cannot be
    reproduced, which is an error, not something to paper over with a fresh key.
    """
    path = keys_dir / f"{name}.key.pem"
    if path.exists():
        # Skipping RSA validation halves the generator's run time; these keys were made by
        # cryptography itself and are checked against pki.toml's key type below.
        key = serialization.load_pem_private_key(
            path.read_bytes(), password=None, unsafe_skip_rsa_key_validation=True
        )
        if not key_matches(key, key_type):
            raise ValueError(f"{path} is not a {key_type} key; delete it to make a new one")
        return key
    if not create:
        raise FileNotFoundError(f"{path} is missing; run vectors/generate.py to create it")
    key = _generate(key_type)
    keys_dir.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return key


_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


def hash_algorithm(name: str) -> hashes.HashAlgorithm:
    """cryptography's hash object for an asn1crypto digest name ("sha256", …)."""
    try:
        return _HASHES[name]()
    except KeyError:
        raise ValueError(f"unsupported digest {name!r}") from None


def digest_bytes(name: str, data: bytes) -> bytes:
    """The CMS message digest of ``data``: SHAKE256 has the 512-bit output of RFC 8419."""
    if name in ("shake256", "shake256_len"):
        return hashlib.shake_256(data).digest(64)
    return hashlib.new(name, data).digest()


def is_eddsa(key) -> bool:
    return isinstance(key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey)


def uses_hash(key) -> bool:
    """Whether the key's signature scheme takes a separate hash (RSA, ECDSA) or hashes
    internally (EdDSA, ML-DSA: pure mode, the message itself is signed)."""
    return isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)


def sign(key, data: bytes, digest: str = "sha256", *, pss: bool = False) -> bytes:
    """Sign ``data``: RSA PKCS#1 v1.5 (or PSS), deterministic ECDSA (RFC 6979), pure EdDSA
    (RFC 8032) or ML-DSA (FIPS 204, hedged).

    Everything except PSS and ML-DSA is deterministic, so the same key and data give the
    same bytes.
    """
    if not uses_hash(key):
        return key.sign(data)
    algorithm = hash_algorithm(digest)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(algorithm, deterministic_signing=True))
    if pss:
        # Salt as long as the hash (RFC 4055 recommends it); this randomises the signature.
        pss_padding = padding.PSS(mgf=padding.MGF1(algorithm), salt_length=algorithm.digest_size)
        return key.sign(data, pss_padding, algorithm)
    return key.sign(data, padding.PKCS1v15(), algorithm)
