"""`python -m lawdnet.generate` (docs/scale_out.md, "LawDNet generation"): lip-sync outputs for a set of (template
video, speech) pairs in a provenance-recorded folder — every output what `python -m lawdnet.infer` writes for its
pair; resume, refusal of other settings, a broken pair failing alone, `--shard i/n` plus the merge, and torchrun
ranks on gloo/CPU. The seeded random generator at mouth 64 and the tiny random dp2 network, as the service tests run
them; the media are the kit's sample talking head and sine tones (tests/conftest.py)."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lawdnet import loading
from lawdnet.cli.generate import main
from lawdnet.cli.infer import main as infer_main
from talkingface.generated import provenance_of, read_manifest
from talkingface.media import VideoReader, probe

REPO = Path(__file__).resolve().parents[2]
OUTPUTS = ["a.mp4", "b.mp4", "c.mp4"]
FRAMES = {"a.mp4": 8, "b.mp4": 8, "c.mp4": 15}       # 25 fps, as long as each pair's speech
RANDOM_64 = ["--random_model", "0", "--mouthsize", "64", "--landmarks", "offline", "--batch_size", "4",
             "--device", "cpu", "--no_progress"]


@pytest.fixture(scope="module")
def pair_dirs(tmp_path_factory, make_video, make_wav):
    """Three same-stem pairs. Templates: a and b the same 16-frame talking head (one template cache entry), c a
    12-frame one. Speech: a the 8-frame talking head with its speech (a video's audio track drives the lips), b a
    0.32 s tone, c a 0.6 s tone (longer than its template: it plays back and forth)."""
    base = tmp_path_factory.mktemp("lipsync_pairs")
    video, audio = base / "source_self", base / "gt_self"
    video.mkdir()
    audio.mkdir()
    for name in ("a", "b"):
        shutil.copyfile(make_video.talking_head(frames=16), video / f"{name}.mp4")
    shutil.copyfile(make_video.talking_head(frames=12, start=1.0), video / "c.mp4")
    shutil.copyfile(make_video.talking_head(frames=8, audio=True), audio / "a.mp4")
    shutil.copyfile(make_wav(0.32, tone_hz=220.0), audio / "b.wav")
    shutil.copyfile(make_wav(0.6, tone_hz=330.0), audio / "c.wav")
    return video, audio


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread (the torchrun ranks' count too): every run of this module makes the same bits."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def models() -> dict:
    return {}


@pytest.fixture
def one_model(monkeypatch, models):
    """In-process generate runs after the first share one model and feature network per argument set (the same
    seeded weights; loading them is most of a short run)."""
    for name in ("load_lip_sync_model", "load_extractor"):
        real = getattr(loading, name)

        def load(*args, _real=real, _name=name):
            key = (_name, *map(str, args))
            if key not in models:
                models[key] = _real(*args)
            return models[key]

        monkeypatch.setattr(loading, name, load)


def argv(pair_dirs, out, *extra) -> list[str]:
    video, audio = pair_dirs
    return ["--video_dir", str(video), "--audio_dir", str(audio), "--save_folder", str(out), *RANDOM_64,
            *map(str, extra)]


@pytest.fixture(scope="module")
def single(pair_dirs, tmp_path_factory) -> Path:
    """The folder one process makes (default template cache: <folder>/.template_cache)."""
    out = tmp_path_factory.mktemp("single") / "generate_lawdnet_self"
    assert main(argv(pair_dirs, out)) == 0
    return out


def frames(path: Path) -> np.ndarray:
    with VideoReader(path) as reader:
        return np.stack(list(reader))


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def media(folder: Path) -> list[str]:
    return [name for name in listing(folder) if name.endswith(".mp4")]


def stamps(folder: Path) -> dict:
    return {name: (folder / name).stat().st_mtime_ns for name in media(folder)}


def assert_same_outputs(got: Path, want: Path) -> None:
    assert media(want) == OUTPUTS and media(got) == OUTPUTS
    for name in OUTPUTS:
        assert (got / name).read_bytes() == (want / name).read_bytes(), name       # the same code wrote them


def test_three_pairs_make_what_infer_makes(pair_dirs, single, tmp_path):
    video, audio = pair_dirs
    assert listing(single) == [*OUTPUTS, "provenance.json"]
    for name in OUTPUTS:
        info = probe(single / name)
        assert info.has_audio and info.frame_count == FRAMES[name] and info.fps == 25, name
        speech = next(audio.glob(f"{Path(name).stem}.*"))
        ref = tmp_path / f"infer_{name}"
        assert infer_main(["--video_path", str(video / name), "--audio_path", str(speech), "--output", str(ref),
                           *RANDOM_64, "--no_cache"]) == 0
        np.testing.assert_array_equal(frames(single / name), frames(ref), err_msg=name)

    manifest = read_manifest(single)
    assert sorted(manifest["files"]) == OUTPUTS
    record = manifest["files"]["c.mp4"]
    assert (record["video"], record["audio"], record["frames"]) == (str(video / "c.mp4"), str(audio / "c.wav"), "15")
    maker = manifest["maker"]
    assert maker["model"] == "lawdnet" and maker["random_weights"] is True and "RANDOM WEIGHTS" in maker["label"]
    assert {k: maker["settings"][k] for k in ("mouthsize", "features", "landmarks", "random_seed")} == \
        {"mouthsize": 64, "features": "dp2", "landmarks": "offline", "random_seed": 0}
    last = manifest["last_run"]
    assert (last["generated"], last["failed"], last["world_size"], last["shards"]) == (3, 0, 1, {"unsharded": 3})
    assert manifest["run"]["options"]["batch_size"] == 4 and manifest["run"]["weights"]["random"] is True
    cache = single / ".template_cache"                 # a and b share their template: two entries
    assert len([p for p in cache.iterdir() if not p.name.startswith(".")]) == 2
    prov = provenance_of(single)                       # what the evaluator reports
    assert prov["files_recorded"] == 3 and prov["files_unrecorded"] == [] and prov["model"] == "lawdnet"


def test_a_run_resumes_and_other_settings_refuse(pair_dirs, single, tmp_path, capsys, one_model):
    out = tmp_path / "generate_lawdnet_self"
    shutil.copytree(single, out)
    (out / "b.mp4").unlink()
    before = stamps(out)
    capsys.readouterr()
    assert main(argv(pair_dirs, out)) == 0
    err = capsys.readouterr().err
    assert "made 1, kept 2 made earlier, failed 0 (of 3 pairs)" in err, err
    assert {k: v for k, v in stamps(out).items() if k != "b.mp4"} == before
    assert_same_outputs(out, single)
    assert main(argv(pair_dirs, out, "--resume")) == 0
    assert "made 0, kept 3 made earlier" in capsys.readouterr().err
    before = stamps(out)
    assert main(argv(pair_dirs, out, "--seed", "7")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "made with another model or other settings" in err and "seed" in err, err
    assert "--overwrite" in err and stamps(out) == before


def test_a_broken_pair_fails_alone(pair_dirs, single, tmp_path, capsys, one_model):
    """--pairs with the columns video, audio, id (relative paths found in --video_dir / --audio_dir); the 0-byte
    template of one row is reported with its file, the other rows are made: exit status 1."""
    video, audio = pair_dirs
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(f"id,video,audio\nx,a.mp4,a.mp4\nbroken,{empty},b.wav\nz,c.mp4,c.wav\n")
    out = tmp_path / "generate_lawdnet"
    capsys.readouterr()
    assert main(["--pairs", str(pairs), "--video_dir", str(video), "--audio_dir", str(audio), "--save_folder",
                 str(out), *RANDOM_64]) == 1
    err = capsys.readouterr().err
    assert f"broken: {empty}: empty file (0 bytes)" in err and "made 2, kept 0 made earlier, failed 1" in err, err
    assert listing(out) == ["provenance.json", "x.mp4", "z.mp4"]
    np.testing.assert_array_equal(frames(out / "x.mp4"), frames(single / "a.mp4"))
    np.testing.assert_array_equal(frames(out / "z.mp4"), frames(single / "c.mp4"))
    manifest = read_manifest(out)
    assert sorted(manifest["files"]) == ["x.mp4", "z.mp4"]
    assert manifest["last_run"]["failures"] == [f"broken: {empty}: empty file (0 bytes)"]


def test_two_shards_then_a_merge_equal_one_process(pair_dirs, single, tmp_path, capsys, one_model):
    out = tmp_path / "generate_lawdnet_self"
    capsys.readouterr()
    assert main(argv(pair_dirs, out, "--shard", "0/2")) == 0
    err = capsys.readouterr().err
    assert "shard 0/2: made 2, kept 0 made earlier, failed 0 (of 2 pairs)" in err, err
    assert "without --shard to merge" in err
    assert listing(out) == ["a.mp4", "c.mp4", "provenance.shard-0-of-2.json"]
    assert main(argv(pair_dirs, out, "--shard", "1/2")) == 0
    assert not (out / "provenance.json").exists()
    own = json.loads((out / "provenance.shard-1-of-2.json").read_text())
    assert sorted(own["files"]) == ["b.mp4"] and own["files"]["b.mp4"]["shard"] == "1/2"
    assert own["last_run"]["shard"] == "1/2" and own["last_run"]["world_size"] == 2
    before = stamps(out)
    capsys.readouterr()

    assert main(argv(pair_dirs, out)) == 0                                        # the merge
    err = capsys.readouterr().err
    assert "merged the records of shard(s) 0/2, 1/2" in err and "made 0, kept 3 made earlier" in err, err
    assert stamps(out) == before and listing(out) == [*OUTPUTS, "provenance.json"]
    assert_same_outputs(out, single)
    manifest = read_manifest(out)
    assert {n: r["shard"] for n, r in manifest["files"].items()} == {"a.mp4": "0/2", "b.mp4": "1/2", "c.mp4": "0/2"}
    assert manifest["last_run"]["world_size"] == 2 and manifest["last_run"]["shards"] == {"0/2": 2, "1/2": 1}
    assert sorted(manifest["shard_runs"]) == ["0/2", "1/2"]
    assert manifest["shard_runs"]["1/2"]["options"]["shard"] == "1/2"
    assert manifest["maker_key"] == read_manifest(single)["maker_key"]


@pytest.mark.parametrize("case, expected", [
    (["--shard=2/2"], "error: shard: '2/2' is not i/n"),
    (["--overwrite", "--resume"], "error: --overwrite and --resume exclude each other"),
    (["--landmarks", "openface-csv", "--landmarks_csv", "x.csv"], "describes one template video, the pairs use 3"),
    ("no video_dir", "error: --video_dir is needed (or --pairs pairs.csv)"),
    ("no audio column", "needs a 'driving' (or 'gt', 'audio') column"),
    ("missing file", "pairs.csv:2: driving 'nope.wav' not found"),
])
def test_bad_input_is_one_line_before_any_work(case, expected, pair_dirs, tmp_path, capsys):
    out = tmp_path / "out"
    video, audio = pair_dirs
    pairs = tmp_path / "pairs.csv"
    if case == "no video_dir":
        args = ["--audio_dir", str(audio), "--save_folder", str(out), *RANDOM_64]
    elif isinstance(case, str):
        pairs.write_text("video,id\na.mp4,x\n" if case == "no audio column" else "video,audio\na.mp4,nope.wav\n")
        args = ["--pairs", str(pairs), "--video_dir", str(video), "--audio_dir", str(audio), "--save_folder",
                str(out), *RANDOM_64]
    else:
        args = argv(pair_dirs, out, *case)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err, err
    assert not out.exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_gloo_processes_under_torchrun_equal_one_process(pair_dirs, single, tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
               OMP_NUM_THREADS="1")
    out = tmp_path / "generate_lawdnet_self"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_addr=127.0.0.1",
           f"--master_port={_free_port()}", "-m", "lawdnet.generate", *argv(pair_dirs, out)]
    proc = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "shard 1/2: rank 0 merges" in proc.stderr and "merged the records of shard(s) 0/2, 1/2" in proc.stderr
    assert listing(out) == [*OUTPUTS, "provenance.json"]
    assert_same_outputs(out, single)
    last = read_manifest(out)["last_run"]
    assert (last["world_size"], last["shards"], last["launcher"]) == (2, {"0/2": 2, "1/2": 1}, "torchrun")
    assert last["generated"] == 0 and last["skipped_existing"] == 3
