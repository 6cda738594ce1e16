"""`python -m dagan.animate` and `python -m dagan.generate` end to end on a tiny random DaGAN saved in the authors'
file formats: real ffmpeg round trips on tiny media, audio kept, resolved configs, resumability, bad input, one
probe of the driving video and at most two decoding passes."""
from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

import dagan
from dagan import evaluation_set, pipeline, random_weights
from dagan.cli import animate, generate
from talkingface.media import VideoReader, probe, read_image, write_image


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> random_weights.ModelFiles:
    return random_weights.write_random_model(tmp_path_factory.mktemp("dagan_tiny"), seed=0, tiny=True)


@pytest.fixture(scope="module")
def model(files):
    return dagan.load_model(files.checkpoint, files.depth_encoder, files.depth_decoder, config=files.config)


def model_args(files):
    return ["--checkpoint", str(files.checkpoint), "--depth_encoder", str(files.depth_encoder), "--depth_decoder",
            str(files.depth_decoder), "--config", str(files.config), "--cpu", "--no_progress"]


@pytest.fixture
def rgba_source(tmp_path, make_video):
    """A non-square RGBA source image (alpha must be dropped)."""
    from PIL import Image

    rgb = make_video.frame(11, 72, 96)
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 80, np.uint8)])
    path = tmp_path / "source.png"
    Image.fromarray(rgba, "RGBA").save(path)
    return path


def no_stray_files(folder, keep):
    return sorted(p.name for p in folder.iterdir()) == sorted(keep)


@pytest.mark.slow
def test_animate_cli_keeps_fps_audio_and_writes_config(files, model, rgba_source, make_video, tmp_path, capsys):
    """4 frames at 30 fps with audio, --find_best_frame on frames without a face (falls back to frame 0)."""
    driving = make_video(frames=4, size=(64, 48), fps=30, audio=True)
    out = tmp_path / "result.mp4"
    code = animate.main(["--source_image", str(rgba_source), "--driving_video", str(driving), "--result_video",
                         str(out), "--relative", "--adapt_scale", "--find_best_frame", "--landmarks", "offline",
                         "--batch_size", "3", *model_args(files)])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "warning: no face found" in err
    info, src_info = probe(out), probe(driving)
    assert (info.width, info.height, info.frame_count) == (256, 256, 4)
    assert info.fps == pytest.approx(30.0)
    assert info.has_audio and abs(info.duration - src_info.duration) < 1 / 30 + 1e-3
    assert abs(info.audio_duration - src_info.audio_duration) < 0.05
    # the frames are the model's animation of the source (alpha dropped), up to H.264 coding
    frames = np.stack(list(VideoReader(out))).astype(np.float32) / 255
    driving_frames = np.stack(list(VideoReader(driving)))
    expected = model.animate(read_image(rgba_source), driving_frames, relative=True, adapt_scale=True)
    assert np.abs(frames - expected).mean() < 0.02
    record = yaml.safe_load((tmp_path / "result.config.yaml").read_text())
    assert record["result"]["anchor_frame"] == 0 and record["result"]["anchor_reason"].startswith("fallback")
    assert record["options"]["relative"] is True and record["options"]["landmarks"] == "offline"
    assert record["weights"]["checkpoint"] == str(files.checkpoint)
    assert record["model"]["model_params"]["generator_params"]["block_expansion"] == 8
    assert no_stray_files(tmp_path, ["source.png", "result.mp4", "result.config.yaml"])


@pytest.mark.slow
def test_animate_cli_one_frame_video_and_given_best_frame(files, make_video, tmp_path, capsys):
    driving = make_video(frames=1, size=(40, 40))
    src = write_image(tmp_path / "gray.png", make_video.frame(2, 50, 30).mean(axis=2).astype(np.uint8))
    out = tmp_path / "one.mkv"
    assert animate.main(["--source_image", str(src), "--driving_video", str(driving), "--result_video", str(out),
                         "--best_frame", "0", *model_args(files)]) == 0
    info = probe(out)
    assert info.frame_count == 1 and not info.has_audio
    code = animate.main(["--source_image", str(src), "--driving_video", str(driving), "--result_video",
                         str(tmp_path / "two.mp4"), "--best_frame", "1", *model_args(files)])
    assert code == 2 and "best frame 1 is outside the video's frames 0..0" in capsys.readouterr().err
    assert not (tmp_path / "two.mp4").exists()


@pytest.mark.slow
@pytest.mark.parametrize(("extra", "most"), [([], 1), (["--find_best_frame", "--landmarks", "offline"], 2),
                                             (["--best_frame", "2"], 2)])
