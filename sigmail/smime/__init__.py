"""S/MIME messages (RFC 8551): one verdict for the whole e-mail and every part in it.

Where each decision lives:

====================  ========================================================================
``mime.py``           the entity tree over the raw bytes: boundaries, headers, decoding, budgets
``headers.py``        header fields, Content-Type parameters, RFC 2047 words, RFC 5322 mailboxes
``canonical.py``      the exact bytes a multipart/signed signature covers (CRLF canonical form)
``signatures.py``     the two signature forms, several signers, micalg, eContent in a detached
                      signature, signed attributes required
``coverage.py``       which signature covers which part; ``partially_signed``
``attachments.py``    which parts are documents with a verdict of their own (.eml, PDF, .p7m)
``identity.py``       the From-address check against the signer certificate (C11)
``message.py``        the steps in order, for :func:`sigmail.formats.email.verify_email`
====================  ========================================================================

See docs/smime.md for the rules.
"""

from sigmail.smime.message import verify_message

__all__ = ["verify_message"]
