"""sigmail in Jupyter: rich display of verdicts and the arrival register as a DataFrame.

* ``Verdict`` and ``SignatureReport`` render themselves in a notebook (``_repr_html_``, built
  by :func:`verdict_html` / :func:`signature_html`): the verdict badge, reasons, signers and
  roles, chains, a signing-time timeline and PDF byte-range coverage, as inline HTML and SVG.
* :func:`register_frame` reads an arrival register (SQLite) into pandas.

Verification is synchronous and never starts an event loop, so it works in a notebook cell
(which runs inside one). pandas is needed by :func:`register_frame` only
(``pip install 'sigmail[notebook]'``).
"""

from __future__ import annotations

from sigmail.notebook.register import VERDICT_ORDER, register_frame
from sigmail.verdict.html import signature_html, verdict_html

__all__ = ["VERDICT_ORDER", "register_frame", "signature_html", "verdict_html"]
