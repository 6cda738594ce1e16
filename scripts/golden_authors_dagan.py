"""Runs the DaGAN authors' own code (a checkout of harlanhong/CVPR2022-DaGAN) on formula weights, for make_golden.py.

Their ``demo.py`` is imported as a module (its ``__main__`` block does not run): ``load_checkpoints`` loads the
generator and keypoint detector, the depth network is loaded by the lines of that ``__main__`` block (repeated here,
reading our files instead of ``depth/models/weights_19``), and ``make_animation`` animates. Depth maps and keypoints
are computed with their modules exactly as ``make_animation`` computes them internally. What had to be stubbed is in
``STUBS`` (nothing of the computation: only imports that cannot load here and demo.py's CLI globals).
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
import types
from pathlib import Path

import numpy as np

STUBS = [
    "matplotlib: demo.py runs `import matplotlib; matplotlib.use('Agg')` and matplotlib is not in the kit's venv; "
    "a module whose use() does nothing (nothing is plotted on this path)",
    "frames_dataset, logger: imported by animate.py (which demo.py imports for normalize_kp) for its training/"
    "animation loop only; they need sklearn, pandas and matplotlib.pyplot. Empty modules with the names "
    "PairedDataset, Logger, Visualizer (never called)",
    "demo.yaml.load(f) -> yaml.load(f, Loader=yaml.FullLoader): PyYAML >= 6 requires a Loader; under the "
    "authors' pinned PyYAML 5.4.1 a bare load() is FullLoader",
    "demo.opt = Namespace(kp_num=15, generator='DepthAwareGenerator'): the CLI arguments load_checkpoints reads "
    "(README command: --kp_num 15 --generator DepthAwareGenerator)",
    "demo.depth_encoder / demo.depth_decoder: set as demo.py's __main__ block sets them (ResnetEncoder(18, False), "
    "DepthDecoder(num_ch_enc, range(4)), encoder dict filtered to the model's keys, eval())",
]
AUTHORS_FILES = ["demo.py", "animate.py", "config/vox-adv-256.yaml", "modules/generator.py",
                 "modules/keypoint_detector.py", "modules/dense_motion.py", "modules/util.py",
                 "depth/resnet_encoder.py", "depth/depth_decoder.py", "depth/layers.py", "sync_batchnorm/"]
MODES = {"relative_adapt": (True, True), "relative": (True, False), "absolute": (False, False)}


def _stub_modules() -> None:
    import yaml  # noqa: F401 — demo.py's own import, checked here

    def module(name: str, **attrs) -> types.ModuleType:
        m = types.ModuleType(name)
        m.__dict__.update(attrs)
        m.__file__ = f"<stub {name}: see golden_authors_dagan.STUBS>"
        return m

    sys.modules.setdefault("matplotlib", module("matplotlib", use=lambda *a, **k: None))
    sys.modules["frames_dataset"] = module("frames_dataset", PairedDataset=None)
    sys.modules["logger"] = module("logger", Logger=None, Visualizer=None)


@contextlib.contextmanager
def _in_repo(repo: Path):
    """The authors' repository first on sys.path and as the working directory (demo.py's relative paths)."""
    old_cwd, old_path = os.getcwd(), list(sys.path)
    sys.path.insert(0, str(repo))
    os.chdir(repo)
    try:
        yield
    finally:
        os.chdir(old_cwd)
        sys.path[:] = old_path


def load_authors(repo: Path, files: dict[str, Path]):
    """(demo module, generator, kp_detector, depth_encoder, depth_decoder) loaded by the authors' code."""
    import torch
    import yaml

    _stub_modules()
    import demo  # the authors' demo.py
    import depth

    class _Yaml:                                  # see STUBS
        @staticmethod
        def load(f):
            return yaml.load(f, Loader=yaml.FullLoader)

    demo.yaml = _Yaml
    demo.opt = argparse.Namespace(kp_num=15, generator="DepthAwareGenerator")
    # demo.py's __main__ block, with our file names
    depth_encoder = depth.ResnetEncoder(18, False)
    depth_decoder = depth.DepthDecoder(num_ch_enc=depth_encoder.num_ch_enc, scales=range(4))
    loaded_dict_enc = torch.load(str(files["depth_encoder"]))
    loaded_dict_dec = torch.load(str(files["depth_decoder"]))
    filtered_dict_enc = {k: v for k, v in loaded_dict_enc.items() if k in depth_encoder.state_dict()}
    depth_encoder.load_state_dict(filtered_dict_enc)
    depth_decoder.load_state_dict(loaded_dict_dec)
    depth_encoder.eval()
    depth_decoder.eval()
    demo.depth_encoder, demo.depth_decoder = depth_encoder, depth_decoder
    generator, kp_detector = demo.load_checkpoints(config_path="config/vox-adv-256.yaml",
                                                   checkpoint_path=str(files["checkpoint"]), cpu=True)
    return demo, generator, kp_detector, depth_encoder, depth_decoder


