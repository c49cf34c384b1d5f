"""The README's figures about the bundled vectors stay true (issue 11, item 10): how many are
verified offline, and how many need the test responder to get their expected verdict."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

from sigmail import OfflineRevocation, TrustStore, Verifier
from sigmail.policy.model import load_policy

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "vectors"
MANIFEST = json.loads((VECTORS / "manifest.json").read_text("utf-8"))["vectors"]
README = " ".join((ROOT / "README.md").read_text("utf-8").split())


def _needs_responder(vector: dict) -> bool:
    """Verified with no network at all, the vector misses the verdict its manifest expects."""
    at = datetime.fromisoformat(vector["at"].replace("Z", "+00:00"))
    trust = TrustStore.load(
        official=[VECTORS / p for p in vector["trust"].get("official", [])],
        public=[VECTORS / p for p in vector["trust"].get("public", [])],
    )
    verifier = Verifier(
        trust=trust, policy=load_policy(vector["policy"]), revocation=OfflineRevocation()
    )
    content = (VECTORS / vector["content"]).read_bytes() if vector.get("content") else None
    data = (VECTORS / vector["path"]).read_bytes()
    verdict = verifier.verify(data, at=at, name=vector["name"], content=content)
    return verdict.verdict.value != vector["expect"]["verdict"]


def test_the_readme_counts_the_vectors_that_need_the_responder():
    offline = sum(1 for v in MANIFEST if v["mode"] == "offline")
    online = [v for v in MANIFEST if v["mode"] == "online"]
    need = sum(1 for v in online if _needs_responder(v))
    m = re.search(
        r"(\d+) of its (\d+) entries are verified `--offline`.*?The other (\d+) are verified "
        r"with revocation fetched, and (\d+) of those",
        README,
    )
    assert m, "the README no longer says how many vectors need the responder"
    assert tuple(int(g) for g in m.groups()) == (offline, len(MANIFEST), len(online), need)
    assert "python -m vectors.testpki.responder" in README
