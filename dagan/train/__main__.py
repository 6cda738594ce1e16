"""`python -m dagan.train` (and `torchrun -m dagan.train`): the entry point of :mod:`dagan.cli.train`."""
from dagan.cli.train import main
from talkingface.errors import exit_process

if __name__ == "__main__":
    exit_process(main())      # torchrun workers end with os._exit (see there)
