"""Reason rows of PDF (PAdES): what a signature covers and what changed after signing (C2, C4)."""

from __future__ import annotations

from sigmail.verdict.reason_rows.basis import C4_BASIS, NĐ130_9_1
from sigmail.verdict.reason_rows.row import Effect, Reason

__all__ = ["ROWS"]


ROWS: tuple[Reason, ...] = (
    # -- PDF (PAdES): coverage and changes after signing (C2) ---------------------------------
    Reason(
        "byte_range_invalid",
        Effect.INVALID,
        "C2",
        NĐ130_9_1,
        "Vùng dữ liệu được ký (ByteRange) không hợp lệ hoặc không bao phủ đúng phiên bản tài liệu",
        "The signed byte range is invalid or does not cover its document revision exactly",
    ),
    Reason(
        "page_content_modified",
        Effect.INVALID,
        "C2",
        NĐ130_9_1,
        "Nội dung trang đã bị thay đổi sau khi ký",
        "Page content was changed after signing",
    ),
    Reason(
        "appearance_overridden",
        Effect.INVALID,
        "C2",
        NĐ130_9_1,
        "Hình thức hiển thị (appearance) đã bị thay thế sau khi ký",
        "An appearance stream was overridden after signing",
    ),
    Reason(
        "form_field_replaced",
        Effect.INVALID,
        "C2",
        NĐ130_9_1,
        "Giá trị và hình thức hiển thị của trường biểu mẫu đã bị thay thế sau khi ký",
        "A form field's value and appearance were replaced after signing",
    ),
    Reason(
        "object_overlay",
        Effect.INVALID,
        "C2",
        NĐ130_9_1,
        "Đối tượng ẩn hoặc đối tượng che phủ đã được đưa vào sau khi ký",
        "Hidden or overlay objects were swapped in after signing",
    ),
    Reason(
        "appended_without_xref",
        Effect.INVALID,
        "C2",
        NĐ130_9_1,
        "Có đối tượng được thêm vào cuối tệp sau khi ký mà không có bảng tham chiếu (xref)",
        "Objects were appended after signing without a cross-reference section",
    ),
    Reason(
        "trailing_data",
        Effect.INVALID,
        "C2",
        NĐ130_9_1,
        "Có dữ liệu không xác định ở cuối tệp sau phần được ký",
        "Unparsed bytes follow the signed part of the file",
    ),
    Reason(
        "docmdp_violation",
        Effect.INVALID,
        "C2",
        NĐ130_9_1,
        "Thay đổi sau khi ký vi phạm mức cho phép của chữ ký chứng nhận (DocMDP)",
        "A change after signing breaks the certification signature's permissions (DocMDP)",
    ),
    Reason(
        "fieldmdp_violation",
        Effect.INVALID,
        "C2",
        NĐ130_9_1,
        "Thay đổi sau khi ký vi phạm khóa trường biểu mẫu (FieldMDP)",
        "A change after signing breaks a form-field lock (FieldMDP)",
    ),
    Reason(
        "modification_unclassified",
        Effect.INVALID,
        "C2",
        NĐ130_9_1,
        "Có thay đổi sau khi ký không thể xác định là vô hại",
        "A change after signing could not be shown to be harmless",
    ),
    Reason(
        "benign_modification",
        Effect.WARNING,
        "C2",
        NĐ130_9_1,
        "Tài liệu được bổ sung sau khi ký theo cách được phép (thông tin xác thực, chữ ký mới, "
        "chú thích)",
        "The document was updated after signing in a permitted way (validation data, a new "
        "signature, annotations)",
    ),
    Reason(
        "signature_dictionary_modified",
        Effect.INVALID,
        "C2",
        NĐ130_9_1,
        "Thông tin của chữ ký (người ký, lý do, thời điểm, vùng ký) đã bị sửa sau khi ký",
        "The signature's dictionary (signer name, reason, time, byte range) was rewritten "
        "after signing",
    ),
    Reason(
        "signature_reused",
        Effect.INVALID,
        "C2",
        NĐ130_9_1,
        "Một chữ ký đã có (từ điển chữ ký hoặc giá trị /Contents) được dùng lại cho một trường "
        "chữ ký khác, như thể là chữ ký mới",
        "An existing signature (its dictionary or its /Contents value) is reused by another "
        "signature field, as if it were a new signature",
    ),
    Reason(
        "time_proven_by_document_timestamp",
        Effect.INFO,
        "C4",
        C4_BASIS,
        "Thời điểm ký được chứng minh bằng dấu thời gian tài liệu đặt sau chữ ký",
        "The signing time is proven by a document timestamp applied after the signature",
    ),
)
