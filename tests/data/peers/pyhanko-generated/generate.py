"""Re-enact scenarios of pyHanko's tests that build their files at test time, and write them.

pyHanko's ``test_diff_analysis.py`` builds most of its attack files at test time: it signs one
of its sample PDFs and then changes the result with its incremental writer; ``test_cms.py``
tampers with the signed attributes of a signature as it embeds it. This script does
the same with pyHanko's public API (a test dependency of sigmail), signing with pyHanko's own
test signer (``base/signer``: the testing CA's signer1, MIT test material) at a fixed time, and
writes each result to ``files/`` and its SHA-256 to ``manifest.json``. The scenario and the
expected outcome of every case come from the pyHanko test named in the manifest; sigmail's side
is recorded by ``tests/data/peers/record.py``.

    python tests/data/peers/pyhanko-generated/generate.py

Each run writes new bytes (pyHanko's writer dates the document information and its ID), so
the manifest records each file's new SHA-256. Before a file is written, pyHanko itself
validates it: a case whose result is not what the pyHanko test expects stops the run (the
re-enactment would be wrong), and the result is kept in the manifest as ``confirmed``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import version
from io import BytesIO
from pathlib import Path

from asn1crypto import algos, cms, pem, x509
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.content import RawContent
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.layout import BoxConstraints
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.general import as_signing_certificate_v2
from pyhanko.sign.signers import cms_embedder
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko_certvalidator import ValidationContext

HERE = Path(__file__).resolve().parent
BASE = HERE / "base"
SIGNED_AT = datetime(2020, 11, 1, 10, 0, tzinfo=UTC)
REPO, COMMIT = "MatthiasValvekens/pyHanko", "7db4e6fe97552416944c2be98cdeb918c98d4891"
DATA = "internal/common-test-utils/src/pyhanko_testing_commons/test_data/data"
TESTS = "pkgs/pyhanko/tests/test_diff_analysis.py"
CMS_TESTS = "pkgs/pyhanko/tests/test_cms.py"

SIGNER = signers.SimpleSigner.load(
    str(BASE / "signer/signer.key.pem"),
    str(BASE / "signer/signer1.cert.pem"),
    ca_chain_files=(str(BASE / "signer/interm.cert.pem"),),
    key_passphrase=b"secret",
)


class _PinnedSigner(signers.PdfSigner):
    """pyHanko's signer with the signing time fixed (pyHanko's tests use freeze_time)."""

    def init_signing_session(self, pdf_out, existing_fields_only=False):
        session = super().init_signing_session(pdf_out, existing_fields_only)
        session.system_time = SIGNED_AT
        return session


def _sign(data: bytes, field: str, **kw) -> bytes:
    writer = IncrementalPdfFileWriter(BytesIO(data))
    meta = signers.PdfSignatureMetadata(field_name=field)
    return _PinnedSigner(meta, SIGNER).sign_pdf(writer, **kw).getvalue()


def _update(data: bytes, change: Callable[[IncrementalPdfFileWriter], None]) -> bytes:
    writer = IncrementalPdfFileWriter(BytesIO(data))
    change(writer)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def _base(name: str) -> bytes:
    return (BASE / name).read_bytes()


def _set_text_field(writer: IncrementalPdfFileWriter, value: str) -> None:
    # the text field of minimal-with-simple-form.pdf gets a value and its appearance, as the
    # set_text_field helper of pyHanko's test (test_diff_analysis.py:555) gives it
    field = writer.root["/AcroForm"]["/Fields"][1].get_object()
    appearance = RawContent(
        box=BoxConstraints(height=60, width=130),
        data=b"q 0 0 1 rg BT /Ti 12 Tf (%s) Tj ET Q" % value.encode("ascii"),
    )
    field["/V"] = generic.pdf_string(value)
    field["/AP"] = generic.DictionaryObject(
        {pdf_name("/N"): writer.add_object(appearance.as_form_xobject())}
    )
    writer.update_container(field)


# -- the scenarios: (case id, pyHanko test and line, base, peer outcome, detail, build) -------


def _ft_tamper(writer):
    field = writer.root["/AcroForm"]["/Fields"][1].get_object()
    field["/FT"] = pdf_name("/Sig")
    writer.update_container(field)


def _field_kids(kids, indirect: bool):
    def change(writer):
        field = writer.root["/AcroForm"]["/Fields"][1].get_object()
        field["/Kids"] = generic.ArrayObject(map(writer.add_object, kids)) if indirect else kids
        writer.update_container(field)

    return change


def _page_kids(kids, indirect: bool):
    def change(writer):
        # an empty signature field added too, as pyHanko's test does, so that the
        # annotation handling of the difference analysis runs
        fields.append_signature_field(writer, sig_field_spec=fields.SigFieldSpec("Extra"))
        pages = writer.root["/Pages"]
        if kids is None:
            del pages["/Kids"]
        else:
            pages["/Kids"] = generic.ArrayObject(map(writer.add_object, kids)) if indirect else kids
        writer.update_container(pages)

    return change


def _bogus_metadata(variant: str):
    bogus = b"This is bogus data, yay!"

    def change(writer):
        writer._update_meta = lambda: None  # as pyHanko's test: no automatic /Info update
        if variant == "new-stream":
            writer.root["/Metadata"] = writer.add_object(generic.StreamObject(stream_data=bogus))
            writer.update_root()
        elif variant == "stream-rewritten":
            ref = writer.root.raw_get("/Metadata")
            stream = ref.get_object()
            stream.strip_filters()
            stream._data = bogus
            stream._encoded_data = None
            writer.mark_update(ref)
        elif variant == "null":
            writer.root["/Metadata"] = generic.NullObject()
            writer.update_root()
        else:  # an indirect null
            writer.root["/Metadata"] = writer.add_object(generic.NullObject())
            writer.update_root()

    return change


def _delete_first_signature(writer):
    _name, _value, field = next(fields.enumerate_sig_fields(writer))
    del field.get_object()["/V"]
    writer.mark_update(field)


def _tamper_sig_obj(writer):
    sig_obj = writer.prev.embedded_signatures[0].sig_object
    sig_obj["/Bleh"] = generic.BooleanObject(False)
    writer.update_container(sig_obj)


def _delete_page_annots(writer):
    page = writer.root["/Pages"]["/Kids"][0]
    del page["/Annots"]
    writer.update_container(page)


def _delete_first_annot_then_sign(data: bytes) -> bytes:
    writer = IncrementalPdfFileWriter(BytesIO(data))
    del writer.root["/Pages"]["/Kids"][0]["/Annots"][0]
    meta = signers.PdfSignatureMetadata(field_name="SigNew")
    return _PinnedSigner(meta, SIGNER).sign_pdf(writer).getvalue()


def _type_entry(before: str | None, after: str | None):
    """minimal-two-fields: Sig1 signed, then Sig2 signed in the revision that sets the
    second field's /Type to ``after`` (None: deleted); ``before`` is its /Type when Sig1 signs."""

    def build() -> bytes:
        writer = IncrementalPdfFileWriter(BytesIO(_base("minimal-two-fields.pdf")))
        if before is None:
            del writer.root["/AcroForm"]["/Fields"][1]["/Type"]
            writer.update_container(writer.root["/AcroForm"]["/Fields"][1])
        meta1 = signers.PdfSignatureMetadata(field_name="Sig1")
        first = _PinnedSigner(meta1, SIGNER).sign_pdf(writer).getvalue()
        writer = IncrementalPdfFileWriter(BytesIO(first))
        field = writer.root["/AcroForm"]["/Fields"][1]
        if after is None:
            del field["/Type"]
        else:
            field["/Type"] = pdf_name(after)
        meta2 = signers.PdfSignatureMetadata(field_name="Sig2")
        return _PinnedSigner(meta2, SIGNER).sign_pdf(writer).getvalue()

    return build


