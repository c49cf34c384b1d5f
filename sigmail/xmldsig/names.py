"""Namespaces and the algorithm identifiers XML signatures use, mapped to sigmail's names."""

from __future__ import annotations

from lxml import etree

__all__ = [
    "BASE64",
    "C14N_METHODS",
    "DIGESTS",
    "DS",
    "ENVELOPED",
    "OPC_RELATIONSHIP_TRANSFORM",
    "SIGNATURES",
    "XADES",
    "XADES141",
    "canonical",
    "detached",
    "ds",
    "xades",
]

DS = "http://www.w3.org/2000/09/xmldsig#"
DSIG11 = "http://www.w3.org/2009/xmldsig11#"
XADES = "http://uri.etsi.org/01903/v1.3.2#"
XADES141 = "http://uri.etsi.org/01903/v1.4.1#"
XML_NS = "http://www.w3.org/XML/1998/namespace"

ENVELOPED = DS + "enveloped-signature"
BASE64 = DS + "base64"  # XMLDSig §6.6.2: the referenced text, decoded
OPC_RELATIONSHIP_TRANSFORM = "http://schemas.openxmlformats.org/package/2006/RelationshipTransform"
SIGNED_PROPERTIES_TYPE = "http://uri.etsi.org/01903#SignedProperties"

# Canonicalisations (the transform and SignedInfo's CanonicalizationMethod): URI →
# (exclusive, with_comments). lxml serialises 1.1 as 1.0, which is the same output for the
# documents these formats carry (no xml:base/xml:id inheritance across a subset).
C14N_METHODS: dict[str, tuple[bool, bool]] = {
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315": (False, False),
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments": (False, True),
    "http://www.w3.org/2006/12/xml-c14n11": (False, False),
    "http://www.w3.org/2006/12/xml-c14n11#WithComments": (False, True),
    "http://www.w3.org/2001/10/xml-exc-c14n#": (True, False),
    "http://www.w3.org/2001/10/xml-exc-c14n#WithComments": (True, True),
}

# Digest URIs (XMLDSig 1.1 §6.2, RFC 6931) → sigmail.cms.algorithms names.
DIGESTS: dict[str, str] = {
    DS + "sha1": "sha1",
    "http://www.w3.org/2001/04/xmldsig-more#sha224": "sha224",
    "http://www.w3.org/2001/04/xmlenc#sha256": "sha256",
    "http://www.w3.org/2001/04/xmldsig-more#sha384": "sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512": "sha512",
    "http://www.w3.org/2007/05/xmldsig-more#sha3-224": "sha3_224",
    "http://www.w3.org/2007/05/xmldsig-more#sha3-256": "sha3_256",
    "http://www.w3.org/2007/05/xmldsig-more#sha3-384": "sha3_384",
    "http://www.w3.org/2007/05/xmldsig-more#sha3-512": "sha3_512",
}

_MORE = "http://www.w3.org/2001/04/xmldsig-more#"
_MGF1 = "http://www.w3.org/2007/05/xmldsig-more#"
# Signature URIs → (key family, the hash it signs with).
SIGNATURES: dict[str, tuple[str, str]] = {
    DS + "rsa-sha1": ("rsa", "sha1"),
    _MORE + "rsa-sha224": ("rsa", "sha224"),
    _MORE + "rsa-sha256": ("rsa", "sha256"),
    _MORE + "rsa-sha384": ("rsa", "sha384"),
    _MORE + "rsa-sha512": ("rsa", "sha512"),
    _MGF1 + "sha224-rsa-MGF1": ("rsa_pss", "sha224"),
    _MGF1 + "sha256-rsa-MGF1": ("rsa_pss", "sha256"),
    _MGF1 + "sha384-rsa-MGF1": ("rsa_pss", "sha384"),
    _MGF1 + "sha512-rsa-MGF1": ("rsa_pss", "sha512"),
    _MORE + "ecdsa-sha1": ("ecdsa", "sha1"),
    _MORE + "ecdsa-sha224": ("ecdsa", "sha224"),
    _MORE + "ecdsa-sha256": ("ecdsa", "sha256"),
    _MORE + "ecdsa-sha384": ("ecdsa", "sha384"),
    _MORE + "ecdsa-sha512": ("ecdsa", "sha512"),
}


def detached(element: etree._Element) -> etree._Element:
    """``element`` as the root of a document of its own, with every namespace declaration in
    scope (lxml serialises them on the copy's root), so that C14N sees a whole document and
    not a subset (see :func:`canonical`)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.fromstring(etree.tostring(element, with_tail=False), parser=parser)


def canonical(element: etree._Element, exclusive: bool, with_comments: bool) -> bytes:
    """The C14N form of ``element`` with its in-scope namespaces, computed on a detached copy:
    libxml2's C14N of a sub-element writes a wrong ``xmlns=""`` on grandchildren when the
    default namespace is declared above the element (every Office SignedInfo)."""
    return etree.tostring(
        detached(element), method="c14n", exclusive=exclusive, with_comments=with_comments
    )


def ds(local: str) -> str:
    return f"{{{DS}}}{local}"


def xades(local: str) -> str:
    return f"{{{XADES}}}{local}"
