"""Corpus rows for `python -m talkingface probe | normalize | sample | weights | baseline`."""
from __future__ import annotations

import os

from _corpus import Case


def _links(w) -> str:
    """in.mp4 plus a symlink and a hard link to it, and an empty sub/ (for ``sub/../in.mp4``)."""
    src = w.video("in.mp4")
    os.symlink("in.mp4", w.p("link.mp4"))
    os.link(src, w.p("hard.mp4"))
    w.dir("sub")
    return src


PROBE = [
    Case("probe-missing", "talkingface probe", "a file that does not exist",
         lambda w: [w.p("nothere.mp4")], ("nothere.mp4", "no such file")),
    Case("probe-directory", "talkingface probe", "a directory instead of a file",
         lambda w: [w.dir("clips")], ("clips", "is a directory")),
    Case("probe-empty", "talkingface probe", "a 0-byte .mp4",
         lambda w: [w.file("empty.mp4", b"")], ("empty.mp4", "empty file (0 bytes)")),
    Case("probe-truncated", "talkingface probe", "an mp4 cut after 2000 bytes",
         lambda w: [w.truncated()], ("cut.mp4", "truncated file")),
    Case("probe-text-as-mp4", "talkingface probe", "a text file named .mp4",
         lambda w: [w.file("notes.mp4", "hello\n")], ("notes.mp4", "not a readable media file")),
    Case("probe-one-bad-of-two", "talkingface probe", "a good video and a 0-byte one: the good one is printed",
         lambda w: [w.video(), w.file("empty.mp4", b"")], ("empty.mp4", "empty file"), process=True),
]

NORMALIZE = [
    Case("normalize-audio-only", "talkingface normalize", "a .wav given as the video",
         lambda w: [w.wav(), w.p("out.mp4")], ("speech.wav", "has no video stream")),
    Case("normalize-truncated", "talkingface normalize", "a truncated mp4",
         lambda w: [w.truncated(), w.p("out.mp4")], ("cut.mp4", "truncated file")),
    Case("normalize-same-path", "talkingface normalize", "OUT = IN",
         lambda w: [w.video(), w.p("in.mp4"), "--overwrite"], ("would overwrite the input file",)),
    Case("normalize-symlink", "talkingface normalize", "OUT is a symlink to IN",
         lambda w: [_links(w), w.p("link.mp4"), "--overwrite"], ("link.mp4", "would overwrite the input file")),
    Case("normalize-hard-link", "talkingface normalize", "OUT is a hard link to IN",
         lambda w: [_links(w), w.p("hard.mp4"), "--overwrite"], ("hard.mp4", "would overwrite the input file")),
    Case("normalize-dotdot", "talkingface normalize", "OUT = sub/../in.mp4",
         lambda w: [_links(w), w.p("sub/../in.mp4"), "--overwrite"], ("would overwrite the input file",)),
    Case("normalize-exists", "talkingface normalize", "OUT exists, no --overwrite",
         lambda w: [w.video(), w.video("old.mp4", audio=False)], ("old.mp4", "already exists", "--overwrite")),
    Case("normalize-out-is-dir", "talkingface normalize", "OUT is a directory",
         lambda w: [w.video(), w.dir("out.mp4"), "--overwrite"], ("out.mp4", "is a directory")),
    Case("normalize-out-under-file", "talkingface normalize", "OUT's folder is a file",
         lambda w: [w.video(), w.file("notes.txt", "x") + "/out.mp4"], ("notes.txt", "is a file, not a folder")),
    Case("normalize-fps-negative", "talkingface normalize", "--fps -1",
         lambda w: [w.video(), w.p("out.mp4"), "--fps", "-1"], ("--fps must be positive",)),
    Case("normalize-unknown-extension", "talkingface normalize", "OUT with an unknown extension (.xyz)",
         lambda w: [w.video(), w.p("out.xyz")], ("out.xyz", "cannot write H.264 video with this extension")),
    Case("normalize-read-only", "talkingface normalize", "OUT in a read-only folder (bind mount)",
         lambda w: [w.video(), w.dir("ro") + "/out.mp4"], ("ro", "read-only file system"), readonly="ro"),
]

SAMPLE = [
    Case("sample-out-is-file", "talkingface sample", "OUT is an existing file",
         lambda w: [w.file("notes.txt", "x")], ("notes.txt", "is a file")),
    Case("sample-layout-blocked", "talkingface sample", "OUT/source_self is a file (gt_self would be written "
         "first)", lambda w: [w.file("set/source_self", "x").rsplit("/", 1)[0]], ("source_self", "is a file"),
         process=True),
    Case("sample-target-is-dir", "talkingface sample", "OUT/gt_cross/mirror.mp4 is a folder",
         lambda w: [w.dir("set/gt_cross/mirror.mp4").rsplit("/", 2)[0]], ("mirror.mp4", "is a folder")),
]