def _recycle_signature_value(writer):
    spec = fields.SigFieldSpec("EvilSig", box=(10, 74, 140, 134), empty_field_appearance=True)
    fields.append_signature_field(writer, spec)
    value = next(fields.enumerate_sig_fields(writer, filled_status=True, with_name="Sig1"))[1]
    field = next(fields.enumerate_sig_fields(writer, filled_status=False, with_name="EvilSig"))
    evil = field[2].get_object()
    evil["/V"] = value
    writer.update_container(evil)


def _copy_text_field(writer):
    field_arr = writer.root["/AcroForm"]["/Fields"]
    copy = generic.DictionaryObject(field_arr[1].get_object())  # shallow, as pyHanko's test
    copy["/T"] = generic.pdf_string("OtherField")
    field_arr.append(writer.add_object(copy))
    writer.update_container(field_arr)


def _second_field(key: str, value):
    def change(writer):
        field = writer.root["/AcroForm"]["/Fields"][1].get_object()
        field[key] = value
        writer.update_container(field)

    return change


def _sign_meta(data: bytes, meta: signers.PdfSignatureMetadata, writer_change=None, **kw) -> bytes:
    writer = IncrementalPdfFileWriter(BytesIO(data))
    if writer_change is not None:
        writer_change(writer)
    return _PinnedSigner(meta, SIGNER, **kw).sign_pdf(writer).getvalue()


def _new_visible_field_then_sign(data: bytes) -> bytes:
    def add_field(writer):
        fields.append_signature_field(writer, fields.SigFieldSpec("SigNew", box=(10, 74, 140, 134)))

    return _sign_meta(data, signers.PdfSignatureMetadata(field_name="SigNew"), add_field)


def _fields_indirect_twice(writer):
    # /AcroForm /Fields made indirect, and the same array also reachable as /Root /Blah
    fields_arr = writer.root["/AcroForm"].raw_get("/Fields")
    writer.root["/AcroForm"]["/Fields"] = writer.root["/Blah"] = writer.add_object(fields_arr)
    writer.update_root()
    writer.update_container(writer.root["/AcroForm"])


def _certify_then_sign(base: str, level: fields.MDPPerm) -> bytes:
    certify = signers.PdfSignatureMetadata(
        field_name="Sig1", certify=True, docmdp_permissions=level
    )
    first = _sign_meta(_base(base), certify)
    return _sign_meta(first, signers.PdfSignatureMetadata(field_name="Sig2"))


def _set_text_field_in_group(writer: IncrementalPdfFileWriter, ix: int, value: str) -> None:
    # as set_text_field_in_group of pyHanko's test (test_diff_analysis.py:696)
    parent = writer.root["/AcroForm"]["/Fields"][1].get_object()
    field = parent["/Kids"][ix].get_object()
    appearance = RawContent(
        box=BoxConstraints(height=60, width=130),
        data=b"q 0 0 1 rg BT /Ti 12 Tf (%s) Tj ET Q" % value.encode("ascii"),
    )
    field["/V"] = generic.pdf_string(value)
    field["/AP"] = generic.DictionaryObject(
        {pdf_name("/N"): writer.add_object(appearance.as_form_xobject())}
    )
    writer.update_container(field)


