#!/usr/bin/env python3
"""Writes tests/data/golden/: the DaGAN and syncnet_python authors' outputs on formula weights and kit-made inputs.

    python scripts/make_golden.py --dagan_repo DIR --syncnet_repo DIR [--out tests/data/golden] [--only dagan|syncnet]

DIR: checkouts of harlanhong/CVPR2022-DaGAN and joonson/syncnet_python (never committed here), e.g. git worktrees;
their commit is read with git (or given with --dagan_commit / --syncnet_commit). The weights are the formula of
tests/golden_weights.py written in the authors' formats by the kit's savers and loaded by the authors' own loaders.
Outputs: ``dagan.npz`` / ``syncnet.npz`` (arrays; a zip with fixed dates and no compression, so the bytes are
reproducible), ``dagan.json`` / ``syncnet.json`` (provenance, inputs, scalars, sanity checks; sorted keys, no
timestamps), ``syncnet_clip.avi`` (the scored clip). tests/data/golden/README.md says how each file was made.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import platform
import subprocess
import sys
import tempfile
import wave
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests"), str(Path(__file__).resolve().parent)]
sys.dont_write_bytecode = True                  # leave the authors' checkouts clean

import golden_authors_dagan  # noqa: E402
import golden_authors_syncnet  # noqa: E402
import golden_weights  # noqa: E402
import numpy as np  # noqa: E402

from talkingface.errors import KitError, cli_main  # noqa: E402
from talkingface.fsutil import write_bytes_atomic  # noqa: E402

DAGAN_INPUTS = {"source": {"image": "skimage.data.astronaut()", "rows": [0, 400], "cols": [24, 424]},
                "driving": {"renderer": "talkingface.sample.render_frame(astronaut(), t, Motion(), openness)",
                            "times_s": [0.0, 0.76, 2.0], "openness": "talkingface.sample.mouth_openness of "
                            "talkingface/data/sample_speech.wav over 51 frames, at frame round(25 t)",
                            "resize": "cv2.resize to 128x128, INTER_AREA (the demo's skimage resize brings it to 256)"}}
# generated frames kept per mode (driving frame indices; frame 0 is the relative anchor) and the pixel grid kept of
# each (stride 4): four generator passes in the kit test, two of them in one batch
DAGAN_KEEP = {"relative_adapt": [1, 2], "relative": [2], "absolute": [1]}
GRID_STEP, DEPTH_STEP = 4, 2
# sanity floors: the formula weights must make depth, keypoints, motion and the modes matter
CHECK_MIN = {"depth_source_std": 0.01, "kp_source_spread_min_std": 0.15, "kp_driving_motion_mean": 0.01,
             "adapt_movement_scale_minus_1": 0.05, "relative_vs_absolute_mean_abs": 0.01,
             "relative_vs_adapt_mean_abs": 0.005, "frames_1_vs_2_mean_abs": 0.01, "generated_min_std": 0.05}
CLIP = {"frames": 40, "start_s": 0.5, "size": 224, "fps": 25,
        "recipe": "talkingface.sample.render_frame(astronaut(), start + i/25, Motion(), openness[i]) with openness "
                  "= mouth_openness of sample_speech.wav[start:], cv2.resize to 224 (INTER_AREA); the kit's pinned "
                  "ffmpeg encodes them (H.264 crf 18, no B-frames, yuv420p limited range BT.601) with the same "
                  "speech stretch as pcm_s16le 16 kHz mono into AVI: make_golden.clip_command has the arguments. "
                  "PCM, so that no AAC decoder stands between the file and the MFCCs"}


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """np.load-able .npz whose bytes depend only on the arrays: sorted members, fixed dates, stored (no deflate)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for name in sorted(arrays):
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(arrays[name]), version=(1, 0), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.create_system, info.external_attr = 3, 0o644 << 16
            zf.writestr(info, member.getvalue())
    write_bytes_atomic(path, buf.getvalue())


