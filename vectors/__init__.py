"""sigmail's generated test vectors (data) and the code that makes them (:mod:`vectors.testpki`).

This package exists so tests can ``import vectors.testpki``; it is not part of the sigmail wheel.
"""
