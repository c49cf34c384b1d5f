"""Re-enact pyca/cryptography's PKCS#7 signing tests and write the files they verify.

    python tests/data/peers/pyca/generate.py

cryptography's tests (``tests/hazmat/primitives/test_pkcs7.py``) build their signed files at
test time with ``PKCS7SignatureBuilder``, signed by the test keys of its vectors
(``vectors/cryptography_vectors/x509/custom/ca/``, copied unchanged to ``base/``), and verify
each with OpenSSL's PKCS7_verify, the signer's certificate as the only trusted one. This script
builds the same files with cryptography's public API, the same data, keys, hashes and options,
and writes them to ``files/``; the manifest keeps what each test expects. The signatures carry
the time they are made (signingTime) and ECDSA is randomised, so a rerun writes new bytes: rerun
it only to change the cases, then ``record.py --write`` (their SHA-256 and verdicts).
"""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.serialization import pkcs7

HERE = Path(__file__).resolve().parent
BASE = HERE / "base"
FILES = HERE / "files"
DATA = b"hello world"
SMIME, DER, PEM = (
    serialization.Encoding.SMIME,
    serialization.Encoding.DER,
    serialization.Encoding.PEM,
)
OPT = pkcs7.PKCS7Options


def _load(cert: str, key: str):
    certificate = x509.load_pem_x509_certificate((BASE / cert).read_bytes())
    private = serialization.load_pem_private_key(
        (BASE / key).read_bytes(), None, unsafe_skip_rsa_key_validation=True
    )
    return certificate, private


def _builder(*signers, data: bytes = DATA) -> pkcs7.PKCS7SignatureBuilder:
    builder = pkcs7.PKCS7SignatureBuilder().set_data(data)
    for cert, key, hash_alg, *pad in signers:
        builder = builder.add_signer(cert, key, hash_alg, rsa_padding=pad[0] if pad else None)
    return builder


def main() -> None:
    ec_cert, ec_key = _load("ca.pem", "ca_key.pem")  # _load_cert_key()
    rsa_cert, rsa_key = _load("rsa_ca.pem", "rsa_key.pem")  # _load_rsa_cert_key()
    ec = (ec_cert, ec_key, hashes.SHA256())
    out: dict[str, bytes] = {}
    # test_smime_sign_detached: the S/MIME message and the bare detached DER
    detached = _builder(ec)
    out["smime-detached.eml"] = detached.sign(SMIME, [OPT.DetachedSignature])
    out["der-detached.p7s"] = detached.sign(DER, [OPT.DetachedSignature])
    out["der-detached.content"] = DATA
    # test_sign_pem, test_sign_attached
    out["pem-attached.p7m"] = _builder(ec).sign(PEM, [])
    out["der-attached.p7m"] = _builder(ec).sign(DER, [])
    # test_sign_alternate_digests_der
    for name, alg in (("sha384", hashes.SHA384()), ("sha512", hashes.SHA512())):
        out[f"der-attached-{name}.p7m"] = _builder((ec_cert, ec_key, alg)).sign(DER, [])
    # test_sign_binary: data with a bare LF, signed as is (Binary) and canonicalised (default)
    lf = b"hello\nworld"
    out["der-binary.p7m"] = _builder(ec, data=lf).sign(DER, [OPT.Binary])
    out["der-canonical.p7m"] = _builder(ec, data=lf).sign(DER, [])
    # test_sign_text: text/plain headers added, detached S/MIME
    out["smime-text-detached.eml"] = _builder(ec).sign(SMIME, [OPT.Text, OPT.DetachedSignature])
    # test_sign_no_capabilities, test_sign_no_attributes
    out["der-no-capabilities.p7m"] = _builder(ec).sign(DER, [OPT.NoCapabilities])
    out["der-no-attributes.p7m"] = _builder(ec).sign(DER, [OPT.NoAttributes])
    # test_rsa_pkcs_padding_options (PKCS1v15; the PSS one is not verified by the test)
    rsa = (rsa_cert, rsa_key, hashes.SHA512(), padding.PKCS1v15())
    out["der-rsa-pkcs1-sha512.p7m"] = _builder(rsa).sign(DER, [])
    # test_multiple_signers: the EC and the RSA signer, SHA-512 both
    out["der-two-signers.p7m"] = _builder(
        (ec_cert, ec_key, hashes.SHA512()), (rsa_cert, rsa_key, hashes.SHA512())
    ).sign(DER, [])
    # test_pkcs7_verify_smime: an opaque S/MIME message (application/pkcs7-mime, attached)
    out["smime-opaque.eml"] = _builder(ec).sign(SMIME, [])
    # test_pkcs7_verify_der_with_certificate, _no_certificates: no certificate in the SignedData
    out["der-no-certs.p7m"] = _builder(ec).sign(DER, [OPT.NoCerts])
    # test_pkcs7_verify_invalid_signature, _der_no_content: detached, no attributes, checked
    # against other data, and without its data
    out["der-detached-no-attributes.p7s"] = _builder(ec).sign(
        DER, [OPT.NoAttributes, OPT.DetachedSignature]
    )
    out["different.content"] = b"Different"
    FILES.mkdir(exist_ok=True)
    for name, data in out.items():
        (FILES / name).write_bytes(data)
        print(f"files/{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
