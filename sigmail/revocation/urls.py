"""Where a certificate says its CRLs, OCSP responder and issuer are published.

Pure extraction from the certificate (no network code), so the chain validator can read AIA
URLs without importing the fetching layer. Only HTTP(S) URLs are returned: LDAP, FTP and
``file:`` locations are never fetched.
"""

from __future__ import annotations

from asn1crypto import x509

__all__ = ["ca_issuer_urls", "crl_urls", "ocsp_urls"]

_FETCHED_SCHEMES = ("http:", "https:")


def crl_urls(cert: x509.Certificate) -> list[str]:
    """HTTP(S) URLs of the certificate's CRL distribution points (LDAP is not fetched)."""
    out: list[str] = []
    for dp in cert.crl_distribution_points or ():
        name = dp["distribution_point"]
        if name.name == "full_name":
            out.extend(gn.native for gn in name.chosen if gn.name == "uniform_resource_identifier")
    return [u for u in out if u.lower().startswith(_FETCHED_SCHEMES)]


def ca_issuer_urls(cert: x509.Certificate) -> list[str]:
    """HTTP(S) caIssuers URLs of the certificate's AIA extension."""
    aia = cert.authority_information_access_value
    out = []
    for desc in aia or ():
        if desc["access_method"].native == "ca_issuers":
            location = desc["access_location"]
            if location.name == "uniform_resource_identifier":
                out.append(location.native)
    return [u for u in out if u.lower().startswith(_FETCHED_SCHEMES)]


def ocsp_urls(cert: x509.Certificate) -> list[str]:
    """HTTP(S) OCSP responder URLs of the certificate's AIA extension."""
    return [u for u in cert.ocsp_urls if u.lower().startswith(_FETCHED_SCHEMES)]
