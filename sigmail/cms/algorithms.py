"""Signature and digest algorithms: what TT 15/2025 allows, and how to verify each.

The policy side (:class:`AlgorithmPolicy`) says which digests and key sizes are acceptable;
the mechanics side (:func:`verify_signature`, :func:`digest`) does the arithmetic with
pyca/cryptography. Public keys are parsed once per SubjectPublicKeyInfo (bounded cache).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from asn1crypto import algos, keys
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa

import sigmail.crypto_warnings  # noqa: F401  (DSA keys warn from cryptography 51 on)
from sigmail.bounded_cache import BoundedCache
from sigmail.cms.ber import received_encoding
from sigmail.errors import InputSignal

__all__ = [
    "AlgorithmPolicy",
    "AlgorithmProblem",
    "check_eddsa_digest",
    "digest",
    "key_algorithm",
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


# SHAKE256 with the 512-bit output RFC 8419 §3 fixes for Ed448 (id-shake256-len carries the
# length, id-shake256 implies it, RFC 8702). Only ever a message digest, never the hash of an
# RSA or ECDSA signature here.
_SHAKE256 = ("shake256", "shake256_len")
_KNOWN_DIGESTS = frozenset(_HASHES) | frozenset(_SHAKE256)

# RFC 8419 §3: with signed attributes, the message digest of an EdDSA signature is fixed.
_EDDSA_DIGESTS = {"ed25519": ("sha512",), "ed448": _SHAKE256}

# Public-key algorithms sigmail recognises but does not verify (FIPS 204 ML-DSA, FIPS 205
# SLH-DSA): named in the finding instead of a bare OID.
# SLH-DSA): named in the finding instead of a bare OID (pyHanko teaches asn1crypto the
# ML-DSA names "mldsa44" …, so a key may come by either).
_NAMED_UNSUPPORTED = {
    "2.16.840.1.101.3.4.3.17": "ML-DSA-44",
    "2.16.840.1.101.3.4.3.18": "ML-DSA-65",
    "2.16.840.1.101.3.4.3.19": "ML-DSA-87",
    **{f"2.16.840.1.101.3.4.3.{n}": "SLH-DSA" for n in range(20, 32)},
    "mldsa44": "ML-DSA-44",
    "mldsa65": "ML-DSA-65",
    "mldsa87": "ML-DSA-87",
}


def algorithm_label(oid: str) -> str:
    """A readable name for an algorithm asn1crypto does not verify (its OID or its name)."""
    name = _NAMED_UNSUPPORTED.get(oid)
    return f"{name} ({oid})" if name and oid[:1].isdigit() else (name or oid)


def key_algorithm(key_info: keys.PublicKeyInfo) -> str:
    """The key's algorithm name ("rsa", "ec", "ed25519", …), or a readable label of its OID
    when asn1crypto does not know it (ML-DSA, a mangled OID)."""
    try:
        return algorithm_label(key_info.algorithm)
    except (ValueError, KeyError, TypeError):
        return algorithm_label(key_info["algorithm"]["algorithm"].dotted)


class AlgorithmProblem(InputSignal):
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
            "shake256",  # FIPS 202 (SHA-3 family): the message digest of Ed448 (RFC 8419)
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
        if name == "shake256_len":
            name = "shake256"  # the same function; the 512-bit length is checked with EdDSA
        if name in self.allowed_digests:
            return
        if name in _KNOWN_DIGESTS:
            raise AlgorithmProblem("weak_algorithm", f"digest algorithm {name} is not allowed")
        raise AlgorithmProblem("unsupported_algorithm", f"unknown digest algorithm {name}")

    def check_key(self, key_info: keys.PublicKeyInfo) -> None:
        algo = key_algorithm(key_info)
        if algo in ("ed25519", "ed448"):
            # No size to check: each curve has one (RFC 8032). asn1crypto's bit_size does not
            # know Edwards curves (it raises UnboundLocalError), so it is not asked.
            if not self.allow_eddsa:
                raise AlgorithmProblem("weak_algorithm", f"{algo} keys are not allowed")
            return
        if algo not in ("rsa", "rsassa_pss", "ec", "dsa"):
            raise AlgorithmProblem("unsupported_algorithm", f"unsupported key algorithm {algo}")
        try:
            bits = key_info.bit_size
        except (ValueError, LookupError, TypeError, ArithmeticError) as exc:  # IndexError: no key
            raise AlgorithmProblem("unsupported_algorithm", f"unreadable {algo} key") from exc
        if algo in ("rsa", "rsassa_pss"):
            if bits < self.min_rsa_bits:
                raise AlgorithmProblem(
                    "weak_key", f"RSA key of {bits} bits (< {self.min_rsa_bits})"
                )
        elif algo == "ec":
            if bits < self.min_ec_bits:
                raise AlgorithmProblem("weak_key", f"EC key of {bits} bits (< {self.min_ec_bits})")
        elif algo == "dsa" and not self.allow_dsa:
            raise AlgorithmProblem("weak_algorithm", "DSA keys are not allowed")


def check_eddsa_digest(signature_algorithm: str, digest_algorithm: algos.DigestAlgorithm) -> None:
    """RFC 8419 §3: an EdDSA signer with signed attributes uses SHA-512 (Ed25519) or SHAKE256
    with a 512-bit output (Ed448) for the message digest. Any other pairing is not one the
    RFC defines, and sigmail does not vouch for it."""
    allowed = _EDDSA_DIGESTS.get(signature_algorithm)
    if allowed is None:
        return
    name = digest_algorithm["algorithm"].native
    length = digest_algorithm["parameters"].native if name == "shake256_len" else None
    if name not in allowed or (name == "shake256_len" and length != 512):
        shown = f"{name}({length})" if length is not None else name
        raise AlgorithmProblem(
            "unsupported_algorithm",
            f"{signature_algorithm} with a {shown} message digest: RFC 8419 §3 requires "
            f"{' or '.join(allowed)}" + (" of 512 bits" if signature_algorithm == "ed448" else ""),
        )


def digest(name: str, *pieces: bytes | memoryview) -> bytes:
    """Hash the concatenation of ``pieces`` with the CMS digest algorithm ``name``."""
    if name in _SHAKE256:
        xof = hashlib.shake_256()
        for piece in pieces:
            xof.update(piece)
        return xof.digest(64)
    if name not in _HASHES:
        raise AlgorithmProblem("unsupported_algorithm", f"unknown digest algorithm {name}")
    h = hashlib.new(name)
    for piece in pieces:
        h.update(piece)
    return h.digest()


# Loaded keys by SubjectPublicKeyInfo encoding (weighed by it: a crafted key can be large).
_public_keys: BoundedCache[bytes, Any] = BoundedCache(
    max_entries=2048, max_weight=4 * 1024 * 1024, weigh=lambda der, _key: 2 * len(der)
)


def _load_public_key(spki_der: bytes):
    return _public_keys.get_or_make(spki_der, lambda: serialization.load_der_public_key(spki_der))


def _hash_of(name: str | None) -> hashes.HashAlgorithm:
    try:
        return _HASHES[name]()  # type: ignore[index]  # None is not a key: unsupported
    except KeyError:
        raise AlgorithmProblem(
            "unsupported_algorithm", f"unknown digest algorithm {name}"
        ) from None


# A signature algorithm's names by its encoding: asn1crypto works them out from the OID and
# the parameters each time they are asked for, four times a signer; a few encodings recur.
# Keyed by (what, encoding, CMS digest algorithm): "name" or "hash".
_names: BoundedCache[tuple[str, bytes, str], str | None] = BoundedCache(
    max_entries=1024, max_weight=1024 * 1024, weigh=lambda key, _name: 2 * len(key[1]) + 64
)


def signature_algorithm_name(sig_algo: algos.SignedDigestAlgorithm) -> str:
    """``sig_algo.signature_algo`` (``rsassa_pkcs1v15``, ``ecdsa``, …), remembered by the
    encoding; raises what asn1crypto raises for one it does not know (not remembered)."""
    name = _names.get_or_make(
        ("name", received_encoding(sig_algo), ""), lambda: sig_algo.signature_algo
    )
    assert name is not None
    return name


def signature_hash_name(sig_algo: algos.SignedDigestAlgorithm, digest_name: str) -> str | None:
    """The hash a signature algorithm uses: its own (``sha256_rsa``), PSS's parameter, or —
    for bare ``rsassa_pkcs1v15``/``ecdsa`` — the CMS digest algorithm. ``None`` for EdDSA."""
    return _names.get_or_make(
        ("hash", received_encoding(sig_algo), digest_name),
        lambda: _signature_hash_name(sig_algo, digest_name),
    )


def _signature_hash_name(sig_algo: algos.SignedDigestAlgorithm, digest_name: str) -> str | None:
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
        algo_name = signature_algorithm_name(sig_algo)
    except (ValueError, KeyError) as exc:
        label = algorithm_label(sig_algo["algorithm"].dotted)
        raise AlgorithmProblem("unsupported_algorithm", f"unsupported signature {label}") from exc
    try:
        public_key = _load_public_key(key_info.dump())
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
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
    except (ValueError, OverflowError) as exc:  # e.g. a PSS salt length no key can have
        raise AlgorithmProblem(
            "unsupported_algorithm", f"{algo_name} with unusable parameters: {exc}"
        ) from exc
    return True


def _expect(public_key, kind, algo_name: str) -> None:
    if not isinstance(public_key, kind):
        raise AlgorithmProblem(
            "unsupported_algorithm",
            f"{algo_name} signature with a {type(public_key).__name__.removeprefix('_')} key",
        )
