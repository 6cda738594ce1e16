"""`python -m syncnet score|selftest …`."""
import sys

from syncnet.cli import main

if __name__ == "__main__":
    sys.exit(main())
