"""`python -m dagan.train` (and `torchrun -m dagan.train`): the entry point of :mod:`dagan.cli.train`."""
import sys

from dagan.cli.train import main

if __name__ == "__main__":
    sys.exit(main())
