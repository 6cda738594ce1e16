"""`python -m lawdnet.infer`: the entry point of :mod:`lawdnet.cli.infer` (a template video + any speech audio)."""
import sys

from lawdnet.cli.infer import main

if __name__ == "__main__":
    sys.exit(main())
