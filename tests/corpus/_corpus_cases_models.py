"""Corpus rows for `python -m dagan.animate`, `python -m dagan.generate` and `python -m syncnet score | selftest`."""
from __future__ import annotations

import json
import os
from pathlib import Path

from _corpus import Case

RANDOM = ["--random_tiny_model", "0"]


def _files(w, **change) -> list[str]:
    """The model flags for the tiny DaGAN checkpoint of the workspace, with ``change``'s files built instead."""
    files = w.dagan()
    files.update({role: make(w) for role, make in change.items()})
    return [arg for role in ("checkpoint", "depth_encoder", "depth_decoder", "config")
            for arg in (f"--{role}", files[role])]


def _an(w, *extra: str, source=None, driving=None, result: str = "out.mp4", model=None, cpu: bool = True):
    """dagan.animate with face.png (64x64) and drive.mp4 (8 frames with audio), the tiny random model by default."""
    source = source(w) if source else w.png()
    driving = driving(w) if driving else w.video("drive.mp4")
    model = RANDOM if model is None else model(w)
    return ["--source_image", source, "--driving_video", driving, "--result_video", w.p(result), "--no_progress",
            *(["--cpu"] if cpu else []), *model, *extra]


def _drive_and_link(w) -> str:
    """drive.mp4, and out.mp4: a symlink to it."""
    drive = w.video("drive.mp4")
    os.symlink("drive.mp4", w.p("out.mp4"))
    return drive