def test_animate_cli_probes_the_driving_video_once(files, make_video, tmp_path, media_counts, extra, most):
    """One probe of the driving video (input check, decoding and the audio track share it); one decoding pass, or
    two with a best-frame search (the anchor's pixels are kept) or a later anchor frame (decoded up to it)."""
    driving = make_video(frames=4, size=(48, 48), fps=25, audio=True)
    src = write_image(tmp_path / "face.png", make_video.frame(3, 40, 40))
    out = tmp_path / "out.mp4"
    assert animate.main(["--source_image", str(src), "--driving_video", str(driving), "--result_video", str(out),
                         "--relative", *extra, *model_args(files)]) == 0
    assert media_counts["probe"].count(driving.name) == 1
    passes = media_counts["decode"].count(driving.name)
    assert 1 <= passes <= most
    assert media_counts["open"].count(driving.name) == 1 + passes         # PyAV opens it for nothing else
    assert probe(out).has_audio


def test_entry_modules_run_the_cli_commands():
    import subprocess
    import sys

    for name in ("animate", "generate"):
        done = subprocess.run([sys.executable, "-m", f"dagan.{name}", "--help"], capture_output=True, text=True,
                              check=False)
        assert done.returncode == 0, done.stderr
        assert f"python -m dagan.{name}" in done.stdout and "--random_tiny_model" in done.stdout


def run_bad(argv, capsys):
    code = animate.main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2 and "Traceback" not in err
    return err.splitlines()[-1]


def test_animate_cli_bad_input(files, make_video, make_wav, tmp_path, capsys, monkeypatch):
    good_video = make_video(frames=2, size=(32, 32))
    good_image = write_image(tmp_path / "ok.png", make_video.frame(0, 32, 32))
    garbage = tmp_path / "broken.png"
    garbage.write_bytes(b"not an image at all")
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    out = tmp_path / "out.mp4"
    base = model_args(files)

    def argv(source=good_image, driving=good_video, result=out, *extra):
        return ["--source_image", str(source), "--driving_video", str(driving), "--result_video", str(result),
                *base, *extra]

    assert "broken.png" in run_bad(argv(source=garbage), capsys)
    assert "missing.png" in run_bad(argv(source=tmp_path / "missing.png"), capsys)
    assert "empty.mp4" in run_bad(argv(driving=empty), capsys)
    assert "no video stream" in run_bad(argv(driving=make_wav(0.2)), capsys)          # audio only: no frames
    message = run_bad(argv(result=tmp_path / "nope" / "out.mp4"), capsys)
    assert "output folder" in message and "nope" in message and not (tmp_path / "nope").exists()
    assert "must end with" in run_bad(argv(result=tmp_path / "out.gif"), capsys)
    assert "not supported" in run_bad(argv(good_image, good_video, out, "--generator", "SPADEDepthAwareGenerator"),
                                      capsys)
    monkeypatch.setenv("TALKINGFACE_CHECKPOINTS", str(tmp_path / "no_weights"))
    message = run_bad(["--source_image", str(good_image), "--driving_video", str(good_video), "--result_video",
                       str(out), "--cpu"], capsys)
    assert "weights missing" in message and "DaGAN_vox_adv_256.pth.tar" in message
    assert no_stray_files(tmp_path, ["ok.png", "broken.png", "empty.mp4"])


def test_generate_pairs_from_csv_and_by_name(tmp_path, make_video, caplog):
    src, drv = tmp_path / "src", tmp_path / "drv"
    src.mkdir()
    drv.mkdir()
    for name in ("a", "b"):
        write_image(src / f"{name}.png", make_video.frame(1, 16, 16))
    write_image(drv / "a.png", make_video.frame(2, 16, 16))
    write_image(drv / "c.png", make_video.frame(2, 16, 16))
    pairs = evaluation_set.find_pairs(src, drv)
    assert [(p.id, p.source.name, p.driving.name) for p in pairs] == [("a", "a.png", "a.png")]
    assert "c.png" in caplog.text                                   # driving file without a source: warned
    csv_path = tmp_path / "pairs.csv"
    csv_path.write_text("source,driving,id\na.png,a.png,first\nsrc/b.png,drv/c.png,\n")
    pairs = evaluation_set.find_pairs(src, drv, csv_path)
    assert [(p.id, p.source, p.driving) for p in pairs] == [("first", src / "a.png", drv / "a.png"),
                                                            ("c", tmp_path / "src/b.png", tmp_path / "drv/c.png")]
    assert evaluation_set.output_path(pairs[0], tmp_path) == tmp_path / "first.png"
    csv_path.write_text("source,driving,id\na.png,a.png,x\nb.png,c.png,x\n")
    with pytest.raises(Exception, match="already used"):
        evaluation_set.find_pairs(src, drv, csv_path)
    csv_path.write_text("source,video\na.png,a.png\n")
    with pytest.raises(Exception, match="'driving'"):
        evaluation_set.find_pairs(src, drv, csv_path)


