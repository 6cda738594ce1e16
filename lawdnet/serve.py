"""`python -m lawdnet.serve`: the entry point of :mod:`lawdnet.cli.serve` (the lip-sync HTTP service)."""
import sys

from lawdnet.cli.serve import main

if __name__ == "__main__":
    sys.exit(main())
