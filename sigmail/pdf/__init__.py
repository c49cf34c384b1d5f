"""Signed PDF documents (PAdES): what each signature covers, in which order, at which proven
time, and what changed after it. See docs/pdf.md.

The modules, in the order a verification uses them:

* :mod:`.source` — the file's bytes read in place (bytes, memoryview, read-only mmap);
* :mod:`.parser`, :mod:`.objects`, :mod:`.filters` — the object parser and stream decoding;
* :mod:`.xref`, :mod:`.document` — cross-reference data, revisions, objects as of a revision;
* :mod:`.signatures`, :mod:`.byte_range` — every signature dictionary; the ByteRange check;
* :mod:`.hashing`, :mod:`.dss` — all digests in one pass; the DSS/VRI evidence;
* :mod:`.permissions` — DocMDP (certification level) and FieldMDP locks;
* :mod:`.modifications` (with :mod:`.structure`, :mod:`.fields`, :mod:`.overlay`) — what
  changed after each signature, classified and explained;
* :mod:`.verify` — the order of work, from bytes to signature reports.

The format handler the verifier calls is :func:`sigmail.formats.pdf.verify_pdf`.
"""
