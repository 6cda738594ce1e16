"""What DaGAN's speed measurements decided: the default batch size per device, and the opt-in compiled path.

**The compiled path** (``--compile``): ``torch.compile`` of the per-batch networks, what pays, and what it costs.

Measured on 2 CPU cores (``benchmarks/bench_dagan_variants.py --device cpu --frames 8 --batch_size 2 --variants
fp32,fp32-cl --compile fp32-cl``): the networks ran at 2.54 frames/s compiled against 2.12 channels-last and 1.96 in
the default layout. The output stayed within 8.4e-6 of eager float32. The first batch took 52 s to compile. The
saving is 0.078 s a frame, so compiling pays back after about 660 frames, roughly 26 s of 25-fps video. It is
therefore off by default. It was not measured on a GPU.

Only the driving batches are compiled: the depth net, the keypoint detector and the generator's decode. The source's
one-off work stays eager. Every call gets one shape: a batch shorter than the batch size is padded with its last
frame, and the extra outputs are dropped. Otherwise the last, shorter batch of a video would compile a second graph.
"""
from __future__ import annotations

import torch


def default_batch_size(device: torch.device) -> int:
    """Driving frames per network call when none is given, as measured (bench_dagan.py --batch_sizes, the tables
    in benchmarks/results/): on an H200 in fp16, 32 gave 522 fps against 411 at 16 and 483 at 64; on a 2-core
    CPU, 1, 2 and 4 lie within 6% and their order changes between runs (2.41/2.43/2.32 fps, then 2.10/2.20/2.22),
    and 2 is never slowest. Other machines: measure with ``--batch_sizes``."""
    return 32 if torch.device(device).type == "cuda" else 2


def to_channels_last(*nets: torch.nn.Module) -> None:
    """Store the networks' weights channels-last, in place. On 2 CPU cores this gave 2.83 frames/s against 2.56 for
    the full-size networks (2.40 against 2.21 in another run), at a max abs difference of 8e-6
    (bench_dagan_variants). DaganModel does it on the CPU by default, and feeds its inputs channels-last too. It was
    not measured on CUDA, where it stays off."""
    for net in nets:
        net.to(memory_format=torch.channels_last)


class CompiledBatch:
    """The compiled networks of one model's driving batches, with the eager attribute names
    (``depth_encoder``, ``depth_decoder``, ``kp_detector``) and ``decode`` for the generator's decode."""

    def __init__(self, model) -> None:
        self.depth_encoder = torch.compile(model.depth_encoder, dynamic=False)
        self.depth_decoder = torch.compile(model.depth_decoder, dynamic=False)
        self.kp_detector = torch.compile(model.kp_detector, dynamic=False)
        self.decode = torch.compile(model.generator.decode, dynamic=False)

    @staticmethod
    def pad(batch: torch.Tensor, size: int) -> torch.Tensor:
        """``batch`` (n, …) grown to ``size`` rows by repeating its last row (n <= size)."""
        missing = size - len(batch)
        if missing <= 0:
            return batch
        return torch.cat([batch, batch[-1:].expand(missing, *batch.shape[1:])]).contiguous(
            memory_format=torch.channels_last if batch.is_contiguous(memory_format=torch.channels_last)
            else torch.contiguous_format)
