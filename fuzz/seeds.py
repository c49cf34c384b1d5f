"""The seed corpus of each format: the committed test vectors (``vectors/``).

Seeds are read once, sorted by name, so that input number *i* of a campaign is the same bytes
on every machine with the same checkout.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

__all__ = ["FORMATS", "VECTORS", "Seed", "seeds"]

VECTORS = Path(__file__).resolve().parent.parent / "vectors"

# format → the vector files it starts from (paths relative to vectors/)
_GLOBS = {
    "cms": ("cms/*.p7m", "cms/*.p7s"),
    "pdf": ("pdf/*.pdf",),
    "mime": ("smime/*.eml",),
    "xml": ("xml/*.xml",),
    "ooxml": ("ooxml/*.docx", "ooxml/*.xlsx", "ooxml/*.pptx"),
}
FORMATS = ("cms", "pdf", "mime", "verify", "xml", "ooxml")


@dataclass(frozen=True, slots=True)
class Seed:
    name: str  # the file name; its suffix tells the verifier what the input claims to be
    data: bytes


@cache
def seeds(fmt: str) -> tuple[Seed, ...]:
    """The seeds of ``fmt`` ("verify" takes the CMS, PDF and e-mail vectors: the XML and
    OOXML ones have targets of their own, and adding them would renumber its inputs)."""
    if fmt == "verify":
        return seeds("cms") + seeds("pdf") + seeds("mime")
    if fmt not in _GLOBS:
        raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    paths = sorted({p for g in _GLOBS[fmt] for p in VECTORS.glob(g)})
    found = tuple(Seed(p.name, p.read_bytes()) for p in paths)
    if not found:
        raise FileNotFoundError(f"no seeds for {fmt} under {VECTORS}")
    return found
