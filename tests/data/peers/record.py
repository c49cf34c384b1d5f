"""Run every peer case through sigmail and compare with what its manifest records.

    python tests/data/peers/record.py            # list the cases whose verdict changed
    python tests/data/peers/record.py --write    # record the new verdicts (then review the
                                                 # agreement, category and reason by hand)
    python tests/data/peers/record.py --summary  # counts and agreement per suite
    python tests/data/peers/record.py --docs     # rewrite the tables of docs/peer-suites.md

Run it inside tools/netns-run like the tests. Written by hand: the peer's side of each
case (its outcome, the test line it comes from) and, for a disagreement, its category and reason.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from test_peer_suites import (  # the harness is the test's own
    DOC,
    DOC_BEGIN,
    DOC_END,
    PEERS,
    SUITES,
    agreement,
    deciding_reasons,
    docs_tables,
    load_manifest,
    missing_files,
    run_case,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--summary", action="store_true")
    parser.add_argument("--docs", action="store_true")
    args = parser.parse_args()
    if args.docs:
        page = DOC.read_text(encoding="utf-8")
        head, rest = page.split(DOC_BEGIN)
        tail = rest.split(DOC_END)[1]
        DOC.write_text(head + docs_tables() + tail, encoding="utf-8")
        return 0
    changed = 0
    for suite in SUITES:
        manifest = load_manifest(suite)
        counts = {"agree": 0, "disagree": 0}
        for case in manifest["cases"]:
            if missing := missing_files(suite, case):
                print(f"{suite}:{case['id']}: skipped, {missing} not fetched (fetch.py)")
                counts[case["agreement"]] += 1
                continue
            verdict = run_case(suite, manifest, case)
            now = {"verdict": verdict.verdict.value, "reasons": deciding_reasons(verdict)}
            if case.get("sigmail") != now:
                changed += 1
                print(f"{suite}:{case['id']}: {case.get('sigmail')} -> {now}")
                if args.write:
                    case["sigmail"] = now
            if args.write:
                case["agreement"] = agreement(case, case["sigmail"]["verdict"])
                if case["agreement"] == "agree":
                    case.pop("category", None)
                    case.pop("reason", None)
                else:
                    case.setdefault("category", "TODO")
                    case.setdefault("reason", "TODO")
            counts[agreement(case, now["verdict"])] += 1
        if args.summary:
            total = sum(counts.values())
            print(f"{suite}: {total} cases, {counts['agree']} agree, {counts['disagree']} disagree")
        if args.write:
            text = json.dumps(manifest, indent=1, ensure_ascii=False) + "\n"
            (PEERS / suite / "manifest.json").write_text(text, encoding="utf-8")
    return 1 if changed and not args.write else 0


if __name__ == "__main__":
    sys.exit(main())
