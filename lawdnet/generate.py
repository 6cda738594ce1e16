"""`python -m lawdnet.generate`: the entry point of :mod:`lawdnet.cli.generate` (lip-sync outputs for an evaluation
set)."""
import sys

from lawdnet.cli.generate import main

if __name__ == "__main__":
    sys.exit(main())
