"""Golden AKD: run the FOMM authors' pose-evaluation code (``extract.py --type face_pose`` + ``cmp_kp.py``) on
formula weights and kit-made frames; write ``tests/data/golden/akd.json`` and ``akd.npz``.

    .venv/bin/python -m pip install --no-deps --target /tmp/akd_pandas pandas python-dateutil pytz tzdata
    .venv/bin/python scripts/golden_pose_evaluation_akd.py \\
        --pose_eval_repo /work/.mirror/AliaksandrSiarohin+pose-evaluation/repo --pandas_path /tmp/akd_pandas

``--pose_eval_repo`` is a clone (bare or not) of AliaksandrSiarohin/pose-evaluation: its ``extract.py``,
``cmp_kp.py`` and ``util.py`` at HEAD (``git show``) are copied to a scratch folder and run there, in a subprocess
of this interpreter with ``--pandas_path`` on its path (the authors need pandas; the kit's venv has none). Their
CLIs run as the README says (``extract.py --in_folder … --is_video --type face_pose --image_shape 256,256``;
``cmp_kp.py gt.pkl gen.pkl``), with the shims listed in ``SHIMS`` (recorded in the json). Per-frame values come
from ``cmp_kp.py`` run on one-row pickles of each frame (``df.iloc[[i]]``), the video means from ``cmp_kp.py`` on
the whole pickles. Nothing of the authors' code is kept.
"""
from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "metrics"))
import _akd_fixtures as fx  # noqa: E402

AUTHORS_FILES = ("extract.py", "cmp_kp.py", "util.py")
URL_FAN = "https://www.adrianbulat.com/downloads/python-fan/2DFAN4-11f355bf06.pth.tar"
SHIMS = {
    "LandmarksType._2D": "face_alignment.LandmarksType._2D = LandmarksType.TWO_D (face-alignment >= 1.4 renamed it; "
                         "the kit pins 1.5.0)",
    "FaceAlignment defaults": "device='cpu' (their default 'cuda'; no GPU here) and compile=False (1.5.0's "
                              "torch.compile warm-up; the face-alignment of 2019 they used had none), set as defaults "
                              "of FaceAlignment.__init__ when not given",
    "2D-FAN-4 file": "face_alignment.api.load_file_from_url(URL of 2DFAN4-11f355bf06.pth.tar) returns the local "
                     "formula file (any other URL raises)",
    "S3FD file": "face_alignment.detection.sfd.sfd_detector.load_state_dict_from_url(s3fd URL) returns "
                 "torch.load(local formula file, weights_only=True) (what face-alignment does with a local path)",
    "pandas": "pandas (3.x, --no-deps into --pandas_path) on the subprocess' path; the kit's venv has none",
    "per-frame values": "cmp_kp.py run on one-row pickles df.iloc[[i]] of both extract outputs",
}

DRIVER = r'''
import functools, runpy, sys, torch
import face_alignment
from face_alignment import api
from face_alignment.detection.sfd import sfd_detector
fan_file, s3fd_file, script = sys.argv[1:4]
face_alignment.LandmarksType._2D = face_alignment.LandmarksType.TWO_D
_init = face_alignment.FaceAlignment.__init__
@functools.wraps(_init)
def init(self, *a, **k):
    k.setdefault("device", "cpu"); k.setdefault("compile", False)
    _init(self, *a, **k)
face_alignment.FaceAlignment.__init__ = init
def local_fan(url, *a, **k):
    if url != "URL_FAN":
        raise RuntimeError("unexpected download " + url)
    return fan_file
api.load_file_from_url = local_fan
sfd_detector.load_state_dict_from_url = lambda url, *a, **k: torch.load(s3fd_file, weights_only=True)
sys.argv = [script] + sys.argv[4:]
runpy.run_path(script, run_name="__main__")
'''.replace("URL_FAN", URL_FAN)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def run_authors(work: Path, files: dict, pandas_path: str, script: str, *args: str) -> str:
    env = {"PYTHONPATH": f"{work}:{pandas_path}", "PATH": "/usr/bin:/bin", "TQDM_DISABLE": "1",
           "OMP_NUM_THREADS": "2", "PYTHONHASHSEED": "0"}
    cmd = [sys.executable, str(work / "driver.py"), str(files["fan"]), str(files["s3fd"]), str(work / script), *args]
    out = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"{script} failed:\n{out.stderr[-3000:]}")
    return out.stdout


def average(stdout: str) -> float:
    line = [ln for ln in stdout.splitlines() if ln.startswith("Average difference: ")][-1]
    return float(line.split(": ", 1)[1])


def write_frames(folder: Path, frames: np.ndarray) -> None:
    import imageio.v2 as imageio

    folder.mkdir(parents=True)
    for i, frame in enumerate(frames):
        imageio.imwrite(folder / f"{i:03d}.png", frame)


