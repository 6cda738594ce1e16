"""`python -m lawdnet.preprocess`: the entry point of :mod:`lawdnet.cli.preprocess` (raw videos -> training data)."""
import sys

from lawdnet.cli.preprocess import main

if __name__ == "__main__":
    sys.exit(main())
