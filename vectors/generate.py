#!/usr/bin/env python3
"""Make sigmail's test PKI and signed vectors: ``python vectors/generate.py [--out DIR] [--check]``.

The work is done by :mod:`vectors.testpki.generator`; see vectors/README.md.
"""

import sys
from pathlib import Path

# Run as a script, this file's directory (vectors/) is on sys.path, not the repository root that
# `import vectors.testpki` needs.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from vectors.testpki.generator import main

if __name__ == "__main__":
    sys.exit(main())
