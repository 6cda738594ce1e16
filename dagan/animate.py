"""`python -m dagan.animate`: the entry point of :mod:`dagan.cli.animate` (one source image, one driving video)."""
import sys

from dagan.cli.animate import main

if __name__ == "__main__":
    sys.exit(main())
