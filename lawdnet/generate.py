"""`python -m lawdnet.generate`: the entry point of :mod:`lawdnet.cli.generate` (lip-sync outputs for an evaluation
set)."""
from lawdnet.cli.generate import main
from talkingface.errors import exit_process

if __name__ == "__main__":
    exit_process(main())      # torchrun workers end with os._exit (see there)
