"""Input formats: how each kind of input is recognised and handed to its verifier.

Handlers are imported on first use, so a run that sees no PDF never imports the PDF reader.
"""

from __future__ import annotations

import importlib
import importlib.util

from sigmail.contract import FormatHandler, FormatResult, NestedVerifier
from sigmail.formats.detect import Detected, InputKind, detect, detect_kind

__all__ = [
    "Detected",
    "FormatHandler",
    "FormatResult",
    "InputKind",
    "NestedVerifier",
    "detect",
    "detect_kind",
    "handler_for",
    "verifying_modules",
]

# kind → "module:function"; a kind with no handler (or whose module is not there yet) is
# "unsupported", named by what detection says it is (formats/detect.py recognises OOXML, ODF,
# XML, images, ZIP, text … so that handlers for them can be added here).
HANDLERS = {
    InputKind.CMS: "sigmail.formats.cms_file:verify_cms_file",
    InputKind.EML: "sigmail.formats.email:verify_email",
    InputKind.PDF: "sigmail.formats.pdf:verify_pdf",
    InputKind.XML: "sigmail.formats.xml:verify_xml",
    InputKind.OOXML: "sigmail.formats.ooxml:verify_ooxml",
    InputKind.ODF: "sigmail.formats.odf:verify_odf",
}


def handler_for(kind: str) -> FormatHandler | None:
    target = HANDLERS.get(kind)
    if target is None:
        return None
    module_name, _, function = target.partition(":")
    if importlib.util.find_spec(module_name) is None:
        return None
    return getattr(importlib.import_module(module_name), function)


def verifying_modules() -> list[str]:
    """What a long-lived verifying process imports before its first input (the fork server
    of the milter's, the service's and the audit's workers preloads them): every handler and
    the chain validator, which a one-shot run imports on first use. Without them, a worker's
    first message waited ~55 ms for imports, in every worker."""
    return ["sigmail.trust.chain", *(target.partition(":")[0] for target in HANDLERS.values())]
