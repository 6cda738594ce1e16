#!/usr/bin/env python3
"""Writes tests/data/golden/lawdnet_dataset.npz: the LawDNet authors' training datasets' items on forced draws.

    TQDM_DISABLE=1 python scripts/make_golden_lawdnet_dataset.py --lawdnet_repo DIR [--lawdnet_commit SHA] [--out D]

DIR: a checkout of iPaw-AI-LAB/LawDNet_2024 (never committed here) holding ``dataset/dataset_DINet_frame.py`` and
``dataset/dataset_DINet_clip.py``, e.g. ``git --git-dir MIRROR archive 76a14bbf dataset | tar -x -C DIR`` (then
give ``--lawdnet_commit``, it is not a git checkout). Both modules are imported as they are; the frame module's three
unused imports (``models.Gaussian_blur``, ``utils.data_processing``, ``tensor_processing``) are stubbed, and each
module's ``random`` (Python's stdlib module) is replaced by a stub replaying this script's draws: ``sample(range(n),
k)`` and ``choice(range(...))`` return the next scripted value (checked to lie in the population), ``shuffle`` of the
name list does nothing (so item i is video ``i % videos``, as in the kit).

Inputs, made here: a tiny training set in the authors' layout written by the kit's own JSON writer
(``lawdnet.prep.training_json.build_training_json``): videos ``a`` (7 clips) and ``b`` (6 clips) of 9 frames, each a
52 x 40 JPEG (OpenCV, quality 95; 832 x 640 / 16) of a formula pattern with seeded noise, dp1 and dp2 rows from a
seeded normal (np.savetxt as the preprocess writes them). Cases: the frame stage at mouth 24 (39 x 30, a non-integer
shrink; item 0 = video a) and 16 (26 x 20; item 3 = video b), and the clip stage at mouth 16 (item 2 = video a), with
draws from ``lawdnet.train.sampling`` on a seeded Generator.

The npz holds: ``jpeg`` (every frame's file bytes, concatenated) with ``jpeg_offsets`` (video, clip, frame) ->
[start, end), ``dp1_<video>`` / ``dp2_<video>`` (clips, 9, 29) float64; per frame case k ``frame<k>_index``,
``_mouth``, ``_draws`` (source_clip, source_frame, 5 reference clips, 5 reference frames), the authors' ``_source``
(3, H, W), ``_references`` (15, H, W), ``_dp1`` and ``_dp2`` (29, 5) float32; per clip case ``clip<k>_index``,
``_mouth``, ``_source_clip``, ``_reference_clips`` / ``_reference_frames`` (5, 5), ``_source`` (5, 3, H, W),
``_references`` (5, 15, H, W), ``_dp1``, ``_dp2`` (5, 29, 5), ``_full`` (29, 9, their float64); ``meta`` (JSON).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import sys
import tempfile
import types
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(Path(__file__).resolve().parent)]
sys.dont_write_bytecode = True                  # leave the authors' checkout clean

from make_golden import authors_commit, write_npz  # noqa: E402

SEED = 20240610
VIDEOS = {"a": 7, "b": 6}
FRAME_HW = (52, 40)
FRAME_CASES = [(0, 24), (3, 16)]             # (item index, mouth size); augment_num 2 -> items a, b, a, b
CLIP_CASES = [(2, 16)]


def make_inputs() -> tuple[dict[tuple[str, int, int], bytes], dict[str, np.ndarray]]:
    """(JPEG bytes per (video, clip, frame), {dp1_<video>|dp2_<video>: (clips, 9, 29) float64})."""
    import cv2

    rng = np.random.default_rng(SEED)
    y, x = np.mgrid[0:FRAME_HW[0], 0:FRAME_HW[1]].astype(np.float64)
    jpegs, feats = {}, {}
    for v, (video, clips) in enumerate(VIDEOS.items()):
        for c in range(clips):
            for f in range(9):
                t = (v * 100 + c * 9 + f) / 7.0
                base = np.stack([128 + 90 * np.sin(x / 6 + t), 128 + 90 * np.cos(y / 9 - t), 64 + 3 * (x + y)], -1)
                image = np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)
                ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])
                assert ok
                jpegs[(video, c, f)] = buf.tobytes()
        for kind in ("dp1", "dp2"):
            feats[f"{kind}_{video}"] = rng.normal(0, 1, (clips, 9, 29))
    return jpegs, feats


def write_layout(root: Path, jpegs: dict[tuple[str, int, int], bytes], feats: dict[str, np.ndarray]) -> Path:
    """The authors' layout under ``root`` (crops, feature files, step markers) and its training JSON."""
    from lawdnet.prep import layout
    from lawdnet.prep.training_json import build_training_json

    videos = sorted({v for v, _, _ in jpegs})
    for (video, clip, frame), data in jpegs.items():
        path = root / layout.CROPS / video / f"{clip:06d}" / layout.frame_name(clip * 9 + frame)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    for video in videos:
        rows = {kind: feats[f"{kind}_{video}"].reshape(-1, 29) for kind in ("dp1", "dp2")}
        for step, record in (("frames", {"frames": len(rows["dp1"])}), ("crops", {}), ("dp1", {}), ("dp2", {})):
            (root / ".done" / step).mkdir(parents=True, exist_ok=True)
            (root / ".done" / step / f"{video}.json").write_text(json.dumps(record))
        for kind, values in rows.items():
            layout.feature_path(root, kind, video).parent.mkdir(parents=True, exist_ok=True)
            np.savetxt(layout.feature_path(root, kind, video), values)
    summary = build_training_json(root, videos, path_root=str(root))
    assert summary["videos"] == len(videos) and not summary["left_out"], summary
    return Path(summary["path"])


