"""DaGAN training speed: our training step vs the authors' train.py step, same weights, same batch, same config.

    python benchmarks/bench_train.py                  # CPU: vox-adv-256 (kp_num 15, rgbd), 256 px, batch 2
    python benchmarks/bench_train.py --tiny           # config/smoke/dagan_tiny.yaml, 128 px (a quick run)
    python benchmarks/bench_train.py --device cuda --precision bf16   # batch 12 (the paper's per GPU), AMP for ours

Compared, each as one full training step on the same (source, driving) batch:

* ours: ``DaganTask.train_step(batch, ctx)`` (dagan.train.step; built by dagan.train.run.build_task): generator
  losses -> backward -> Adam steps of the generator and keypoint detector; the discriminator's loss -> backward ->
  its Adam step. With ``--precision bf16|fp16`` the forward passes run under talkingface.training.Precision's
  autocast (fp16 with its GradScaler).
* the authors': their ``train.py`` loop body around their own ``GeneratorFullModel`` / ``DiscriminatorFullModel``
  (a checkout of harlanhong/CVPR2022-DaGAN, ``--dagan_repo``; built by scripts/golden_authors_train.py with its
  documented stubs: CUDA calls as no-ops on the CPU, no VGG download, the depth ResNet a setting — their HEAD
  hard-codes ResNet-50, both sides here use the published ResNet-18): ``losses, generated = generator_full(x)``,
  ``sum(v.mean())``, backward, generator step + zero_grad, kp_detector step + zero_grad, discriminator zero_grad,
  ``discriminator_full(x, generated)``, backward, step, zero_grad; Adam(lr 2e-4, betas (0.5, 0.999)); always fp32.
* the floor: what no DaGAN step can skip, on our networks: depth of source and driving (frozen), keypoints of both,
  the generator's forward pass and the backward pass of ``prediction.mean()``; no loss network (VGG19 pyramid,
  discriminator), no equivariance warp, no optimizer. ``step - floor`` is the cost of the losses and the updates.

Both sides get the same state dicts (ours copied into theirs: generator, keypoint detector, discriminator, depth
net, VGG19 features; random, seeded: speed does not depend on the values) and torch's RNG is seeded identically
before each side's first step, so their random TPS warps are the same draws and the first step's losses must
agree (max relative difference per term printed; fp32 <= 1e-3, AMP <= 5e-2): the two sides do equal work. Then
``--warmup`` steps each, then ``--rounds`` interleaved rounds (the order rotates) of ``--steps`` steps per side;
printed: the median seconds per step, iterations/s, images/s (batch / step time), ours/authors, the load average
before and after, torch threads and versions (``--json OUT`` writes all of it). On CUDA also each side's peak
memory in its first step; TF32 stays at torch's defaults for both sides. bf16 on the CPU works but is very slow
(torch's CPU autocast): the AMP figures are meant for a GPU.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "scripts"), str(REPO / "benchmarks")]
sys.dont_write_bytecode = True                  # leave the authors' checkout clean

import benchlib  # noqa: E402
import golden_authors_train as authors_kit  # noqa: E402

from dagan.train.options import TrainOptions, resolve_config  # noqa: E402
from dagan.train.run import build_task  # noqa: E402
from talkingface.device import resolve_device  # noqa: E402
from talkingface.training import DistInfo, Precision, StepContext  # noqa: E402

TINY_CONFIG = REPO / "config" / "smoke" / "dagan_tiny.yaml"
AUTHORS_REPO = "/tmp/authors/CVPR2022-DaGAN"
NETS = ("generator", "kp_detector", "discriminator")
# the authors' grid_sample calls without align_corners, torchvision's vgg19(pretrained=...), meshgrid's indexing
warnings.filterwarnings("ignore", category=UserWarning, module=r"(modules\.|torchvision\.|torch\.functional)")


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def vgg_features_state(vgg) -> dict[str, torch.Tensor]:
    """torchvision ``vgg19().features`` state dict from our Vgg19Features (its slices are features[0:30]); the
    three convolutions after relu5_1, which no perceptual slice uses, filled with zeros."""
    import torchvision

    ours = torch.nn.Sequential(*(m for block in vgg.slices for m in block)).state_dict()
    with torch.device("meta"):
        full = torchvision.models.vgg19(weights=None).features.state_dict()
    return {k: ours[k].detach().cpu().clone() if k in ours else torch.zeros(v.shape) for k, v in full.items()}


@dataclasses.dataclass
class Authors:
    gen_full: torch.nn.Module
    disc_full: torch.nn.Module
    optimizers: dict
    use_gan: bool
    env: object                                  # context of each step (CUDA no-ops on the CPU)


def build_authors(repo: Path, work: Path, cfg, task, device: str) -> Authors:
    """Their GeneratorFullModel / DiscriminatorFullModel holding copies of our networks' current weights."""
    nets = task.nets
    states = {name: {k: v.detach().cpu().clone() for k, v in getattr(nets, name).state_dict().items()}
              for name in (*NETS, "depth_encoder", "depth_decoder")}
    states["vgg19_features"] = vgg_features_state(nets.vgg)
    model_params, train_params = dataclasses.asdict(cfg.model_params), dataclasses.asdict(cfg.train_params)
    layers = cfg.depth_params.num_layers
    authors_kit._write_depth_files(work, states, layers)
    with authors_kit._authors_env(repo, work):
        import modules.model as model_module

        authors_kit._patch_model_module(model_module, states["vgg19_features"], layers)
        generator, discriminator, kp_detector = authors_kit._networks(model_params, 4, states)
        opt = argparse.Namespace(rgbd=True, use_depth=False)          # --rgbd (the paper)
        gen_full = model_module.GeneratorFullModel(kp_detector, authors_kit._wrap(generator),
                                                   authors_kit._wrap(discriminator), train_params, opt)
        disc_full = model_module.DiscriminatorFullModel(kp_detector, authors_kit._wrap(generator),
                                                        authors_kit._wrap(discriminator), train_params)
    gen_full.to(device), disc_full.to(device)
    t = train_params
    optimizers = {name: torch.optim.Adam(net.parameters(), lr=t[f"lr_{name}"], betas=(0.5, 0.999))
                  for name, net in (("generator", generator), ("kp_detector", kp_detector),
                                    ("discriminator", discriminator))}
    on_cpu = not device.startswith("cuda")       # their forward calls .cuda() (torch.eye in kp_distance)
    env = (lambda: authors_kit._authors_env(repo, work)) if on_cpu else contextlib.nullcontext
    return Authors(gen_full, disc_full, optimizers, t["loss_weights"]["generator_gan"] != 0, env)


