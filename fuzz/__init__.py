"""Fuzzing sigmail: targets, structure-aware mutators seeded from ``vectors/``, a campaign runner.

- :mod:`fuzz.targets` — what one input is run through (the MIME walker, the CMS parser, the PDF
  reader, ``Verifier.verify``) and what counts as a finding (an exception that is not an
  :class:`~sigmail.errors.InputSignal`, an ``internal_error`` verdict);
- :mod:`fuzz.mutators` — byte-level and structure-aware mutations (ASN.1 TLV trees, PDF tokens
  and objects, MIME headers, boundaries and encodings), driven by a seeded PRNG so that input
  number *i* of a campaign is always the same bytes;
- :mod:`fuzz.campaign` — ``python -m fuzz.campaign --format cms --inputs 1000000 --workers 2``:
  workers under a time and memory limit, findings minimised and written to a directory;
- :mod:`fuzz.atheris_run` — the same targets under atheris (coverage-guided libFuzzer).

See docs/fuzzing.md.
"""
