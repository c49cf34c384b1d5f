"""Fetch DSS's XAdES validation files (LGPL-2.1, never committed) named by manifest.json.

    python tests/data/dss-xades/fetch.py                       # from GitHub, by commit
    python tests/data/dss-xades/fetch.py --git-dir CLONE.git   # from a local clone of esig/dss

The same as tests/data/peers/fetch.py (whose download function it uses) for this one suite,
which lives apart from the peer suites because its harness is tests/test_xml_peer_dss.py. A
file is written to files/ only if its SHA-256 is the one the manifest records.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("peers_fetch", HERE.parent / "peers" / "fetch.py")
assert _spec is not None and _spec.loader is not None
peers_fetch = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(peers_fetch)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--git-dir", type=Path, help="a local (bare) clone of esig/dss")
    args = parser.parse_args()
    manifest = json.loads((HERE / "manifest.json").read_text(encoding="utf-8"))
    failures = 0
    for case in manifest["cases"]:
        target = HERE / case["file"]
        if target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == case["sha256"]:
            continue
        data = peers_fetch._get(case["source"], args.git_dir)
        if hashlib.sha256(data).hexdigest() != case["sha256"]:
            print(f"{case['source']['path']}: SHA-256 differs from the manifest", file=sys.stderr)
            failures += 1
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        print(f"dss-xades: {case['file']}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