GROUPS = ("minimal-with-textfield-group.pdf", "minimal-with-textfield-group-var.pdf")


def _group_fill(variant: int, before: list[tuple[int, str]], after: list[tuple[int, str]]):
    def build() -> bytes:
        def fill_before(writer):
            for ix, value in before:
                _set_text_field_in_group(writer, ix, value)

        signed = _sign_meta(
            _base(GROUPS[variant]), signers.PdfSignatureMetadata(field_name="Sig1"), fill_before
        )

        def fill_after(writer):
            for ix, value in after:
                _set_text_field_in_group(writer, ix, value)

        return _update(signed, fill_after)

    return build


def _locked(spec: fields.FieldMDPSpec, filled: int, after_ix: int):
    """A new signature field SigNew locking ``spec`` (and DocMDP update P2) is added, the
    group's field ``filled`` is filled in, SigNew signs; then field ``after_ix`` is changed."""

    def build() -> bytes:
        def prepare(writer):
            field_spec = fields.SigFieldSpec(
                "SigNew",
                box=(10, 74, 140, 134),
                field_mdp_spec=spec,
                doc_mdp_update_value=fields.MDPPerm.FILL_FORMS,
            )
            fields.append_signature_field(writer, field_spec)
            _set_text_field_in_group(writer, filled, "Some text")

        signed = _sign_meta(
            _base(GROUPS[0]), signers.PdfSignatureMetadata(field_name="SigNew"), prepare
        )
        return _update(signed, lambda w: _set_text_field_in_group(w, after_ix, "Some other text"))

    return build


def _lock_label(spec: fields.FieldMDPSpec) -> str:
    names = "-".join(f.replace(".", "_") for f in spec.fields or ())
    return f"{spec.action.name.lower()}{'-' + names if names else ''}"


LOCKS_FAILING = [
    fields.FieldMDPSpec(fields.FieldMDPAction.INCLUDE, fields=["TextInput.TextField1"]),
    fields.FieldMDPSpec(fields.FieldMDPAction.EXCLUDE, fields=["TextInput.TextField2"]),
    fields.FieldMDPSpec(fields.FieldMDPAction.INCLUDE, fields=["TextInput"]),
    fields.FieldMDPSpec(fields.FieldMDPAction.ALL),
    fields.FieldMDPSpec(fields.FieldMDPAction.EXCLUDE, fields=["Sig1"]),
]
LOCKS_PASSING = [
    fields.FieldMDPSpec(fields.FieldMDPAction.INCLUDE, fields=["TextInput.TextField1"]),
    fields.FieldMDPSpec(fields.FieldMDPAction.EXCLUDE, fields=["TextInput.TextField2"]),
    fields.FieldMDPSpec(fields.FieldMDPAction.EXCLUDE, fields=["TextInput"]),
    fields.FieldMDPSpec(fields.FieldMDPAction.INCLUDE, fields=["Sig1"]),
]


P2_CERTIFY = dict(certify=True, docmdp_permissions=fields.MDPPerm.FILL_FORMS)
CREATION_DATE = generic.DictionaryObject(
    {pdf_name("/CreationDate"): generic.pdf_date(datetime(2020, 10, 10, tzinfo=UTC))}
)


def _set_info(writer):
    writer.set_info(CREATION_DATE)


def _double_sig_add_field(base: str) -> bytes:
    first = _sign(_base(base), "Sig1")
    return _sign_meta(first, signers.PdfSignatureMetadata(field_name="SigNew"), _set_info)


def _sign_new_field(data: bytes, name: str, page: int, box) -> bytes:
    writer = IncrementalPdfFileWriter(BytesIO(data))
    spec = fields.SigFieldSpec(sig_field_name=name, on_page=page, box=box)
    meta = signers.PdfSignatureMetadata(field_name=name)
    return _PinnedSigner(meta, SIGNER, new_field_spec=spec).sign_pdf(writer).getvalue()


def _deep_field_then_certify(field_obj_factory) -> bytes:
    def insert(writer):
        fields._insert_or_get_field_at(  # pyHanko's own helper, as its test uses it
            writer,
            writer.root["/AcroForm"]["/Fields"],
            ("NewSigs", "NewSig1"),
            field_obj=field_obj_factory(writer),
        )

    meta = signers.PdfSignatureMetadata(field_name="Sig1", **P2_CERTIFY)
    return _sign_meta(_base("minimal-with-field.pdf"), meta, insert)


def _annots_indirect_then_sign(data: bytes) -> bytes:
    writer = IncrementalPdfFileWriter(BytesIO(data))
    first_page = writer.root["/Pages"]["/Kids"][0]
    annots_copy = generic.ArrayObject(first_page["/Annots"])
    first_page["/Annots"] = annots_ref = writer.add_object(annots_copy)
    annots_copy.container_ref = annots_ref
    writer.update_container(first_page)
    spec = fields.SigFieldSpec(sig_field_name="SigNew", box=(10, 10, 10, 10))
    meta = signers.PdfSignatureMetadata(field_name="SigNew")
    return _PinnedSigner(meta, SIGNER, new_field_spec=spec).sign_pdf(writer).getvalue()


