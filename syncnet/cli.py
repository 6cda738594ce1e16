"""`python -m syncnet score VIDEO… | selftest EXAMPLE_VIDEO` — thin commands over :func:`syncnet.evaluate_video`."""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Sequence

from talkingface.cli import CommandParser
from talkingface.errors import KitError, cli_main
from talkingface.metrics.protocols import LSE_MODES

# syncnet_python's README: `python demo_syncnet.py --videofile data/example.avi` prints these
EXAMPLE_EXPECTED = {"offset": 3, "lse_d": 5.353, "lse_c": 10.021}
EXAMPLE_TOLERANCE = {"lse_d": 0.01, "lse_c": 0.02}


def _parser() -> argparse.ArgumentParser:
    p = CommandParser(prog="python -m syncnet",
                                description="LSE-D / LSE-C by syncnet_python's protocol (docs/lse_protocol.md).")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("score", help="score videos (each needs an audio track); prints one row per video and the mean")
    s.add_argument("videos", nargs="+", metavar="VIDEO", help="video files with speech audio")
    s.add_argument("--weights", default=None,
                   help="syncnet_v2.model (default: the manifest's syncnet_v2 under checkpoints/)")
    s.add_argument("--mode", choices=LSE_MODES, default="whole-frame",
                   help="whole-frame: frames resized to 224 (Wav2Lip's LRS script); face-track: syncnet_python's "
                        "run_pipeline (S3FD, tracking, crop)")
    s.add_argument("--s3fd_weights", default=None,
                   help="sfd_face.pth for face-track (default: the manifest's s3fd; absent -> OpenCV Haar stand-in, "
                        "labelled non-reference)")
    s.add_argument("--min_track", type=int, default=100, help="face-track: minimum track length in frames (100)")
    s.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto = the GPU when present (default auto)")
    s.add_argument("--batch_size", type=int, default=32, help="5-frame windows per forward pass (default 32)")
    s.add_argument("--json", default=None, metavar="OUT", help="also write all results (with distances) as JSON")
    t = sub.add_parser("selftest", help="check syncnet_python's published values on its example.avi")
    t.add_argument("video", metavar="EXAMPLE_VIDEO", help="syncnet_python's data/example.avi")
    t.add_argument("--weights", default=None, help="syncnet_v2.model (default: the manifest's syncnet_v2)")
    t.add_argument("--device", default="cpu", help="cpu, cuda or auto (default cpu)")
    return p


def _fmt(x) -> str:
    return "-" if x is None else f"{x:.3f}" if isinstance(x, float) else str(x)


def score(args) -> int:
    from syncnet.evaluate import evaluate_video
    from syncnet.model import get_syncnet
    from syncnet.track import TrackOptions
    from talkingface.device import resolve_device

    if args.json:                              # before any work: the JSON overwrites no input and can be written
        from talkingface.outputs import check_writable, refuse_input

        if Path(args.json).is_dir():
            raise KitError(f"{args.json}: is a folder; give a file name for --json")
        refuse_input(args.json, [*args.videos, args.weights, args.s3fd_weights], "--json file")
        check_writable(Path(args.json).parent, "--json folder")
    device = resolve_device(args.device)
    model = get_syncnet(args.weights, device)
    opts = TrackOptions(min_track=args.min_track)
    rows = []
    print(f"{'video':<40} {'offset':>6} {'LSE-D':>8} {'LSE-C':>8} {'frames':>7}  notes")
    for video in args.videos:
        try:
            r = evaluate_video(video, model, device, mode=args.mode, s3fd_weights=args.s3fd_weights,
                               batch_size=args.batch_size, track_options=opts)
        except KitError as exc:
            rows.append({"video": str(video), "error": str(exc)})
            print(f"{str(video):<40} error: {exc}")
            continue
        row = {"video": str(video), **r.to_dict()}
        rows.append(row)
        print(f"{str(video):<40} {r.offset:>6d} {r.lse_d:>8.3f} {r.lse_c:>8.3f} {r.frames:>7d}  "
              f"{'; '.join(r.notes)}")
    ok = [r for r in rows if "error" not in r]
    mean = None
    if ok:
        mean = {k: sum(r[k] for r in ok) / len(ok) for k in ("lse_d", "lse_c")}
        print(f"{'mean of ' + str(len(ok)) + ' videos':<40} {'':>6} {mean['lse_d']:>8.3f} {mean['lse_c']:>8.3f}")
    if args.json:
        from talkingface.fsutil import write_text_atomic as write_atomic
        from talkingface.media.ffmpeg import ffmpeg_version

        doc = {"protocol": "syncnet_python SyncNetInstance.evaluate", "mode": args.mode, "ffmpeg": ffmpeg_version(),
               "mean": mean, "n": len(ok), "n_failed": len(rows) - len(ok), "videos": rows}
        write_atomic(Path(args.json), json.dumps(doc, indent=2) + "\n")
    return 0 if len(ok) == len(rows) else 1


def selftest(args) -> int:
    from syncnet.evaluate import evaluate_video
    from talkingface.errors import MediaError
    from talkingface.weights import resolve_weights

    # nothing to test against is a failure, not a pass: both the released weights and the example video are needed
    args.weights = resolve_weights("syncnet_v2", args.weights)
    if not Path(args.video).is_file():
        raise MediaError(f"{args.video}: not found; the selftest needs syncnet_python's data/example.avi")
    r = evaluate_video(args.video, args.weights, args.device)
    got = {"offset": r.offset, "lse_d": r.lse_d, "lse_c": r.lse_c}
    fails = [k for k in ("lse_d", "lse_c") if not math.isclose(got[k], EXAMPLE_EXPECTED[k],
                                                                abs_tol=EXAMPLE_TOLERANCE[k])]
    fails += ["offset"] if got["offset"] != EXAMPLE_EXPECTED["offset"] else []
    for k in ("offset", "lse_d", "lse_c"):
        print(f"{k:<7} got {_fmt(got[k]):>8}  published {_fmt(EXAMPLE_EXPECTED[k]):>8}  "
              f"{'FAIL' if k in fails else 'ok'}")
    print(f"ffmpeg {r.ffmpeg}" + (f"; notes: {'; '.join(r.notes)}" if r.notes else ""))
    if fails:
        print("selftest FAILED (LSE moves with the ffmpeg version, see docs/lse_protocol.md)", file=sys.stderr)
        return 1
    print("selftest passed")
    return 0


@cli_main
def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "score":
        if args.batch_size < 1:
            raise KitError(f"--batch_size must be >= 1, got {args.batch_size}")
        return score(args)
    return selftest(args)
