"""The cryptographic check of one ``ds:Signature`` — SignedInfo's signature and every
reference's digest — by signxml, given the signer certificate sigmail chose.

signxml is asked for nothing else: it never sees a CA store (trust is ``ctx.validate_chain``),
its certificate-validity check is switched off (time is judged at the proven time, by the
chain), and all algorithms are let through to it because the policy (``weak_algorithm``) has
been applied before. It checks the first ``ds:Signature`` of a document by default; this
subclass picks the n-th, so a document with several signatures is checked one by one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cryptography import x509 as crypto_x509
from cryptography.exceptions import UnsupportedAlgorithm
from lxml import etree
from signxml import XMLVerifier
from signxml.algorithms import DigestAlgorithm, SignatureMethod
from signxml.exceptions import InvalidDigest, InvalidInput, InvalidSignature, SignXMLException
from signxml.verifier import SignatureConfiguration

import sigmail.crypto_warnings  # noqa: F401  (a non-positive serial number warns)
from sigmail.xmldsig.names import detached, ds

__all__ = ["CryptoCheck", "UriResolver", "check_signature_crypto"]

# A reference URI outside the document → what it points at (None: not known, not verified).
UriResolver = Callable[[str], "bytes | etree._Element | None"]

_CONFIG = SignatureConfiguration(
    require_x509=True,
    expect_references=True,  # any number: sigmail counts them (max_xml_references)
    signature_methods=frozenset(m for m in SignatureMethod if not m.name.startswith("HMAC")),
    digest_algorithms=frozenset(DigestAlgorithm),
)


class _NthSignatureVerifier(XMLVerifier):
    def __init__(self, index: int) -> None:
        super().__init__()
        self._index = index

    def _get_signature(self, root):
        signatures = list(root.iter(ds("Signature")))
        return signatures[self._index]

    def _check_cert_validity(self, cert, cert_source):
        return None  # the validity period is the chain's question, at the proven time

    def _c14n(self, nodes, algorithm, inclusive_ns_prefixes=None):
        # libxml2's C14N of an element inside a document (lxml 6.1 / libxml2 2.14 and 2.12
        # alike) writes xmlns="" on grandchildren when the default namespace is declared on
        # an ancestor — every SignedInfo of a signature in the default namespace, as Office
        # writes them. A copy parsed on its own (the in-scope declarations carried to its
        # root) canonicalises right. See canonical() in names.py.
        if not isinstance(nodes, list):
            nodes = [nodes]
        nodes = [detached(n) if n.getparent() is not None else n for n in nodes]
        return super()._c14n(nodes, algorithm, inclusive_ns_prefixes)


@dataclass(frozen=True, slots=True)
class CryptoCheck:
    valid: bool | None  # SignedInfo's signature verifies with the certificate's key
    intact: bool | None  # every reference's digest matches
    code: str | None = None  # the finding when not both: signature_invalid, digest_mismatch …
    detail: str | None = None


def check_signature_crypto(
    root: etree._Element,
    index: int,
    certificate_der: bytes,
    *,
    uri_resolver: UriResolver | None = None,
) -> CryptoCheck:
    """Verify the ``index``-th ds:Signature of ``root`` (document order) with the key of
    ``certificate_der``. ``uri_resolver`` gives signxml what a reference outside the
    document points at (an ODF package's stream: bytes, or a parsed element for XML that a
    C14N transform canonicalises); without one such a reference does not verify."""
    try:
        cert = crypto_x509.load_der_x509_certificate(certificate_der)
    # asn1crypto read it lazily; cryptography reads it all, and refuses a version other than
    # v1-v3 with an exception of its own (InvalidVersion, not a ValueError)
    except (ValueError, crypto_x509.InvalidVersion) as exc:
        return CryptoCheck(None, None, "malformed", f"the signer certificate does not parse: {exc}")
    try:
        # signxml's XSD check is off: sigmail checks the structure it relies on itself, and
        # Office 2007 writes Ids that are not xs:ID (POI's office2007prettyPrintedRels.docx).
        _NthSignatureVerifier(index).verify(
            root,
            x509_cert=cert,
            expect_config=_CONFIG,
            validate_schema=False,
            uri_resolver=uri_resolver,
        )
    except UnsupportedAlgorithm as exc:  # a key type cryptography does not know
        return CryptoCheck(None, None, "unsupported_algorithm", str(exc))
    except InvalidDigest as exc:
        return CryptoCheck(True, False, "digest_mismatch", str(exc))
    except InvalidSignature as exc:
        return CryptoCheck(False, None, "signature_invalid", str(exc))
    except InvalidInput as exc:
        if "KeyValue" in str(exc) or "key value" in str(exc).lower():
            return CryptoCheck(None, None, "signer_certificate_mismatch", str(exc))
        return CryptoCheck(None, None, "malformed", str(exc))
    except (SignXMLException, etree.LxmlError) as exc:
        return CryptoCheck(None, None, "malformed", str(exc))
    except (ValueError, TypeError) as exc:  # e.g. a signature value of the wrong length
        return CryptoCheck(False, None, "signature_invalid", f"{type(exc).__name__}: {exc}")
    return CryptoCheck(True, True)