def detector_margin(files: dict, frames: list[np.ndarray]) -> float:
    """Smallest |score - 0.5| (face-alignment's filter threshold) over the S3FD boxes kept by NMS on all frames."""
    import torch
    from face_alignment.detection.sfd.bbox import nms
    from face_alignment.detection.sfd.detect import detect
    from face_alignment.detection.sfd.net_s3fd import s3fd

    net = s3fd()
    net.load_state_dict(torch.load(files["s3fd"], weights_only=True))
    net.eval()
    margins = [1.0]
    for frame in frames:
        boxes = detect(net, frame, device="cpu")[0]
        if len(boxes):
            margins += list(np.abs(boxes[nms(boxes, 0.3), 4] - 0.5))
    return float(min(margins))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pose_eval_repo", required=True, type=Path)
    parser.add_argument("--pandas_path", required=True, help="folder with pandas (pip install --target)")
    parser.add_argument("--out", type=Path, default=ROOT / "tests" / "data" / "golden")
    args = parser.parse_args(argv)

    import cv2
    import face_alignment
    import imageio
    import skimage
    import torch

    commit = git(args.pose_eval_repo, "rev-parse", "HEAD").strip()
    inputs = fx.akd_inputs()
    doc = {"authors": {"repository": "https://github.com/AliaksandrSiarohin/pose-evaluation", "commit": commit,
                       "files": list(AUTHORS_FILES), "shims": SHIMS,
                       "commands": ["extract.py --in_folder <in>/gt --out_file gt.pkl --is_video --type face_pose "
                                    "--image_shape S,S (and gen)", "cmp_kp.py gt.pkl gen.pkl"]},
           "command": "scripts/golden_pose_evaluation_akd.py --pose_eval_repo <POSE_EVAL_REPO> "
                      "--pandas_path <PANDAS>",
           "weights": fx.RULES, "inputs": fx.INPUTS, "videos": {}}
    arrays = {}
    with tempfile.TemporaryDirectory(prefix="akd_golden_") as tmp:
        work = Path(tmp)
        for name in AUTHORS_FILES:
            (work / name).write_text(git(args.pose_eval_repo, "show", f"{commit}:{name}"), encoding="utf-8")
        (work / "driver.py").write_text(DRIVER, encoding="utf-8")
        files, digest = fx.write_face_alignment_files(work / "weights")
        doc["weights_sha256"] = digest
        for video, (gt, gen) in inputs.items():
            size = gt.shape[1]
            for side, frames in (("gt", gt), ("gen", gen)):
                write_frames(work / video / side / video, frames)
                run_authors(work, files, args.pandas_path, "extract.py", "--in_folder", str(work / video / side),
                            "--out_file", str(work / f"{video}_{side}.pkl"), "--is_video", "--type", "face_pose",
                            "--image_shape", f"{size},{size}")
            pk = [str(work / f"{video}_{side}.pkl") for side in ("gt", "gen")]
            mean = average(run_authors(work, files, args.pandas_path, "cmp_kp.py", *pk))
            per_frame = []
            for i in range(len(gt)):
                split = ("import pandas as pd, sys\nfor p in sys.argv[1:3]:\n"
                         f"    pd.read_pickle(p).sort_values(by=['file_name', 'frame_number']).iloc[[{i}]]"
                         ".to_pickle(p + '.one')\n")
                subprocess.run([sys.executable, "-c", split, *pk], check=True,
                               env={"PYTHONPATH": args.pandas_path, "PATH": "/usr/bin:/bin"})
                per_frame.append(average(run_authors(work, files, args.pandas_path, "cmp_kp.py",
                                                     *[p + ".one" for p in pk])))
            subprocess.run([sys.executable, "-c", (
                "import pandas as pd, numpy as np, sys\nfor p in sys.argv[1:3]:\n"
                "    df = pd.read_pickle(p).sort_values(by=['file_name', 'frame_number'])\n"
                "    v = [np.full((68, 2), np.nan, np.float32) if x is None else np.asarray(x, np.float32) "
                "for x in df['value']]\n    np.save(p + '.npy', np.stack(v))\n"), *pk],
                check=True, env={"PYTHONPATH": args.pandas_path, "PATH": "/usr/bin:/bin"})
            for side, p in zip(("gt", "gen"), pk, strict=True):
                arrays[f"{video}/landmarks_{side}"] = np.load(p + ".npy")
            doc["videos"][video] = {
                "size": size, "frames": len(gt), "authors_mean": mean, "authors_per_frame": per_frame,
                "kit_scale": 256 / size,
                "input_sha256": {"gt": fx.sha256_of(gt), "gen": fx.sha256_of(gen)}}
        doc["detector_margin"] = detector_margin(files, [f for g, h in inputs.values() for f in (*g, *h)])
    doc["versions"] = {"python": platform.python_version(), "torch": torch.__version__,
                       "numpy": np.__version__, "face_alignment": face_alignment.__version__,
                       "pandas": subprocess.run([sys.executable, "-c", "import pandas; print(pandas.__version__)"],
                                                capture_output=True, text=True,
                                                env={"PYTHONPATH": args.pandas_path}).stdout.strip(),
                       "imageio": imageio.__version__, "scikit-image": skimage.__version__, "opencv": cv2.__version__}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "akd.json").write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    np.savez(args.out / "akd.npz", **arrays)
    print(json.dumps({v: (d["authors_mean"], d["authors_per_frame"]) for v, d in doc["videos"].items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