ANIMATE = [
    Case("animate-source-missing", "dagan.animate", "--source_image does not exist",
         lambda w: _an(w, source=lambda w: w.p("nothere.png")), ("nothere.png", "no such file")),
    Case("animate-source-is-dir", "dagan.animate", "--source_image is a directory",
         lambda w: _an(w, source=lambda w: w.dir("faces")), ("faces", "is a directory")),
    Case("animate-source-corrupt-png", "dagan.animate", "a corrupt source PNG (header only)",
         lambda w: _an(w, source=lambda w: w.corrupt_png()), ("corrupt.png", "truncated or corrupt image")),
    Case("animate-source-text-png", "dagan.animate", "a text file named .png as the source",
         lambda w: _an(w, source=lambda w: w.file("face.png", "not a picture\n")), ("face.png", "not an image")),
    Case("animate-source-is-video", "dagan.animate", "an mp4 named face.png as the source (a video for an image)",
         lambda w: _an(w, source=lambda w: w.video("face.png")), ("face.png", "not an image")),
    Case("animate-driving-empty", "dagan.animate", "a 0-byte driving video",
         lambda w: _an(w, driving=lambda w: w.file("drive.mp4", b"")), ("drive.mp4", "empty file (0 bytes)")),
    Case("animate-driving-audio-only", "dagan.animate", "a .wav as the driving video",
         lambda w: _an(w, driving=lambda w: w.wav()), ("speech.wav", "has no video stream")),
    Case("animate-driving-text-mp4", "dagan.animate", "a text file named .mp4 as the driving video",
         lambda w: _an(w, driving=lambda w: w.file("drive.mp4", "hello\n")), ("drive.mp4", "not a readable media")),
    Case("animate-driving-truncated", "dagan.animate", "a truncated driving mp4",
         lambda w: _an(w, driving=lambda w: w.truncated()), ("cut.mp4", "truncated file")),
    Case("animate-best-frame-negative", "dagan.animate", "--best_frame -3",
         lambda w: _an(w, "--best_frame", "-3"), ("--best_frame must be >= 0, got -3",)),
    Case("animate-batch-size-0", "dagan.animate", "--batch_size 0",
         lambda w: _an(w, "--batch_size", "0"), ("--batch_size must be at least 1, got 0",)),
    Case("animate-crop-every-0", "dagan.animate", "--crop auto --crop_every 0",
         lambda w: _an(w, "--crop", "auto", "--crop_every", "0"), ("--crop_every must be at least 1",)),
    Case("animate-result-avi", "dagan.animate", "--result_video with an unsupported extension (.avi)",
         lambda w: _an(w, result="out.avi"), ("out.avi", "must end with .mp4")),
    Case("animate-result-is-driving", "dagan.animate", "--result_video = --driving_video",
         lambda w: _an(w, result="drive.mp4"), ("drive.mp4", "would overwrite the input file")),
    Case("animate-result-symlink", "dagan.animate", "--result_video is a symlink to the driving video",
         lambda w: _an(w, driving=_drive_and_link), ("out.mp4", "would overwrite the input file")),
    Case("animate-result-folder-missing", "dagan.animate", "--result_video in a folder that does not exist",
         lambda w: _an(w, result="results/out.mp4"), ("results", "does not exist; create it first")),
    Case("animate-result-is-dir", "dagan.animate", "--result_video is a directory named out.mp4",
         lambda w: (w.dir("out.mp4"), _an(w))[1], ("out.mp4", "is a directory")),
    Case("animate-random-and-checkpoint", "dagan.animate", "--random_tiny_model with --checkpoint",
         lambda w: _an(w, "--checkpoint", w.file("x.pth.tar", "x")), ("cannot be combined with --checkpoint",)),
    Case("animate-paste-back-no-crop", "dagan.animate", "--paste_back without --crop auto",
         lambda w: _an(w, "--paste_back"), ("--paste_back needs --crop auto",)),
    Case("animate-crop-auto-no-face", "dagan.animate", "--crop auto on a flat grey source (no face)",
         lambda w: _an(w, "--crop", "auto", "--landmarks", "offline", source=lambda w: w.png(grey=True)),
         ("face.png", "no face found")),
    Case("animate-tiny-source-no-face", "dagan.animate", "an 8x8 source with --crop auto",
         lambda w: _an(w, "--crop", "auto", "--landmarks", "offline", source=lambda w: w.png("tiny.png", 8)),
         ("tiny.png", "no face found"), logs=("warning: ",),
         why="the source is first warned about as tiny (under 64 px: upscaled, blurry), then refused: no face"),
    Case("animate-device-cuda", "dagan.animate", "--device cuda without a GPU (cuda:64 where one is)",
         lambda w: _an(w, "--device", w.no_such_gpu(), cpu=False), ("device 'cuda",)),
    Case("animate-generator-spade", "dagan.animate", "--generator SPADEDepthAwareGenerator (not supported)",
         lambda w: _an(w, "--generator", "SPADEDepthAwareGenerator"), ("is not supported",)),
    Case("animate-weights-missing", "dagan.animate", "no weights in TALKINGFACE_CHECKPOINTS: all three listed",
         lambda w: _an(w, model=lambda w: []), ("weights fetch dagan_vox_adv_256", "weights fetch depth_encoder",
                                               "weights fetch depth_decoder"), process=True),
    Case("animate-checkpoint-text", "dagan.animate", "--checkpoint is a text file",
         lambda w: _an(w, model=lambda w: _files(w, checkpoint=lambda w: w.file("c.pth.tar", "not weights\n"))),
         ("c.pth.tar", "not a PyTorch checkpoint"), reach="weights"),
    Case("animate-checkpoint-list", "dagan.animate", "--checkpoint is a torch file holding a list",
         lambda w: _an(w, model=lambda w: _files(w, checkpoint=lambda w: w.torch_file("c.pth.tar", [1, 2]))),
         ("c.pth.tar", "found a list"), reach="weights"),
    Case("animate-checkpoint-wrong-keys", "dagan.animate", "--checkpoint: a state dict with wrong keys",
         lambda w: _an(w, model=lambda w: _files(w, checkpoint=lambda w: w.torch_file(
             "c.pth.tar", lambda t: {"generator": {"conv.weight": t.zeros(1)}, "kp_detector": {}}))),
         ("c.pth.tar", "does not match", "missing key"), reach="weights"),
    Case("animate-checkpoint-truncated", "dagan.animate", "--checkpoint cut to half its size",
         lambda w: _an(w, model=lambda w: _files(w, checkpoint=lambda w: w.file(
             "c.pth.tar", Path(w.shared.dagan_tiny()["checkpoint"]).read_bytes()[:300_000]))),
         ("c.pth.tar", "truncated or damaged checkpoint"), reach="weights"),
    Case("animate-depth-encoder-is-decoder", "dagan.animate", "--depth_encoder holds decoder keys",
         lambda w: _an(w, model=lambda w: _files(w, depth_encoder=lambda w: w.torch_file(
             "enc.pth", lambda t: {"decoder.0.conv.conv.weight": t.zeros(1)}))), ("enc.pth", "expected the encoder"),
         reach="weights"),
]


