"""RFC 3161 time-stamp tokens and responses from the test TSA (tsa-official).

Used by the generator (signature timestamps at pinned times) and by the responder's ``/tsa``
endpoint (genTime = the responder clock). The token is a CMS SignedData over a TSTInfo, made by
:func:`vectors.testpki.cms.signed_data` like every other signature here.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from asn1crypto import algos, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from .cms import Signer, signed_data
from .keys import PrivateKey

__all__ = ["TSA_POLICY_OID", "rejection", "timestamp_response", "timestamp_token"]

# The TSA policy of the test TSA. 2.999 is the ITU-T X.660 "example" arc, so this cannot clash
# with a real TSA policy.
TSA_POLICY_OID = "2.999.704.3161.1"


def _serial(imprint: bytes, gen_time: dt.datetime, nonce: int | None) -> int:
    """A serial unique per request but reproducible: a hash of what was stamped and when."""
    seed = imprint + gen_time.isoformat().encode() + str(nonce).encode()
    return int.from_bytes(hashlib.sha256(seed).digest()[:8], "big") >> 1


def timestamp_token(
    tsa_cert: x509.Certificate,
    tsa_key: PrivateKey,
    *,
    hashed_message: bytes,
    hash_name: str = "sha256",
    gen_time: dt.datetime,
    nonce: int | None = None,
    include_certificate: bool = True,
) -> bytes:
    """A DER TimeStampToken (ContentInfo) stamping ``hashed_message`` at ``gen_time``.

    ``hashed_message`` is the messageImprint's digest, already computed with ``hash_name``.
    """
    tsa_asn1 = asn1_x509.Certificate.load(tsa_cert.public_bytes(serialization.Encoding.DER))
    info = {
        "version": "v1",
        "policy": TSA_POLICY_OID,
        "message_imprint": {
            "hash_algorithm": algos.DigestAlgorithm({"algorithm": hash_name}),
            "hashed_message": hashed_message,
        },
        "serial_number": _serial(hashed_message, gen_time, nonce),
        "gen_time": gen_time.astimezone(dt.UTC),
        # Naming the TSA lets verifiers (and `openssl ts -verify`) match it to the signer.
        "tsa": asn1_x509.GeneralName(name="directory_name", value=tsa_asn1.subject),
    }
    if nonce is not None:
        info["nonce"] = nonce
    tst_info = tsp.TSTInfo(info)
    return signed_data(
        tst_info.dump(),
        [Signer(cert=tsa_cert, key=tsa_key)],
        content_type="tst_info",
        certificates=[tsa_cert] if include_certificate else [],
    )


def timestamp_response(token: bytes) -> bytes:
    """A granted DER TimeStampResp carrying ``token``."""
    return tsp.TimeStampResp(
        {"status": {"status": "granted"}, "time_stamp_token": tsp.ContentInfo.load(token)}
    ).dump()


def rejection(fail_info: str, text: str) -> bytes:
    """A rejected DER TimeStampResp (``fail_info`` is an asn1crypto PKIFailureInfo name)."""
    return tsp.TimeStampResp(
        {
            "status": {
                "status": "rejection",
                "status_string": [text],
                "fail_info": tsp.PKIFailureInfo({fail_info}),
            }
        }
    ).dump()
