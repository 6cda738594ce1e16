"""Metric tests: the image recipes of ``_metric_images.py`` importable (``from _metric_images import ...``), and
random FID-Inception weights saved where the kit and pytorch-fid both find them (``fid_weights``)."""
import sys
from pathlib import Path

import pytest
import torch

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

FID_FILE = "pt_inception-2015-12-05-6726825d.pth"


@pytest.fixture(scope="module")
def fid_weights(tmp_path_factory) -> dict:
    """A random FID-Inception state dict (kaiming-normal convs, so pool3 features are O(1)), saved twice:
    as our weights file and in a TORCH_HOME where pytorch-fid finds it instead of downloading."""
    from talkingface.metrics.fid_inception import FidInception

    root = tmp_path_factory.mktemp("fid_weights")
    torch.manual_seed(0)
    net = FidInception(2048).inception
    for mod in net.modules():
        if isinstance(mod, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(mod.weight, nonlinearity="relu")
        elif isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.normal_(0, 0.1)
            mod.running_var.uniform_(0.5, 1.5)
            mod.bias.data.normal_(0, 0.1)
    path = root / "ours" / FID_FILE
    hub = root / "torch_home" / "hub" / "checkpoints" / FID_FILE
    for p in (path, hub):
        p.parent.mkdir(parents=True)
        torch.save(net.state_dict(), p)
    return {"path": path, "torch_home": root / "torch_home"}
