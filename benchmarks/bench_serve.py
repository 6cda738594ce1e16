"""Load test of the lip-sync service (python -m lawdnet.serve) on localhost: requests/min and latency percentiles.

    python benchmarks/bench_serve.py                           # CPU, the random model at mouth 64, 1/4/16 clients
    python benchmarks/bench_serve.py --clients 1 4 16 --seconds 60 --json serve_cpu.json
    python benchmarks/bench_serve.py --device cuda --mouth 288 \\
        --server_args "--lawdnet_model_path checkpoints/lawdnet/checkpoint_epoch_170.pth"    # the real model, GPU

The server is started once (a subprocess on 127.0.0.1, a free port, its own results folder) on the embedded sample's
talking-head video as the template (``python -m talkingface sample``), and ``--audio_seconds`` of its speech as the
request: the authors' client request (``POST /upload-audio``, multipart field ``file``, answer = the mp4). For each
client count, that many asyncio clients (httpx) send requests back to back for ``--seconds``: every answer is
counted by status (200 done, 429 queue full — the client waits the Retry-After it was given —, anything else is
an error and printed); the latency of the 200 answers (upload -> whole mp4 received) gives p50/p90/p99, and the
answered requests per minute the throughput. The floor is one job's work without the service
(``LipSyncProcessor.process`` in this process, same template, audio and model; median of 3): at 1 client the p50
latency minus the floor is what HTTP, the upload checks and the queue cost, and 60 / floor x workers is the most
requests per minute any server could answer. The server's ``--workers``/``--queue_size`` are flags here; its
/health is polled during the run (the largest queue length seen is printed: it never passes the bound). Printed
with the load average before and after, the server's peak RSS (VmHWM), and the versions; ``--json OUT`` writes it
all. Without ``--server_args`` the model is ``--random_model 0`` (RANDOM WEIGHTS: speed only).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_inputs(folder: Path, seconds: float) -> tuple[Path, Path]:
    """(template video, request audio): the embedded sample's talking head and the first seconds of its speech."""
    from lawdnet.features.audio import read_pcm
    from talkingface.sample import write_sample

    write_sample(folder / "sample")
    video = folder / "sample" / "gt_self" / "talk.mp4"
    rate, samples = read_pcm(video)
    clip = np.asarray(samples[: int(seconds * rate)], dtype=np.int16)
    audio = folder / "speech.wav"
    with wave.open(str(audio), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(clip.tobytes())
    return video, audio


def floor_seconds(args: argparse.Namespace, template: Path, audio: Path, work: Path, rounds: int = 3) -> float:
    """The floor: one job's work with no HTTP, queue or upload — ``LipSyncProcessor.process`` in this process on
    the same template, audio and (random) model; the median of ``rounds`` runs after one warm-up."""
    from lawdnet.service import LipSyncProcessor, LipSyncServiceConfig

    if args.server_args:
        return float("nan")                           # the real model's files are the server's flags
    p = LipSyncProcessor(LipSyncServiceConfig(template=template, mouth=args.mouth, device=args.device, random_seed=0,
                                              landmarks=args.landmarks, batch_size=args.batch_size,
                                              cache_dir=work / "cache"))
    p.load()
    times = []
    for i in range(rounds + 1):
        t = time.perf_counter()
        p.process(audio, work / f"floor{i}.mp4", lambda fraction: None)
        times.append(time.perf_counter() - t)
    p.close()
    return statistics.median(times[1:])


def start_server(args: argparse.Namespace, template: Path, work: Path) -> tuple[subprocess.Popen, str]:
    import httpx

    port = free_port()
    cmd = [sys.executable, "-m", "lawdnet.serve", "--template", str(template), "--port", str(port),
           "--results_dir", str(work / "results"), "--template_cache", str(work / "cache"), "--device", args.device,
           "--mouthsize", str(args.mouth), "--workers", str(args.workers), "--queue_size", str(args.queue_size),
           "--landmarks", args.landmarks, "--batch_size", str(args.batch_size)]
    cmd += shlex.split(args.server_args) if args.server_args else ["--random_model", "0"]
    log = open(work / "server.log", "w")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + args.start_timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited ({proc.returncode}); its log: {work / 'server.log'}\n"
                             + (work / "server.log").read_text()[-2000:])
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise SystemExit(f"the server was not ready in {args.start_timeout} s; its log: {work / 'server.log'}")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def run_level(url: str, audio: bytes, clients: int, seconds: float) -> dict:
    import httpx

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors: list[str] = []
    queue_seen = [0]
    stop_at = time.monotonic() + seconds

    async def client(http: httpx.AsyncClient) -> None:
        while time.monotonic() < stop_at:
            t = time.perf_counter()
            try:
                r = await http.post(url + "/upload-audio", files={"file": ("speech.wav", audio, "audio/wav")})
            except httpx.HTTPError as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                continue
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
            if r.status_code == 200:
                latencies.append(time.perf_counter() - t)
            elif r.status_code == 429:
                await asyncio.sleep(min(float(r.headers.get("Retry-After", "1")), 5.0))
            else:
                errors.append(f"{r.status_code}: {r.text[:200]}")

    async def watch(http: httpx.AsyncClient) -> None:
        while time.monotonic() < stop_at:
            q = (await http.get(url + "/health")).json().get("queue", {})
            queue_seen[0] = max(queue_seen[0], int(q.get("queued", 0)))
            await asyncio.sleep(0.5)

    limits = httpx.Limits(max_connections=clients + 2)
    async with httpx.AsyncClient(timeout=httpx.Timeout(600.0), limits=limits) as http:
        start = time.perf_counter()
        await asyncio.gather(watch(http), *(client(http) for _ in range(clients)))
        wall = time.perf_counter() - start
    pct = (lambda q: round(float(np.percentile(latencies, q)), 3)) if latencies else (lambda q: None)
    return {"clients": clients, "wall_s": round(wall, 1), "done": len(latencies),
            "requests_per_min": round(60 * len(latencies) / wall, 2), "statuses": statuses,
            "latency_s": {"p50": pct(50), "p90": pct(90), "p99": pct(99),
                          "mean": round(statistics.fmean(latencies), 3) if latencies else None},
            "max_queue_seen": queue_seen[0], "errors": errors[:5], "error_count": len(errors)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16], help="concurrent clients per level")
    p.add_argument("--seconds", type=float, default=60.0, help="length of each level (default 60)")
    p.add_argument("--audio_seconds", type=float, default=1.0, help="length of the request's audio (default 1 s)")
    p.add_argument("--device", default="cpu", help="the server's --device (default cpu)")
    p.add_argument("--mouth", type=int, default=64, help="the server's --mouthsize (default 64; 288 = real model)")
    p.add_argument("--workers", type=int, default=1, help="the server's --workers (default 1)")
    p.add_argument("--queue_size", type=int, default=8, help="the server's --queue_size (default 8)")
    p.add_argument("--batch_size", type=int, default=24, help="the server's --batch_size (default 24)")
    p.add_argument("--landmarks", default="offline", help="the server's --landmarks (default offline)")
    p.add_argument("--server_args", help="more server flags, e.g. the real model's paths (default: --random_model 0)")
    p.add_argument("--start_timeout", type=float, default=600.0, help="seconds to wait for the server to be ready")
    p.add_argument("--json", help="write the results here")
    args = p.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        work = Path(tmp)
        template, audio_path = make_inputs(work, args.audio_seconds)
        audio = audio_path.read_bytes()
        load_before = os.getloadavg()
        floor = floor_seconds(args, template, audio_path, work)
        print(f"floor (one job in process, no HTTP): {floor:.2f} s", flush=True)
        t = time.perf_counter()
        proc, url = start_server(args, template, work)
        ready_s = time.perf_counter() - t
        try:
            levels = []
            for n in args.clients:
                level = asyncio.run(run_level(url, audio, n, args.seconds))
                levels.append(level)
                lat = level["latency_s"]
                print(f"{n:3d} clients: {level['requests_per_min']:8.2f} req/min  p50 {lat['p50']} s  p90 "
                      f"{lat['p90']} s  p99 {lat['p99']} s  statuses {level['statuses']}  max queue "
                      f"{level['max_queue_seen']}/{args.queue_size}  errors {level['error_count']}", flush=True)
            health = __import__("httpx").get(url + "/health", timeout=10).json()
            rss = peak_rss_mb(proc.pid)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
    import torch

    result = {"levels": levels, "floor_s": round(floor, 3), "server_ready_s": round(ready_s, 1),
              "server_peak_rss_mb": round(rss, 1),
              "server": {k: getattr(args, k) for k in ("device", "mouth", "workers", "queue_size", "batch_size",
                                                        "landmarks", "server_args")},
              "audio_seconds": args.audio_seconds, "seconds_per_level": args.seconds,
              "processor": health.get("processor"), "load_before": load_before, "load_after": os.getloadavg(),
              "cpus": os.cpu_count(), "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
              "python": platform.python_version(), "machine": platform.machine()}
    print(f"server ready in {ready_s:.1f} s, peak RSS {rss:.0f} MB; load {load_before} -> {result['load_after']}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0 if all(level["error_count"] == 0 for level in levels) else 1


if __name__ == "__main__":
    sys.exit(main())
