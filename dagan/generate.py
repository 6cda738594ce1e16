"""`python -m dagan.generate`: the entry point of :mod:`dagan.cli.generate` (DaGAN outputs for an evaluation set)."""
from dagan.cli.generate import main
from talkingface.errors import exit_process

if __name__ == "__main__":
    exit_process(main())      # torchrun workers end with os._exit (see there)