def _tampered_signed_attrs(
    attr_name: str,
    *,
    duplicate=False,
    oid_duplicate=False,
    delete=False,
    replace_with=None,
    resign=False,
) -> bytes:
    """minimal.pdf signed with one signed attribute changed as ``_tamper_with_signed_attrs``
    of pyHanko's test_cms.py:641 changes it (and the signature recomputed if ``resign``)."""
    out = BytesIO(_base("minimal.pdf"))
    writer = IncrementalPdfFileWriter(out)
    cms_writer = cms_embedder.PdfCMSEmbedder().write_cms(field_name="Signature", writer=writer)
    next(cms_writer)
    cms_writer.send(
        cms_embedder.SigObjSetup(sig_placeholder=signers.SignatureObject(bytes_reserved=8192))
    )
    prep_digest, output = cms_writer.send(
        cms_embedder.SigIOSetup(md_algorithm="sha256", in_place=True)
    )
    signer = signers.SimpleSigner(
        signing_cert=SIGNER.signing_cert,
        signing_key=SIGNER.signing_key,
        cert_registry=SIGNER.cert_registry,
        signature_mechanism=algos.SignedDigestAlgorithm({"algorithm": "rsassa_pkcs1v15"}),
    )
    signed = asyncio.run(
        signer.async_sign(
            prep_digest.document_digest,
            "sha256",
            signed_attr_settings=PdfCMSSignedAttributes(signing_time=SIGNED_AT),
        )
    )
    (si,) = signed["content"]["signer_infos"]
    attrs = si["signed_attrs"]
    ix = next(i for i, attr in enumerate(attrs) if attr["type"].native == attr_name)
    if delete:
        del attrs[ix]
    elif duplicate:
        attrs[ix]["values"].append(attrs[ix]["values"][0])
    elif oid_duplicate:
        attrs.append(attrs[ix])
    else:
        attrs[ix]["values"][0] = replace_with
    if resign:
        si["signature"] = signer.sign_raw(si["signed_attrs"].untag().dump(), "sha256")
    cms_writer.send(signed)
    return output.getvalue()


def _malformed_signing_cert_issuer():
    attr = as_signing_certificate_v2(SIGNER.signing_cert)
    attr["certs"][0]["issuer_serial"]["issuer"][0] = x509.GeneralName(
        {"dns_name": "www.example.com"}
    )
    return attr


ALGORITHM_PROTECTIONS = [
    (
        "sha1-digest",
        cms.CMSAlgorithmProtection(
            {
                "digest_algorithm": algos.DigestAlgorithm({"algorithm": "sha1"}),
                "signature_algorithm": algos.SignedDigestAlgorithm(
                    {"algorithm": "rsassa_pkcs1v15"}
                ),
            }
        ),
    ),
    (
        "sha512-rsa-mechanism",
        cms.CMSAlgorithmProtection(
            {
                "digest_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
                "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "sha512_rsa"}),
            }
        ),
    ),
    (
        "no-signature-algorithm",
        cms.CMSAlgorithmProtection(
            {"digest_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"})}
        ),
    ),
    ("duplicated", None),
]


BOGUS_KIDS = [
    ("name", generic.NameObject("/Test"), False),
    ("empty-array", generic.ArrayObject(), False),
    ("null", generic.ArrayObject([generic.NullObject()]), False),
    ("indirect-null", generic.ArrayObject([generic.NullObject()]), True),
]
TRUSTED_BUT_MODIFIED = (
    "val_trusted_but_modified: intact, valid, trusted, modification level OTHER, "
    "docmdp not ok, bottom line False"
)


