"""A short, deterministic fuzz smoke: a few hundred structure-aware mutations of the vectors
per format through the MIME walker, the CMS parser, the PDF reader and ``Verifier.verify``
(strict), none of which may raise anything but sigmail's own input signals or give a verdict
that breaks an invariant. The long campaigns are ``python -m fuzz.campaign`` (docs/fuzzing.md);
this keeps the targets, the mutators and the campaign runner themselves working."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fuzz import asn1, campaign, targets
from fuzz.minimise import asn1_min, ddmin
from fuzz.mutators import ASN1_MUTATORS, generate
from fuzz.seeds import seeds

ROOT = Path(__file__).resolve().parent.parent
SMOKE_SEED = 20260601
INPUTS = {"mime": 300, "cms": 300, "pdf": 150, "verify": 200, "xml": 200, "ooxml": 100}


@pytest.mark.parametrize("fmt", sorted(INPUTS))
def test_fuzz_smoke(fmt):
    failures = []
    for index in range(INPUTS[fmt]):
        data, name = generate(fmt, SMOKE_SEED, index)
        exc = targets.run(fmt, data, name)
        if exc is not None:
            failures.append((index, name, campaign.signature_of("exception", exc), repr(exc)))
    assert not failures, failures[:5]


@pytest.mark.parametrize("fmt", sorted(INPUTS))
def test_inputs_are_a_function_of_their_number_and_they_vary(fmt):
    first = [generate(fmt, SMOKE_SEED, i) for i in range(50)]
    assert first == [generate(fmt, SMOKE_SEED, i) for i in range(50)]
    originals = {s.data for s in seeds(fmt)}
    mutated = {data for data, _name in first if data not in originals}
    assert len(mutated) >= 45


def test_asn1_tree_round_trips_every_cms_seed():
    for seed in seeds("cms"):
        if seed.data[:1] == b"\x30":
            assert asn1.encode(asn1.parse(seed.data)) == seed.data, seed.name


def test_asn1_mutations_keep_the_enclosing_lengths_right():
    """Structure-aware: the damage stays inside the node it was aimed at, so the outer
    SEQUENCE still spans the whole input (byte flips would not keep that)."""
    import random

    der = next(s.data for s in seeds("cms") if s.name == "person-official.p7m")
    for i, mutate in enumerate(ASN1_MUTATORS):
        if mutate.__name__ == "asn1_length":
            continue  # its point is a wrong length
        out = mutate(random.Random(i), der, seeds("cms"))
        top = asn1.parse(out)
        assert len(top) == 1 and top[0].ident, mutate.__name__


def test_ddmin_finds_the_bytes_that_matter():
    data = bytes(range(200)) + b"BUG" + bytes(range(100))
    assert ddmin(data, lambda d: b"BUG" in d) == b"BUG"


def test_asn1_min_removes_whole_nodes():
    der = next(s.data for s in seeds("cms") if s.name == "person-official.p7m")
    oid = b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x01"  # id-data, the eContentType
    small = asn1_min(der, lambda d: oid in d)
    assert oid in small and len(small) < 40


def _run_campaign(tmp_path, target, **options):
    """The runner in a fresh process: forking workers out of the test process, where other
    tests have left threads (the responder), could deadlock a child on a lock a thread held."""
    argv = [sys.executable, "-m", "fuzz.campaign", "--format", "cms", "--findings", str(tmp_path)]
    argv += ["--workers", "1", "--batch", "5", "--retime", "0", "--no-warm-up"]
    argv += ["--target", f"fuzz.selftest:{target}"]
    for key, value in options.items():
        argv += [f"--{key.replace('_', '-')}"] + ([str(value)] if value != "" else [])
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, 1), done.stderr[-2000:]
    return json.loads((tmp_path / "cms" / "campaign-0-0.json").read_text())


def test_campaign_records_and_minimises_an_exception(tmp_path):
    report = _run_campaign(tmp_path, "raising", inputs=30)
    assert report["inputs_run"] == 30
    assert report["findings_by_kind"]["exception"] >= 1
    (sig,) = report["distinct_findings"]
    assert sig.startswith("exception:KeyError:")
    folder = next(p for p in (tmp_path / "cms").iterdir() if p.is_dir())
    assert (folder / "input").is_file() and (folder / "finding.json").is_file()


def test_campaign_records_inputs_over_time_hangs_and_memory(tmp_path):
    slow = _run_campaign(tmp_path / "slow", "slow", inputs=2, time_limit=0.1)
    assert slow["findings_by_kind"] == {"over_time": 2}
    hang = _run_campaign(tmp_path / "hang", "hanging", inputs=2, hang_after=1, minimise_tests=0)
    assert hang["findings_by_kind"] == {"hang": 2} and hang["inputs_run"] == 2
    hungry = _run_campaign(tmp_path / "mem", "hungry", inputs=2, memory_mb=512)
    assert hungry["findings_by_kind"] == {"over_memory": 2}


def test_a_worker_stuck_making_an_input_is_the_fuzzers_hang_not_sigmails(tmp_path):
    report = _run_campaign(
        tmp_path, "quiet", inputs=2, hang_after=1, generator="fuzz.selftest:slow_to_make"
    )
    assert report["findings_by_kind"] == {"fuzzer_hang": 1} and report["inputs_run"] == 2


def test_campaign_cpu_clock_counts_cpu_not_waiting(tmp_path):
    """--clock cpu: an input that waits 0.3 s (as on a loaded machine) is not slow; one that
    computes for 0.3 s is."""
    sleeping = _run_campaign(tmp_path / "a", "slow", inputs=2, time_limit=0.1, clock="cpu")
    assert sleeping["findings_by_kind"] == {} and sleeping["clock"] == "cpu"
    spinning = _run_campaign(tmp_path / "b", "spinning", inputs=2, time_limit=0.1, clock="cpu")
    assert spinning["findings_by_kind"] == {"over_time": 2}
    # a worker spinning on one input is hung by its CPU time
    looping = _run_campaign(
        tmp_path / "c", "looping", inputs=1, hang_after=1, clock="cpu", minimise_tests=0
    )
    assert looping["findings_by_kind"] == {"hang": 1}


def test_campaign_resumes_from_its_state_file(tmp_path):
    whole = _run_campaign(tmp_path / "whole", "raising", inputs=40)
    first = _run_campaign(tmp_path / "parts", "raising", inputs=25)
    assert first["state"]["done"] == [[0, 25]]
    again = _run_campaign(tmp_path / "parts", "raising", inputs=40, resume="")
    assert again["inputs_run"] == 40 and again["complete"]
    assert again["state"]["done"] == [[0, 40]]
    # the inputs already run are not run again: the findings add up to the whole run's
    assert again["findings_by_kind"] == whole["findings_by_kind"]
    assert again["resumed_from"][0]["inputs_run"] == 25
    assert campaign.Totals(done=[[0, 10], [20, 25]]).left(0, 40, 5) == [
        (10, 15),
        (15, 20),
        (25, 30),
        (30, 35),
        (35, 40),
    ]


def test_generation_of_inputs_that_once_broke_the_mutators():
    """pdf inputs 6299, 7249 and 34014 of campaign seed 1: a number token of hundreds of
    digits made the PDF token mutator raise (float infinity); the campaign recorded them as
    fuzzer_error and went on."""
    for index in (6299, 7249, 34014):
        data, name = generate("pdf", 1, index)
        assert data and name.endswith(".pdf")


def test_campaign_recycles_workers_and_loses_no_input(tmp_path):
    """--recycle-after replaces a worker once it has run that many inputs (what a long-lived
    worker accumulates is not charged to whichever input crosses the memory limit); every
    input is still run exactly once and none is a finding."""
    report = _run_campaign(tmp_path, "quiet", inputs=40, recycle_after=10)
    assert report["complete"] and report["inputs_run"] == 40
    assert report["workers_recycled"] >= 3
    assert report["findings_by_kind"] == {}


def test_the_harness_check_is_run_but_not_timed(monkeypatch):
    clock = [0.0]

    def target(data, name):
        clock[0] += 1.0  # sigmail's work
        return data

    def check(result):
        clock[0] += 10.0  # the harness's
        if result == b"bad":
            raise targets.Finding("broken invariant")

    monkeypatch.setitem(targets.TARGETS, "timed", target)
    monkeypatch.setitem(targets.CHECKS, "timed", check)
    exc, elapsed = targets.run_timed("timed", b"good", None, lambda: clock[0])
    assert exc is None and elapsed == 1.0
    exc, elapsed = targets.run_timed("timed", b"bad", None, lambda: clock[0])
    assert isinstance(exc, targets.Finding) and elapsed == 1.0


def test_the_verify_check_sees_what_the_target_encoded():
    data, name = generate("verify", SMOKE_SEED, 0)
    verdict, encoded = targets.TARGETS["verify"](data, name)
    assert encoded == verdict.to_dict()
    targets.CHECKS["verify"]((verdict, encoded))
    # the same instant, written otherwise: decodes, but encodes back as "…Z"
    other = encoded | {"validation_time": "2026-06-01T00:00:00+00:00"}
    with pytest.raises(targets.Finding, match="round-trip"):
        targets.CHECKS["verify"]((verdict, other))


_TAGISH = st.sampled_from(
    [
        b"<a>",
        b"</a>",
        b"<a/>",
        b"<a x='1'>",
        b"</a >",
        b"<w:p>",
        b"</w:p>",
        b"</w>",
        b"<w.x-y>",
        b"</w.x-y>",
        b"<_b>",
        b"</_b>",
        b"<a",
        b">",
        b"/>",
        b"<",
        b"</",
        b"text",
        b" ",
        b"\n",
        b"<1>",
        b"<ab>",
        b"</ab>",
        b"<a:>",
        b"</a:>",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_TAGISH, max_size=40).map(b"".join))
def test_the_element_search_finds_what_the_regular_expression_finds(data):
    from fuzz import markup

    reference = [
        (m.start(), m.end(), m.group(1)) for m in markup._ELEMENT.finditer(data, 0, 1 << 20)
    ]
    assert [(m.start(), m.end(), m.group(1)) for m in markup._elements(data)] == reference


def test_the_element_search_is_linear_in_unclosed_start_tags():
    # 5,000 wrapped elements whose end tags were cut: the regular expression searched for an
    # end tag from every start tag (17-25 s to make such an xml input)
    from fuzz import markup

    data = b"<r>" + b"<HoSo><x>" * 5000 + b"text"
    assert len(markup._elements(data)) == 0
    data += b"</x>"
    assert [m.group(1) for m in markup._elements(data)] == [b"x"]


def test_the_differential_check_finds_no_difference_between_a_commit_and_itself(capsys):
    """fuzz/differential.py end to end: a worktree of HEAD, inputs verified in both trees."""
    import subprocess

    from fuzz.differential import ROOT, main

    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True
    )
    if head.returncode != 0:
        pytest.skip("not a git checkout")
    assert main(["--base", "HEAD", "--inputs", "12", "--workers", "1"]) == 0
    assert "0 verdicts differ" in capsys.readouterr().out
