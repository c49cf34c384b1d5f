"""The verdict as a clerk (văn thư) reads it: Vietnamese by default, English on request.

Short by default: the verdict, who signed in what role and when (proven or only claimed),
the reasons that matter, and what to do. ``verbose`` adds every finding with its locator,
detail and legal basis, and the certificate chains.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sigmail.verdict.model import Finding, SignatureReport, SignatureStatus, TimeSource, Verdict
from sigmail.verdict.reasons import VERDICT_ACTIONS, VERDICT_LABELS, Effect

__all__ = ["render_text"]

# Times are shown in Vietnam's time zone, as the documents themselves are dated.
_ICT = timezone(timedelta(hours=7))

_WORDS: dict[str, dict[str, str]] = {
    "vi": {
        "signers": "Người ký",
        "person": "cá nhân",
        "agency": "cơ quan",
        "official": "CA chuyên dùng công vụ",
        "public": "CA công cộng",
        "proven": "ký lúc {t}, đã chứng minh bằng {how}",
        "claimed_only": "ký lúc {t} theo khai báo (chưa chứng minh)",
        "claimed": "ký lúc {t} theo khai báo",
        "exists": "đã tồn tại lúc {t}, chứng minh bằng {how}",
        "timestamp": "dấu thời gian",
        "receipt": "thời điểm nhận thư",
        "no_time": "không có thời điểm ký",
        "failed": "chữ ký KHÔNG ĐẠT",
        "indeterminate": "chữ ký chưa xác định",
        "untrusted_signer": "chữ ký nguyên vẹn, nhưng chứng thư số KHÔNG được tin cậy",
        "undecided_trust": "chữ ký nguyên vẹn; chưa xác định được chứng thư số có tin cậy không",
        "reasons": "Lý do",
        "todo": "Việc cần làm",
        "retry": "Kiểm tra lại sau {t}.",
        "no_anchors": "Chưa cài đặt chứng thư số gốc nên chưa thể tin cậy chữ ký nào: cài "
        "đặt (sigmail trust add) rồi kiểm tra lại; chưa trả lại nơi gửi.",
        "none": "không có",
        "basis": "căn cứ",
        "documents": "Tài liệu đính kèm",
        "parts": "Các phần của thư",
        "covered": "được ký bởi chữ ký {n}",
        "uncovered": "KHÔNG được ký",
        "chain": "chuỗi chứng thư",
        "macros_only": "chỉ ký macro của tệp, không ký nội dung văn bản",
        "fmt": "%d/%m/%Y %H:%M",
    },
    "en": {
        "signers": "Signed by",
        "person": "person",
        "agency": "agency",
        "official": "official-duty CA",
        "public": "public CA",
        "proven": "signed {t}, proven by a {how}",
        "claimed_only": "signed {t} as claimed (not proven)",
        "claimed": "signed {t} as claimed",
        "exists": "existed at {t}, proven by the {how}",
        "timestamp": "timestamp",
        "receipt": "receipt time",
        "no_time": "no signing time",
        "failed": "signature FAILED",
        "indeterminate": "signature undecided",
        "untrusted_signer": "signature intact, but the certificate is NOT trusted",
        "undecided_trust": "signature intact; whether the certificate is trusted is undecided",
        "reasons": "Reasons",
        "todo": "What to do",
        "retry": "Check again after {t}.",
        "no_anchors": "No trust anchor is installed, so no signature can be trusted yet: "
        "install them (sigmail trust add) and check again; do not return it yet.",
        "none": "none",
        "basis": "basis",
        "documents": "Attached documents",
        "parts": "Message parts",
        "covered": "signed by signature {n}",
        "uncovered": "NOT signed",
        "chain": "chain",
        "macros_only": "signs the file's macros only, not the document",
        "fmt": "%Y-%m-%d %H:%M",
    },
}
# How a signer's role was decided (SignatureReport.role_source).
_ROLE_SOURCE: dict[str, dict[str, str]] = {
    "vi": {
        "registry": "theo danh mục",
        "uid": "theo mã định danh",
        "common_name": "theo tên",
        "default": "mặc định",
    },
    "en": {
        "registry": "per the registry",
        "uid": "per the ID",
        "common_name": "per the name",
        "default": "by default",
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


_SEVERITY = (
    Effect.INVALID,
    Effect.INDETERMINATE,
    Effect.UNSIGNED,
    Effect.NOT_OFFICIAL,
    Effect.WARNING,
    Effect.INFO,
)


def _time(when: datetime, lang: str) -> str:
    return when.astimezone(_ICT).strftime(_WORDS[lang]["fmt"]) + " (+07:00)"


def _finding(f: Finding, lang: str, indent: str, verbose: bool) -> str:
    message = f.message_vi if lang == "vi" else f.message_en
    line = f"{indent}{_MARK[f.effect]} {message}"
    if verbose and f.detail:
        line += f" — {f.detail}"
    line += f" [{f.code}"
    line += f"; {f.locator}" if verbose else ""
    line += f"; {_WORDS[lang]['basis']}: {f.basis}]"
    return line + "\n"


def _signer_line(sig: SignatureReport, lang: str) -> str:
    w = _WORDS[lang]
    who = "?"
    if sig.signer is not None:
        who = sig.signer.common_name or sig.signer.subject
        if sig.signer.emails:
            who += f" <{sig.signer.emails[0]}>"
    facts = [w["macros_only"]] if sig.kind == "odf_macro" else []
    if sig.role:
        by = _ROLE_SOURCE[lang].get(sig.role_source or "", sig.role_source)
        facts.append(f"{w[sig.role]} ({by})")
    if sig.anchor_class is not None:  # with none, the state below says it is not trusted
        facts.append(w.get(sig.anchor_class, sig.anchor_class))
    facts.extend(_signing_times(sig, lang))
    state = _state(sig)
    if state is not None:
        facts.append(w[state])
    return f"    {sig.index + 1}. {who} — {'; '.join(facts)}\n"


def _signing_times(sig: SignatureReport, lang: str) -> list[str]:
    """The claimed time and what proves a time, both when both are known: a receipt time
    (or a timestamp) proves when the signature existed, it does not replace what the
    signer claimed. A timestamp at the claimed time reads as one fact."""
    w = _WORDS[lang]
    claimed, proven = sig.claimed_signing_time, sig.proven_signing_time
    if proven is None or sig.proven_by is None:
        if claimed is None:
            return [w["no_time"]]
        return [w["claimed_only"].format(t=_time(claimed, lang))]
    how = w[sig.proven_by.value]
    if sig.proven_by is TimeSource.TIMESTAMP and (
        claimed is None or _time(claimed, lang) == _time(proven, lang)
    ):
        return [w["proven"].format(t=_time(proven, lang), how=how)]
    out = [w["claimed"].format(t=_time(claimed, lang))] if claimed is not None else []
    return [*out, w["exists"].format(t=_time(proven, lang), how=how)]


def _state(sig: SignatureReport) -> str | None:
    """The word for a signature that did not pass: broken (integrity) is not untrusted."""
    if sig.status is SignatureStatus.PASSED:
        return None
    if sig.integrity is SignatureStatus.FAILED:
        return "failed"
    if sig.integrity is SignatureStatus.INDETERMINATE:
        return "indeterminate"
    if sig.trust is SignatureStatus.FAILED:
        return "untrusted_signer"
    if sig.trust is SignatureStatus.INDETERMINATE:
        return "undecided_trust"
    return sig.status.value  # both halves passed: cannot happen (status is their sum)


def _only_untrusted(verdict: Verdict) -> bool:
    """Nothing but an untrusted chain stands between this verdict and the next one down."""
    blocking = [
        f for f in verdict.all_findings() if f.effect in (Effect.INVALID, Effect.INDETERMINATE)
    ]
    return bool(blocking) and all(f.code == "untrusted_chain" for f in blocking)


def render_text(
    verdict: Verdict,
    *,
    path: str,
    lang: str = "vi",
    verbose: bool = False,
    indent: str = "",
    anchors_missing: bool = False,
) -> str:
    """``anchors_missing``: no trust anchor was configured, so "untrusted" says nothing about
    the sender; the clerk is told to install the roots, not to return the document."""
    w = _WORDS[lang]
    pick = 0 if lang == "vi" else 1
    out = (
        f"{indent}{path}: {VERDICT_LABELS[verdict.verdict.value][pick]} ({verdict.verdict.value})\n"
    )
    inner = indent + "  "
    signatures = [s for s in verdict.signatures if s.kind != "doc_timestamp" or verbose]
    if signatures:
        out += f"{inner}{w['signers']}:\n"
        for sig in signatures:
            out += indent + _signer_line(sig, lang)
            if verbose:
                for n, element in enumerate(sig.chain):
                    out += f"{inner}      {w['chain']}[{n}] {element.certificate.subject}\n"
    findings = [f for f in verdict.all_findings() if verbose or f.effect not in (Effect.INFO,)]
    findings.sort(key=lambda f: _SEVERITY.index(f.effect))  # the most severe first, as reasons
    if findings:
        out += f"{inner}{w['reasons']}:\n"
        seen = set()
        for f in findings:
            key = (f.code, f.locator if verbose else "")
            if key in seen:
                continue
            seen.add(key)
            out += _finding(f, lang, inner + "  ", verbose)
    if verbose and verdict.parts:
        out += f"{inner}{w['parts']}:\n"
        for part in verdict.parts:
            cover = (
                w["covered"].format(n=", ".join(str(i + 1) for i in part.covered_by))
                if part.covered_by
                else w["uncovered"]
            )
            out += f"{inner}  {part.locator} {part.content_type} {part.filename or ''} — {cover}\n"
    action = VERDICT_ACTIONS[verdict.verdict.value][pick]
    if verdict.verdict.value == "indeterminate" and verdict.retry_after is not None:
        action = w["retry"].format(t=_time(verdict.retry_after, lang))
    if anchors_missing and _only_untrusted(verdict):
        action = w["no_anchors"]
    out += f"{inner}{w['todo']}: {action}\n"
    if verdict.documents:
        out += f"{inner}{w['documents']}:\n"
        for doc in verdict.documents:
            out += render_text(
                doc,
                path=doc.name or "?",
                lang=lang,
                verbose=verbose,
                indent=inner + "  ",
                anchors_missing=anchors_missing,
            )
    return out
