"""Signature and digest algorithms: what TT 15/2025 allows, and how to verify each.

The policy side (:class:`AlgorithmPolicy`) says which digests and key sizes are acceptable;
the mechanics side (:func:`verify_signature`, :func:`digest`) does the arithmetic with
pyca/cryptography. Public keys are parsed once per SubjectPublicKeyInfo (bounded cache).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

from asn1crypto import algos, keys
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa

__all__ = [
    "AlgorithmPolicy",
    "AlgorithmProblem",
    "digest",
    "verify_signature",
]

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "md5": hashes.MD5,
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
    "sha512_224": hashes.SHA512_224,
    "sha512_256": hashes.SHA512_256,
    "sha3_224": hashes.SHA3_224,
    "sha3_256": hashes.SHA3_256,
    "sha3_384": hashes.SHA3_384,
    "sha3_512": hashes.SHA3_512,
}


class AlgorithmProblem(Exception):
    """An algorithm the policy refuses (``weak_algorithm``/``weak_key``) or cannot verify
    (``unsupported_algorithm``)."""

    def __init__(self, code: str, detail: str) -> None:
        self.code = code
        self.detail = detail
        super().__init__(detail)


@dataclass(frozen=True, slots=True)
class AlgorithmPolicy:
    """Algorithm rules for signatures (TT 15/2025/TT-BKHCN): RSA ≥ 2048, ECDSA ≥ 256, SHA-2/3.

    RSASSA-PKCS1-v1_5 stays accepted (it is what the deployed tokens make); PSS is accepted.
    """

    allowed_digests: frozenset[str] = frozenset(
        {
            "sha224",
            "sha256",
            "sha384",
            "sha512",
            "sha512_224",
            "sha512_256",
            "sha3_224",
            "sha3_256",
            "sha3_384",
            "sha3_512",
        }
    )
    min_rsa_bits: int = 2048
    min_ec_bits: int = 256
    allow_dsa: bool = False
    allow_eddsa: bool = True

    def check_digest(self, name: str) -> None:
        if name in self.allowed_digests:
            return
        if name in _HASHES:
            raise AlgorithmProblem("weak_algorithm", f"digest algorithm {name} is not allowed")
        raise AlgorithmProblem("unsupported_algorithm", f"unknown digest algorithm {name}")

    def check_key(self, key_info: keys.PublicKeyInfo) -> None:
        algo = key_info.algorithm
        try:
            bits = key_info.bit_size
        except (ValueError, KeyError, TypeError) as exc:
            raise AlgorithmProblem("unsupported_algorithm", f"unreadable {algo} key") from exc
        if algo in ("rsa", "rsassa_pss"):
            if bits < self.min_rsa_bits:
                raise AlgorithmProblem(
                    "weak_key", f"RSA key of {bits} bits (< {self.min_rsa_bits})"
                )
        elif algo == "ec":
            if bits < self.min_ec_bits:
                raise AlgorithmProblem("weak_key", f"EC key of {bits} bits (< {self.min_ec_bits})")
        elif algo == "dsa":
            if not self.allow_dsa:
                raise AlgorithmProblem("weak_algorithm", "DSA keys are not allowed")
        elif algo in ("ed25519", "ed448"):
            if not self.allow_eddsa:
                raise AlgorithmProblem("weak_algorithm", f"{algo} keys are not allowed")
        else:
            raise AlgorithmProblem("unsupported_algorithm", f"unsupported key algorithm {algo}")


def digest(name: str, *pieces: bytes | memoryview) -> bytes:
    """Hash the concatenation of ``pieces`` with the CMS digest algorithm ``name``."""
    if name not in _HASHES:
        raise AlgorithmProblem("unsupported_algorithm", f"unknown digest algorithm {name}")
    h = hashlib.new(name)
    for piece in pieces:
        h.update(piece)
    return h.digest()


@lru_cache(maxsize=2048)
def _load_public_key(spki_der: bytes):
    return serialization.load_der_public_key(spki_der)


def _hash_of(name: str) -> hashes.HashAlgorithm:
    try:
        return _HASHES[name]()
    except KeyError:
        raise AlgorithmProblem(
            "unsupported_algorithm", f"unknown digest algorithm {name}"
        ) from None


def signature_hash_name(sig_algo: algos.SignedDigestAlgorithm, digest_name: str) -> str | None:
    """The hash a signature algorithm uses: its own (``sha256_rsa``), PSS's parameter, or —
    for bare ``rsassa_pkcs1v15``/``ecdsa`` — the CMS digest algorithm. ``None`` for EdDSA."""
    name = sig_algo.signature_algo
    if name in ("ed25519", "ed448"):
        return None
    if name == "rsassa_pss":
        return sig_algo["parameters"]["hash_algorithm"]["algorithm"].native
    try:
        return sig_algo.hash_algo
    except ValueError:
        return digest_name


def verify_signature(
    key_info: keys.PublicKeyInfo,
    sig_algo: algos.SignedDigestAlgorithm,
    digest_name: str,
    signature: bytes,
    message: bytes,
) -> bool:
    """True when ``signature`` over ``message`` verifies; ``AlgorithmProblem`` when it cannot
    be checked at all (unknown algorithm, key/algorithm mismatch)."""
    try:
        algo_name = sig_algo.signature_algo
    except ValueError as exc:
        raise AlgorithmProblem(
            "unsupported_algorithm", f"unknown signature algorithm {sig_algo['algorithm'].dotted}"
        ) from exc
    try:
        public_key = _load_public_key(key_info.dump())
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise AlgorithmProblem("unsupported_algorithm", f"unusable public key: {exc}") from exc
    hash_name = signature_hash_name(sig_algo, digest_name)
    try:
        if algo_name == "rsassa_pkcs1v15":
            _expect(public_key, rsa.RSAPublicKey, algo_name)
            public_key.verify(signature, message, padding.PKCS1v15(), _hash_of(hash_name))
        elif algo_name == "rsassa_pss":
            _expect(public_key, rsa.RSAPublicKey, algo_name)
            params = sig_algo["parameters"]
            mgf = params["mask_gen_algorithm"]
            if mgf["algorithm"].native != "mgf1":
                raise AlgorithmProblem("unsupported_algorithm", "PSS with a mask other than MGF1")
            mgf_hash = mgf["parameters"]["algorithm"].native
            if params["trailer_field"].native not in (None, "trailer_field_bc"):
                raise AlgorithmProblem("unsupported_algorithm", "PSS trailer field is not 0xBC")
            pss = padding.PSS(
                mgf=padding.MGF1(_hash_of(mgf_hash)), salt_length=params["salt_length"].native
            )
            public_key.verify(signature, message, pss, _hash_of(hash_name))
        elif algo_name == "ecdsa":
            _expect(public_key, ec.EllipticCurvePublicKey, algo_name)
            public_key.verify(signature, message, ec.ECDSA(_hash_of(hash_name)))
        elif algo_name == "dsa":
            _expect(public_key, dsa.DSAPublicKey, algo_name)
            public_key.verify(signature, message, _hash_of(hash_name))
        elif algo_name in ("ed25519", "ed448"):
            _expect(public_key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey), algo_name)
            public_key.verify(signature, message)
        else:
            raise AlgorithmProblem("unsupported_algorithm", f"unsupported signature {algo_name}")
    except InvalidSignature:
        return False
    except (UnsupportedAlgorithm, TypeError) as exc:
        raise AlgorithmProblem("unsupported_algorithm", f"{algo_name}: {exc}") from exc
    return True


def _expect(public_key, kind, algo_name: str) -> None:
    if not isinstance(public_key, kind):
        raise AlgorithmProblem(
            "unsupported_algorithm",
            f"{algo_name} signature with a {type(public_key).__name__.removeprefix('_')} key",
        )