def authors_step(a: Authors, x: dict) -> dict:
    """One iteration of their train.py loop body (the logging aside)."""
    opt = a.optimizers
    with a.env():
        losses_generator, generated = a.gen_full(x)
        sum(val.mean() for val in losses_generator.values()).backward()
        opt["generator"].step()
        opt["generator"].zero_grad()
        opt["kp_detector"].step()
        opt["kp_detector"].zero_grad()
        if a.use_gan:
            opt["discriminator"].zero_grad()
            losses_discriminator = a.disc_full(x, generated)
            sum(val.mean() for val in losses_discriminator.values()).backward()
            opt["discriminator"].step()
            opt["discriminator"].zero_grad()
            losses_generator.update(losses_discriminator)
    return {k: v.detach().mean() for k, v in losses_generator.items()}


def floor_step(task, ctx, source, driving) -> None:
    """Depth + keypoints + generator forward, backward of prediction.mean(); no losses, no optimizer step."""
    g = task.generator_loss
    with ctx.autocast():
        depth_s, depth_d = g.depth(source), g.depth(driving)
        kp_s, kp_d = g.keypoints(source, depth_s), g.keypoints(driving, depth_d)
        out = task.nets.generator(source, kp_source=kp_s, kp_driving=kp_d, source_depth=depth_s,
                                  driving_depth=depth_d)
    out["prediction"].float().mean().backward()
    ctx.zero_grad([task.optimizers[n] for n in NETS])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N | auto (default cpu)")
    p.add_argument("--precision", default="fp32", choices=("fp32", "bf16", "fp16"),
                   help="ours: autocast dtype (fp16: CUDA only); the authors' side is always fp32")
    p.add_argument("--config", help="DaGAN YAML (default: the built-in vox-adv-256)")
    p.add_argument("--tiny", action="store_true", help=f"the smoke config {TINY_CONFIG.relative_to(REPO)}")
    p.add_argument("--kp_num", type=int, help="keypoints (default: 15, the paper; the config's with --tiny)")
    p.add_argument("--size", type=int, help="frame side (default: the config's: 256, 128 with --tiny)")
    p.add_argument("--batch", type=int, help="batch size (default: 2 on CPU, 12 on CUDA: the paper's per GPU)")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--steps", type=int, default=3, help="steps per side per round (default 3)")
    p.add_argument("--warmup", type=int, default=1, help="steps per side after the parity step (default 1)")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--dagan_repo", default=AUTHORS_REPO, help=f"authors' checkout (default {AUTHORS_REPO})")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", help="write the results here")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    cuda = device.startswith("cuda")
    if cuda:
        torch.cuda.set_device(torch.device(device).index or 0)
    batch = args.batch or (12 if cuda else 2)
    load_before = load()

    config = args.config or (str(TINY_CONFIG) if args.tiny else None)
    kp_num = args.kp_num or (-1 if args.tiny else 15)
    options = TrainOptions(config=config, mode="rgbd", kp_num=kp_num, batchsize=batch, random_frozen=args.seed,
                           device=device, seed=args.seed, precision=args.precision)
    cfg = resolve_config(options)
    size = args.size or cfg.dataset_params.frame_shape[0]
    cfg.dataset_params.frame_shape = [size, size, 3]
    torch.manual_seed(args.seed)
    task = build_task(cfg, options, DistInfo(device=device))
    for net in task.modules().values():
        net.train()
    task.generator_loss.train()
    precision = Precision(args.precision, device)
    ctx = StepContext(dist=DistInfo(device=device), device=device, precision=precision)

    gen = torch.Generator().manual_seed(args.seed + 100)
    source, driving = (torch.rand(batch, 3, size, size, generator=gen).to(device) for _ in range(2))
    work_dir = tempfile.TemporaryDirectory(prefix="bench_train_")
    authors = build_authors(Path(args.dagan_repo).resolve(), Path(work_dir.name), cfg, task, device)
    x = {"source": source, "driving": driving}

    def ours() -> dict:
        out = task.train_step(x, ctx)
        precision.end_step()
        return out

    sides = {"ours": ours, "authors": lambda: authors_step(authors, x),
             "floor": lambda: floor_step(task, ctx, source, driving)}
    first, peak = {}, {}
    for name in ("ours", "authors"):             # the parity step: same weights, same seed, same warp draws
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        torch.manual_seed(args.seed + 1)
        first[name] = {k: float(v) for k, v in sides[name]().items()}
        sync(device)
        if cuda:
            peak[name] = torch.cuda.max_memory_allocated() / 2 ** 30
    tol = 1e-3 if args.precision == "fp32" else 5e-2
    rel = {k: abs(first["ours"][k] - v) / max(abs(v), 1e-12) for k, v in first["authors"].items()}
    same_terms = sorted(first["ours"]) == sorted(first["authors"])
    ok = same_terms and max(rel.values()) <= tol

    for _ in range(args.warmup):
        for fn in sides.values():
            fn()
    sync(device)
    times: dict[str, list[float]] = {name: [] for name in sides}
    names = list(sides)
    for r in range(args.rounds):
        for name in names[r % 3:] + names[:r % 3]:
            sync(device)
            start = time.perf_counter()
            for _ in range(args.steps):
                sides[name]()
            sync(device)
            times[name].append((time.perf_counter() - start) / args.steps)
    load_after = load()
    med = {name: statistics.median(t) for name, t in times.items()}

    gpu = f" ({torch.cuda.get_device_name()})" if cuda else ""
    what = (f"{'smoke dagan_tiny' if args.tiny and not args.config else config or 'vox-adv-256'} "
            f"(kp_num {cfg.model_params.common_params.num_kp}, rgbd, depth ResNet-{cfg.depth_params.num_layers})")
    print(f"device {device}{gpu}; torch {torch.__version__}, python {platform.python_version()}, "
          f"{torch.get_num_threads()} CPU threads, {os.cpu_count()} CPUs; load average before "
          f"{'/'.join(map(str, load_before))}")
    print(f"{what}, {size}x{size}, batch {batch}; ours {args.precision}, authors fp32; random weights "
          f"(seed {args.seed}); {args.warmup} warm-up + {args.rounds} rounds x {args.steps} steps per side")
    print("first step's losses, ours vs authors (max relative difference per term):")
    for k in sorted(first["authors"]):
        print(f"  {k:22s} ours {first['ours'].get(k, float('nan')):12.6g}  authors {first['authors'][k]:12.6g}  "
              f"rel {rel[k]:.2e}")
    print(f"  same terms: {same_terms}; max rel {max(rel.values()):.2e} (<= {tol:g}): {'OK' if ok else 'FAIL'}")
    labels = {"authors": "authors' train.py step (fp32)", "ours": f"ours DaganTask.train_step ({args.precision})",
              "floor": f"floor G+KP fwd/bwd ({args.precision})"}
    print(f"{'':38s} {'s/step median':>13s} {'(min-max)':>17s} {'it/s':>8s} {'images/s':>9s}")
    for name in ("authors", "ours", "floor"):
        t = times[name]
        print(f"{labels[name]:38s} {med[name]:13.4f} ({min(t):7.4f}-{max(t):7.4f}) {1 / med[name]:8.3f} "
              f"{batch / med[name]:9.2f}" + (f"   peak {peak[name]:.2f} GiB" if name in peak else ""))
    speedup = med["authors"] / med["ours"]
    print(f"ours/authors: {speedup:.3f}x the iterations/s; the floor is {100 * med['floor'] / med['ours']:.0f}% "
          f"of our step and {100 * med['floor'] / med['authors']:.0f}% of theirs")
    print(f"load average after {'/'.join(map(str, load_after))}")
    extra = {"torch": torch.__version__, "python": platform.python_version(), "config": what, "size": size,
             "batch": batch, "precision": args.precision, "seed": args.seed, "warmup": args.warmup,
             "steps": args.steps, "first_step_losses": first, "max_rel_diff": rel, "tolerance": tol,
             "peak_gib_first_step": peak, "images_per_s": {k: batch / v for k, v in med.items()}}
    benchlib.emit("train", title="DaGAN training step", device=device, unit="images", work=batch, times=times,
                  settings=f"{what}, {size}px, batch {batch}, ours {args.precision}, authors fp32",
                  load_before=load_before, check_ok=ok,
                  check_detail=f"first step's losses equal, max rel {max(rel.values()):.2e} (<= {tol:g})",
                  target="report (no target in the issue)", json_path=args.json, extra=extra)
    work_dir.cleanup()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
