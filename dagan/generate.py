"""`python -m dagan.generate`: the entry point of :mod:`dagan.cli.generate` (DaGAN outputs for an evaluation set)."""
import sys

from dagan.cli.generate import main

if __name__ == "__main__":
    sys.exit(main())