@pytest.mark.slow
def test_generate_resumable_single_image_absolute_and_random_label(files, model, make_video, tmp_path, capsys):
    """Video pair -> mp4 with audio; image pair -> png with absolute motion; a broken pair fails alone; a second
    run skips what exists; --random_tiny_model 0 is the same model as the files of seed 0."""
    src, drv, out = tmp_path / "source_self", tmp_path / "gt_self", tmp_path / "generate_dagan_self"
    src.mkdir()
    drv.mkdir()
    for name, seed in (("vid", 3), ("img", 5), ("bad", 7)):
        write_image(src / f"{name}.png", make_video.frame(seed, 48, 64))
    (drv / "vid.mp4").write_bytes(make_video(frames=3, size=(48, 48), fps=25, audio=True).read_bytes())
    write_image(drv / "img.png", make_video.frame(40, 64, 64))
    (drv / "bad.mp4").write_bytes(b"\x00" * 100)
    argv = ["--source_dir", str(src), "--driving_dir", str(drv), "--save_folder", str(out), "--random_tiny_model",
            "0", "--cpu", "--no_progress"]

    assert generate.main(argv) == 1                                    # one pair failed, the others were made
    err = capsys.readouterr().err
    assert "RANDOM WEIGHTS" in err and "absolute" in err and "error: bad:" in err
    assert sorted(p.name for p in out.iterdir()) == ["img.png", "provenance.json", "vid.mp4"]
    video = probe(out / "vid.mp4")
    assert (video.frame_count, video.width, video.has_audio) == (3, 256, True)
    image = read_image(out / "img.png")
    source, driving = read_image(src / "img.png"), read_image(drv / "img.png")
    np.testing.assert_array_equal(image, pipeline.animate_image(model, source, driving))
    relative = (model.animate(source, driving[None], relative=True, adapt_scale=False)[0] * 255 + 0.5).astype(np.uint8)
    assert np.abs(image.astype(int) - relative).max() > 8              # relative motion would give another image
    manifest = json.loads((out / "provenance.json").read_text())
    maker = manifest["maker"]
    assert maker["random_weights"] is True and "RANDOM WEIGHTS" in maker["label"] and maker["model"] == "dagan"
    assert maker["settings"]["image_driving_motion"].startswith("absolute")
    assert maker["settings"]["video_driving_motion"] == {"relative": True, "adapt_scale": False}
    assert manifest["last_run"]["generated"] == 2 and manifest["last_run"]["failed"] == 1
    assert manifest["run"]["weights"]["random"] is True and manifest["run"]["versions"]["torch"]
    assert {k: v["motion"] for k, v in manifest["files"].items()} == {"img.png": "absolute", "vid.mp4": "relative"}
    assert manifest["files"]["vid.mp4"]["source"] == str(src / "vid.png")

    (drv / "bad.mp4").unlink()
    stamps = {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.name != "provenance.json"}
    assert generate.main(argv) == 0
    assert "made 0, kept 2 made earlier" in capsys.readouterr().err
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.name != "provenance.json"} == stamps


@pytest.mark.slow
def test_generate_never_mixes_makers_and_never_writes_into_inputs(make_video, tmp_path, capsys):
    """Another seed or motion setting refuses (the folder would mix makers) unless --overwrite, which makes every
    output again; the ground-truth folder, a folder inside an input folder and a folder of files the kit did not
    make are refused before any model is loaded; the inputs are untouched (checksums)."""
    import hashlib

    src, drv, out = tmp_path / "source_self", tmp_path / "gt_self", tmp_path / "generate_dagan_self"
    src.mkdir()
    drv.mkdir()
    write_image(src / "a.png", make_video.frame(1, 48, 48))
    (drv / "a.mp4").write_bytes(make_video(frames=2, size=(48, 48), fps=25).read_bytes())
    digest = lambda: {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for d in (src, drv) for p in d.iterdir()}  # noqa: E731
    before = digest()
    base = ["--source_dir", str(src), "--driving_dir", str(drv), "--cpu", "--no_progress"]
    argv = [*base, "--save_folder", str(out), "--random_tiny_model", "0"]
    assert generate.main(argv) == 0
    made = (out / "a.mp4").stat().st_mtime_ns
    capsys.readouterr()
    for change in (["--random_tiny_model", "1"], ["--random_tiny_model", "0", "--no-relative"]):
        assert generate.main([*base, "--save_folder", str(out), *change]) == 2
        err = capsys.readouterr().err
        assert "made with another model or other settings" in err and "--overwrite" in err, err
        assert (out / "a.mp4").stat().st_mtime_ns == made
    assert generate.main([*base, "--save_folder", str(out), "--random_tiny_model", "1", "--overwrite"]) == 0
    assert (out / "a.mp4").stat().st_mtime_ns != made
    assert json.loads((out / "provenance.json").read_text())["maker"]["settings"]["random_seed"] == 1
    capsys.readouterr()
    stray = tmp_path / "generate_mine"
    stray.mkdir()
    (stray / "a.mp4").write_bytes((drv / "a.mp4").read_bytes())
    for folder, message in ((drv, "evaluation_set input folder"), (drv / "sub", "evaluation_set input folder"),
                            (tmp_path / "x" / "source_self", "input folder"), (stray, "did not make")):
        assert generate.main([*base, "--save_folder", str(folder), "--random_tiny_model", "0"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0] and "Traceback" not in err[0], err
    assert digest() == before and sorted(p.name for p in drv.iterdir()) == ["a.mp4"]
