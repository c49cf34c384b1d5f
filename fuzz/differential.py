"""Do two commits give the same verdicts? ``python -m fuzz.differential --base COMMIT``

A change meant only to make sigmail faster must not change one verdict (issue 15). The
vectors' manifest checks the bundled inputs; this checks the fuzzer's: input number *i* of
the ``verify`` campaign (``fuzz.mutators.generate``, the same bytes in both trees) is
verified by the base commit (checked out into a temporary git worktree) and by this tree,
each in its own process, and the verdicts' JSON (``fuzz.targets.verify_entry``: strict,
offline, both policies) are compared. An exception counts as its type. Prints the input
numbers that differ and exits 1 if any does; ``--show N`` prints both verdicts of one input.

    python -m fuzz.differential --base 3fc872d --seed 21 --inputs 20000 [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


# Run in a fresh interpreter inside each tree, so that it uses that tree's fuzz/ and sigmail/
# (the base commit may predate this module): argv = tree, seed, start, end[, "show"].
_IN_TREE = """
import hashlib, json, sys
sys.path.insert(0, sys.argv[1])
from fuzz.mutators import generate
from fuzz.targets import verify_entry

def text(i):
    data, name = generate("verify", int(sys.argv[2]), i)
    try:
        return json.dumps(verify_entry(data, name)[1], sort_keys=True, ensure_ascii=False,
                          default=str)
    except Exception as exc:  # the strict verifier's InternalError, a budget: its type
        return "exception " + type(exc).__name__

start, end = int(sys.argv[3]), int(sys.argv[4])
if sys.argv[5:] == ["show"]:
    print(text(start))
else:
    print(json.dumps([hashlib.sha256(text(i).encode()).hexdigest()[:16]
                      for i in range(start, end)]))
"""


def _in_tree(tree: str, seed: int, start: int, end: int, *extra: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", _IN_TREE, tree, str(seed), str(start), str(end), *extra],
        cwd=tree,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def digests(tree: str, seed: int, start: int, end: int) -> list[str]:
    """The verdict digest of each input in [start, end), verified by the sigmail of ``tree``."""
    return json.loads(_in_tree(tree, seed, start, end).splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m fuzz.differential", description=__doc__)
    p.add_argument("--base", required=True, help="the commit to compare with (git rev)")
    p.add_argument("--seed", type=int, default=21)
    p.add_argument("--start", type=int, default=0)
    p.add_argument("--inputs", type=int, default=10000)
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--show", type=int, default=None, help="print both verdicts of one input")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sigmail-differential-") as tmp:
        base = str(Path(tmp) / "base")
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", base, args.base],
            check=True,
        )
        try:
            return _compare(args, base)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", base])


def _compare(args: argparse.Namespace, base: str) -> int:
    if args.show is not None:
        for tree in (base, str(ROOT)):
            print(f"== {tree}\n{_in_tree(tree, args.seed, args.show, args.show + 1, 'show')}")
        return 0
    step = max(1, args.inputs // (4 * args.workers))
    chunks = [
        (s, min(s + step, args.start + args.inputs))
        for s in range(args.start, args.start + args.inputs, step)
    ]
    starts, ends = [s for s, _e in chunks], [e for _s, e in chunks]
    seeds = [args.seed] * len(chunks)
    with ProcessPoolExecutor(args.workers) as pool:
        old = pool.map(digests, [base] * len(chunks), seeds, starts, ends)
        new = pool.map(digests, [str(ROOT)] * len(chunks), seeds, starts, ends)
        before = [d for part in old for d in part]
        after = [d for part in new for d in part]
    pairs = zip(before, after, strict=True)
    differ = [args.start + i for i, (a, b) in enumerate(pairs) if a != b]
    print(
        f"{args.inputs} inputs of the verify campaign, seed {args.seed}, from {args.start}: "
        f"{len(differ)} verdicts differ from {args.base}"
    )
    if differ:
        print("differing inputs:", " ".join(map(str, differ[:50])))
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
