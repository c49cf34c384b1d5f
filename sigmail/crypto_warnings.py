"""cryptography's deprecation warnings that would reach the clerk's terminal as lines of Python.

sigmail decides itself what an input's algorithms and encodings are worth (the algorithm
policy, ``malformed``); a warning printed beside the verdict says nothing a clerk can act on.
Each filter names one message, so every other warning still shows. Imported by the modules
that hand keys and certificates to cryptography (its own or pyhanko-certvalidator's calls).
"""

from __future__ import annotations

import warnings

from cryptography.utils import CryptographyDeprecationWarning

__all__: list[str] = []

# A certificate whose serial number is not positive (cryptography will refuse one in a later
# release; then it is malformed like any other it refuses). Seen in the xml campaign.
warnings.filterwarnings(
    "ignore",
    message="Parsed a serial number which wasn't positive",
    category=CryptographyDeprecationWarning,
)
# cryptography 51 deprecates DSA, and warns on every DSA key loaded or type-checked: OpenSSL's
# and NIST PKITS' DSA signatures still verify, and the algorithm policy says what DSA is worth.
warnings.filterwarnings(
    "ignore", message="DSA is deprecated", category=CryptographyDeprecationWarning
)
