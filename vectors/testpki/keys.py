"""The test PKI's private keys: generated once, kept in git, reused on every run.

Reusing the keys is what makes regeneration byte-for-byte reproducible (RSA PKCS#1 v1.5 and
deterministic ECDSA signatures depend only on key and message). They are test keys: PEM,
PKCS#8, unencrypted, and must never protect anything real.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

__all__ = ["PrivateKey", "hash_algorithm", "key_matches", "load_or_create_key", "sign"]

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def _generate(key_type: str) -> PrivateKey:
    if key_type.startswith("rsa-"):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(key_type[4:]))
    if key_type == "ec-p256":
        return ec.generate_private_key(ec.SECP256R1())
    raise ValueError(f"unknown key type {key_type!r}")


def key_matches(key: PrivateKey, key_type: str) -> bool:
    if isinstance(key, rsa.RSAPrivateKey):
        return key_type == f"rsa-{key.key_size}"
    return isinstance(key.curve, ec.SECP256R1) and key_type == "ec-p256"


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
        if not isinstance(key, PrivateKey) or not key_matches(key, key_type):
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


def sign(key: PrivateKey, data: bytes, digest: str = "sha256", *, pss: bool = False) -> bytes:
    """Sign ``data``: RSA PKCS#1 v1.5 (or PSS), or deterministic ECDSA (RFC 6979).

    Everything except PSS is deterministic, so the same key and data give the same bytes.
    """
    algorithm = hash_algorithm(digest)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(algorithm, deterministic_signing=True))
    if pss:
        # Salt as long as the hash (RFC 4055 recommends it); this randomises the signature.
        pss_padding = padding.PSS(mgf=padding.MGF1(algorithm), salt_length=algorithm.digest_size)
        return key.sign(data, pss_padding, algorithm)
    return key.sign(data, padding.PKCS1v15(), algorithm)
