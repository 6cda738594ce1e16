#!/usr/bin/env python3
"""Record pyiqa's NIQE on the deterministic images of _metric_images.py → data/niqe_pyiqa_calibration.json.

Needs pyiqa (0.1.16 was used) in its own environment, e.g.:
    python3 -m venv /tmp/pyiqa-venv && /tmp/pyiqa-venv/bin/pip install pyiqa==0.1.16 torch torchvision
    /tmp/pyiqa-venv/bin/python tests/metrics/make_niqe_calibration.py            # rewrite the JSON
    PYTHONPATH=. /tmp/pyiqa-venv/bin/python tests/metrics/make_niqe_calibration.py --check   # live pyiqa = JSON = kit
pyiqa gets the official LIVE parameters through ``pretrained_model_path`` (a .mat with mu_prisparam /
cov_prisparam written from the kit's npz), so nothing is downloaded. Each image is fed twice — as the
[0,1] float32 tensor pyiqa's loader produces and as a PNG file path — and both values must agree.
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
import scipy.io  # noqa: E402
import torch  # noqa: E402
from _metric_images import RECIPES, image_sha256, make_image  # noqa: E402
from PIL import Image  # noqa: E402


def main() -> int:
    import pyiqa

    check = "--check" in sys.argv[1:]

    params = np.load(REPO / "talkingface" / "data" / "niqe_pris_params.npz")
    with tempfile.TemporaryDirectory() as tmp:
        mat = Path(tmp) / "modelparameters.mat"
        scipy.io.savemat(mat, {"mu_prisparam": params["mu_prisparam"][None], "cov_prisparam": params["cov_prisparam"]})
        metric = pyiqa.create_metric("niqe", device="cpu", pretrained_model_path=str(mat))
        entries = []
        for recipe, description in RECIPES.items():
            img = make_image(recipe)
            tensor = torch.from_numpy(img).permute(2, 0, 1)[None].float().div(255)
            value = float(metric(tensor).item())
            png = Path(tmp) / f"{recipe}.png"
            Image.fromarray(img).save(png)
            from_file = float(metric(str(png)).item())
            assert abs(from_file - value) <= 1e-9 * abs(value), (recipe, value, from_file)
            entries.append({"recipe": recipe, "description": description, "shape": list(img.shape),
                            "sha256": image_sha256(img), "niqe": value})
            print(f"{recipe:22s} {img.shape} {value:.10f}")
    out = {
        "reference": f"pyiqa {pyiqa.__version__} create_metric('niqe', pretrained_model_path=<official LIVE "
                     f"modelparameters.mat>), torch {torch.__version__}, CPU",
        "pyiqa_version": pyiqa.__version__,
        "tolerance_rel": 1e-3,
        "images": entries,
    }
    path = HERE / "data" / "niqe_pyiqa_calibration.json"
    if check:       # live pyiqa against the recorded values (what tests/metrics/test_niqe.py compares the kit with)
        from talkingface.metrics import niqe

        recorded = {e["recipe"]: e["niqe"] for e in json.loads(path.read_text())["images"]}
        bad = [e["recipe"] for e in entries if abs(e["niqe"] - recorded.get(e["recipe"], np.inf)) > 1e-9 * e["niqe"]
               or abs(niqe(make_image(e["recipe"])) - e["niqe"]) > 1e-6 * e["niqe"]]
        same = f"live pyiqa = {path.name} = the kit on {len(entries)} images"
        print("check: " + (f"FAILED for {bad}" if bad else same))
        return 1 if bad else 0
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
