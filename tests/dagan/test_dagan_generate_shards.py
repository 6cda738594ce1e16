"""Scale-out of `python -m dagan.generate` (docs/scale_out.md, "DaGAN generation"): `--shard i/n` job-array
processes writing into one folder, the merge that folds their records into provenance.json, and torchrun ranks on
gloo/CPU; every output equals a single-process run's, and the evaluator sees every file recorded."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dagan.cli import generate, options
from talkingface.errors import OutputError
from talkingface.generated import GeneratedFolder, Maker, provenance_of, read_manifest, shard_manifests
from talkingface.media import VideoReader, read_image, write_image

REPO = Path(__file__).resolve().parents[2]
OUTPUTS = ["a.mp4", "b.png", "c.png"]        # a: a driving video with audio; b, c: driving images


@pytest.fixture(scope="module")
def pair_dirs(tmp_path_factory, make_video):
    """Three same-stem pairs: a 2-frame driving video with audio and two driving images (tiny, to keep it fast)."""
    base = tmp_path_factory.mktemp("shard_pairs")
    src, drv = base / "source_self", base / "gt_self"
    src.mkdir()
    drv.mkdir()
    for i, name in enumerate(OUTPUTS):
        write_image(src / f"{Path(name).stem}.png", make_video.frame(3 + 7 * i, 32, 32))
    (drv / "a.mp4").write_bytes(make_video(frames=2, size=(32, 32), fps=25, audio=True).read_bytes())
    write_image(drv / "b.png", make_video.frame(41, 32, 32))
    write_image(drv / "c.png", make_video.frame(47, 32, 32))
    return src, drv


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread: on a busy 2-core machine several threads wait for each other (4x slower here); every
    run of this module (the reference one included) uses the same count, so the outputs stay comparable."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def models() -> dict:
    return {}


@pytest.fixture(autouse=True)
def one_model_per_seed(monkeypatch, models):
    """The in-process runs share one model per seed (building it is a second each; it is the same model)."""
    real = options.load_model_from_args

    def load(args, files=None):
        key = (args.random_tiny_model, args.cpu, args.device)
        if key not in models:
            models[key] = real(args, files)
        return models[key]

    monkeypatch.setattr(options, "load_model_from_args", load)


def argv(pair_dirs, out, *extra, seed: int = 0) -> list[str]:
    src, drv = pair_dirs
    return ["--source_dir", str(src), "--driving_dir", str(drv), "--save_folder", str(out), "--random_tiny_model",
            str(seed), "--cpu", "--no_progress", *map(str, extra)]


@pytest.fixture(scope="module")
def single(pair_dirs, tmp_path_factory, models) -> Path:
    """The folder one process makes."""
    out = tmp_path_factory.mktemp("single") / "generate_dagan_self"
    assert generate.main(argv(pair_dirs, out)) == 0
    return out


def frames(path: Path) -> np.ndarray:
    if path.suffix == ".png":
        return read_image(path)[None]
    with VideoReader(path) as reader:
        return np.stack(list(reader))


def media(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.suffix in (".mp4", ".png") and not p.name.startswith("."))


def assert_same_outputs(got: Path, want: Path) -> None:
    assert media(want) == OUTPUTS and media(got) == OUTPUTS
    for name in OUTPUTS:
        np.testing.assert_array_equal(frames(got / name), frames(want / name), err_msg=name)
        assert (got / name).read_bytes() == (want / name).read_bytes(), name       # the same code wrote them


def stamps(folder: Path) -> dict:
    return {name: (folder / name).stat().st_mtime_ns for name in media(folder)}


def test_two_shards_then_a_merge_equal_one_process(pair_dirs, single, tmp_path, capsys):
    out = tmp_path / "generate_dagan_self"
    assert generate.main(argv(pair_dirs, out, "--shard", "0/2")) == 0
    err = capsys.readouterr().err
    assert "shard 0/2: made 2, kept 0 made earlier, failed 0 (of 2 pairs)" in err, err
    assert "without --shard to merge" in err
    assert sorted(p.name for p in out.iterdir()) == ["a.mp4", "c.png", "provenance.shard-0-of-2.json"]
    assert generate.main(argv(pair_dirs, out, "--shard", "1/2")) == 0
    assert not (out / "provenance.json").exists()
    own = json.loads((out / "provenance.shard-1-of-2.json").read_text())
    assert sorted(own["files"]) == ["b.png"] and own["shard"] == "1/2" and own["files"]["b.png"]["shard"] == "1/2"
    assert own["last_run"]["shard"] == "1/2" and own["last_run"]["world_size"] == 2
    assert generate.main(argv(pair_dirs, out, "--shard", "1/2")) == 0            # a shard resumes from its file
    assert "shard 1/2: made 0, kept 1 made earlier" in capsys.readouterr().err
    before = stamps(out)

    assert generate.main(argv(pair_dirs, out)) == 0                               # the merge
    err = capsys.readouterr().err
    assert "merged the records of shard(s) 0/2, 1/2" in err and "made 0, kept 3 made earlier" in err, err
    assert "made by no shard" not in err
    assert stamps(out) == before                                                  # nothing made again
    assert sorted(p.name for p in out.iterdir()) == [*OUTPUTS, "provenance.json"]  # shard manifests folded
    assert_same_outputs(out, single)
    manifest = json.loads((out / "provenance.json").read_text())
    assert {n: r["shard"] for n, r in manifest["files"].items()} == {"a.mp4": "0/2", "b.png": "1/2", "c.png": "0/2"}
    assert manifest["last_run"]["world_size"] == 2 and manifest["last_run"]["shards"] == {"0/2": 2, "1/2": 1}
    assert sorted(manifest["shard_runs"]) == ["0/2", "1/2"]
    assert manifest["shard_runs"]["1/2"]["options"]["shard"] == "1/2"
    want = json.loads((single / "provenance.json").read_text())
    assert manifest["maker_key"] == want["maker_key"] and want["last_run"]["world_size"] == 1
    assert want["last_run"]["shards"] == {"unsharded": 3} and "shard" not in want["files"]["a.mp4"]

    prov = provenance_of(out)                                                     # what the evaluator reports
    assert prov["files_recorded"] == 3 and prov["files_unrecorded"] == [] and prov["random_weights"] is True


def test_a_merge_makes_the_pairs_of_a_missing_shard_itself(pair_dirs, single, tmp_path, capsys):
    out = tmp_path / "generate_dagan_self"
    assert generate.main(argv(pair_dirs, out, "--shard", "2/3")) == 0             # pair c (position 2) only
    assert sorted(shard_manifests(out)) == ["2/3"] and media(out) == ["c.png"]
    capsys.readouterr()
    assert generate.main(argv(pair_dirs, out)) == 0
    err = capsys.readouterr().err
    assert "merge: 2 pair(s) were made by no shard" in err and "made 2, kept 1 made earlier" in err, err
    assert_same_outputs(out, single)
    manifest = json.loads((out / "provenance.json").read_text())
    assert manifest["last_run"]["shards"] == {"2/3": 1, "unsharded": 2} and manifest["last_run"]["world_size"] == 3
    assert manifest["files"]["c.png"]["shard"] == "2/3" and "shard" not in manifest["files"]["a.mp4"]
    assert shard_manifests(out) == {} and provenance_of(out)["files_recorded"] == 3


def _made(folder: GeneratedFolder, name: str) -> None:
    folder.folder.mkdir(parents=True, exist_ok=True)
    (folder.folder / name).write_bytes(b"\x89PNG made")
    folder.add(name, source="s.png", driving="d.png")


def test_shard_manifests_of_the_folder_and_of_another_maker(tmp_path):
    """Shards read each other's records (done, not 'files this command did not make'; hidden partial files are no
    outputs); a shard manifest of another maker is refused like another maker's provenance.json, --overwrite makes
    its files again and drops its record; the merge folds the manifests of its maker."""
    out = tmp_path / "generate_x"
    maker, other = Maker("dagan", settings={"seed": 0}), Maker("dagan", settings={"seed": 1})
    shard0 = GeneratedFolder(out, maker, shard=(0, 2))
    _made(shard0, "a.png")
    (out / ".b.0123456789.partial.png").write_bytes(b"half")                     # another process's temporary file
    shard1 = GeneratedFolder(out, maker, shard=(1, 2))
    assert shard1.done("a.png") and not shard1.done("b.png")
    _made(shard1, "b.png")
    assert sorted(json.loads((out / "provenance.shard-1-of-2.json").read_text())["files"]) == ["b.png"]
    assert sorted(shard_manifests(out)) == ["0/2", "1/2"] and not (out / "provenance.json").exists()
    for shard in ((1, 2), None):
        with pytest.raises(OutputError, match="2 output.s. made with another model or other settings"):
            GeneratedFolder(out, other, shard=shard)
    redo = GeneratedFolder(out, other, shard=(0, 2), overwrite=True)              # deletes the old maker's files
    assert not redo.done("a.png") and media(out) == [] and shard_manifests(out) == {}
    _made(redo, "a.png")
    (out / "stray.png").write_bytes(b"not ours")
    with pytest.raises(OutputError, match=r"did not make \(stray.png\)"):
        GeneratedFolder(out, other, shard=(1, 2))
    (out / "stray.png").unlink()
    merged = GeneratedFolder(out, other)
    assert merged.merged == ["0/2"] and merged.done("a.png") and shard_manifests(out) == {}
    assert read_manifest(out)["files"]["a.png"]["shard"] == "0/2"
    merged.finish({"generated": 0})
    assert read_manifest(out)["last_run"] == {"generated": 0, "world_size": 2, "shards": {"0/2": 1}}


@pytest.mark.parametrize("bad", ["2/2", "a/b", "0/0", "1", "-1/2"])
def test_a_bad_shard_is_a_one_line_error(bad, pair_dirs, tmp_path, capsys):
    out = tmp_path / "out"
    assert generate.main(argv(pair_dirs, out, f"--shard={bad}")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: shard: {bad!r} is not i/n"), err
    assert not out.exists()


def test_torchrun_refuses_shard_and_needs_its_variables(pair_dirs, tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert generate.main(argv(pair_dirs, out, "--shard", "0/2")) == 2
    assert "under torchrun (WORLD_SIZE=2): leave --shard out" in capsys.readouterr().err
    for name in ("RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    assert generate.main(argv(pair_dirs, out)) == 2
    assert "start the run with torchrun" in capsys.readouterr().err
    assert generate.main(argv(pair_dirs, out, "--shard_wait_minutes", "0")) == 2
    assert "--shard_wait_minutes" in capsys.readouterr().err and not out.exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _torchrun(nproc: int, *args, env: dict) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={nproc}", "--master_addr=127.0.0.1",
           f"--master_port={_free_port()}", *map(str, args)]
    return subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.slow
def test_two_gloo_processes_under_torchrun_equal_one_process(pair_dirs, tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
               OMP_NUM_THREADS="1")
    one = tmp_path / "one" / "generate_dagan_self"          # the single run with the ranks' thread count
    proc = subprocess.run([sys.executable, "-m", "dagan.generate", *argv(pair_dirs, one)], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = tmp_path / "two" / "generate_dagan_self"
    proc = _torchrun(2, "-m", "dagan.generate", *argv(pair_dirs, out), env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "shard 1/2: rank 0 merges" in proc.stderr and "merged the records of shard(s) 0/2, 1/2" in proc.stderr
    assert sorted(p.name for p in out.iterdir()) == [*OUTPUTS, "provenance.json"]
    assert_same_outputs(out, one)
    last = json.loads((out / "provenance.json").read_text())["last_run"]
    assert (last["world_size"], last["shards"], last["launcher"]) == (2, {"0/2": 2, "1/2": 1}, "torchrun")
    assert last["generated"] == 0 and last["skipped_existing"] == 3


@pytest.mark.slow
def test_a_failing_rank_stops_the_other(pair_dirs, tmp_path):
    """Rank 1 cannot write its shard manifest (a folder is in the way): both ranks stop, naming it; nothing merged."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
               OMP_NUM_THREADS="1")
    out = tmp_path / "generate_dagan_self"
    (out / "provenance.shard-1-of-2.json").mkdir(parents=True)
    proc = _torchrun(2, "-m", "dagan.generate", *argv(pair_dirs, out, "--shard_wait_minutes", "1"), env=env)
    assert proc.returncode != 0
    assert "shard 1/2 failed:" in proc.stderr and "nothing merged" in proc.stderr, proc.stderr[-3000:]
    assert not (out / "provenance.json").exists()
