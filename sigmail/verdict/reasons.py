"""Every reason code sigmail can report, in one table.

A reason code is stable API: agency systems store it and mail filters match on it, so a code is
never renamed or removed. Each row says what the finding does to a verdict (its *effect*), which
regulation check it belongs to (C1-C12 in the rule book), the legal basis a clerk can look up,
and the message in Vietnamese and English. Turning findings into a verdict happens only in
:mod:`sigmail.policy.verdict_table`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "REASONS",
    "VERDICT_ACTIONS",
    "VERDICT_LABELS",
    "Effect",
    "Reason",
    "ReasonCode",
    "reason",
    "reasons_json",
    "reasons_markdown",
]


class Effect(StrEnum):
    """What one finding does to the verdict of the document or message it is part of."""

    INVALID = "invalid"
    INDETERMINATE = "indeterminate"
    NOT_OFFICIAL = "not_official"
    UNSIGNED = "unsigned"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    effect: Effect
    check: str  # C1..C12 of the rule book, or "-" for input handling
    basis: str
    vi: str
    en: str


_NĐ130_9_1 = "NĐ 130/2018/NĐ-CP Điều 9 khoản 1"
_NĐ130_9_2 = "NĐ 130/2018/NĐ-CP Điều 9 khoản 2; TT 15/2025/TT-BKHCN"
_C4_BASIS = (
    "NĐ 130/2018/NĐ-CP Điều 9 khoản 1, Điều 79; NĐ 23/2025/NĐ-CP; TT 41/2017/TT-BTTTT Điều 9"
)
_C5_BASIS = "TT 15/2025/TT-BKHCN; NĐ 130/2018/NĐ-CP Điều 79"
_NĐ30_21 = "NĐ 30/2020/NĐ-CP Điều 21 khoản 2"
_NĐ30_5 = "NĐ 30/2020/NĐ-CP Điều 5, 13, 17"
_C11_BASIS = "CT 34/2008/CT-TTg; QĐ 41/2011/QĐ-UBND"

_ROWS: tuple[Reason, ...] = (
    # -- input handling ------------------------------------------------------------------------
    Reason(
        "malformed",
        Effect.INVALID,
        "-",
        _NĐ30_21,
        "Dữ liệu không đúng cấu trúc, không thể kiểm tra chữ ký",
        "The input is malformed; its signatures cannot be checked",
    ),
    Reason(
        "unsupported",
        Effect.INDETERMINATE,
        "-",
        _NĐ30_21,
        "Định dạng hoặc tính năng chưa được hỗ trợ",
        "This format or feature is not supported yet",
    ),
    Reason(
        "limit_exceeded",
        Effect.INDETERMINATE,
        "-",
        _NĐ30_21,
        "Vượt giới hạn xử lý (kích thước, độ sâu, số lượng); chưa thể kết luận",
        "A processing limit was exceeded (size, depth, count); no conclusion was reached",
    ),
    Reason(
        "internal_error",
        Effect.INDETERMINATE,
        "-",
        _NĐ30_21,
        "Lỗi nội bộ của phần mềm kiểm tra; cần kiểm tra lại",
        "The verifier failed internally; check again",
    ),
    Reason(
        "detached_content_missing",
        Effect.INDETERMINATE,
        "C2",
        _NĐ130_9_1,
        "Chữ ký tách rời nhưng không có nội dung được ký để đối chiếu",
        "A detached signature was given without the signed content",
    ),
    # -- C1 presence ---------------------------------------------------------------------------
    Reason(
        "no_signature",
        Effect.UNSIGNED,
        "C1",
        "NĐ 30/2020/NĐ-CP Điều 5; Luật GDĐT 2023 Điều 23",
        "Không có chữ ký số: chỉ có giá trị tham khảo",
        "No digital signature: a reference copy only",
    ),
    # -- C2 integrity --------------------------------------------------------------------------
    Reason(
        "digest_mismatch",
        Effect.INVALID,
        "C2",
        _NĐ130_9_1,
        "Nội dung đã bị thay đổi sau khi ký (giá trị băm không khớp)",
        "The content was changed after signing (digest mismatch)",
    ),
    Reason(
        "signature_invalid",
        Effect.INVALID,
        "C2",
        _NĐ130_9_1,
        "Giá trị chữ ký không hợp lệ với khóa công khai của chứng thư số",
        "The signature value does not verify with the certificate's public key",
    ),
    Reason(
        "signed_attributes_invalid",
        Effect.INVALID,
        "C2",
        _NĐ130_9_1,
        "Thuộc tính được ký thiếu hoặc mâu thuẫn (content-type, message-digest)",
        "Signed attributes are missing or inconsistent (content-type, message-digest)",
    ),
    Reason(
        "signer_certificate_missing",
        Effect.INVALID,
        "C2",
        _NĐ130_9_1,
        "Không tìm thấy chứng thư số của người ký trong chữ ký",
        "The signer's certificate is not in the signature",
    ),
    Reason(
        "signer_certificate_mismatch",
        Effect.INVALID,
        "C2",
        _NĐ130_9_1,
        "Chứng thư số không khớp với định danh người ký hoặc thuộc tính signing-certificate",
        "The certificate does not match the signer identifier or signing-certificate attribute",
    ),
    Reason(
        "signing_certificate_attr_missing",
        Effect.WARNING,
        "C2",
        _NĐ130_9_1,
        "Chữ ký không gắn chứng thư số của người ký (thiếu thuộc tính signing-certificate)",
        "The signature does not bind the signer certificate (no signing-certificate attribute)",
    ),
    # -- C3 chain ------------------------------------------------------------------------------
    Reason(
        "untrusted_chain",
        Effect.INVALID,
        "C3",
        _NĐ130_9_2,
        "Chứng thư số không được cấp bởi tổ chức chứng thực tin cậy",
        "The certificate does not chain to a trusted certification authority",
    ),
    Reason(
        "issuer_unreachable",
        Effect.INDETERMINATE,
        "C3",
        _NĐ130_9_2,
        "Không tải được chứng thư của tổ chức cấp (AIA) để dựng chuỗi; cần kiểm tra lại sau",
        "The issuer's certificate could not be fetched (AIA) to build the chain; check again later",
    ),
    Reason(
        "chain_invalid",
        Effect.INVALID,
        "C3",
        _NĐ130_9_2,
        "Chuỗi chứng thư số không hợp lệ",
        "The certificate chain is not valid",
    ),
    # -- C4 time and status --------------------------------------------------------------------
    Reason(
        "certificate_expired",
        Effect.INVALID,
        "C4",
        _C4_BASIS,
        "Chứng thư số đã hết hạn tại thời điểm ký",
        "The certificate had expired at the signing time",
    ),
    Reason(
        "certificate_not_yet_valid",
        Effect.INVALID,
        "C4",
        _C4_BASIS,
        "Chứng thư số chưa có hiệu lực tại thời điểm ký",
        "The certificate was not yet valid at the signing time",
    ),
    Reason(
        "certificate_revoked",
        Effect.INVALID,
        "C4",
        _C4_BASIS,
        "Chứng thư số đã bị thu hồi trước thời điểm ký",
        "The certificate was revoked before the signing time",
    ),
    Reason(
        "certificate_suspended",
        Effect.INVALID,
        "C4",
        _C4_BASIS,
        "Chứng thư số đang bị tạm dừng tại thời điểm ký",
        "The certificate was suspended (on hold) at the signing time",
    ),
    Reason(
        "expired_no_poe",
        Effect.INDETERMINATE,
        "C4",
        _C4_BASIS,
        "Chứng thư số đã hết hạn và không có dấu thời gian chứng minh chữ ký được tạo trước đó",
        "The certificate has expired and no timestamp proves the signature was made before",
    ),
    Reason(
        "revoked_no_poe",
        Effect.INDETERMINATE,
        "C4",
        _C4_BASIS,
        "Chứng thư số đã bị thu hồi và không có dấu thời gian chứng minh chữ ký được tạo trước đó",
        "The certificate is revoked and no timestamp proves the signature was made before",
    ),
    Reason(
        "suspended_no_poe",
        Effect.INDETERMINATE,
        "C4",
        _C4_BASIS,
        "Chứng thư số đang bị tạm dừng và không có dấu thời gian chứng minh thời điểm ký",
        "The certificate is on hold and no timestamp proves when the signature was made",
    ),
    Reason(
        "revocation_unavailable",
        Effect.INDETERMINATE,
        "C4",
        _C4_BASIS,
        "Không có thông tin trạng thái chứng thư số (CRL/OCSP) để kiểm tra",
        "No revocation information (CRL/OCSP) is available to check the certificate",
    ),
    Reason(
        "revocation_unreachable",
        Effect.INDETERMINATE,
        "C4",
        _C4_BASIS,
        "Không kết nối được máy chủ CRL/OCSP; cần kiểm tra lại sau",
        "The CRL/OCSP service could not be reached; check again later",
    ),
    Reason(
        "revoked_after_signing",
        Effect.INFO,
        "C4",
        _C4_BASIS,
        "Chứng thư số bị thu hồi sau thời điểm ký đã được chứng minh; chữ ký vẫn có giá trị",
        "The certificate was revoked after the proven signing time; the signature stands",
    ),
    Reason(
        "no_proven_signing_time",
        Effect.INFO,
        "C4",
        _C4_BASIS,
        "Không có dấu thời gian tin cậy; thời điểm ký khai báo chỉ để tham khảo",
        "No trusted timestamp; the claimed signing time is informational only",
    ),
    Reason(
        "timestamp_invalid",
        Effect.WARNING,
        "C4",
        "TT 41/2017/TT-BTTTT Điều 9",
        "Dấu thời gian không hợp lệ và bị bỏ qua",
        "The timestamp is not valid and was ignored",
    ),
    Reason(
        "timestamp_untrusted",
        Effect.WARNING,
        "C4",
        "TT 41/2017/TT-BTTTT Điều 9",
        "Dấu thời gian do đơn vị không tin cậy cấp và bị bỏ qua",
        "The timestamp was issued by an untrusted authority and was ignored",
    ),
    Reason(
        "signing_time_tz_quirk",
        Effect.WARNING,
        "C4",
        "TT 41/2017/TT-BTTTT Điều 9",
        "Thời điểm ký khai báo lệch 7 giờ so với dấu thời gian (ghi giờ địa phương như giờ UTC)",
        "The claimed signing time is 7 h off the timestamp (local time written as UTC)",
    ),
    Reason(
        "signing_time_inconsistent",
        Effect.WARNING,
        "C4",
        "TT 41/2017/TT-BTTTT Điều 9",
        "Thời điểm ký khai báo không khớp với dấu thời gian",
        "The claimed signing time does not agree with the timestamp",
    ),
    # -- C5 key usage and algorithms -----------------------------------------------------------
    Reason(
        "key_usage_not_signing",
        Effect.INVALID,
        "C5",
        _C5_BASIS,
        "Chứng thư số không được phép dùng để ký (keyUsage)",
        "The certificate's key usage does not permit signing",
    ),
    Reason(
        "weak_algorithm",
        Effect.INVALID,
        "C5",
        _C5_BASIS,
        "Thuật toán băm hoặc ký không còn an toàn (ví dụ SHA-1, MD5)",
        "The hash or signature algorithm is no longer safe (e.g. SHA-1, MD5)",
    ),
    Reason(
        "weak_key",
        Effect.INVALID,
        "C5",
        _C5_BASIS,
        "Độ dài khóa không đạt yêu cầu (RSA < 2048, ECDSA < 256 bit)",
        "The key is too short (RSA < 2048, ECDSA < 256 bits)",
    ),
    Reason(
        "unsupported_algorithm",
        Effect.INDETERMINATE,
        "C5",
        _C5_BASIS,
        "Thuật toán chưa được hỗ trợ nên không thể kiểm tra",
        "The algorithm is not supported, so the signature cannot be checked",
    ),
    Reason(
        "legacy_algorithm",
        Effect.WARNING,
        "C5",
        _C5_BASIS,
        "Chuỗi chứng thư dùng thuật toán cũ (SHA-1) của hệ thống thế hệ trước",
        "The certificate chain uses a legacy algorithm (SHA-1) of an older CA generation",
    ),
    # -- C6 CA class ---------------------------------------------------------------------------
    Reason(
        "public_ca_signer",
        Effect.NOT_OFFICIAL,
        "C6",
        "Luật GDĐT 2023 Điều 22; NĐ 68/2024/NĐ-CP",
        "Chữ ký dùng chứng thư số công cộng, không phải chữ ký số chuyên dùng công vụ",
        "Signed with a public-CA certificate, not an official-duty certificate",
    ),
    # -- C7-C10 documents (vn-gov policy) -----------------------------------------------------
    Reason(
        "missing_agency_signature",
        Effect.NOT_OFFICIAL,
        "C7",
        _NĐ30_5,
        "Văn bản chưa có chữ ký số của cơ quan, tổ chức (chỉ có chữ ký của người có thẩm quyền)",
        "The document lacks the agency's signature (only the competent person signed)",
    ),
    Reason(
        "missing_person_signature",
        Effect.NOT_OFFICIAL,
        "C7",
        _NĐ30_5,
        "Văn bản chưa có chữ ký số của người có thẩm quyền",
        "The document lacks the competent person's signature",
    ),
    Reason(
        "signing_order_invalid",
        Effect.INVALID,
        "C8",
        "NĐ 30/2020/NĐ-CP Điều 32 khoản 2 điểm d",
        "Chữ ký số của cơ quan không được đặt sau chữ ký của người có thẩm quyền",
        "The agency signature does not cover a revision already signed by the person",
    ),
    Reason(
        "signing_order_unproven",
        Effect.NOT_OFFICIAL,
        "C8",
        "NĐ 30/2020/NĐ-CP Điều 32 khoản 2 điểm d",
        "Không xác định được chữ ký của cơ quan có được đặt sau chữ ký của người có thẩm quyền "
        "(hai chữ ký song song)",
        "Nothing shows the agency signed after the person (the two signatures are parallel)",
    ),
    Reason(
        "signer_not_of_agency",
        Effect.NOT_OFFICIAL,
        "C9",
        "NĐ 30/2020/NĐ-CP Điều 13; Luật GDĐT 2023 Điều 23",
        "Người ký không thuộc cơ quan ban hành văn bản",
        "The person who signed does not belong to the issuing agency",
    ),
    Reason(
        "attachment_not_agency_signed",
        Effect.WARNING,
        "C10",
        "NĐ 30/2020/NĐ-CP Phụ lục I",
        "Tệp đính kèm văn bản không có chữ ký số của cơ quan",
        "An attachment file does not carry the agency's signature",
    ),
    # -- C12 evidence ------------------------------------------------------------------------
    Reason(
        "evidence_incomplete",
        Effect.INFO,
        "C12",
        "TT 41/2017/TT-BTTTT Điều 9; NĐ 30/2020/NĐ-CP Điều 21, 22",
        "Thiếu chứng cứ cần lưu kèm văn bản (dấu thời gian, thông tin thu hồi của chứng thư)",
        "Evidence to keep with the document is missing (timestamp, certificate status)",
    ),
    # -- C11 e-mail (S/MIME) ------------------------------------------------------------------
    Reason(
        "partially_signed",
        Effect.NOT_OFFICIAL,
        "C11",
        _C11_BASIS,
        "Thư có nội dung nằm ngoài phần được ký số",
        "The message has content outside the signed part",
    ),
    Reason(
        "signer_mismatch",
        Effect.INVALID,
        "C11",
        _C11_BASIS,
        "Địa chỉ người gửi (From) không khớp với địa chỉ thư trong chứng thư số của người ký",
        "The From address does not match an e-mail address in the signer's certificate",
    ),
    Reason(
        "sender_ambiguous",
        Effect.INVALID,
        "C11",
        _C11_BASIS,
        "Thư không có đúng một địa chỉ người gửi (From)",
        "The message does not have exactly one From address",
    ),
    Reason(
        "sender_header_differs",
        Effect.WARNING,
        "C11",
        _C11_BASIS,
        "Trường Sender khác với người gửi (From)",
        "The Sender header differs from the From address",
    ),
    Reason(
        "display_name_deceptive",
        Effect.WARNING,
        "C11",
        _C11_BASIS,
        "Tên hiển thị của người gửi trông như một địa chỉ thư khác",
        "The sender's display name looks like a different e-mail address",
    ),
    Reason(
        "micalg_mismatch",
        Effect.WARNING,
        "C11",
        _C11_BASIS,
        "Tham số micalg không khớp với thuật toán băm của chữ ký",
        "The micalg parameter disagrees with the signature's digest algorithm",
    ),
    Reason(
        "econtent_in_detached",
        Effect.INVALID,
        "C2",
        _NĐ130_9_1,
        "Chữ ký tách rời lại chứa nội dung riêng (có thể hiển thị khác nội dung được ký)",
        "A detached signature carries content of its own (what is shown may not be what was "
        "signed)",
    ),
    Reason(
        "encrypted",
        Effect.INDETERMINATE,
        "C11",
        _C11_BASIS,
        "Nội dung được mã hóa; không kiểm tra được khi chưa giải mã",
        "The content is encrypted and cannot be checked without decrypting it",
    ),
    # -- PDF (PAdES): coverage and changes after signing (C2) ---------------------------------
    Reason(
        "byte_range_invalid",
        Effect.INVALID,
        "C2",
        _NĐ130_9_1,
        "Vùng dữ liệu được ký (ByteRange) không hợp lệ hoặc không bao phủ đúng phiên bản tài liệu",
        "The signed byte range is invalid or does not cover its document revision exactly",
    ),
    Reason(
        "page_content_modified",
        Effect.INVALID,
        "C2",
        _NĐ130_9_1,
        "Nội dung trang đã bị thay đổi sau khi ký",
        "Page content was changed after signing",
    ),
    Reason(
        "appearance_overridden",
        Effect.INVALID,
        "C2",
        _NĐ130_9_1,
        "Hình thức hiển thị (appearance) đã bị thay thế sau khi ký",
        "An appearance stream was overridden after signing",
    ),
    Reason(
        "form_field_replaced",
        Effect.INVALID,
        "C2",
        _NĐ130_9_1,
        "Giá trị và hình thức hiển thị của trường biểu mẫu đã bị thay thế sau khi ký",
        "A form field's value and appearance were replaced after signing",
    ),
    Reason(
        "object_overlay",
        Effect.INVALID,
        "C2",
        _NĐ130_9_1,
        "Đối tượng ẩn hoặc đối tượng che phủ đã được đưa vào sau khi ký",
        "Hidden or overlay objects were swapped in after signing",
    ),
    Reason(
        "appended_without_xref",
        Effect.INVALID,
        "C2",
        _NĐ130_9_1,
        "Có đối tượng được thêm vào cuối tệp sau khi ký mà không có bảng tham chiếu (xref)",
        "Objects were appended after signing without a cross-reference section",
    ),
    Reason(
        "trailing_data",
        Effect.INVALID,
        "C2",
        _NĐ130_9_1,
        "Có dữ liệu không xác định ở cuối tệp sau phần được ký",
        "Unparsed bytes follow the signed part of the file",
    ),
    Reason(
        "docmdp_violation",
        Effect.INVALID,
        "C2",
        _NĐ130_9_1,
        "Thay đổi sau khi ký vi phạm mức cho phép của chữ ký chứng nhận (DocMDP)",
        "A change after signing breaks the certification signature's permissions (DocMDP)",
    ),
    Reason(
        "fieldmdp_violation",
        Effect.INVALID,
        "C2",
        _NĐ130_9_1,
        "Thay đổi sau khi ký vi phạm khóa trường biểu mẫu (FieldMDP)",
        "A change after signing breaks a form-field lock (FieldMDP)",
    ),
    Reason(
        "modification_unclassified",
        Effect.INVALID,
        "C2",
        _NĐ130_9_1,
        "Có thay đổi sau khi ký không thể xác định là vô hại",
        "A change after signing could not be shown to be harmless",
    ),
    Reason(
        "benign_modification",
        Effect.WARNING,
        "C2",
        _NĐ130_9_1,
        "Tài liệu được bổ sung sau khi ký theo cách được phép (thông tin xác thực, chữ ký mới, "
        "chú thích)",
        "The document was updated after signing in a permitted way (validation data, a new "
        "signature, annotations)",
    ),
    Reason(
        "signature_dictionary_modified",
        Effect.INVALID,
        "C2",
        _NĐ130_9_1,
        "Thông tin của chữ ký (người ký, lý do, thời điểm, vùng ký) đã bị sửa sau khi ký",
        "The signature's dictionary (signer name, reason, time, byte range) was rewritten "
        "after signing",
    ),
    Reason(
        "signature_reused",
        Effect.INVALID,
        "C2",
        _NĐ130_9_1,
        "Một chữ ký đã có (từ điển chữ ký hoặc giá trị /Contents) được dùng lại cho một trường "
        "chữ ký khác, như thể là chữ ký mới",
        "An existing signature (its dictionary or its /Contents value) is reused by another "
        "signature field, as if it were a new signature",
    ),
    Reason(
        "time_proven_by_document_timestamp",
        Effect.INFO,
        "C4",
        _C4_BASIS,
        "Thời điểm ký được chứng minh bằng dấu thời gian tài liệu đặt sau chữ ký",
        "The signing time is proven by a document timestamp applied after the signature",
    ),
    # -- issue 10 (CMS and S/MIME): what a thing is, said right ---------------------------------
    Reason(
        "signing_time_far_from_date",
        Effect.WARNING,
        "C4",
        "TT 41/2017/TT-BTTTT Điều 9",
        "Thời điểm ký khai báo cách ngày gửi thư (trường Date) hơn một ngày",
        "The claimed signing time is more than a day away from the message's Date",
    ),
    # -- issue 13 (XML signatures: XMLDSig, XAdES, Office packages) ----------------------------
    Reason(
        "signature_wrapping",
        Effect.INVALID,
        "C2",
        _NĐ130_9_1,
        "Chữ ký XML tham chiếu tới phần tử không xác định duy nhất (Id trùng hoặc sai vị trí): "
        "dấu hiệu tấn công bọc chữ ký",
        "An XML signature reference does not resolve to exactly one element (duplicate or "
        "misplaced Id): a signature-wrapping attack",
    ),
    Reason(
        "unsupported_transform",
        Effect.INDETERMINATE,
        "C2",
        _NĐ130_9_1,
        "Chữ ký XML dùng phép biến đổi không được hỗ trợ (chỉ chấp nhận enveloped-signature, "
        "chuẩn hóa C14N, giải mã base64 và phép biến đổi quan hệ OPC)",
        "The XML signature uses a transform sigmail does not run (only enveloped-signature, "
        "the C14N family, base64 and the OPC relationship transform are accepted)",
    ),
    Reason(
        "countersignature_not_bound",
        Effect.INVALID,
        "C2",
        _NĐ130_9_1 + "; ETSI EN 319 132-1 §5.2.7",
        "Chữ ký xác nhận (XAdES CounterSignature) không ký giá trị chữ ký (ds:SignatureValue) "
        "của chữ ký mà nó xác nhận: không được coi là chữ ký xác nhận",
        "A XAdES countersignature does not sign the SignatureValue of the signature it "
        "countersigns, so it countersigns nothing",
    ),
    Reason(
        "content_not_covered",
        Effect.NOT_OFFICIAL,
        "C2",
        _NĐ130_9_1,
        "Một phần văn bản (phần tử XML, phần của gói Office) nằm ngoài phạm vi chữ ký số: "
        "được thêm sau khi ký hoặc không được ký",
        "Part of the document (an XML element, a part of an Office package) is not covered "
        "by any signature: added after signing, or never signed",
    ),
)

REASONS: dict[str, Reason] = {row.code: row for row in _ROWS}

# The codes as an enum (member MALFORMED has the value "malformed"), made from the table so
# the two cannot drift; a StrEnum, so JSON and string comparisons are unchanged.
ReasonCode = StrEnum("ReasonCode", [(row.code.upper(), row.code) for row in _ROWS])  # type: ignore[misc]


def reason(code: str) -> Reason:
    """The table row of ``code``; a code missing from the table is a bug."""
    return REASONS[code]


# How each verdict word is said to a clerk (vi) and an English reader.
VERDICT_LABELS: dict[str, tuple[str, str]] = {
    "official": ("HỢP LỆ — văn bản điện tử chính thức", "OFFICIALLY VALID"),
    "not_official": (
        "KHÔNG PHẢI BẢN CHÍNH THỨC — chữ ký còn nguyên vẹn và tin cậy",
        "NOT OFFICIAL — signatures intact and trusted",
    ),
    "unsigned": ("KHÔNG CÓ CHỮ KÝ SỐ", "UNSIGNED"),
    "invalid": ("KHÔNG HỢP LỆ", "INVALID"),
    "indeterminate": ("CHƯA XÁC ĐỊNH ĐƯỢC", "INDETERMINATE"),
}

# What a clerk (văn thư) does with each verdict (rule book, "Verdict vocabulary").
VERDICT_ACTIONS: dict[str, tuple[str, str]] = {
    "official": ("Vào sổ văn bản đến.", "Register it as received."),
    "not_official": (
        "Chỉ dùng để tham khảo; đề nghị nơi gửi gửi bản chính thức.",
        "Treat it as information; ask the sender for the issued version.",
    ),
    "unsigned": ("Bản tham khảo, chỉ dùng để tham khảo.", "A reference copy only."),
    "invalid": (
        "Trả lại nơi gửi (NĐ 30/2020/NĐ-CP Điều 21 khoản 2).",
        "Return it to the sender (NĐ 30/2020/NĐ-CP Art 21(2)).",
    ),
    "indeterminate": ("Kiểm tra lại sau.", "Check again later."),
}


def reasons_json() -> list[dict[str, str]]:
    """The table as JSON rows (``sigmail reasons --json``, the service's ``/v1/reasons``)."""
    return [
        {
            "code": r.code,
            "effect": r.effect.value,
            "check": r.check,
            "basis": r.basis,
            "vi": r.vi,
            "en": r.en,
        }
        for r in REASONS.values()
    ]


def reasons_markdown() -> str:
    """The reason-code reference page (docs/reason-codes.md is this text; a test compares)."""
    lines = [
        "# Reason codes",
        "",
        "Every finding in a verdict carries one of these codes. Codes are stable API: they are",
        "never renamed or removed. *Effect* is what the finding does to the verdict of the",
        "document or message (see `sigmail/policy/verdict_table.py`); *check* is the rule-book",
        "check (C1–C12) it belongs to. Generated from `sigmail/verdict/reasons.py`",
        "(`sigmail reasons --markdown`).",
        "",
        "| code | effect | check | basis | Tiếng Việt | English |",
        "|---|---|---|---|---|---|",
    ]
    for row in _ROWS:
        cells = (f"`{row.code}`", row.effect.value, row.check, row.basis, row.vi, row.en)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