def scenarios() -> list[tuple[str, str, str, str, str, Callable[[], bytes]]]:
    form, minimal = "pdf/minimal-with-simple-form.pdf", "pdf/minimal.pdf"
    signed_form = _sign(_base("minimal-with-simple-form.pdf"), "Sig1")
    signed_minimal = _sign(_base("minimal.pdf"), "Sig1")
    out = [
        (
            "form-field-postsign-fill",
            f"{TESTS}:660 test_form_field_postsign_fill",
            form,
            "valid",
            "val_trusted(extd=True): the empty text field filled in after signing is form filling",
            lambda: _update(signed_form, lambda w: _set_text_field(w, "Some text")),
        ),
        (
            "form-field-postsign-modify",
            f"{TESTS}:678 test_form_field_postsign_modify",
            form,
            "valid",
            "val_trusted(extd=True): a text field filled in before signing and changed after it "
            "is still form filling",
            lambda: _update(
                _sign(
                    _update(
                        _base("minimal-with-simple-form.pdf"),
                        lambda w: _set_text_field(w, "Some text"),
                    ),
                    "Sig1",
                ),
                lambda w: _set_text_field(w, "Some other text"),
            ),
        ),
        (
            "form-field-ft-tamper",
            f"{TESTS}:575 test_form_field_ft_tamper",
            form,
            "invalid",
            TRUSTED_BUT_MODIFIED + " (the text field's /FT turned into /Sig)",
            lambda: _update(signed_form, _ft_tamper),
        ),
        (
            "tamper-sig-obj",
            f"{TESTS}:1490 test_tamper_sig_obj",
            minimal,
            "invalid",
            "SuspiciousModification, modification level OTHER (an entry added to the signature "
            "dictionary after signing)",
            lambda: _update(signed_minimal, _tamper_sig_obj),
        ),
        (
            "delete-signature",
            f"{TESTS}:1449 test_delete_signature",
            "pdf/minimal-two-fields.pdf",
            "invalid",
            TRUSTED_BUT_MODIFIED + " for the second signature once the first one's /V is deleted",
            lambda: _update(
                _sign(
                    _sign(_base("minimal-two-fields.pdf"), "Sig1", existing_fields_only=True),
                    "Sig2",
                    existing_fields_only=True,
                ),
                _delete_first_signature,
            ),
        ),
    ]
    for label, kids, indirect in BOGUS_KIDS:
        out.append(
            (
                f"form-field-kids-tamper-{label}",
                f"{TESTS}:604 test_form_field_kids_tamper",
                form,
                "invalid",
                TRUSTED_BUT_MODIFIED + f" (the text field's /Kids replaced by {label})",
                lambda kids=kids, indirect=indirect: _update(
                    signed_form, _field_kids(kids, indirect)
                ),
            )
        )
    for label, kids, indirect in [*BOGUS_KIDS, ("deleted", None, False)]:
        out.append(
            (
                f"pages-kids-tamper-{label}",
                f"{TESTS}:629 test_pages_kids_tamper",
                minimal,
                "invalid",
                TRUSTED_BUT_MODIFIED + f" (the page tree's /Kids replaced by {label})",
                lambda kids=kids, indirect=indirect: _update(
                    signed_minimal, _page_kids(kids, indirect)
                ),
            )
        )
    two_fields = "pdf/minimal-two-fields.pdf"
    signed_two = _sign(_base("minimal-two-fields.pdf"), "Sig1")
    out += [
        (
            "delete-sig-annot",
            f"{TESTS}:2261 test_delete_sig_annot",
            minimal,
            "invalid",
            TRUSTED_BUT_MODIFIED + " (the page's /Annots, holding the signature's widget, deleted)",
            lambda: _update(signed_minimal, _delete_page_annots),
        ),
        (
            "double-sig-delete-old-sig-annot",
            f"{TESTS}:2281 test_double_sig_delete_old_sig_annot",
            minimal,
            "invalid",
            "the first signature " + TRUSTED_BUT_MODIFIED + ": its widget is taken off the page "
            "in the revision of a second signature (which itself is valid)",
            lambda: _delete_first_annot_then_sign(signed_minimal),
        ),
        (
            "type-entry-modified",
            f"{TESTS}:2527 test_diff_analysis_modify_type_entry",
            two_fields,
            "invalid",
            "diff result '/Type of form field altered' (the second field's /Type set to /Foo in "
            "the revision that signs it)",
            _type_entry("/Annot", "/Foo"),
        ),
        (
            "type-entry-removed",
            f"{TESTS}:2542 test_diff_analysis_remove_type_entry",
            two_fields,
            "invalid",
            "diff result '/Type of form field deleted' (in the revision that signs it)",
            _type_entry("/Annot", None),
        ),
        (
            "type-entry-added-invalid",
            f"{TESTS}:2557 test_diff_analysis_add_invalid_type_entry",
            two_fields,
            "invalid",
            "diff result '/Type of form field set to something other than /Annot' (/Foo added "
            "to a field that had no /Type, in the revision that signs it)",
            _type_entry(None, "/Foo"),
        ),
        (
            "type-entry-added-valid",
            f"{TESTS}:2576 test_diff_analysis_add_valid_type_entry",
            two_fields,
            "valid",
            "modification level FORM_FILLING (/Type /Annot added to a field that had none, in the "
            "revision that signs it)",
            _type_entry(None, "/Annot"),
        ),
        (
            "recycled-sig-value-in-new-field",
            f"{TESTS}:2842 test_maliciously_recycled_sig_add_visible_field_approval",
            "pdf/minimal-with-field.pdf",
            "invalid",
            "docmdp not ok, diff result 'references an existing object': a new visible field "
            "EvilSig whose /V is Sig1's signature dictionary",
            lambda: _update(
                _sign(_base("minimal-with-field.pdf"), "Sig1"), _recycle_signature_value
            ),
        ),
        (
            "form-field-structure-modification",
            f"{TESTS}:1427 test_form_field_structure_modification",
            form,
            "invalid",
            TRUSTED_BUT_MODIFIED + " (a shallow copy of the text field added as OtherField)",
            lambda: _update(signed_form, _copy_text_field),
        ),
        (
            "form-field-ap-null",
            f"{TESTS}:1796 test_form_field_ap_null",
            two_fields,
            "invalid",
            "the first signature " + TRUSTED_BUT_MODIFIED + ", 'AP entry should point to a "
            "dictionary': the signed second field's /AP set to null",
            lambda: _update(_sign(signed_two, "Sig2"), _second_field("/AP", generic.NullObject())),
        ),
    ]
    one_field = "pdf/minimal-with-field.pdf"
    out += [
        (
            "double-sig-add-visible-field-approval",
            f"{TESTS}:496 test_double_sig_add_visible_field_approval",
            one_field,
            "valid",
            "the first signature val_trusted(extd=True), FORM_FILLING, docmdp ok: a new visible "
            "signature field added and signed after an approval signature",
            lambda: _new_visible_field_then_sign(_sign(_base("minimal-with-field.pdf"), "Sig1")),
        ),
        (
            "double-sig-add-visible-field-certify",
            f"{TESTS}:525 test_double_sig_add_visible_field_certify",
            one_field,
            "invalid",
            "SuspiciousModification 'only allowed after an approval signature': a new visible "
            "signature field added and signed after a certification with FILL_FORMS (P2)",
            lambda: _new_visible_field_then_sign(
                _sign_meta(
                    _base("minimal-with-field.pdf"),
                    signers.PdfSignatureMetadata(
                        field_name="Sig1",
                        certify=True,
                        docmdp_permissions=fields.MDPPerm.FILL_FORMS,
                    ),
                )
            ),
        ),
        (
            "not-all-paths-cleared",
            f"{TESTS}:1630 test_not_all_paths_cleared",
            one_field,
            "invalid",
            TRUSTED_BUT_MODIFIED + ": /AcroForm /Fields is an indirect array also reachable as "
            "/Root /Blah, and a later signature adds a field to it",
            lambda: _new_visible_field_then_sign(
                _sign_meta(
                    _base("minimal-with-field.pdf"),
                    signers.PdfSignatureMetadata(field_name="Sig1"),
                    _fields_indirect_twice,
                )
            ),
        ),
    ]
    for level, tagged in [
        (fields.MDPPerm.FILL_FORMS, False),
        (fields.MDPPerm.FILL_FORMS, True),
        (fields.MDPPerm.ANNOTATE, False),
        (fields.MDPPerm.ANNOTATE, True),
    ]:
        base = "minimal-two-fields-tagged.pdf" if tagged else "minimal-two-fields.pdf"
        out.append(
            (
                f"certify-first-{level.name.lower()}{'-tagged' if tagged else ''}",
                f"{TESTS}:1666 test_double_signature_certify_first",
                f"pdf/{base}",
                "valid",
                f"the certifying signature (P={level.value}) val_trusted(extd=True), FORM_FILLING, "
                "docmdp ok, after the second field is signed; the second val_trusted",
                lambda base=base, level=level: _certify_then_sign(base, level),
            )
        )
    certified_p2 = _sign_meta(
        _base("minimal-with-field.pdf"),
        signers.PdfSignatureMetadata(field_name="Sig1", **P2_CERTIFY),
    )
    out.append(
        (
            "certified-p2-info-update",
            f"{TESTS}:76 test_no_changes_policy",
            one_field,
            "valid",
            "val_trusted(extd=True), LTA_UPDATES, docmdp ok: the document information updated "
            "after a P2 certification (pyHanko's default policy)",
            lambda: _update(certified_p2, _set_info),
        )
    )
    for base in (
        "minimal.pdf",
        "minimal-xref.pdf",
        "minimal-with-field.pdf",
        "minimal-two-pages.pdf",
    ):
        out.append(
            (
                f"double-sig-add-field-{base.removesuffix('.pdf')}",
                f"{TESTS}:125 test_double_sig_add_field",
                f"pdf/{base}",
                "valid",
                "the first signature val_trusted(extd=True), FORM_FILLING, docmdp ok: the "
                "document information updated and a new signature field signed",
                lambda base=base: _double_sig_add_field(base),
            )
        )
    out += [
        (
            "double-sig-different-pages",
            f"{TESTS}:159 test_double_sig_different_pages",
            "pdf/minimal-two-pages.pdf",
            "valid",
            "both signatures val_trusted(extd=True), docmdp ok: signatures on page 1 and page 2, "
            "then the document information updated",
            lambda: _update(
                _sign_new_field(
                    _sign_new_field(_base("minimal-two-pages.pdf"), "Sig1", 0, (10, 10, 10, 10)),
                    "SigNew",
                    1,
                    (10, 10, 10, 10),
                ),
                _set_info,
            ),
        ),
        (
            "double-sig-create-deep-field-post-sign",
            f"{TESTS}:203 test_double_sig_create_deep_field_post_sign",
            one_field,
            "invalid",
            "modification level OTHER: after a P2 certification, a new signature field NewSig2 "
            "is created under the existing non-terminal field NewSigs and signed",
            lambda: _sign(
                _deep_field_then_certify(
                    lambda w: generic.DictionaryObject({pdf_name("/FT"): pdf_name("/Sig")})
                ),
                "NewSigs.NewSig2",
            ),
        ),
        (
            "double-sig-fill-deep-field-post-sign",
            f"{TESTS}:241 test_double_sig_fill_deep_field_post_sign",
            one_field,
            "valid",
            "both signatures valid, the first val_trusted(extd=True): after a P2 certification "
            "the existing empty field NewSigs.NewSig1 is signed",
            lambda: _sign(
                _deep_field_then_certify(
                    lambda w: fields.SignatureFormField(
                        "NewSig1", include_on_page=w.root["/Pages"]["/Kids"].raw_get(0)
                    )
                ),
                "NewSigs.NewSig1",
            ),
        ),
        (
            "double-sig-add-field-annots-indirect",
            f"{TESTS}:458 test_double_sig_add_field_annots_indirect",
            one_field,
            "valid",
            "the first signature val_trusted(extd=True), FORM_FILLING, docmdp ok: the page's "
            "/Annots made indirect and a new signature field added and signed in one revision",
            lambda: _annots_indirect_then_sign(_sign(_base("minimal-with-field.pdf"), "Sig1")),
        ),
    ]
    for variant in (0, 1):
        group = f"pdf/{GROUPS[variant]}"
        tag = f"-var{variant}"
        out += [
            (
                f"group-postsign-fill{tag}",
                f"{TESTS}:760 test_form_field_in_group_postsign_fill",
                group,
                "valid",
                "val_trusted(extd=True): a text field of a field group filled in after signing",
                _group_fill(variant, [], [(0, "Some text")]),
            ),
            (
                f"group-postsign-fill-other-field{tag}",
                f"{TESTS}:779 test_form_field_in_group_postsign_fill_other_field",
                group,
                "valid",
                "val_trusted(extd=True): the group's first field filled in before signing, its "
                "second after",
                _group_fill(variant, [(0, "Some text")], [(1, "Some other text")]),
            ),
            (
                f"group-postsign-modify{tag}",
                f"{TESTS}:799 test_form_field_in_group_postsign_modify",
                group,
                "valid",
                "val_trusted(extd=True): the group's first field filled in before signing and "
                "changed after, its second filled in after",
                _group_fill(
                    variant, [(0, "Some text")], [(0, "Some other text"), (1, "Yet other text")]
                ),
            ),
        ]
    for spec in LOCKS_FAILING:
        for filled in (0, 1):
            out.append(
                (
                    f"fieldmdp-{_lock_label(spec)}-filled{filled}-then-field0-changed",
                    f"{TESTS}:867 test_form_field_in_group_locked_postsign_modify_failure",
                    f"pdf/{GROUPS[0]}",
                    "invalid",
                    TRUSTED_BUT_MODIFIED + f": SigNew locks {_lock_label(spec)}; field "
                    f"{filled} was filled in when it signed, field 0 (TextInput.TextField1) is "
                    "changed after",
                    _locked(spec, filled, 0),
                )
            )
    for spec in LOCKS_PASSING:
        for filled in (0, 1):
            out.append(
                (
                    f"fieldmdp-{_lock_label(spec)}-filled{filled}-then-field1-changed",
                    f"{TESTS}:942 test_form_field_in_group_locked_postsign_modify_success",
                    f"pdf/{GROUPS[0]}",
                    "valid",
                    f"val_trusted(extd=True): SigNew locks {_lock_label(spec)}; field {filled} "
                    "was filled in when it signed, field 1 (TextInput.TextField2) is changed "
                    "after",
                    _locked(spec, filled, 1),
                )
            )
    for label, name, err in [
        ("null", generic.NullObject(), "must be strings"),
        ("duplicate", generic.pdf_string("Sig1"), "Duplicate"),
        ("period", generic.pdf_string("Sig2."), "must not contain periods"),
    ]:
        out.append(
            (
                f"form-field-name-{label}",
                f"{TESTS}:1831 test_form_field_manipulate_names",
                two_fields,
                "invalid",
                TRUSTED_BUT_MODIFIED + f", '{err}': the unsigned second field's /T set to {label}",
                lambda name=name: _update(signed_two, _second_field("/T", name)),
            )
        )
    for label, value in ALGORITHM_PROTECTIONS:
        out.append(
            (
                f"cms-algorithm-protection-{label}",
                f"{CMS_TESTS}:737 test_cms_algorithm_protection",
                minimal,
                "invalid",
                "SignatureValidationError naming CMS algorithm protection: the signed "
                f"CMSAlgorithmProtection attribute {label.replace('-', ' ')}, signature "
                "recomputed",
                lambda value=value: _tampered_signed_attrs(
                    "cms_algorithm_protection",
                    duplicate=value is None,
                    replace_with=value,
                    resign=True,
                ),
            )
        )
    out += [
        (
            "cms-signed-attrs-tampering",
            f"{CMS_TESTS}:752 test_signed_attrs_tampering",
            minimal,
            "invalid",
            "intact but not valid: the signed CMSAlgorithmProtection attribute deleted and the "
            "signature not recomputed",
            lambda: _tampered_signed_attrs("cms_algorithm_protection", delete=True),
        ),
        (
            "cms-no-message-digest",
            f"{CMS_TESTS}:769 test_no_message_digest",
            minimal,
            "invalid",
            "SignatureValidationError: the message-digest attribute deleted, signature recomputed",
            lambda: _tampered_signed_attrs("message_digest", delete=True, resign=True),
        ),
        (
            "cms-duplicate-content-type",
            f"{CMS_TESTS}:782 test_duplicate_content_type",
            minimal,
            "invalid",
            "SignatureValidationError, AdES FAILED: the content-type attribute has two values",
            lambda: _tampered_signed_attrs("content_type", duplicate=True, resign=True),
        ),
        (
            "cms-duplicate-content-type-oid",
            f"{CMS_TESTS}:796 test_duplicate_content_type_oid",
            minimal,
            "invalid",
            "SignatureValidationError: the content-type attribute appears twice",
            lambda: _tampered_signed_attrs("content_type", oid_duplicate=True, resign=True),
        ),
        (
            "cms-no-content-type",
            f"{CMS_TESTS}:809 test_no_content_type",
            minimal,
            "invalid",
            "SignatureValidationError: the content-type attribute deleted, signature recomputed",
            lambda: _tampered_signed_attrs("content_type", delete=True, resign=True),
        ),
        (
            "cms-wrong-content-type",
            f"{CMS_TESTS}:820 test_wrong_content_type",
            minimal,
            "invalid",
            "SignatureValidationError: the content-type attribute says enveloped-data while "
            "the eContentType is data, signature recomputed",
            lambda: _tampered_signed_attrs(
                "content_type", replace_with="enveloped_data", resign=True
            ),
        ),
        (
            "cms-signing-cert-malformed-issuer",
            f"{CMS_TESTS}:1224 test_signing_cert_attr_malformed_issuer",
            minimal,
            "invalid",
            "SignatureValidationError 'Signing certificate attribute does not match', AdES "
            "INDETERMINATE / NO_SIGNING_CERTIFICATE_FOUND: the ESS signing-certificate-v2 "
            "issuer replaced by a DNS name, signature recomputed",
            lambda: _tampered_signed_attrs(
                "signing_certificate_v2",
                replace_with=_malformed_signing_cert_issuer(),
                resign=True,
            ),
        ),
        (
            "cms-signing-cert-duplicated",
            f"{CMS_TESTS}:1250 test_signing_cert_attr_duplicated",
            minimal,
            "invalid",
            "SignatureValidationError 'Wrong cardinality for signing cert': the ESS "
            "signing-certificate-v2 attribute has two values, signature recomputed",
            lambda: _tampered_signed_attrs("signing_certificate_v2", duplicate=True, resign=True),
        ),
    ]
    adobe = (HERE.parent / "pyhanko/files/minimal-two-fields-signed-twice.pdf").read_bytes()
    for variant in ("new-stream", "stream-rewritten", "null", "indirect-null"):
        out.append(
            (
                f"bogus-metadata-{variant}",
                f"{TESTS}:360 test_bogus_metadata_manipulation",
                "pdf/minimal-two-fields-signed-twice.pdf",
                "invalid",
                "modification level OTHER for the first signature: the catalog's /Metadata "
                f"replaced by bogus data ({variant}) after both signatures",
                lambda variant=variant: _update(adobe, _bogus_metadata(variant)),
            )
        )
    return out


