"""`python -m lawdnet.train_syncnet`: the entry point of :mod:`lawdnet.cli.train_syncnet` (LawDNet's SyncNet)."""
from lawdnet.cli.train_syncnet import main
from talkingface.errors import exit_process

if __name__ == "__main__":
    exit_process(main())      # torchrun workers end with os._exit (see there)
