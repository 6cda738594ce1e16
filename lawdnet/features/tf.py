"""TensorFlow for dp1 (the DeepSpeech v0.1.0 graph), imported once, after triton, with a one-line error without it."""
from __future__ import annotations

import importlib.util
import os
import sys

from talkingface.errors import KitError

_TF_HINT = "pip install talkingface-kit[tf] (tensorflow-cpu)"


def tensorflow():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter
    if "tensorflow" not in sys.modules and "triton" not in sys.modules and importlib.util.find_spec("triton"):
        # `import triton` (torch.compile, lightning, ...) segfaults once TensorFlow's libraries are loaded
        # (TF 2.21 + triton 3.7), while the other order works: import triton first
        import triton  # noqa: F401
    try:
        import tensorflow as tf
    except ImportError as exc:
        raise KitError(f"dp1 DeepSpeech features need TensorFlow: {_TF_HINT} ({exc})") from None
    return tf
