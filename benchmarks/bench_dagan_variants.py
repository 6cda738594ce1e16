"""DaGAN network floor under each speed option: precision, channels-last, torch.compile, batch size — which pay?

    python benchmarks/bench_dagan_variants.py --device cuda                     # fp32/tf32/fp16/bf16 ± channels-last
    python benchmarks/bench_dagan_variants.py --device cuda --compile fp16,fp32 # plus torch.compile (time reported)
    python benchmarks/bench_dagan_variants.py --device cpu --frames 8 --variants fp32,fp32-cl --compile fp32

Every variant runs the same randomly initialised vox-adv-256 networks (seed 0) on the same driving frames, already
resized into tensors on the device (the floor of bench_dagan.py: source work once, then depth, keypoints and the
generator per batch). Variants (``--variants``): ``fp32`` (TF32 off: the reference output), ``tf32`` (TF32 matmul
and convolutions), ``fp16``/``bf16`` (autocast), and ``-cl`` (channels-last weights and inputs). ``--compile``
adds ``torch.compile`` of the depth net, keypoint detector and generator decode for the named precisions, as
``--compile`` does (``DaganModel.compile_batch_path``); its compile time (the first, warm-up call) is reported
apart. All variants run interleaved over ``--rounds`` rounds (medians, ranges); each output is compared with the
fp32 reference: a float32 variant is kept only at max abs diff <= 1e-4. ``--batch_sizes`` also sweeps the
batch size of the fastest variant.
"""
from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402
from bench_dagan import floor_inputs, synthetic_frames  # noqa: E402

from dagan import random_weights  # noqa: E402
from talkingface.device import resolve_device  # noqa: E402

AMP = {"fp16": torch.float16, "bf16": torch.bfloat16}


def build(variant: str, seed: int, device, batch: int, compile_it: bool):
    """(model, context factory) for a variant name such as ``fp16-cl``."""
    precision, _, layout = variant.partition("-")
    model = random_weights.random_model(seed, tiny=False, device=str(device), batch_size=batch,
                                        channels_last=layout == "cl")
    if compile_it:                            # what --compile ships (dagan/speed.py): the driving batches' networks
        model.compile_batch_path()
    if precision in AMP:                      # the model's own autocast regions (keypoint maths stays float32)
        model.fp16, model.amp_dtype = True, AMP[precision]
    tf32 = precision == "tf32"

    def context():
        torch.backends.cudnn.allow_tf32 = tf32
        torch.backends.cuda.matmul.allow_tf32 = tf32
        return contextlib.nullcontext()
    return model, context


def run_floor(model, context, inputs, layout_cl: bool) -> torch.Tensor:
    src, init, batches = inputs
    if layout_cl:
        batches = [b.contiguous(memory_format=torch.channels_last) for b in batches]
    with context():
        return torch.cat([model.animate_tensor(src, b, init) for b in batches])


def prepare(name: str, seed: int, device, batch: int, source, driving):
    """(a callable running the floor of variant ``name`` such as ``fp16-cl+compile``, seconds of its first call)."""
    variant, _, how = name.partition("+")
    model, context = build(variant, seed, device, batch, how == "compile")
    with context():
        inputs = floor_inputs(model, source, driving, batch)
    layout_cl = variant.endswith("-cl")
    start = time.perf_counter()
    run_floor(model, context, inputs, layout_cl)           # warm-up: compiles, cuDNN tuning, allocator
    benchlib.sync_device(device)
    return (lambda: run_floor(model, context, inputs, layout_cl)), time.perf_counter() - start


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    p.add_argument("--variants", default="fp32,tf32,fp16,bf16,fp16-cl,bf16-cl",
                   help="comma list of fp32|tf32|fp16|bf16 with optional -cl (channels-last); CPU: fp32, fp32-cl, bf16")
    p.add_argument("--compile", default="", help="comma list of variants to also run under torch.compile (e.g. fp16)")
    p.add_argument("--frames", type=int, default=128, help="driving frames (default 128)")
    p.add_argument("--batch_size", type=int, default=32, help="frames per network call (default 32)")
    p.add_argument("--batch_sizes", type=int, nargs="*", default=[],
                   help="also sweep these batch sizes for the fastest variant (interleaved)")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", help="also write the result record (benchmarks/benchlib.py) to this file")
    args = p.parse_args(argv)
    device = torch.device(resolve_device(args.device))
    names = [v for v in args.variants.split(",") if v]
    compiled = [v for v in args.compile.split(",") if v]
    source = synthetic_frames(1, 256, args.seed + 1)[0]
    driving = synthetic_frames(args.frames, 256, args.seed)

    sides, compile_s = {}, {}
    for name in ["fp32"] + [v for v in names if v != "fp32"] + [f"{v}+compile" for v in compiled]:
        sides[name], first_s = prepare(name, args.seed, device, args.batch_size, source, driving)
        if name.endswith("+compile"):
            compile_s[name] = round(first_s, 1)
            print(f"{name}: first call (compile) {compile_s[name]} s", flush=True)
    load_before = benchlib.load_average()
    times, results = benchlib.interleaved(sides, args.rounds, device)
    ref = results["fp32"].float()
    table, best = {}, None
    for name, runs in times.items():
        diff = (results[name].float() - ref).abs()
        fps = args.frames / statistics.median(runs)
        equal = diff.max().item() <= 1e-4
        table[name] = {"fps": round(fps, 2), "max_abs_diff": diff.max().item(), "mean_abs_diff": diff.mean().item(),
                       "equal_1e-4": equal}
        print(f"{name:16s} {fps:9.2f} fps  max diff {diff.max().item():.2e}  mean {diff.mean().item():.2e}"
              f"{'  (= fp32 within 1e-4)' if equal else ''}")
        if best is None or fps > table[best]["fps"]:
            best = name
    print(f"fastest: {best}; compile times: {compile_s or 'none tried'}")
    extra = {"variants": table, "compile_s": compile_s, "fastest": best}
    if args.batch_sizes:
        sweep = {f"batch {b}": prepare(best, args.seed, device, b, source, driving)[0] for b in args.batch_sizes}
        sweep_times, _ = benchlib.interleaved(sweep, args.rounds, device)
        extra["fps_by_batch"] = {k.split()[1]: round(args.frames / statistics.median(v), 2)
                                 for k, v in sweep_times.items()}
        print(f"{best} by batch size: {extra['fps_by_batch']}")
    finite = all(torch.isfinite(results[n]).all().item() for n in results)
    close = all(v["mean_abs_diff"] <= 1e-2 for v in table.values())
    benchlib.emit("dagan_variants", title="DaGAN network floor by speed option",
                  settings=f"{args.frames} frames 256x256, batch {args.batch_size}, fastest {best}", device=device,
                  unit="frames", work=args.frames, times={"ours": times[best], "reference": times["fp32"]},
                  load_before=load_before, check_ok=finite and close,
                  check_detail="all finite, mean abs diff <= 1e-2; equal to fp32 within 1e-4: " + ", ".join(
                      f"{k} {'yes' if v['equal_1e-4'] else 'no'}" for k, v in table.items()
                      if not k.startswith(("fp16", "bf16"))),
                  target="report: which options pay", json_path=args.json, extra=extra)
    return 0


if __name__ == "__main__":
    sys.exit(main())
