"""The test PKI behind sigmail's vectors: spec, generator, CMS signer and a live responder.

- :mod:`.spec` reads ``vectors/pki.toml`` and ``vectors/vectors.toml``;
- :mod:`.pki` makes the certificates and CRLs; :mod:`.keys` keeps the committed test keys;
- :mod:`.cms`, :mod:`.timestamps`, :mod:`.revocation` make CMS signatures, RFC 3161 tokens and
  OCSP responses;
- :mod:`.generator` writes everything and ``manifest.json`` (``python vectors/generate.py``);
- :mod:`.responder` serves CRLs, CA certificates, OCSP and a TSA on 127.0.0.1:47831.

Test-only code: nothing here is part of sigmail, and the keys it uses protect nothing.
"""

from .endpoints import RESPONDER_PORT, RESPONDER_URL

__all__ = ["RESPONDER_PORT", "RESPONDER_URL"]
