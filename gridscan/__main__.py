"""``python -m gridscan``: the gridscan command line."""

import sys

from gridscan.cli import main

if __name__ == "__main__":
    sys.exit(main())
