"""`python -m dagan.preprocess`: the entry point of :mod:`dagan.cli.preprocess` (raw videos -> training clips)."""
import sys

from dagan.cli.preprocess import main

if __name__ == "__main__":
    sys.exit(main())