def run(repo: Path, files: dict[str, Path], source: np.ndarray, driving: np.ndarray) -> dict[str, np.ndarray]:
    """Everything the golden holds, from the authors' code: depth (disp 0) and keypoints of the source and of every
    driving frame, and the generated frames of every mode in ``MODES`` (float32)."""
    import torch
    from skimage.transform import resize

    repo = Path(repo).resolve()
    files = {k: Path(v).resolve() for k, v in files.items()}
    with _in_repo(repo), torch.no_grad():
        demo, generator, kp_detector, depth_encoder, depth_decoder = load_authors(repo, files)
        # demo.py's __main__: imageio.imread / get_reader frames, then resize(x, (256, 256))[..., :3]
        source_image = resize(source, (256, 256))[..., :3]
        driving_video = [resize(frame, (256, 256))[..., :3] for frame in driving]
        out: dict[str, np.ndarray] = {}
        # as make_animation computes them (its first lines, then per frame)
        src = torch.tensor(source_image[np.newaxis].astype(np.float32)).permute(0, 3, 1, 2)
        drv = torch.tensor(np.array(driving_video)[np.newaxis].astype(np.float32)).permute(0, 4, 1, 2, 3)
        depth_source = depth_decoder(depth_encoder(src))[("disp", 0)]
        kp_source = kp_detector(torch.cat((src, depth_source), 1))
        depths, kps = [], []
        for i in range(drv.shape[2]):
            frame = drv[:, :, i]
            depth_map = depth_decoder(depth_encoder(frame))[("disp", 0)]
            depths.append(depth_map)
            kps.append(kp_detector(torch.cat((frame, depth_map), 1)))
        out["depth_source"] = depth_source[0, 0].numpy()
        out["depth_driving"] = torch.cat(depths)[:, 0].numpy()
        out["kp_source_value"] = kp_source["value"][0].numpy()
        out["kp_source_jacobian"] = kp_source["jacobian"][0].numpy()
        out["kp_driving_value"] = torch.cat([k["value"] for k in kps]).numpy()
        out["kp_driving_jacobian"] = torch.cat([k["jacobian"] for k in kps]).numpy()
        from scipy.spatial import ConvexHull  # normalize_kp's adapt_movement_scale, for the record
        out["adapt_movement_scale"] = np.array(
            np.sqrt(ConvexHull(out["kp_source_value"]).volume) / np.sqrt(ConvexHull(out["kp_driving_value"][0]).volume))
        for mode, (relative, adapt) in MODES.items():
            _, _, predictions, _ = demo.make_animation(source_image, driving_video, generator, kp_detector,
                                                       relative=relative, adapt_movement_scale=adapt, cpu=True)
            out[f"generated_{mode}"] = np.stack(predictions).astype(np.float32)
    return {k: np.asarray(v, dtype=np.float64 if v.ndim == 0 else np.float32) for k, v in out.items()}
