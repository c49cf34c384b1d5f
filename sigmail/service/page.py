"""The clerk's page (``GET /`` and ``POST /``): upload a document, read its verdict.

Rendered on the server, so it works with no script at all; /static/app.js only adds
drag-and-drop and the print button. The verdict is shown in the page's language (a summary:
badge, what to do, signers with role and organisation, findings with legal basis) and then in
full as the notebook shows it (:func:`sigmail.verdict.html.verdict_html`: chains, timeline,
PDF coverage). Every string from the request or the document goes through :func:`esc`.
"""

from __future__ import annotations

from datetime import timedelta, timezone
from typing import Any

from starlette.requests import Request

from sigmail.verdict.html import verdict_html
from sigmail.verdict.reasons import VERDICT_ACTIONS, VERDICT_LABELS, Effect
from sigmail.verdict.svg import esc

__all__ = ["TEXT", "language", "render"]

_ICT = timezone(timedelta(hours=7))

TEXT: dict[str, dict[str, Any]] = {
    "vi": {
        "title": "Kiểm tra văn bản điện tử",
        "intro": "Kiểm tra chữ ký số của văn bản điện tử đến (PDF, .p7m, .p7s, thư .eml) "
        "theo Nghị định 30/2020/NĐ-CP. Văn bản không được lưu lại.",
        "file": "Văn bản cần kiểm tra (.pdf, .p7m, .p7s, .eml)",
        "file_help": "Chọn tệp, hoặc kéo và thả tệp vào khung này.",
        "content": "Tệp gốc đã được ký (chỉ khi kiểm tra chữ ký tách rời .p7s)",
        "submit": "Kiểm tra",
        "advanced": "Tùy chọn nâng cao",
        "at": "Thời điểm kiểm tra (ISO 8601, ví dụ 2026-06-01T09:00:00+07:00; để trống là bây giờ)",
        "result": "Kết quả kiểm tra",
        "todo": "Việc cần làm",
        "signers": "Người ký và cơ quan ký",
        "signer": "Người ký",
        "role": "Vai trò",
        "org": "Cơ quan, tổ chức",
        "status": "Chữ ký",
        "time": "Thời điểm ký",
        "findings": "Các phát hiện và căn cứ pháp lý",
        "code": "Mã",
        "message": "Nội dung",
        "basis": "Căn cứ",
        "details": "Chi tiết kỹ thuật (chuỗi chứng thư, dòng thời gian, phạm vi ký)",
        "print": "In kết quả",
        "file_name": "Tệp",
        "size": "Kích thước",
        "bytes": "byte",
        "checked_at": "Thời điểm kiểm tra",
        "no_signers": "Văn bản không có chữ ký số nào.",
        "error": "Không kiểm tra được",
        "language": "Ngôn ngữ",
        "dropped": "Đã chọn tệp: ",
        "roles": {"person": "cá nhân", "agency": "cơ quan, tổ chức"},
        "statuses": {
            "passed": "hợp lệ",
            "failed": "không hợp lệ",
            "indeterminate": "chưa xác định",
        },
        "claimed": "tự khai, chưa được chứng minh",
    },
    "en": {
        "title": "Verify an electronic document",
        "intro": "Checks the digital signatures of an incoming electronic document (PDF, .p7m, "
        ".p7s, .eml mail) under Decree 30/2020/NĐ-CP. Documents are not kept.",
        "file": "Document to verify (.pdf, .p7m, .p7s, .eml)",
        "file_help": "Choose a file, or drag and drop it onto this box.",
        "content": "The signed file (only for a detached .p7s signature)",
        "submit": "Verify",
        "advanced": "Advanced options",
        "at": "Validation time (ISO 8601, e.g. 2026-06-01T09:00:00+07:00; empty means now)",
        "result": "Result",
        "todo": "What to do",
        "signers": "Signers and signing agencies",
        "signer": "Signer",
        "role": "Role",
        "org": "Organisation",
        "status": "Signature",
        "time": "Signing time",
        "findings": "Findings and their legal basis",
        "code": "Code",
        "message": "Finding",
        "basis": "Basis",
        "details": "Technical details (certificate chains, timeline, signed ranges)",
        "print": "Print the result",
        "file_name": "File",
        "size": "Size",
        "bytes": "bytes",
        "checked_at": "Checked as of",
        "no_signers": "The document carries no digital signature.",
        "error": "Could not verify",
        "language": "Language",
        "dropped": "File chosen: ",
        "roles": {"person": "person", "agency": "agency"},
        "statuses": {"passed": "valid", "failed": "invalid", "indeterminate": "indeterminate"},
        "claimed": "claimed, not proven",
    },
}


