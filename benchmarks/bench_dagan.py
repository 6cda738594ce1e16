"""DaGAN animation speed: our streaming, batched pipeline vs the authors' demo loop, same weights, same input.

    python benchmarks/bench_dagan.py                       # CPU, 16 frames at 256x256, full vox-adv-256 size
    python benchmarks/bench_dagan.py --device cuda --fp16  # GPU (fp16 autocast for ours; the authors' loop is fp32)

The authors' way (``demo.py`` ``make_animation``), written here with the kit's networks: the whole driving video
resized in memory first, then one frame at a time: depth of the frame, keypoints, ``normalize_kp``, and the
generator's full forward pass — which encodes the source image again for every frame and also returns the warped
source, mask and occlusion maps — plus the demo's per-frame copies (source, driving, depth preview). Its source
depth and source keypoints are computed once, as in demo.py.

Ours (``dagan.pipeline.animate_frames``): the source's depth, keypoints and encoder features once; driving frames
resized on a background thread and sent through the networks ``--batch_size`` at a time; only the prediction.

Both run on the same randomly initialised full-size weights (vox-adv-256, kp_num 15; speed does not depend on the
values) and the same frames; the outputs must agree (max abs diff <= 1e-4 in float32, TF32 off; with --fp16 the
mean abs diff must stay <= 1e-2). The floor: the same networks on driving frames resized into tensors beforehand
(the source's work done once), batch as ours — what no implementation can skip. The three run interleaved over
--rounds rounds; medians, ranges, the ratios and the load average are printed. ``--batch_sizes 1 2 4 8`` also times
ours at each batch size (interleaved) and names the fastest on this device.
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402

from dagan import pipeline, random_weights  # noqa: E402
from dagan.model import normalize_kp, resize_frame  # noqa: E402
from talkingface.device import resolve_device  # noqa: E402


def synthetic_frames(count: int, size: int, seed: int = 0) -> np.ndarray:
    """Smooth moving colour blobs, (count, size, size, 3) uint8."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    centres, phases = rng.random((3, 2)), rng.random(3) * 6.28
    out = np.empty((count, size, size, 3), np.uint8)
    for i in range(count):
        t = i / 25
        channels = []
        for c in range(3):
            cx, cy = centres[c] + 0.1 * np.array([np.sin(t * 3 + phases[c]), np.cos(t * 2 + phases[c])])
            channels.append(255 * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) * 8))
        out[i] = np.stack(channels, -1).astype(np.uint8)
    return out


def authors_loop(model, source: np.ndarray, driving: np.ndarray, relative=True, adapt_scale=True) -> np.ndarray:
    """demo.py's make_animation with the kit's networks (see the module docstring)."""
    dev = model.device
    source_image = resize_frame(source)
    driving_video = [resize_frame(f) for f in driving]
    sources, drivings, predictions, depth_gray = [], [], [], []
    with torch.no_grad():
        src = torch.tensor(source_image[np.newaxis]).permute(0, 3, 1, 2).to(dev)
        drv = torch.tensor(np.array(driving_video)[np.newaxis]).permute(0, 4, 1, 2, 3).to(dev)
        depth_source = model.depth_decoder(model.depth_encoder(src))
        depth_first = model.depth_decoder(model.depth_encoder(drv[:, :, 0]))
        kp_source = model.kp_detector(torch.cat((src, depth_source), 1))
        kp_driving_initial = model.kp_detector(torch.cat((drv[:, :, 0], depth_first), 1))
        for frame_idx in range(drv.shape[2]):
            driving_frame = drv[:, :, frame_idx]
            depth_map = model.depth_decoder(model.depth_encoder(driving_frame))
            gray = np.transpose(depth_map.data.cpu().numpy(), [0, 2, 3, 1])[0]
            depth_gray.append(1 - gray / np.max(gray))
            kp_driving = model.kp_detector(torch.cat((driving_frame, depth_map), 1))
            kp_norm = normalize_kp(kp_source=kp_source, kp_driving=kp_driving, kp_driving_initial=kp_driving_initial,
                                   use_relative_movement=relative, use_relative_jacobian=relative,
                                   adapt_movement_scale=adapt_scale)
            out = model.generator(src, kp_source=kp_source, kp_driving=kp_norm, source_depth=depth_source,
                                  driving_depth=depth_map)
            drivings.append(np.transpose(driving_frame.data.cpu().numpy(), [0, 2, 3, 1])[0])
            sources.append(np.transpose(src.data.cpu().numpy(), [0, 2, 3, 1])[0])
            predictions.append(np.transpose(out["prediction"].data.cpu().numpy(), [0, 2, 3, 1])[0])
    return np.stack(predictions)


def ours(model, source: np.ndarray, driving: np.ndarray, batch_size: int, relative=True,
         adapt_scale=True) -> np.ndarray:
    src = model.prepare_source(source)
    init = model.driving_keypoints(driving[0]) if relative else None
    chunks = (driving[i:i + batch_size] for i in range(0, len(driving), batch_size))
    return np.concatenate(list(pipeline.animate_frames(model, src, chunks, init, relative, adapt_scale)))


