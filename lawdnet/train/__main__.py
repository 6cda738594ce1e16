"""`python -m lawdnet.train` (and `torchrun -m lawdnet.train`): the entry point of :mod:`lawdnet.cli.train`."""
import sys

from lawdnet.cli.train import main

if __name__ == "__main__":
    sys.exit(main())