def language(request: Request) -> str:
    lang = request.query_params.get("lang", "vi")
    return lang if lang in TEXT else "vi"


def _time(text: str | None) -> str:
    if not text:
        return "—"
    from datetime import datetime

    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return when.astimezone(_ICT).strftime("%d/%m/%Y %H:%M:%S") + " (+07:00)"


def _summary(lang: str, doc: dict) -> str:
    t = TEXT[lang]
    index = 0 if lang == "vi" else 1
    kind = doc.get("verdict", "indeterminate")
    label = VERDICT_LABELS.get(kind, (kind, kind))[index]
    action = VERDICT_ACTIONS.get(kind, ("", ""))[index]
    out = [
        f'<p class="verdict-badge verdict-{esc(kind)}" id="verdict" data-verdict="{esc(kind)}">'
        f"{esc(label)}</p>",
        '<dl class="facts">',
        f'<dt>{t["file_name"]}</dt><dd id="file-name">{esc(doc.get("name") or "—")}</dd>',
        f"<dt>{t['size']}</dt><dd>{esc(format(doc.get('size') or 0, ','))} {t['bytes']}</dd>",
        f"<dt>SHA-256</dt><dd><code>{esc(doc.get('sha256') or '—')}</code></dd>",
        f"<dt>{t['checked_at']}</dt><dd>{esc(_time(doc.get('validation_time')))}</dd>",
        "</dl>",
        f'<h3>{t["todo"]}</h3><p class="todo" id="todo">{esc(action)}</p>',
        f"<h3>{t['signers']}</h3>",
    ]
    signatures = doc.get("signatures") or []
    if not signatures:
        out.append(f"<p>{t['no_signers']}</p>")
    else:
        out.append(
            f'<table class="signers"><thead><tr><th scope="col">{t["signer"]}</th>'
            f'<th scope="col">{t["role"]}</th><th scope="col">{t["org"]}</th>'
            f'<th scope="col">{t["status"]}</th><th scope="col">{t["time"]}</th></tr></thead>'
            "<tbody>"
        )
        for sig in signatures:
            signer = sig.get("signer") or {}
            name = signer.get("common_name") or signer.get("subject") or "—"
            role = t["roles"].get(sig.get("role") or "", sig.get("role") or "—")
            status = sig.get("status") or "indeterminate"
            if sig.get("proven_signing_time"):
                when = _time(sig["proven_signing_time"])
            elif sig.get("claimed_signing_time"):
                when = f"{_time(sig['claimed_signing_time'])} ({t['claimed']})"
            else:
                when = "—"
            out.append(
                f'<tr><td class="signer-name">{esc(name)}</td><td>{esc(role)}</td>'
                f"<td>{esc(signer.get('organization') or '—')}</td>"
                f'<td class="status-{esc(status)}">{esc(t["statuses"].get(status, status))}</td>'
                f"<td>{esc(when)}</td></tr>"
            )
        out.append("</tbody></table>")
    findings = [f for f in _all_findings(doc) if f.get("effect") != Effect.INFO.value]
    if findings:
        key = "message_vi" if lang == "vi" else "message_en"
        out.append(
            f'<h3>{t["findings"]}</h3><table class="findings"><thead><tr>'
            f'<th scope="col">{t["code"]}</th><th scope="col">{t["message"]}</th>'
            f'<th scope="col">{t["basis"]}</th></tr></thead><tbody>'
        )
        for f in findings:
            detail = f"<br><code>{esc(f['detail'])}</code>" if f.get("detail") else ""
            out.append(
                f"<tr><td><code>{esc(f.get('code'))}</code></td>"
                f"<td>{esc(f.get(key) or '')}{detail}</td><td>{esc(f.get('basis') or '')}</td></tr>"
            )
        out.append("</tbody></table>")
    return "".join(out)


