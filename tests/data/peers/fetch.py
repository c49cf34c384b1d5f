"""Fetch the files of the peer suites whose licence keeps them out of the repository.

    python tests/data/peers/fetch.py                       # from GitHub, by commit
    python tests/data/peers/fetch.py --git-dir CLONE.git --suite dss   # from a local clone
    python tests/data/peers/fetch.py --suite dss-cades               # one suite (DSS's CAdES files)

A suite whose manifest says ``"fetch": true`` lists each file's repository, commit and path;
every file is written to the suite's ``files/`` (ignored by git) only if its SHA-256 is the one
the manifest records. Files already present and right are left alone.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import urllib.request
from pathlib import Path

PEERS = Path(__file__).resolve().parent
RAW = "https://raw.githubusercontent.com/{repo}/{commit}/{path}"
TIMEOUT_S = 60


def _wanted(manifest: dict) -> list[tuple[str, str, dict]]:
    """(file in the suite, its SHA-256, its source) for every file of a fetched suite: the
    cases' files (and detached content), and anchors that name a source (a test root the
    peer keeps beside them)."""
    files = [(case["file"], case["sha256"], case["source"]) for case in manifest["cases"]]
    files += [
        (case["content"], case["content_sha256"], case["content_source"])
        for case in manifest["cases"]
        if "content_source" in case  # the content a detached signature signs
    ]
    anchors = manifest.get("anchors", {}).values()
    # an anchor's sha256 pins the certificate (DER); file_sha256 the file as fetched (PEM)
    return files + [
        (a["file"], a.get("file_sha256", a["sha256"]), a["source"])
        for a in anchors
        if "source" in a
    ]


def _get(source: dict, git_dir: Path | None) -> bytes:
    if git_dir is not None:
        spec = f"{source['commit']}:{source['path']}"
        return subprocess.run(
            ["git", f"--git-dir={git_dir}", "show", spec], check=True, capture_output=True
        ).stdout
    url = RAW.format(**source)
    with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:  # raw.githubusercontent.com
        return response.read()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--git-dir", type=Path, help="a local (bare) clone of the source")
    parser.add_argument(
        "--suite", action="append", help="only this suite (repeatable; with --git-dir, its clone)"
    )
    args = parser.parse_args()
    failures = 0
    for path in sorted(PEERS.glob("*/manifest.json")):
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if not manifest.get("fetch") or (args.suite and manifest["suite"] not in args.suite):
            continue
        for name, sha256, source in _wanted(manifest):
            target = path.parent / name
            if target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == sha256:
                continue
            data = _get(source, args.git_dir)
            if hashlib.sha256(data).hexdigest() != sha256:
                print(f"{source['path']}: SHA-256 differs from the manifest", file=sys.stderr)
                failures += 1
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            print(f"{manifest['suite']}: {name}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