def _gen(w, *extra: str, save: str = "out", model=None) -> list[str]:
    """dagan.generate over es/source_self and es/gt_self (one pair, a), the tiny random model by default."""
    es = w.evalset()
    return ["--source_dir", f"{es}/source_self", "--driving_dir", f"{es}/gt_self", "--save_folder", w.p(save),
            "--no_progress", "--cpu", *(RANDOM if model is None else model(w)), *extra]


def _gen_into_link(w) -> list[str]:
    """--save_folder gen, a symlink to es/source_self."""
    os.symlink("es/source_self", w.p("gen"))
    return _gen(w, save="gen")


def _pairs(w, text: str) -> list[str]:
    w.evalset()
    return ["--pairs", w.file("pairs.csv", text), "--save_folder", w.p("out"), "--no_progress", *RANDOM]


def _other_maker(w) -> str:
    w.video("out/a.mp4")
    w.file("out/provenance.json", json.dumps({"version": 1, "maker_key": "0" * 16, "maker": {"model": "dagan"},
                                              "checkpoints": [], "run": {}, "files": {"a.mp4": {}}}))
    return "out"


GENERATE_LOG = ("1 pair(s), 0 already made in ",)
GENERATE = [
    Case("generate-save-is-gt_self", "dagan.generate", "--save_folder = gt_self (a ground-truth folder)",
         lambda w: _gen(w, save="es/gt_self"), ("gt_self", "evaluation_set input folder")),
    Case("generate-save-symlink-to-source", "dagan.generate", "--save_folder is a symlink to source_self",
         _gen_into_link,
         ("evaluation_set input folder",)),
    Case("generate-foreign-files", "dagan.generate", "--save_folder holds a video the kit did not make",
         lambda w: (w.video("out/a.mp4"), _gen(w))[1], ("did not make", "a.mp4")),
    Case("generate-other-maker", "dagan.generate", "--save_folder made with other weights, no --overwrite",
         lambda w: _gen(w, save=_other_maker(w)), ("made with another model or other settings", "--overwrite"),
         process=True),
    Case("generate-overwrite-and-resume", "dagan.generate", "--overwrite with --resume",
         lambda w: _gen(w, "--overwrite", "--resume"), ("--overwrite and --resume exclude each other",)),
    Case("generate-random-and-checkpoint", "dagan.generate", "--random_tiny_model with --checkpoint",
         lambda w: _gen(w, "--checkpoint", w.file("x.pth.tar", "x")), ("cannot be combined with --checkpoint",)),
    Case("generate-no-sources", "dagan.generate", "neither --source_dir nor --pairs",
         lambda w: ["--save_folder", w.p("out"), *RANDOM], ("--source_dir is needed",)),
    Case("generate-source-dir-missing", "dagan.generate", "--source_dir does not exist",
         lambda w: ["--source_dir", w.p("nothere"), "--driving_dir", w.dir("drv"), "--save_folder", w.p("out"),
                    *RANDOM], ("nothere", "folder not found")),
    Case("generate-pairs-no-header", "dagan.generate", "pairs.csv without a header row",
         lambda w: _pairs(w, "source_self/a.png,gt_self/a.mp4\n"), ("pairs.csv", "needs a 'driving' (or 'gt')")),
    Case("generate-pairs-no-source", "dagan.generate", "pairs.csv without a source column",
         lambda w: _pairs(w, "id,driving\na,gt_self/a.mp4\n"), ("pairs.csv", "needs the column(s) source")),
    Case("generate-pairs-duplicate-id", "dagan.generate", "pairs.csv with the same id twice",
         lambda w: _pairs(w, "id,source,driving\na,es/source_self/a.png,es/gt_self/a.mp4\n"
                             "a,es/source_self/a.png,es/gt_self/a.mp4\n"), ("pairs.csv:3", "already used")),
    Case("generate-pairs-missing-source", "dagan.generate", "pairs.csv naming a source file that does not exist",
         lambda w: _pairs(w, "source,driving\nes/source_self/b.png,es/gt_self/a.mp4\n"), ("b.png", "not found")),
    Case("generate-pairs-empty", "dagan.generate", "a 0-byte pairs.csv",
         lambda w: _pairs(w, ""), ("pairs.csv", "no header")),
    Case("generate-weights-missing", "dagan.generate", "no weights in TALKINGFACE_CHECKPOINTS: all three listed",
         lambda w: _gen(w, model=lambda w: []), ("weights fetch dagan_vox_adv_256", "weights fetch depth_decoder")),
    Case("generate-checkpoint-text", "dagan.generate", "--checkpoint is a text file",
         lambda w: _gen(w, model=lambda w: _files(w, checkpoint=lambda w: w.file("c.pth.tar", "not weights\n"))),
         ("c.pth.tar", "not a PyTorch checkpoint"), reach="weights", logs=GENERATE_LOG,
         why="the output checks run before the weights load, as documented; the pair count is logged"),
    Case("generate-read-only", "dagan.generate", "--save_folder on a read-only mount",
         lambda w: _gen(w, save=os.path.basename(w.dir("ro"))), ("read-only file system",), readonly="ro"),
]