def _all_findings(doc: dict) -> list[dict]:
    found = list(doc.get("findings") or [])
    for sig in doc.get("signatures") or []:
        found.extend(sig.get("findings") or [])
    return found


def _result(lang: str, doc: dict) -> str:
    from sigmail.verdict.model import Verdict

    t = TEXT[lang]
    full = verdict_html(Verdict.from_dict(doc))
    return (
        f'<section id="result" class="result" aria-labelledby="result-title">'
        f'<h2 id="result-title" tabindex="-1">{t["result"]}</h2>'
        f"{_summary(lang, doc)}"
        f'<details class="details" open><summary>{t["details"]}</summary>{full}</details>'
        f'<p class="actions"><button type="button" id="print">{t["print"]}</button></p>'
        "</section>"
    )


def _error(lang: str, problem: dict) -> str:
    t = TEXT[lang]
    return (
        f'<section id="result" class="result error" role="alert" aria-labelledby="result-title">'
        f'<h2 id="result-title" tabindex="-1">{t["error"]}</h2>'
        f'<p class="problem" data-status="{esc(problem.get("status"))}">'
        f"{esc(problem.get('title'))}: {esc(problem.get('detail'))}</p></section>"
    )


def render(lang: str, doc: dict | None, *, error: dict | None = None) -> str:
    """The whole page: the form, and the verdict ``doc`` (verdict JSON) or an ``error``."""
    t = TEXT[lang]
    body = ""
    if doc is not None:
        body = _result(lang, doc)
    elif error is not None:
        body = _error(lang, error)
    switch = (
        f'<nav class="lang" aria-label="{t["language"]}">'
        + " · ".join(
            f'<a href="/?lang={code}" lang="{code}" hreflang="{code}"'
            + (' aria-current="true"' if code == lang else f' id="lang-{code}"')
            + f">{label}</a>"
            for code, label in (("vi", "Tiếng Việt"), ("en", "English"))
        )
        + "</nav>"
    )
    return f"""<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sigmail — {t["title"]}</title>
<link rel="stylesheet" href="/static/app.css">
<link rel="icon" href="/static/icon.svg" type="image/svg+xml">
<script src="/static/app.js" defer></script>
</head>
<body>
<header class="top">
<h1><img src="/static/icon.svg" alt="" width="28" height="28"> {t["title"]}</h1>
{switch}
</header>
<main>
<p class="intro">{t["intro"]}</p>
<form id="verify-form" method="post" action="/?lang={lang}" enctype="multipart/form-data">
<input type="hidden" name="lang" value="{lang}">
<div id="drop-zone" class="drop-zone">
<label for="file">{t["file"]}</label>
<input type="file" id="file" name="file" required aria-describedby="file-help">
<p id="file-help" class="help">{t["file_help"]}</p>
<p id="dropped" class="help" aria-live="polite" data-prefix="{esc(t["dropped"])}"></p>
</div>
<div class="field">
<label for="content">{t["content"]}</label>
<input type="file" id="content" name="content">
</div>
<details class="advanced">
<summary>{t["advanced"]}</summary>
<div class="field">
<label for="at">{t["at"]}</label>
<input type="text" id="at" name="at" autocomplete="off" spellcheck="false">
</div>
</details>
<button type="submit" id="submit">{t["submit"]}</button>
</form>
{body}
</main>
<footer><p>sigmail</p></footer>
</body>
</html>
"""