class ForcedRandom:
    """Stands in for ``random`` inside the authors' dataset modules, replaying given draws in call order."""

    def __init__(self, draws: list):
        self.draws = list(draws)

    def sample(self, population, k):
        value = self.draws.pop(0)
        assert len(value) == k and len(set(value)) == k and all(v in population for v in value), (value, k)
        return list(value)

    def choice(self, seq):
        value = self.draws.pop(0)
        assert value in seq, (value, seq)
        return value

    def shuffle(self, items) -> None:
        pass

    def check_used(self) -> None:
        assert not self.draws, f"draws left over: {self.draws}"


def load_authors(repo: Path) -> tuple[types.ModuleType, types.ModuleType]:
    stubs = {"models": {}, "models.Gaussian_blur": {"Gaussian_bluring": object},
             "utils": {}, "utils.data_processing": {"load_landmark_openface_origin": None},
             "tensor_processing": {"SmoothMask": object}}
    for name, attrs in stubs.items():
        module = sys.modules.setdefault(name, types.ModuleType(name))
        for key, value in attrs.items():
            setattr(module, key, value)
    loaded = []
    for stage in ("frame", "clip"):
        spec = importlib.util.spec_from_file_location(f"lawdnet_authors_dataset_{stage}",
                                                      repo / "dataset" / f"dataset_DINet_{stage}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        loaded.append(module)
    return loaded[0], loaded[1]


def authors_item(module, json_path: Path, mouth: int, index: int, draws: list):
    stub = ForcedRandom(draws)
    module.random = stub
    out = module.DINetDataset(str(json_path), 2, mouth)[index]
    stub.check_used()
    assert float(out[-1]) == 1.0, "the authors' dataset gave a zero sample"
    return [t.numpy() for t in out[:-1]]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lawdnet_repo", type=Path, required=True, help="checkout of iPaw-AI-LAB/LawDNet_2024")
    p.add_argument("--lawdnet_commit", help="its commit, when it is not a git checkout")
    p.add_argument("--out", type=Path, default=REPO / "tests" / "data" / "golden")
    args = p.parse_args(argv)
    import cv2
    import torch

    from lawdnet.train.sampling import draw_clip, draw_frame

    commit = authors_commit(args.lawdnet_repo, args.lawdnet_commit)
    frame_mod, clip_mod = load_authors(args.lawdnet_repo)
    jpegs, feats = make_inputs()
    keys = sorted(jpegs)
    offsets = np.cumsum([0] + [len(jpegs[k]) for k in keys])
    arrays = {"jpeg": np.frombuffer(b"".join(jpegs[k] for k in keys), np.uint8),
              "jpeg_offsets": np.array([[list(VIDEOS).index(v), c, f, offsets[i], offsets[i + 1]]
                                        for i, (v, c, f) in enumerate(keys)], np.int64), **feats}
    rng = np.random.default_rng(SEED + 1)
    names = list(VIDEOS)
    with tempfile.TemporaryDirectory() as tmp:
        json_path = write_layout(Path(tmp), jpegs, feats)
        for k, (index, mouth) in enumerate(FRAME_CASES):
            d = draw_frame(rng, VIDEOS[names[index % len(names)]])
            script = [[d.source_clip, *d.reference_clips], d.source_frame, *d.reference_frames]
            source, refs, dp1, dp2 = authors_item(frame_mod, json_path, mouth, index, script)
            arrays.update({f"frame{k}_index": np.int64(index), f"frame{k}_mouth": np.int64(mouth),
                           f"frame{k}_draws": np.array([d.source_clip, d.source_frame, *d.reference_clips,
                                                        *d.reference_frames], np.int64),
                           f"frame{k}_source": source, f"frame{k}_references": refs,
                           f"frame{k}_dp1": dp1, f"frame{k}_dp2": dp2})
        for k, (index, mouth) in enumerate(CLIP_CASES):
            d = draw_clip(rng, VIDEOS[names[index % len(names)]])
            script = [[d.source_clip]]
            for anchors, frames in zip(d.reference_clips, d.reference_frames, strict=True):
                script += [list(anchors), *([f] for f in frames)]
            source, refs, dp1, dp2, full = authors_item(clip_mod, json_path, mouth, index, script)
            arrays.update({f"clip{k}_index": np.int64(index), f"clip{k}_mouth": np.int64(mouth),
                           f"clip{k}_source_clip": np.int64(d.source_clip),
                           f"clip{k}_reference_clips": np.array(d.reference_clips, np.int64),
                           f"clip{k}_reference_frames": np.array(d.reference_frames, np.int64),
                           f"clip{k}_source": source, f"clip{k}_references": refs, f"clip{k}_dp1": dp1,
                           f"clip{k}_dp2": dp2, f"clip{k}_full": full})
    meta = {"repository": "iPaw-AI-LAB/LawDNet_2024", **commit,
            "ran": "dataset/dataset_DINet_frame.py and dataset_DINet_clip.py DINetDataset(json, 2, mouth)[index]",
            "stubbed": "models.Gaussian_blur, utils.data_processing, tensor_processing (unused imports); each "
                       "module's random (draws forced, shuffle a no-op)",
            "python": platform.python_version(), "numpy": np.__version__, "opencv": cv2.__version__,
            "torch": torch.__version__,
            "command": "TQDM_DISABLE=1 python scripts/make_golden_lawdnet_dataset.py --lawdnet_repo <LAWDNET_REPO>"}
    arrays["meta"] = np.array(json.dumps(meta, sort_keys=True))
    args.out.mkdir(parents=True, exist_ok=True)
    write_npz(args.out / "lawdnet_dataset.npz", arrays)
    size = (args.out / "lawdnet_dataset.npz").stat().st_size
    print(f"wrote {args.out / 'lawdnet_dataset.npz'} ({len(FRAME_CASES)} frame, {len(CLIP_CASES)} clip cases, "
          f"{size / 1000:.0f} kB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
