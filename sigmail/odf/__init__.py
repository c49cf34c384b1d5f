"""OpenDocument package signatures (ODF 1.2/1.3 Part 3 §5): .odt, .ods, .odp signed by
LibreOffice or by the signing tools Vietnamese agencies use.

``package`` reads the package (in memory, under the budgets of :mod:`sigmail.ooxml.zipsafe`),
its ``mimetype`` and ``META-INF/manifest.xml``; ``verify`` checks each ``ds:Signature`` of
``META-INF/documentsignatures.xml`` (and, reported apart, of ``META-INF/macrosignatures.xml``)
through :mod:`sigmail.xmldsig`, and what the document signatures cover: every stream of the
package. See docs/xml-signatures.md.
"""
