"""`python -m lawdnet.train` (and `torchrun -m lawdnet.train`): the entry point of :mod:`lawdnet.cli.train`."""
from lawdnet.cli.train import main
from talkingface.errors import exit_process

if __name__ == "__main__":
    exit_process(main())      # torchrun workers end with os._exit (see there)