def floor_inputs(model, source: np.ndarray, driving: np.ndarray, batch_size: int, relative=True):
    """What the networks need, prepared beforehand: the source's work, the driving keypoints of the anchor frame,
    and the driving frames resized into (batch, 3, 256, 256) tensors on the device."""
    src = model.prepare_source(source)
    init = model.driving_keypoints(driving[0]) if relative else None
    return src, init, [model.preprocess(driving[i:i + batch_size]) for i in range(0, len(driving), batch_size)]


def floor(model, inputs, relative=True, adapt_scale=True) -> None:
    """The floor: the networks alone (depth, keypoints, generator per batch) on pre-loaded tensors."""
    src, init, batches = inputs
    for batch in batches:
        model.animate_tensor(src, batch, init, relative=relative, adapt_scale=adapt_scale)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    p.add_argument("--fp16", action="store_true", help="float16 autocast for ours (CUDA only)")
    p.add_argument("--frames", type=int, default=16, help="driving frames (default 16)")
    p.add_argument("--size", type=int, default=256, help="side of the synthetic input frames (default 256)")
    p.add_argument("--batch_size", type=int,
                   help="ours: frames per network call (default: 32 on GPU, 2 on CPU, as measured)")
    p.add_argument("--batch_sizes", type=int, nargs="+",
                   help="also time ours (end to end) at each of these batch sizes, interleaved, to choose one")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds; medians are printed (default 3)")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--tiny", action="store_true", help="the tiny test model instead of the full vox-adv-256 size")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", help="also write the result record (benchmarks/benchlib.py) to this file")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(resolve_device(args.device))
    if not args.fp16:        # exact float32 on both sides for the parity check
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    model = random_weights.random_model(args.seed, tiny=args.tiny, device=str(device), fp16=args.fp16,
                                        batch_size=args.batch_size)
    # the authors' loop: their fp32 NCHW networks (ours may be fp16 or channels-last)
    fp32_model = random_weights.random_model(args.seed, tiny=args.tiny, device=str(device), channels_last=False)
    batch = model.batch_size
    source = synthetic_frames(1, args.size, args.seed + 1)[0]
    driving = synthetic_frames(args.frames, args.size, args.seed)

    authors_loop(fp32_model, source, driving[:1])                # warm-up (allocator, cuDNN autotuning)
    ours(model, source, driving[:batch], batch)
    inputs = floor_inputs(model, source, driving, batch)
    load_before = benchlib.load_average()
    times, results = benchlib.interleaved({"authors": lambda: authors_loop(fp32_model, source, driving),
                                           "ours": lambda: ours(model, source, driving, batch),
                                           "floor": lambda: floor(model, inputs)}, args.rounds, device)
    diff = np.abs(results["authors"] - results["ours"])
    n = args.frames
    name = "tiny test model" if args.tiny else "vox-adv-256 (full size)"
    precision = "fp16 autocast" if model.fp16 else "fp32"
    print(f"device {benchlib.describe_device(device)}, torch {torch.__version__}; {name}, random weights "
          f"(seed {args.seed}); {args.rounds} interleaved rounds, medians")
    print(f"{n} driving frames {args.size}x{args.size} -> 256x256, relative + adapt_scale; authors' loop: demo.py, "
          f"fp32, 1 frame/call; ours: streaming, batch {batch}, {precision}; floor: networks on pre-loaded tensors")
    extra = {}
    if args.batch_sizes:
        sweep = {f"batch {b}": (lambda b=b: ours_at(model, source, driving, b)) for b in args.batch_sizes}
        sweep_times, _ = benchlib.interleaved(sweep, args.rounds, device)
        fps = {k: n / statistics.median(v) for k, v in sweep_times.items()}
        best = max(fps, key=fps.get)
        extra["fps_by_batch"] = {k.split()[1]: round(v, 2) for k, v in fps.items()}
        print("ours by batch size: " + ", ".join(f"{k} {v:.2f} fps" for k, v in fps.items()) + f"; fastest: {best}")
    if model.fp16:
        ok = diff.mean() <= 1e-2
        detail = f"ours fp16 vs authors fp32: mean abs diff {diff.mean():.2e} (<= 1e-2), max {diff.max():.2e}"
    else:
        ok = diff.max() <= 1e-4
        detail = f"max abs diff {diff.max():.2e} (<= 1e-4)"
    target = "ours/floor <= 1.1 (CPU)" if device.type == "cpu" else "ours >= 100 fps at 256x256 fp16 (H100)"
    settings = f"{n} frames {args.size}->256, batch {batch}, {precision}, {name}"
    benchlib.emit("dagan", title="DaGAN animation (in memory)", settings=settings, device=device,
                           unit="frames", work=n, times=times, load_before=load_before, check_ok=ok,
                           check_detail=detail, target=target,
                           target_ratio=("ours/floor", 1.1) if device.type == "cpu" else None,
                           target_rate=("ours", 100.0) if device.type == "cuda" else None,
                           json_path=args.json, extra=extra)
    return 0 if ok else 1


def ours_at(model, source, driving, batch_size: int) -> np.ndarray:
    """Ours with the model's batch size set to ``batch_size`` (a sweep point)."""
    before, model.batch_size = model.batch_size, batch_size
    try:
        return ours(model, source, driving, batch_size)
    finally:
        model.batch_size = before


if __name__ == "__main__":
    sys.exit(main())
