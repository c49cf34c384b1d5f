"""The rows of the reason-code table, by area; :mod:`sigmail.verdict.reasons` is the API.

- :mod:`.row` what a row is (``Effect``, ``Reason``);
- :mod:`.basis` the legal bases several rows cite;
- :mod:`.signatures` input handling and the checks every signature gets, C1-C6;
- :mod:`.documents_mail` documents C7-C10, evidence C12, e-mail C11 (and, apart, the row on a
  signing time far from the message's Date);
- :mod:`.pdf` PDF (PAdES): coverage and changes after signing;
- :mod:`.xml` XML signatures (XMLDSig, XAdES) and signed packages (Office, OpenDocument).

The published order (docs/reason-codes.md, ``sigmail reasons --json``, ``ReasonCode``) is the
order in which ``_ROWS`` of :mod:`sigmail.verdict.reasons` joins these tuples: codes in the
order they were added. So a new code goes at the end of the last tuple joined there (today
``xml.ROWS``), or into a new tuple joined after it; never in the middle.
"""
