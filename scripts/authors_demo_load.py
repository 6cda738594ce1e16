"""Check that the DaGAN authors' own ``demo.py`` loads a checkpoint written by ``python -m dagan.train``.

    python scripts/authors_demo_load.py log/vox-adv-256/last-checkpoint.pth.tar --config log/vox-adv-256/config.yaml \
        --dagan_repo /path/to/CVPR2022-DaGAN --kp_num 15

Their ``load_checkpoints`` (imported from a checkout of harlanhong/CVPR2022-DaGAN, none of it in the kit) builds the
generator and the RGB-D keypoint detector from the config and loads the file's ``generator`` / ``kp_detector`` with
``k.replace('module.', '')`` and a strict ``load_state_dict``. The stubs are those of golden_authors_dagan.py
(matplotlib, frames_dataset/logger imports, PyYAML >= 6's Loader argument, the CLI globals). Exit 0 when it loads.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import golden_authors_dagan as authors  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("checkpoint", type=Path)
    p.add_argument("--config", type=Path, required=True, help="the run's config.yaml")
    p.add_argument("--dagan_repo", type=Path, required=True, help="a checkout of harlanhong/CVPR2022-DaGAN")
    p.add_argument("--kp_num", type=int, default=15)
    args = p.parse_args()
    checkpoint, config = args.checkpoint.resolve(), args.config.resolve()
    authors._stub_modules()
    with authors._in_repo(args.dagan_repo.resolve()):
        demo = importlib.import_module("demo")
        load = demo.yaml.load
        demo.yaml.load = lambda f, Loader=demo.yaml.FullLoader: load(f, Loader=Loader)   # PyYAML >= 6
        demo.opt = argparse.Namespace(kp_num=args.kp_num, generator="DepthAwareGenerator")
        generator, kp_detector = demo.load_checkpoints(config_path=str(config), checkpoint_path=str(checkpoint),
                                                       cpu=True)
    count = sum(p.numel() for p in generator.parameters()) + sum(p.numel() for p in kp_detector.parameters())
    print(f"{checkpoint}: loaded by the authors' demo.load_checkpoints (strict): {type(generator).__name__} + "
          f"{type(kp_detector).__name__}, {count} parameters")
    return 0


if __name__ == "__main__":
    sys.exit(main())
