import sys

from sigmail.cli import main

sys.exit(main())
