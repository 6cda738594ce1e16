"""Metrics with named protocols (docs/architecture.md, "Protocols"), equal to their reference implementations.

Plain functions: ``niqe``, ``psnr``, ``ssim``, ``fid``, ``lpips``, ``l1``, ``akd``, ``aed``, ``csim``. Registry for
the evaluation runner: ``create_metric``, ``list_metrics``, ``get_spec`` (see :mod:`talkingface.metrics.registry`).

The submodules are imported here on purpose: ``talkingface.metrics.niqe`` is then the function (the public name in
docs/architecture.md, section 7); use ``from talkingface.metrics.niqe import NiqeMetric`` for a module's other
names. Heavy dependencies (pytorch-fid, lpips, face-alignment, facenet-pytorch, syncnet) are imported only when
their metric is built.
"""
from talkingface.metrics.aed import aed
from talkingface.metrics.akd import akd
from talkingface.metrics.base import MetricSpec, NotComputable, SetResult
from talkingface.metrics.csim import csim
from talkingface.metrics.fid import fid
from talkingface.metrics.fidelity import psnr, ssim
from talkingface.metrics.l1 import l1
from talkingface.metrics.lpips import lpips
from talkingface.metrics.niqe import niqe
from talkingface.metrics.registry import create_metric, get_factory, get_spec, list_metrics

__all__ = ["niqe", "psnr", "ssim", "fid", "lpips", "l1", "akd", "aed", "csim", "create_metric", "list_metrics",
           "get_spec", "get_factory", "MetricSpec", "NotComputable", "SetResult"]
