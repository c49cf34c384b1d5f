"""Reason rows of XML signatures (XMLDSig, XAdES) and of signed packages (Office, OpenDocument),
added under issue 13."""

from __future__ import annotations

from sigmail.verdict.reason_rows.basis import NĐ130_9_1
from sigmail.verdict.reason_rows.row import Effect, Reason

__all__ = ["ROWS"]


ROWS: tuple[Reason, ...] = (
    # -- issue 13 (XML signatures: XMLDSig, XAdES, Office packages) ----------------------------
    Reason(
        "signature_wrapping",
        Effect.INVALID,
        "C2",
        NĐ130_9_1,
        "Chữ ký XML tham chiếu tới phần tử không xác định duy nhất (Id trùng hoặc sai vị trí): "
        "dấu hiệu tấn công bọc chữ ký",
        "An XML signature reference does not resolve to exactly one element (duplicate or "
        "misplaced Id): a signature-wrapping attack",
    ),
    Reason(
        "unsupported_transform",
        Effect.INDETERMINATE,
        "C2",
        NĐ130_9_1,
        "Chữ ký XML dùng phép biến đổi không được hỗ trợ (chỉ chấp nhận enveloped-signature, "
        "chuẩn hóa C14N, giải mã base64 và phép biến đổi quan hệ OPC)",
        "The XML signature uses a transform sigmail does not run (only enveloped-signature, "
        "the C14N family, base64 and the OPC relationship transform are accepted)",
    ),
    Reason(
        "countersignature_not_bound",
        Effect.INVALID,
        "C2",
        NĐ130_9_1 + "; ETSI EN 319 132-1 §5.2.7",
        "Chữ ký xác nhận (XAdES CounterSignature) không ký giá trị chữ ký (ds:SignatureValue) "
        "của chữ ký mà nó xác nhận: không được coi là chữ ký xác nhận",
        "A XAdES countersignature does not sign the SignatureValue of the signature it "
        "countersigns, so it countersigns nothing",
    ),
    Reason(
        "content_not_covered",
        Effect.NOT_OFFICIAL,
        "C2",
        NĐ130_9_1,
        "Một phần văn bản (phần tử XML, phần của gói Office) nằm ngoài phạm vi chữ ký số: "
        "được thêm sau khi ký hoặc không được ký",
        "Part of the document (an XML element, a part of an Office package) is not covered "
        "by any signature: added after signing, or never signed",
    ),
    # -- the end of the table: a new code goes here (or in a new tuple joined after this one) --
)
