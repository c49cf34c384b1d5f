"""Reason rows of documents under the vn-gov policy (C7-C10), of evidence (C12) and of e-mail
(S/MIME, C11)."""

from __future__ import annotations

from sigmail.verdict.reason_rows.basis import C11_BASIS, NĐ30_5, NĐ130_9_1
from sigmail.verdict.reason_rows.row import Effect, Reason

__all__ = ["MESSAGE_DATE_ROWS", "ROWS"]


ROWS: tuple[Reason, ...] = (
    # -- C7-C10 documents (vn-gov policy) -----------------------------------------------------
    Reason(
        "missing_agency_signature",
        Effect.NOT_OFFICIAL,
        "C7",
        NĐ30_5,
        "Văn bản chưa có chữ ký số của cơ quan, tổ chức (chỉ có chữ ký của người có thẩm quyền)",
        "The document lacks the agency's signature (only the competent person signed)",
    ),
    Reason(
        "missing_person_signature",
        Effect.NOT_OFFICIAL,
        "C7",
        NĐ30_5,
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
        C11_BASIS,
        "Thư có nội dung nằm ngoài phần được ký số",
        "The message has content outside the signed part",
    ),
    Reason(
        "signer_mismatch",
        Effect.INVALID,
        "C11",
        C11_BASIS,
        "Địa chỉ người gửi (From) không khớp với địa chỉ thư trong chứng thư số của người ký",
        "The From address does not match an e-mail address in the signer's certificate",
    ),
    Reason(
        "sender_ambiguous",
        Effect.INVALID,
        "C11",
        C11_BASIS,
        "Thư không có đúng một địa chỉ người gửi (From)",
        "The message does not have exactly one From address",
    ),
    Reason(
        "sender_header_differs",
        Effect.WARNING,
        "C11",
        C11_BASIS,
        "Trường Sender khác với người gửi (From)",
        "The Sender header differs from the From address",
    ),
    Reason(
        "display_name_deceptive",
        Effect.WARNING,
        "C11",
        C11_BASIS,
        "Tên hiển thị của người gửi trông như một địa chỉ thư khác",
        "The sender's display name looks like a different e-mail address",
    ),
    Reason(
        "micalg_mismatch",
        Effect.WARNING,
        "C11",
        C11_BASIS,
        "Tham số micalg không khớp với thuật toán băm của chữ ký",
        "The micalg parameter disagrees with the signature's digest algorithm",
    ),
    Reason(
        "econtent_in_detached",
        Effect.INVALID,
        "C2",
        NĐ130_9_1,
        "Chữ ký tách rời lại chứa nội dung riêng (có thể hiển thị khác nội dung được ký)",
        "A detached signature carries content of its own (what is shown may not be what was "
        "signed)",
    ),
    Reason(
        "encrypted",
        Effect.INDETERMINATE,
        "C11",
        C11_BASIS,
        "Nội dung được mã hóa; không kiểm tra được khi chưa giải mã",
        "The content is encrypted and cannot be checked without decrypting it",
    ),
)

# Added under issue 10, so listed after the PDF rows in the published order (sigmail/verdict/
# reasons.py joins the tuples in that order).
MESSAGE_DATE_ROWS: tuple[Reason, ...] = (
    # -- issue 10 (CMS and S/MIME): what a thing is, said right ---------------------------------
    Reason(
        "signing_time_far_from_date",
        Effect.WARNING,
        "C4",
        "TT 41/2017/TT-BTTTT Điều 9",
        "Thời điểm ký khai báo cách ngày gửi thư (trường Date) hơn một ngày",
        "The claimed signing time is more than a day away from the message's Date",
    ),
)
