"""The shared training core: one loop (``fit``) that every model's training plugs into through a ``TrainTask``.

    from talkingface.training import RunSettings, fit, init_distributed
    dist = init_distributed()                     # torchrun's process group, or one process
    result = fit(task, dataset, RunSettings(run_dir=run, epochs=10, batch_size=8), dist=dist, resume=None)

It imports no model package. docs/training.md: launching (torchrun, one or many machines), checkpoints, resume,
signals, precision, logs.
"""
from talkingface.training.checkpoints import load_checkpoint, newest_checkpoint, save_atomic
from talkingface.training.distributed import (
    DistInfo,
    all_reduce_mean,
    barrier,
    current_dist,
    init_distributed,
    shutdown,
    wrap_ddp,
)
from talkingface.training.loop import TrainingDiverged, fit
from talkingface.training.precision import Precision
from talkingface.training.sampler import ShardSampler
from talkingface.training.settings import RunSettings, check_settings, settings_dict
from talkingface.training.signals import StopFlag
from talkingface.training.state import KIT_KEY, derive_seed, seed_everything
from talkingface.training.task import FitResult, StepContext, TrainTask

__all__ = [
    "KIT_KEY", "DistInfo", "FitResult", "Precision", "RunSettings", "ShardSampler", "StepContext", "StopFlag",
    "TrainTask", "TrainingDiverged", "all_reduce_mean", "barrier", "check_settings", "current_dist", "derive_seed",
    "fit", "init_distributed", "load_checkpoint", "newest_checkpoint", "save_atomic", "seed_everything",
    "settings_dict", "shutdown", "wrap_ddp",
]