WEIGHTS = [
    Case("weights-fetch-unknown", "talkingface weights", "`fetch` of an unknown name",
         lambda w: ["fetch", "syncnet_v3"], ("unknown weights name 'syncnet_v3'", "syncnet_v2"), process=True),
    Case("weights-fetch-nothing", "talkingface weights", "`fetch` without a name",
         lambda w: ["fetch"], ("name the files to fetch",)),
    Case("weights-unknown-stage", "talkingface weights", "`verify --stage` of an unknown stage",
         lambda w: ["verify", "--stage", "dgan"], ("unknown stage 'dgan'", "dagan")),
    Case("weights-path-missing", "talkingface weights", "`path` of a file not in TALKINGFACE_CHECKPOINTS",
         lambda w: ["path", "syncnet_v2"], ("weights missing", "weights fetch syncnet_v2")),
    Case("weights-manifest-missing", "talkingface weights", "TALKINGFACE_MANIFEST names no file",
         lambda w: ["status"], ("weights manifest not found",),
         env=lambda w: {"TALKINGFACE_MANIFEST": w.p("nothere.yaml")}),
    Case("weights-manifest-not-mapping", "talkingface weights", "TALKINGFACE_MANIFEST is a text file",
         lambda w: ["status"], ("manifest.yaml", "expected a mapping"),
         env=lambda w: {"TALKINGFACE_MANIFEST": w.file("manifest.yaml", "just text\n")}),
    Case("weights-no-command", "talkingface weights", "no sub-command",
         lambda w: [], ("the following arguments are required: COMMAND",)),
]


def _baseline(w, save: str, source: str | None = None, driving: str | None = None) -> list[str]:
    es = w.evalset()
    return ["--source_dir", source or f"{es}/source_self", "--driving_dir", driving or f"{es}/gt_self",
            "--save_folder", save]


def _pair(w, source, driving, save: str = "out") -> list[str]:
    """src/a.png and drv/a.mp4 made by ``source(w, rel)`` and ``driving(w, rel)``; outputs to ``save``."""
    source(w, "src/a.png")
    driving(w, "drv/a.mp4")
    return ["--source_dir", w.p("src"), "--driving_dir", w.p("drv"), "--save_folder", w.p(save)]


def _good(w, rel) -> str:
    return w.png(rel) if rel.endswith(".png") else w.video(rel)


BASELINE = [
    Case("baseline-save-is-gt_self", "talkingface baseline", "--save_folder = a ground-truth folder (gt_self)",
         lambda w: _baseline(w, w.p("es/gt_self")), ("gt_self", "evaluation_set input folder")),
    Case("baseline-save-in-source", "talkingface baseline", "--save_folder inside source_self",
         lambda w: _baseline(w, w.p("es/source_self/out")), ("source_self", "evaluation_set input folder")),
    Case("baseline-save-is-driving-dotdot", "talkingface baseline", "--save_folder = src/../drv (the driving dir)",
         lambda w: _pair(w, _good, _good, save="src/../drv"), ("would overwrite the input folder",)),
    Case("baseline-foreign-files", "talkingface baseline", "--save_folder holds a video the kit did not make",
         lambda w: _baseline(w, w.video("mine/a.mp4").rsplit("/", 1)[0]), ("did not make", "a.mp4")),
    Case("baseline-no-source-dir", "talkingface baseline", "--source_dir does not exist",
         lambda w: _baseline(w, w.p("out"), source=w.p("nothere")), ("nothere", "folder not found")),
    Case("baseline-no-pairs", "talkingface baseline", "no source and driving share a file name",
         lambda w: _baseline(w, w.p("out"), driving=w.video("other/b.mp4").rsplit("/", 1)[0]),
         ("share a file name",)),
    Case("baseline-corrupt-png", "talkingface baseline", "a corrupt source PNG (header only)",
         lambda w: _pair(w, lambda w, r: w.corrupt_png(r), _good),
         ("a.png", "truncated or corrupt image")),
    Case("baseline-truncated-driving", "talkingface baseline", "a truncated driving mp4",
         lambda w: _pair(w, _good, lambda w, r: w.truncated(r)),
         ("a.mp4", "truncated file")),
    Case("baseline-read-only", "talkingface baseline", "--save_folder on a read-only mount",
         lambda w: _baseline(w, w.dir("ro")), ("ro", "read-only file system"), readonly="ro"),
]

CASES = PROBE + NORMALIZE + SAMPLE + WEIGHTS + BASELINE