def _score(w, *extra: str, weights=None) -> list[str]:
    return [w.video(), *(["--weights", weights(w)] if weights else []), *extra]


SYNCNET = [
    Case("score-weights-missing", "syncnet score", "no syncnet_v2.model in TALKINGFACE_CHECKPOINTS",
         lambda w: _score(w), ("weights missing", "weights fetch syncnet_v2")),
    Case("score-batch-size-0", "syncnet score", "--batch_size 0",
         lambda w: _score(w, "--batch_size", "0"), ("--batch_size must be >= 1, got 0",)),
    Case("score-device-cuda", "syncnet score", "--device cuda without a GPU (cuda:64 where one is)",
         lambda w: _score(w, "--device", w.no_such_gpu()), ("device 'cuda",)),
    Case("score-mode-unknown", "syncnet score", "--mode of an unknown name",
         lambda w: _score(w, "--mode", "face"), ("invalid choice: 'face'",)),
    Case("score-json-is-input", "syncnet score", "--json = the video",
         lambda w: _score(w, "--json", w.p("in.mp4")), ("would overwrite the input file",)),
    Case("score-json-is-dir", "syncnet score", "--json is a directory",
         lambda w: _score(w, "--json", w.dir("scores")), ("scores", "is a folder")),
    Case("score-json-read-only", "syncnet score", "--json on a read-only mount",
         lambda w: _score(w, "--json", w.dir("ro") + "/x.json"), ("read-only file system",), readonly="ro"),
    Case("score-weights-text", "syncnet score", "--weights is a text file",
         lambda w: _score(w, weights=lambda w: w.file("sync.model", "hello\n")), ("sync.model", "not a PyTorch"),
         reach="weights"),
    Case("score-weights-wrong-keys", "syncnet score", "--weights: a state dict with wrong keys",
         lambda w: _score(w, weights=lambda w: w.torch_file("sync.model", lambda t: {"conv.weight": t.zeros(1)})),
         ("sync.model", "missing key"), reach="weights"),
    Case("score-no-audio", "syncnet score", "a video without audio", lambda w: [
         w.video("silent.mp4", audio=False), "--weights", w.syncnet_weights()], ("silent.mp4", "has no audio stream"),
         code=1, style="row", reach="work"),
    Case("score-audio-only", "syncnet score", "a .wav given as the video",
         lambda w: [w.wav(), "--weights", w.syncnet_weights()], ("speech.wav", "has no video stream"),
         code=1, style="row", reach="work"),
    Case("score-image", "syncnet score", "a PNG given as the video (an image for a video)",
         lambda w: [w.png(), "--weights", w.syncnet_weights()], ("face.png", "has no audio stream"),
         code=1, style="row", reach="work"),
    Case("selftest-video-missing", "syncnet selftest", "the example video does not exist",
         lambda w: [w.p("example.avi"), "--weights", w.file("sync.model", "x")], ("example.avi", "not found"),
         process=True),
    Case("selftest-weights-missing", "syncnet selftest", "no syncnet_v2.model in TALKINGFACE_CHECKPOINTS",
         lambda w: [w.video()], ("weights fetch syncnet_v2",)),
]

CASES = ANIMATE + GENERATE + SYNCNET
