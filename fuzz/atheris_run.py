"""The same targets under atheris (coverage-guided libFuzzer), with the structure-aware
mutators as libFuzzer's custom mutator (half the time; libFuzzer's own byte mutations the
other half)::

    python -m fuzz.atheris_run --format cms [--corpus DIR] -- -runs=100000 -max_total_time=600

libFuzzer's options follow ``--``; ``-timeout=1 -rss_limit_mb=512`` are set unless given,
and a finding (an exception escaping the target, a timeout, over memory) is written to
``--artifacts`` as libFuzzer does (``crash-…``, ``timeout-…``, ``oom-…``). sigmail and
asn1crypto are instrumented for coverage. The corpus starts from the vectors of the format.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["sigmail", "asn1crypto"]):
    import sigmail.cms.signed_data
    import sigmail.formats.cms_file
    import sigmail.formats.email
    import sigmail.formats.pdf
    import sigmail.pdf.document
    import sigmail.pdf.signatures
    import sigmail.smime.mime  # noqa: F401
    from fuzz import targets

from fuzz.mutators import BYTE_MUTATORS, mutate
from fuzz.seeds import FORMATS, Seed, seeds


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    ours, _, theirs = (
        (argv[: argv.index("--")], "--", argv[argv.index("--") + 1 :])
        if ("--" in argv)
        else (argv, "", [])
    )
    p = argparse.ArgumentParser(prog="python -m fuzz.atheris_run")
    p.add_argument("--format", choices=FORMATS, required=True)
    p.add_argument("--corpus", help="corpus directory (created, seeded from vectors/)")
    p.add_argument("--artifacts", default="fuzz-findings/atheris")
    a = p.parse_args(ours)
    fmt = a.format
    corpus = seeds(fmt)
    name_for = {"cms": "x.p7m", "pdf": "x.pdf", "mime": "x.eml", "verify": None}[fmt]

    def test_one_input(data: bytes) -> None:
        exc = targets.run(fmt, data, name_for)
        if exc is not None:
            raise exc

    def custom_mutator(data: bytes, max_size: int, seed: int) -> bytes:
        rng = random.Random(seed)
        if rng.random() < 0.5:
            return atheris.Mutate(data, max_size)
        base = Seed(name_for or rng.choice(corpus).name, data or rng.choice(corpus).data)
        out = (
            mutate(rng, base, corpus)
            if rng.random() < 0.9
            else rng.choice(BYTE_MUTATORS)(rng, data, corpus)
        )
        return out[:max_size]

    corpus_dir = Path(a.corpus or f"fuzz-findings/atheris-corpus/{fmt}")
    corpus_dir.mkdir(parents=True, exist_ok=True)
    for s in corpus:
        (corpus_dir / s.name).write_bytes(s.data)
    artifacts = Path(a.artifacts) / fmt
    artifacts.mkdir(parents=True, exist_ok=True)
    flags = [f"-artifact_prefix={artifacts}/"]
    for flag, value in (("-timeout", "1"), ("-rss_limit_mb", "512"), ("-max_len", "262144")):
        if not any(t.startswith(flag + "=") for t in theirs):
            flags.append(f"{flag}={value}")
    targets.warm_up(fmt)
    atheris.Setup(
        [sys.argv[0], *flags, *theirs, str(corpus_dir)],
        test_one_input,
        custom_mutator=custom_mutator,
    )
    atheris.Fuzz()


if __name__ == "__main__":
    main()
