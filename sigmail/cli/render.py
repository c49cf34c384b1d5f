"""Plain-text rendering of a verdict for a terminal, in Vietnamese or English."""

from __future__ import annotations

from sigmail.verdict.model import Finding, SignatureReport, Verdict
from sigmail.verdict.reasons import VERDICT_LABELS, Effect

__all__ = ["render_text"]

_WORDS = {
    "vi": {
        "signature": "Chữ ký",
        "signer": "người ký",
        "anchor": "gốc tin cậy",
        "proven": "thời điểm ký đã chứng minh",
        "claimed": "thời điểm ký khai báo",
        "checked": "kiểm tra tại",
        "none": "không có",
        "basis": "căn cứ",
        "passed": "đạt",
        "failed": "không đạt",
        "indeterminate": "chưa xác định",
        "retry": "kiểm tra lại sau",
    },
    "en": {
        "signature": "Signature",
        "signer": "signer",
        "anchor": "anchor",
        "proven": "proven signing time",
        "claimed": "claimed signing time",
        "checked": "checked at",
        "none": "none",
        "basis": "basis",
        "passed": "passed",
        "failed": "failed",
        "indeterminate": "indeterminate",
        "retry": "retry after",
    },
}
_MARK = {
    Effect.INVALID: "✗",
    Effect.INDETERMINATE: "?",
    Effect.NOT_OFFICIAL: "!",
    Effect.UNSIGNED: "∅",
    Effect.WARNING: "!",
    Effect.INFO: "·",
}


def _finding(f: Finding, lang: str, indent: str) -> str:
    message = f.message_vi if lang == "vi" else f.message_en
    line = f"{indent}{_MARK[f.effect]} [{f.code}] {message}"
    if f.detail:
        line += f" — {f.detail}"
    line += f" ({f.locator}; {_WORDS[lang]['basis']}: {f.basis})"
    return line + "\n"


def _signature(sig: SignatureReport, lang: str) -> str:
    w = _WORDS[lang]
    who = "?"
    if sig.signer is not None:
        who = sig.signer.common_name or sig.signer.subject
        if sig.signer.emails:
            who += f" <{sig.signer.emails[0]}>"
        if sig.signer.uid:
            who += f" ({sig.signer.uid})"
    out = f"  {w['signature']} {sig.index}: {w[sig.status.value]} — {w['signer']}: {who}\n"
    if sig.anchor:
        out += f"    {w['anchor']}: {sig.anchor} ({sig.anchor_class})\n"
    proven = sig.proven_signing_time.isoformat() if sig.proven_signing_time else w["none"]
    if sig.proven_by:
        proven += f" ({sig.proven_by.value})"
    out += f"    {w['proven']}: {proven}"
    if sig.claimed_signing_time:
        out += f"; {w['claimed']}: {sig.claimed_signing_time.isoformat()}"
    out += "\n"
    for f in sig.findings:
        out += _finding(f, lang, "    ")
    if sig.timestamp is not None:
        for f in sig.timestamp.findings:
            out += _finding(f, lang, "    ")
    return out


def render_text(verdict: Verdict, *, path: str, lang: str = "vi") -> str:
    label_vi, label_en = VERDICT_LABELS[verdict.verdict.value]
    label = label_vi if lang == "vi" else label_en
    out = f"{path}: {verdict.verdict.value} — {label}\n"
    for f in verdict.findings:
        out += _finding(f, lang, "  ")
    for sig in verdict.signatures:
        out += _signature(sig, lang)
    for doc in verdict.documents:
        out += render_text(doc, path=f"{path} → {doc.name}", lang=lang)
    if verdict.retry_after is not None:
        out += f"  {_WORDS[lang]['retry']}: {verdict.retry_after.isoformat()}\n"
    return out