ANCHORS = {
    "testing-ca-rsa-root": "anchors/testing-ca-rsa-root.pem",
    "selfsigned-testerino": "../pyhanko/anchors/selfsigned-testerino.pem",
}


def _pyhanko_says(data: bytes, outcome: str) -> str:
    """pyHanko's own difference analysis of the file, checked against the test's expectation."""
    results, accepted = [], True
    for sig in PdfFileReader(BytesIO(data)).embedded_signatures:
        try:
            status = validate_pdf_signature(sig, ValidationContext(trust_roots=[]))
        except SignatureValidationError as exc:
            results.append(f"{sig.field_name} SignatureValidationError: {exc}")
            accepted = False
            continue
        level = status.modification_level
        accepted &= bool(
            status.intact and status.valid and level and level <= ModificationLevel.FORM_FILLING
        )
        results.append(
            f"{sig.field_name} intact={status.intact} valid={status.valid} "
            f"{level.name if level else None}"
        )
    if accepted != (outcome == "valid"):
        raise SystemExit(f"pyHanko does not say {outcome}: {results}")
    return f"pyHanko {version('pyHanko')} on this file: " + "; ".join(results)


def main() -> None:
    logging.disable(logging.WARNING)  # pyHanko's validation logs every untrusted chain
    manifest_path = HERE / "manifest.json"
    old = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {"cases": []}
    recorded = {c["id"]: c for c in old["cases"]}
    cases = []
    for cid, test, base, outcome, detail, build in scenarios():
        data = build()
        confirmed = _pyhanko_says(data, outcome)
        (HERE / "files" / f"{cid}.pdf").write_bytes(data)
        adobe = "signed-twice" in base
        case = {
            "id": cid,
            "file": f"files/{cid}.pdf",
            "sha256": hashlib.sha256(data).hexdigest(),
            "source": {
                "repo": REPO,
                "commit": COMMIT,
                "path": f"{DATA}/{base}",
                "licence": "MIT",
                "generated": "re-enacted by generate.py from the pyHanko test below",
            },
            "anchors": ["selfsigned-testerino" if adobe else "testing-ca-rsa-root"],
            "at": "2021-01-05T00:00:00+00:00" if adobe else "2020-11-01T12:00:00+00:00",
            "peer": {"outcome": outcome, "detail": detail, "test": test, "confirmed": confirmed},
        }
        for key in ("sigmail", "agreement", "category", "reason"):
            if key in recorded.get(cid, {}):
                case[key] = recorded[cid][key]
        cases.append(case)
    anchors = {}
    for key, rel in ANCHORS.items():
        der = pem.unarmor((HERE / rel).read_bytes())[2]
        anchors[key] = {"file": rel, "sha256": hashlib.sha256(der).hexdigest()}
    manifest = {
        "suite": "pyhanko-generated",
        "title": "pyHanko's scenarios that build their files at test time (difference analysis, "
        "signed-attribute tampering), re-enacted (generate.py) on pyHanko's sample PDFs with "
        "pyHanko's test signer",
        "peer_tool": "pyHanko (validate_pdf_signature and its difference analysis)",
        "licence_note": "MIT (LICENSE): the base PDFs and the signer's key and certificates are "
        "pyHanko's test data; the files are generated here.",
        "anchors": anchors,
        "validation_time_why": "the freeze_time of pyHanko's tests (2020-11-01; the Adobe "
        "sample 2021-01-05); the files are signed at 2020-11-01T10:00Z.",
        "cases": cases,
    }
    manifest_path.write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    print(f"{len(cases)} cases")


if __name__ == "__main__":
    main()
