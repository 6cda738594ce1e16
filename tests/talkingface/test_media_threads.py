"""talkingface.media under a worker's thread budget (TALKINGFACE_THREADS, set by talkingface.preprocess)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest


def test_a_thread_budget_decodes_without_extra_threads(tmp_path, make_video):
    """Under a worker's budget (TALKINGFACE_THREADS=1, set by talkingface.preprocess) neither the decoder nor
    swscale's RGB conversion starts threads. By default the conversion starts one per CPU: two preprocess workers on
    2 cores then waited on each other's, 15 % more wall time for the same frames. The frames stay the same."""
    if not Path("/proc/self/task").is_dir():
        pytest.skip("counts the process's threads in /proc (Linux)")
    path = make_video(frames=6, size=(320, 240))
    code = ("import os, sys, numpy as np\nfrom talkingface.media import VideoReader\n"
            "before = len(os.listdir('/proc/self/task'))\n"
            "frames = iter(VideoReader(sys.argv[1]))\nfirst = next(frames)\n"
            "print(len(os.listdir('/proc/self/task')) - before)\n"
            "np.save(sys.argv[2], np.stack([first, *frames]))\n")
    out = {}
    for budget in ("1", None):
        env = {k: v for k, v in os.environ.items() if k != "TALKINGFACE_THREADS"}
        env.update({"TALKINGFACE_THREADS": budget} if budget else {})
        target = tmp_path / f"frames_{budget}.npy"
        done = subprocess.run([sys.executable, "-c", code, str(path), str(target)], env=env, capture_output=True,
                              text=True, check=True)
        out[budget] = int(done.stdout), np.load(target)
    assert out["1"][0] == 0, f"decoding under a budget of 1 started {out['1'][0]} threads"
    np.testing.assert_array_equal(out["1"][1], out[None][1])
