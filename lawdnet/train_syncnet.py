"""`python -m lawdnet.train_syncnet`: the entry point of :mod:`lawdnet.cli.train_syncnet` (LawDNet's SyncNet)."""
import sys

from lawdnet.cli.train_syncnet import main

if __name__ == "__main__":
    sys.exit(main())
