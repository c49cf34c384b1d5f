"""XML signatures (XMLDSig 1.1, XAdES): parsing with no DTD and no entities, what each
``ds:Signature`` covers, its integrity (through signxml, given the signer certificate), and
the XAdES properties that feed the common chain/time/revocation machinery.

Pure and synchronous like the rest of the core; it never imports a front-end. See
docs/xml-signatures.md for what is checked and what is refused.
"""
