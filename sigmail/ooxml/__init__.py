"""Office Open XML package signatures (ECMA-376 Part 2, Open Packaging Conventions §13):
.docx, .xlsx, .pptx signed by Office or by the signing tools Vietnamese agencies use.

``zipsafe`` reads the package in memory under budgets; ``package`` knows the parts, their
content types and relationships; ``relationships`` is the OPC relationship transform;
``verify`` checks each signature part and what the signatures cover. See
docs/xml-signatures.md.
"""
