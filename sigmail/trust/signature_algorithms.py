"""The hash and the mechanism a signed-digest algorithm names, or None / "unknown" where it
names none (EdDSA and ML-DSA hash inside the mechanism) or cannot be read."""

from __future__ import annotations

from asn1crypto import algos


def hash_of(algorithm: algos.SignedDigestAlgorithm) -> str | None:
    try:
        return algorithm.hash_algo
    except (ValueError, KeyError):  # EdDSA, ML-DSA: the hash is part of the mechanism
        return None


def mechanism(algorithm: algos.SignedDigestAlgorithm) -> str:
    try:
        return algorithm["algorithm"].native
    except (ValueError, KeyError):
        return "unknown"
