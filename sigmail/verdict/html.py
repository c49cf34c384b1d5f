"""A verdict as HTML for Jupyter: ``Verdict._repr_html_`` and ``SignatureReport._repr_html_``.

What an analyst wants at a glance: the verdict badge (Vietnamese and English), the reasons
with their legal basis, who signed in what role and when (proven or only claimed), each
signature's chain, a timeline of the signing time against certificate validity and
revocation, and for PDFs which bytes each signature covers. Attached documents follow,
each with its own verdict.

Self-contained: inline styles and inline SVG only — no JavaScript, no stylesheet, no font or
image from anywhere — so the output renders the same offline, in nbviewer and on GitHub.
Everything taken from the input (names in certificates, file names, subjects, findings'
details) is escaped; the input chooses none of the markup.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from sigmail.verdict.reasons import VERDICT_ACTIONS, VERDICT_LABELS, Effect
from sigmail.verdict.svg import coverage_svg, esc, timeline_svg
from sigmail.verdict.vocabulary import VerdictKind

if TYPE_CHECKING:  # the model renders itself through this module (Verdict._repr_html_)
    from sigmail.verdict.model import (
        CertificateSummary,
        ChainElement,
        Finding,
        SignatureReport,
        Verdict,
    )

__all__ = ["BADGE_COLOURS", "signature_html", "verdict_html"]

# Shown as documents are dated: Vietnam's time zone.
_ICT = timezone(timedelta(hours=7))

BADGE_COLOURS = {kind.value: kind.colour for kind in VerdictKind}
_EFFECT_MARKS = {
    Effect.INVALID: ("✗", "#cf222e"),
    Effect.INDETERMINATE: ("?", "#8250df"),
    Effect.NOT_OFFICIAL: ("!", "#bc4c00"),
    Effect.UNSIGNED: ("∅", "#57606a"),
    Effect.WARNING: ("!", "#9a6700"),
    Effect.INFO: ("·", "#57606a"),
}
_STATUS_COLOURS = {"passed": "#1a7f37", "failed": "#cf222e", "indeterminate": "#8250df"}
_ROLES = {"person": "cá nhân / person", "agency": "cơ quan / agency"}
_CLASSES = {"official": "CA chuyên dùng / official-duty", "public": "CA công cộng / public"}

_BOX = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;font-size:13px;"
_TABLE = "border-collapse:collapse;margin:4px 0 8px 0;font-size:12px"
_TH = "text-align:left;padding:2px 8px;border-bottom:1px solid #d0d7de;background:#f6f8fa"
_TD = "text-align:left;padding:2px 8px;border-bottom:1px solid #eaeef2;vertical-align:top"
_MUTED = "color:#57606a"


def _time(when: datetime | None) -> str:
    if when is None:
        return "—"
    return when.astimezone(_ICT).strftime("%Y-%m-%d %H:%M:%S") + " (+07:00)"


def _day(when: datetime) -> str:
    return when.astimezone(_ICT).strftime("%Y-%m-%d")


def _table(headers: list[str], rows: list[list[str]]) -> str:
    """``rows`` hold HTML already escaped by the caller."""
    head = "".join(f'<th style="{_TH}">{esc(h)}</th>' for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td style="{_TD}">{cell}</td>' for cell in row) + "</tr>" for row in rows
    )
    return f'<table style="{_TABLE}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def badge(verdict: str) -> str:
    vi, en = VERDICT_LABELS.get(verdict, (verdict, verdict))
    colour = BADGE_COLOURS.get(verdict, "#57606a")
    return (
        f'<span class="sigmail-badge" data-verdict="{esc(verdict)}" style="display:inline-block;'
        f"padding:3px 10px;border-radius:12px;background:{colour};color:#fff;font-weight:600;"
        f'font-size:13px">{esc(vi)} · {esc(en)}</span>'
    )


def _who(cert: CertificateSummary | None) -> str:
    if cert is None:
        return f'<span style="{_MUTED}">(no certificate)</span>'
    out = f"<b>{esc(cert.common_name or cert.subject)}</b>"
    if cert.emails:
        out += f" &lt;{esc(cert.emails[0])}&gt;"
    extra = [v for v in (cert.organization, cert.uid) if v]
    if extra:
        out += f'<br><span style="{_MUTED}">{esc(" · ".join(extra))}</span>'
    return out


def _when(sig: SignatureReport) -> str:
    """Both times when both are known: what proves a time does not replace the claim."""
    claimed, proven = sig.claimed_signing_time, sig.proven_signing_time
    lines = []
    if claimed is not None:
        note = "claimed" if proven is not None else "claimed, not proven"
        lines.append(f'{esc(_time(claimed))} <span style="{_MUTED}">{note}</span>')
    if proven is not None:
        how = sig.proven_by.value if sig.proven_by is not None else "?"
        lines.append(f"{esc(_time(proven))} proven by {esc(how)}")
    if not lines:
        return f'<span style="{_MUTED}">no signing time</span>'
    return "<br>".join(lines)


def _status(value: str) -> str:
    colour = _STATUS_COLOURS.get(value, "#57606a")
    return f'<span style="color:{colour};font-weight:600">{esc(value)}</span>'


def _signature_status(sig: SignatureReport) -> str:
    """The bottom line, and for one that did not pass which half failed: an intact
    signature on an untrusted chain is not a broken signature."""
    if sig.status.value == "passed":
        return _status("passed")
    word = sig.status.value
    if sig.integrity.value == "passed":
        word = "intact, untrusted" if sig.trust.value == "failed" else "intact, trust undecided"
    out = f'<span style="color:{_STATUS_COLOURS[sig.status.value]};font-weight:600">'
    out += f"{esc(word)}</span>"
    halves = f"integrity {sig.integrity.value}, trust {sig.trust.value}"
    return out + f' <span style="{_MUTED}">({esc(halves)})</span>'


def _findings(findings: tuple[Finding, ...]) -> str:
    if not findings:
        return ""
    rows = []
    for f in findings:
        mark, colour = _EFFECT_MARKS.get(f.effect, ("·", "#57606a"))
        message = f"{esc(f.message_vi)}<br><span style='{_MUTED}'>{esc(f.message_en)}</span>"
        if f.detail:
            message += f"<br><code>{esc(f.detail)}</code>"
        rows.append(
            [
                f'<span style="color:{colour};font-weight:700">{mark}</span>',
                f"<code>{esc(f.code)}</code>",
                message,
                esc(f.locator),
                esc(f.basis),
            ]
        )
    return _table(["", "reason", "message", "where", "basis"], rows)


def _chain(chain: tuple[ChainElement, ...]) -> str:
    rows = []
    for n, element in enumerate(chain):
        cert = element.certificate
        rev = element.revocation
        status = "—"
        if rev is not None:
            status = esc(rev.state.value)
            facts = [v for v in (rev.source, rev.origin) if v]
            if facts:
                status += f' <span style="{_MUTED}">({esc(", ".join(facts))})</span>'
            if rev.revoked_at is not None:
                status += f"<br>revoked {esc(_time(rev.revoked_at))}"
                if rev.revocation_reason:
                    status += f" ({esc(rev.revocation_reason)})"
        rows.append(
            [
                f"{n}",
                esc(element.role),
                f"{esc(cert.subject)}<br><span style='{_MUTED}'>issuer: {esc(cert.issuer)}</span>",
                f"{esc(_day(cert.not_before))} → {esc(_day(cert.not_after))}",
                status,
                f"<code title='{esc(cert.sha256)}'>{esc(cert.sha256[:16])}…</code>",
            ]
        )
    return _table(["#", "role", "subject", "valid from / to", "revocation", "SHA-256"], rows)


def signature_html(
    sig: SignatureReport,
    *,
    validation_time: datetime | None = None,
    size: int | None = None,
) -> str:
    """One signature: signer, role, status, signing time, chain, timeline (and, given the
    file ``size``, its byte-range coverage)."""
    title = f"{esc(sig.locator)} — {_who(sig.signer)} — {_signature_status(sig)}"
    facts = []
    if sig.role:
        facts.append(f"role: {esc(_ROLES.get(sig.role, sig.role))} (by {esc(sig.role_source)})")
    if sig.anchor_class:
        facts.append(f"anchor: {esc(_CLASSES.get(sig.anchor_class, sig.anchor_class))}")
    if sig.field:
        facts.append(f"field: {esc(sig.field)}")
    if sig.revision is not None:
        facts.append(f"revision {sig.revision}")
    if sig.certification_level is not None:
        facts.append(f"certification P{sig.certification_level}")
    if sig.covers:
        facts.append("covers: " + esc(", ".join(sig.covers)))
    facts.append(f"intact: {esc(sig.intact)}, valid: {esc(sig.valid)}")
    facts.append(f"integrity: {esc(sig.integrity.value)}, trust: {esc(sig.trust.value)}")
    out = [
        f'<div class="sigmail-signature" style="{_BOX}margin:6px 0 10px 0">',
        f"<div>{title}</div>",
        f'<div style="{_MUTED}">{" · ".join(facts)}</div>',
        f"<div>signing time: {_when(sig)}</div>",
        _chain(sig.chain) if sig.chain else "",
        timeline_svg(sig, validation_time=validation_time),
    ]
    if size and sig.byte_range:
        out.append(coverage_svg([sig], size))
    if sig.timestamp is not None and sig.timestamp.findings:
        out.append(_findings(sig.timestamp.findings))
    out.append("</div>")
    return "".join(out)


def _signers(verdict: Verdict) -> str:
    rows = []
    for sig in verdict.signatures:
        rows.append(
            [
                f"{sig.index}",
                _who(sig.signer),
                esc(_ROLES.get(sig.role or "", sig.role or "—")),
                esc(_CLASSES.get(sig.anchor_class or "", sig.anchor_class or "untrusted")),
                _signature_status(sig),
                _when(sig),
                esc(sig.kind),
            ]
        )
    return _table(["#", "signer", "role", "anchor", "status", "signing time", "kind"], rows)


def _parts(verdict: Verdict) -> str:
    rows = []
    for part in verdict.parts:
        cover = (
            "signature " + ", ".join(str(i) for i in part.covered_by)
            if part.covered_by
            else '<b style="color:#cf222e">not signed</b>'
        )
        rows.append(
            [
                esc(part.locator),
                esc(part.content_type) + (" (encrypted)" if part.encrypted else ""),
                esc(part.filename or ""),
                esc("" if part.size is None else f"{part.size:,}"),
                cover,
            ]
        )
    return _table(["part", "type", "file name", "bytes", "covered by"], rows)


def _modifications(verdict: Verdict) -> str:
    rows = []
    for m in verdict.modifications:
        colour = "#cf222e" if m.classification == "suspicious" else "#1a7f37"
        rows.append(
            [
                f"{m.revision}",
                f"<code>{esc(m.kind)}</code>",
                f'<span style="color:{colour}">{esc(m.classification)}</span>',
                esc(m.detail),
                esc(", ".join(str(p) for p in m.pages)),
            ]
        )
    return _table(["revision", "change", "class", "detail", "pages"], rows)


def verdict_html(verdict: Verdict, *, _depth: int = 0) -> str:
    """The whole verdict, attached documents included (each with its own badge)."""
    value = verdict.verdict.value
    action_vi, action_en = VERDICT_ACTIONS.get(value, ("", ""))
    head = [
        f"<b>{esc(verdict.name or '(unnamed input)')}</b>",
        esc(verdict.kind or "?"),
    ]
    if verdict.size is not None:
        head.append(esc(f"{verdict.size:,} bytes"))
    facts = [
        f"validation time {esc(_time(verdict.validation_time))}",
        f"policy {esc(verdict.policy.name)} {esc(verdict.policy.version)} "
        f"<code title='{esc(verdict.policy.sha256)}'>{esc(verdict.policy.sha256[:12])}…</code>",
    ]
    if verdict.sha256:
        facts.append(f"SHA-256 <code>{esc(verdict.sha256)}</code>")
    border = BADGE_COLOURS.get(value, "#57606a")
    out = [
        f'<div class="sigmail-verdict" data-verdict="{esc(value)}" style="{_BOX}'
        f"border-left:4px solid {border};padding:4px 0 4px 10px;margin:4px 0 4px "
        f'{12 if _depth else 0}px">',
        f"<div>{badge(value)} {' · '.join(head)}</div>",
        f'<div style="{_MUTED};margin:2px 0">{" · ".join(facts)}</div>',
    ]
    if verdict.sender or verdict.subject or verdict.message_id:
        message = [
            f"from <b>{esc(verdict.sender or '—')}</b>",
            f"subject <b>{esc(verdict.subject or '—')}</b>",
            f"<code>{esc(verdict.message_id or '')}</code>",
        ]
        out.append(f"<div>{' · '.join(message)}</div>")
    action = f"{esc(action_vi)} <span style='{_MUTED}'>{esc(action_en)}</span>"
    if value == "indeterminate" and verdict.retry_after is not None:
        action += f" — retry after {esc(_time(verdict.retry_after))}"
    out.append(f"<div>việc cần làm / to do: {action}</div>")
    findings = tuple(f for f in verdict.all_findings() if f.effect is not Effect.INFO)
    out.append(_findings(findings))
    if verdict.signatures:
        out.append(_signers(verdict))
        if verdict.kind == "pdf":
            out.append(coverage_svg(verdict.signatures, verdict.size))
        for sig in verdict.signatures:
            out.append(
                f"<details{' open' if _depth == 0 else ''}><summary>{esc(sig.locator)}: chain "
                "and timeline</summary>"
                + signature_html(sig, validation_time=verdict.validation_time)
                + "</details>"
            )
    if verdict.parts:
        out.append("<details><summary>MIME parts</summary>" + _parts(verdict) + "</details>")
    if verdict.modifications:
        out.append(_modifications(verdict))
    for doc in verdict.documents:
        out.append(verdict_html(doc, _depth=_depth + 1))
    out.append("</div>")
    return "".join(out)