def write_json(path: Path, doc: dict) -> None:
    write_bytes_atomic(path, (json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode())


def sha256(data: bytes | Path) -> str:
    return hashlib.sha256(data.read_bytes() if isinstance(data, Path) else data).hexdigest()


def authors_commit(repo: Path, given: str | None) -> dict:
    if given:
        return {"commit": given, "commit_from": "--*_commit argument"}
    try:
        commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as exc:
        raise KitError(f"{repo}: not a git checkout; give its commit with --dagan_commit / --syncnet_commit") from exc
    if dirty:
        raise KitError(f"{repo}: the authors' code is modified ({dirty.splitlines()[0]} ...); use a clean checkout")
    return {"commit": commit, "commit_from": "git rev-parse HEAD (clean work tree)"}


def environment() -> dict:
    from importlib.metadata import version

    import cv2
    import scipy
    import skimage
    import torch
    import torchvision
    import yaml

    from talkingface.media import ffmpeg_version

    return {"python": platform.python_version(), "torch": torch.__version__, "torchvision": torchvision.__version__,
            "numpy": np.__version__, "scipy": scipy.__version__, "skimage": skimage.__version__,
            "opencv": cv2.__version__, "pyyaml": yaml.__version__, "ffmpeg": ffmpeg_version(),
            "python_speech_features": version("python_speech_features"),
            "torch_threads": torch.get_num_threads()}


def dagan_inputs() -> tuple[np.ndarray, np.ndarray]:
    """(source 400x400x3, driving 3x128x128x3) uint8, made as DAGAN_INPUTS says (the demo resizes both to 256)."""
    import cv2
    from skimage.data import astronaut

    from talkingface import sample

    photo = astronaut()
    (r0, r1), (c0, c1) = DAGAN_INPUTS["source"]["rows"], DAGAN_INPUTS["source"]["cols"]
    speech, rate = sample._read_speech()
    openness = sample.mouth_openness(speech, rate, 51)
    driving = [cv2.resize(sample.render_frame(photo, t, sample.Motion(), openness[round(25 * t)]), (128, 128),
                          interpolation=cv2.INTER_AREA) for t in DAGAN_INPUTS["driving"]["times_s"]]
    return np.ascontiguousarray(photo[r0:r1, c0:c1]), np.stack(driving)


def grid(j: int, step: int) -> list[int]:
    """[row offset, column offset, step] of the pixels kept of the j-th stored map."""
    return [j % step, (3 * j + 1) % step, step]


def make_dagan(repo: Path, commit: str | None, out: Path, meta: dict, work: Path) -> None:
    source, driving = dagan_inputs()
    files, digest = golden_weights.write_dagan_files(work)
    res = golden_authors_dagan.run(repo, files, source, driving)
    arrays = {"driving_frames": driving, "kp_source_value": res["kp_source_value"],
              "kp_source_jacobian": res["kp_source_jacobian"], "kp_driving_value": res["kp_driving_value"],
              "kp_driving_jacobian": res["kp_driving_jacobian"]}
    grids, means = {}, {}
    depths = (("depth_source", res["depth_source"]), ("depth_driving1", res["depth_driving"][1]))
    for j, (name, full) in enumerate(depths):
        r, c, s = grids[name] = grid(j, DEPTH_STEP)
        arrays[name], means[name] = full[r::s, c::s], float(full.astype(np.float64).mean())
    j = 0
    for mode, keep in DAGAN_KEEP.items():
        for i in keep:
            name, full = f"generated_{mode}_{i}", res[f"generated_{mode}"][i]
            r, c, s = grids[name] = grid(j, GRID_STEP)
            arrays[name] = full[r::s, c::s]
            means[name] = [float(x) for x in full.astype(np.float64).mean(axis=(0, 1))]
            j += 1
    gen = {m: res[f"generated_{m}"] for m in DAGAN_KEEP}
    kp_s, kp_d = res["kp_source_value"], res["kp_driving_value"]
    checks = {"depth_source_std": float(res["depth_source"].std()),
              "kp_source_spread_min_std": float(kp_s.std(axis=0).min()),
              "kp_driving_motion_mean": float(np.abs(kp_d[1:] - kp_d[:1]).mean()),
              "adapt_movement_scale_minus_1": float(abs(res["adapt_movement_scale"] - 1.0)),
              "relative_vs_absolute_mean_abs": float(np.abs(gen["relative"][2] - gen["absolute"][2]).mean()),
              "relative_vs_adapt_mean_abs": float(np.abs(gen["relative"][2] - gen["relative_adapt"][2]).mean()),
              "frames_1_vs_2_mean_abs": float(np.abs(gen["relative_adapt"][1] - gen["relative_adapt"][2]).mean()),
              "generated_min_std": float(min(g.std() for g in gen.values()))}
    low = {k: v for k, v in checks.items() if v < CHECK_MIN[k]}
    if low:
        raise KitError(f"the formula weights make a near-trivial DaGAN output: {low} below {CHECK_MIN}")
    write_npz(out / "dagan.npz", arrays)
    write_json(out / "dagan.json", {
        **meta, "authors": {"repository": "harlanhong/CVPR2022-DaGAN", **authors_commit(repo, commit),
                            "files": golden_authors_dagan.AUTHORS_FILES, "stubs": golden_authors_dagan.STUBS},
        "weights": {"formula": golden_weights.RULES, "state_sha256": digest,
                    "networks": "vox-adv-256, kp_num 15, DepthAwareGenerator, KP detector on RGB-D, ResNet-18 depth",
                    "written_by": "tests/golden_weights.write_dagan_files (dagan.checkpoint savers)"},
        "inputs": {**DAGAN_INPUTS, "source_sha256": sha256(source.tobytes()),
                   "driving_sha256": sha256(driving.tobytes())},
        "modes": {m: dict(zip(("relative", "adapt_scale"), golden_authors_dagan.MODES[m], strict=True))
                  for m in DAGAN_KEEP},
        "kept": DAGAN_KEEP, "grids": grids, "full_means": means,
        "adapt_movement_scale": float(res["adapt_movement_scale"]), "checks": checks, "check_min": CHECK_MIN})
    print(f"dagan: {len(arrays)} arrays; checks {json.dumps(checks)}")



def clip_command(audio: Path, out: Path) -> list[str]:
    """ffmpeg arguments (after the binary) encoding raw RGB frames from stdin with ``audio`` into ``out``: written out
    here rather than taken from the kit's VideoWriter, so that the clip does not change when the writer's defaults do;
    bit-exact flags, one encoder thread and no B-frames (AVI cannot carry their reordering) for reproducible bytes."""
    size, fps = CLIP["size"], CLIP["fps"]
    return ["-hide_banner", "-nostdin", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
            "-s", f"{size}x{size}", "-framerate", str(fps), "-i", "-", "-i", str(audio),
            "-map", "0:v:0", "-map", "1:a:0", "-c:v", "libx264", "-preset", "medium", "-crf", "18", "-bf", "0",
            "-threads", "1", "-pix_fmt", "yuv420p", "-sws_flags", "bicubic+accurate_rnd+bitexact",
            "-colorspace", "smpte170m", "-color_primaries", "smpte170m", "-color_trc", "smpte170m",
            "-color_range", "tv", "-c:a", "pcm_s16le", "-fflags", "+bitexact", "-flags:v", "+bitexact",
            "-flags:a", "+bitexact", str(out)]


def make_clip(path: Path, work: Path) -> Path:
    """The SyncNet input clip, as CLIP says."""
    import cv2
    from skimage.data import astronaut

    from talkingface import sample
    from talkingface.media import ffmpeg_exe

    n, fps, size = CLIP["frames"], CLIP["fps"], CLIP["size"]
    speech, rate = sample._read_speech()
    start = round(CLIP["start_s"] * rate)
    stretch = speech[start:start + n * rate // fps]
    openness = sample.mouth_openness(stretch, rate, n)
    photo = astronaut()
    frames = np.stack([cv2.resize(sample.render_frame(photo, CLIP["start_s"] + i / fps, sample.Motion(), openness[i]),
                                  (size, size), interpolation=cv2.INTER_AREA) for i in range(n)])
    wav, tmp = work / "clip_speech.wav", work / "clip_encoding.avi"
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(stretch.astype("<i2").tobytes())
    proc = subprocess.run([ffmpeg_exe(), *clip_command(wav, tmp)], input=frames.tobytes(), capture_output=True,
                          check=False)
    if proc.returncode != 0:
        raise KitError(f"golden clip: ffmpeg failed: {proc.stderr.decode(errors='replace').strip()[-300:]}")
    write_bytes_atomic(path, tmp.read_bytes())
    return path


def make_syncnet(repo: Path, commit: str | None, out: Path, meta: dict, work: Path) -> None:
    from talkingface.media import ffmpeg_exe

    clip = make_clip(work / "syncnet_clip.avi", work)
    weights, digest = golden_weights.write_syncnet_file(work / "syncnet_v2.model")
    res = golden_authors_syncnet.run(repo, weights, clip, ffmpeg_exe())
    write_bytes_atomic(out / clip.name, clip.read_bytes())
    write_npz(out / "syncnet.npz", {"dists": res["dists"], "mdist": res["mdist"].astype(np.float32)})
    write_json(out / "syncnet.json", {
        **meta, "authors": {"repository": "joonson/syncnet_python", **authors_commit(repo, commit),
                            "files": golden_authors_syncnet.AUTHORS_FILES, "stubs": golden_authors_syncnet.STUBS,
                            "opt": golden_authors_syncnet.OPT},
        "weights": {"formula": golden_weights.RULES, "state_sha256": digest,
                    "written_by": "tests/golden_weights.write_syncnet_file (syncnet.save_syncnet: syncnet_v2.model "
                                  "format, no num_batches_tracked)"},
        "clip": {**CLIP, "file": clip.name, "sha256": sha256(clip),
                 "ffmpeg_args": clip_command(Path("<speech stretch>.wav"), Path(clip.name))},
        "offset": res["offset"], "lse_d": res["lse_d"], "lse_c": res["lse_c"], "windows": len(res["dists"]),
        "mdist": [float(x) for x in res["mdist"]], "mdist_ptp": float(np.ptp(res["mdist"]))})
    print(f"syncnet: offset {res['offset']}, LSE-D {res['lse_d']:.6f}, LSE-C {res['lse_c']:.6f}, "
          f"{len(res['dists'])} windows")


@cli_main
def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dagan_repo", type=Path, help="checkout of harlanhong/CVPR2022-DaGAN")
    p.add_argument("--syncnet_repo", type=Path, help="checkout of joonson/syncnet_python")
    p.add_argument("--dagan_commit", help="its commit, when the folder is not a git checkout")
    p.add_argument("--syncnet_commit", help="its commit, when the folder is not a git checkout")
    p.add_argument("--out", type=Path, default=REPO / "tests" / "data" / "golden", help="output folder")
    p.add_argument("--only", choices=("dagan", "syncnet"), help="make one of the two goldens")
    args = p.parse_args(argv)
    wanted = [args.only] if args.only else ["dagan", "syncnet"]
    for name in wanted:
        repo = getattr(args, f"{name}_repo")
        if repo is None or not repo.is_dir():
            raise KitError(f"--{name}_repo: give a checkout of the authors' repository (got {repo})")
    command = ["python", "scripts/make_golden.py"]
    for name in wanted:
        command += [f"--{name}_repo", f"<{name.upper()}_REPO>"]
    command += ["--only", args.only] if args.only else []
    meta = {"command": " ".join(command), "environment": environment(),
            "made_by": "scripts/make_golden.py (+ golden_authors_dagan.py, golden_authors_syncnet.py)"}
    with tempfile.TemporaryDirectory(prefix="make_golden_") as tmp:
        if "dagan" in wanted:
            make_dagan(args.dagan_repo, args.dagan_commit, args.out, meta, Path(tmp))
        if "syncnet" in wanted:
            make_syncnet(args.syncnet_repo, args.syncnet_commit, args.out, meta, Path(tmp))
    for path in sorted(args.out.iterdir()):
        if path.suffix in (".npz", ".json", ".avi"):
            print(f"{sha256(path)}  {path.stat().st_size:>8}  {path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
