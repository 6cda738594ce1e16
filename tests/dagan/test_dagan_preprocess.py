"""`python -m dagan.preprocess`: face tracks, whole faces in the crops, names, the identity split, bad videos, resume,
shards, workers, and the layout FOMM's FramesDataset reads (offline backend, tiny videos)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from dagan.cli.preprocess import main
from dagan.dataset_prep import PrepWork, Settings, split_of
from dagan.face_tracks import TrackBuilder, face_boxes
from talkingface.faces import iou
from talkingface.landmarks import make_backend
from talkingface.media import VideoReader, VideoWriter, ffmpeg_exe
from talkingface.preprocess import find_videos, run_jobs

FLAGS = ["--landmarks", "offline", "--min_frames", "8", "--no_progress", "--test_fraction", "0.5"]


def _write(path: Path, frames) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with VideoWriter(path, 25) as writer:
        for frame in frames:
            writer.write(frame)
    return path


def _canvas(width: int, height: int, *faces) -> np.ndarray:
    """A grey frame with each (face, x, y) pasted, cut at the frame's edge."""
    frame = np.full((height, width, 3), 90, np.uint8)
    for face, x, y in faces:
        h, w = face.shape[:2]
        x0, x1 = max(x, 0), min(x + w, width)
        frame[y:y + h, x0:x1] = face[:, x0 - x:x1 - x]
    return frame


@pytest.fixture(scope="module")
def raw(make_video, tmp_path_factory) -> Path:
    """Every case in one input folder: identities id_a..id_d (VoxCeleb layout <id>/<video>.mp4)."""
    root = tmp_path_factory.mktemp("raw")
    heads = [f for f in VideoReader(make_video.talking_head(frames=30))]
    mirrored = [np.ascontiguousarray(f[:, ::-1]) for f in heads]
    for sub in ("id_a", "id_c", "id_d"):
        (root / sub).mkdir()
    shutil.copy(make_video.talking_head(frames=30), root / "id_a" / "talk.mp4")
    _write(root / "id_a" / "shots.mp4", [_canvas(480, 272, (heads[i], 0, 8)) for i in range(20)]
           + [_canvas(480, 272, (mirrored[i], 224, 8)) for i in range(20)])
    _write(root / "id_b" / "leave.mp4", [_canvas(384, 256, (heads[i], 128 + 4 * i, 0)) for i in range(30)])
    small = [f[::4, ::4].repeat(3, 0).repeat(3, 1)[:192, :192] for f in mirrored]   # a second, smaller head
    _write(root / "id_b" / "two.mp4", [_canvas(512, 256, (heads[i], 0, 0), (small[i], 300, 32)) for i in range(20)])
    shutil.copy(make_video(frames=12, size=(64, 48)), root / "id_c" / "noface.mp4")
    shutil.copy(make_video.talking_head(frames=1), root / "id_c" / "one.mp4")
    subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(make_video.talking_head(frames=30)), "-vf",
                    "setpts='if(lt(N,15),N,2*N-15)/25/TB'", "-fps_mode", "vfr", "-c:v", "libx264", "-pix_fmt",
                    "yuv420p", str(root / "id_d" / "vfr.mp4")], check=True)
    data = make_video.talking_head(frames=30).read_bytes()
    (root / "id_d" / "corrupt.mp4").write_bytes(data[:len(data) // 3])
    (root / "id_d" / "empty.mp4").write_bytes(b"")
    subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(make_video.wav(0.5)), "-c:a", "aac",
                    str(root / "id_d" / "audio.mp4")], check=True)
    return root


@pytest.fixture(scope="module")
def made(raw, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("vox")
    assert main(["--input_dir", str(raw), "--output_dir", str(out), *FLAGS]) == 1        # bad videos failed
    return out


def _report(out: Path, name: str = "preprocess_report.json") -> dict:
    return json.loads((out / name).read_text())


def _clips(out: Path) -> list[str]:
    return sorted(p.relative_to(out).as_posix() for s in ("train", "test") if (out / s).is_dir()
                  for p in (out / s).iterdir())


def test_tracks_names_and_bad_videos(made):
    videos = _report(made)["videos"]
    assert {k for k, v in videos.items() if v["status"] == "failed"} == {"id_d#corrupt", "id_d#empty", "id_d#audio"}
    assert "no video stream" in videos["id_d#audio"]["reason"]
    shots = videos["id_a#shots"]["clips"]                  # a cut to another head elsewhere: two tracks
    assert [(c["start"], c["end"]) for c in shots] == [(0, 19), (20, 39)]
    assert shots[0]["ended"] == "moved (shot or scale change)"
    leave = videos["id_b#leave"]
    assert leave["clips"][0]["ended"] == "left the frame" and leave["faces"]["at_edge"] > 0
    assert leave["clips"][0]["end"] < 20
    two = videos["id_b#two"]                               # one track per face, the largest first
    assert [c["name"] for c in two["clips"]] == ["id_b#two#000000#000019.mp4", "id_b#two#000000#000019#2.mp4"]
    assert two["clips"][0]["crop"][0] < 150 < two["clips"][1]["crop"][0]
    assert videos["id_c#noface"]["tracks_kept"] == 0 and videos["id_c#noface"]["reason"] == "no face found"
    assert videos["id_c#one"]["tracks_kept"] == 0 and "min_frames" in videos["id_c#one"]["reason"]
    vfr = videos["id_d#vfr"]
    assert vfr["status"] == "done" and vfr["frames"] == 30 and vfr["clips"]
    for rec in videos.values():
        for clip in rec.get("clips", []):
            assert clip["name"].startswith(f"{rec['identity']}#") and 0 <= clip["jitter"] < 0.05
    assert not (made / ".partial").exists()


def test_crops_hold_the_whole_face_in_every_frame(made, raw):
    """Every detected box of every frame of a clip lies inside the clip's crop; the crop is a square in the frame."""
    backend = make_backend("offline")
    frame = next(iter(VideoReader(raw / "id_a" / "talk.mp4")))      # every face, largest first: the backend's box
    np.testing.assert_allclose(face_boxes(backend, frame)[0], backend.detect_face(frame).box)
    for job_id, rec in _report(made)["videos"].items():
        if not rec.get("clips"):
            continue
        frames = list(VideoReader(raw / (job_id.replace("#", "/") + ".mp4")))
        for clip in rec["clips"]:
            left, top, right, bot = clip["crop"]
            assert right - left == bot - top and left >= 0 and top >= 0
            assert right <= frames[0].shape[1] and bot <= frames[0].shape[0]
            for frame in frames[clip["start"]:clip["end"] + 1]:
                boxes = face_boxes(backend, frame)
                if boxes:
                    box = max(boxes, key=lambda b: iou(b, clip["crop"]))
                    assert left <= box[0] and top <= box[1] and box[2] <= right and box[3] <= bot, (job_id, box)
            path = made / rec["split"] / clip["name"]
            assert VideoReader(path).size == (256, 256) and VideoReader(path).frame_count == clip["frames"]


def test_split_by_identity_and_fomm_reader(made):
    report = _report(made)
    split = report["settings"]["split"]
    assert set(split["train"]) | set(split["test"]) == {"id_a", "id_b", "id_c", "id_d"}
    assert not set(split["train"]) & set(split["test"]) and split["test"]
    settings = Settings(input_dir=".", test_fraction=0.5)
    for part in ("train", "test"):
        names = os.listdir(made / part)
        ids = {name.split("#")[0] for name in names}       # FramesDataset(id_sampling=True): the items are ids
        assert all(split_of(i, settings) == part for i in ids) and ids <= set(split[part])
        for ident in ids:                                  # ... then a random glob(root/<id>*.mp4) per item
            matches = [n for n in names if n.startswith(ident) and n.endswith(".mp4")]
            assert matches and all(n.split("#")[0] == ident for n in matches)
            assert all(VideoReader(made / part / n).frame_count >= 8 for n in matches)
    assert set(_clips(made)) == {f"{r['split']}/{c['name']}" for r in report["videos"].values()
                                 for c in r.get("clips", [])}


def test_resume_skips_done_and_refuses_other_settings(made, raw):
    stamps = {p: (made / p).stat().st_mtime_ns for p in _clips(made)}
    assert main(["--input_dir", str(raw), "--output_dir", str(made), *FLAGS]) == 1
    report = _report(made)
    assert report["counts"]["done earlier"] == 7 and report["counts"]["failed"] == 3
    assert {p: (made / p).stat().st_mtime_ns for p in _clips(made)} == stamps
    assert main(["--input_dir", str(raw), "--output_dir", str(made), *FLAGS, "--seed", "1"]) == 2


class Killed(PrepWork):
    """Writes its clips into scratch, then dies before handing them over."""

    def write_tracks(self, reader, kept, scratch):
        super().write_tracks(reader, kept, scratch)
        raise RuntimeError("killed")


def test_a_killed_run_leaves_nothing_done(raw, tmp_path):
    jobs = [j for j in find_videos(raw) if j.id in ("id_a#talk", "id_b#two")]
    settings = Settings(input_dir=str(raw), min_frames=8)
    report = run_jobs(jobs, Killed(settings), tmp_path, progress=False)
    assert report["counts"]["failed"] == 2 and "killed" in report["videos"]["id_a#talk"]["reason"]
    assert not list((tmp_path / ".done").iterdir()) and not _clips(tmp_path) and not (tmp_path / ".partial").exists()
    report = run_jobs(jobs, PrepWork(settings), tmp_path, progress=False)
    assert report["counts"]["done"] == 2 and len(_clips(tmp_path)) == 3


def test_detect_every_spans_the_frames_between(raw, tmp_path):
    job = next(j for j in find_videos(raw) if j.id == "id_a#shots")
    every = PrepWork(Settings(input_dir=str(raw), min_frames=8, detect_every=3))(job, tmp_path).stats
    assert every["faces"]["detected"] == 14 and [(c["start"], c["end"]) for c in every["clips"]] == [(0, 18), (21, 39)]


def test_shards_and_workers_give_the_same_files(raw, tmp_path):
    good = tmp_path / "raw"
    for sub in ("id_a", "id_c"):
        shutil.copytree(raw / sub, good / sub)
    one, sharded, two = tmp_path / "one", tmp_path / "sharded", tmp_path / "two"
    flags = ["--input_dir", str(good), *FLAGS, "--format", "png"]
    assert main([*flags, "--output_dir", str(one)]) == 0
    assert main([*flags, "--output_dir", str(sharded), "--shard", "0/2"]) == 0
    assert main([*flags, "--output_dir", str(sharded), "--shard", "1/2"]) == 0
    assert main([*flags, "--output_dir", str(two), "--workers", "2"]) == 0
    shards = [_report(sharded, f"preprocess_report.shard-{i}-of-2.json")["videos"] for i in (0, 1)]
    assert set(shards[0]) | set(shards[1]) == set(_report(one)["videos"]) and not set(shards[0]) & set(shards[1])
    files = {d: sorted(p.relative_to(d) for p in d.rglob("*.png") if ".done" not in p.parts) for d in (one, sharded,
                                                                                                       two)}
    assert files[one] and files[one] == files[sharded] == files[two]
    assert all((one / p).read_bytes() == (two / p).read_bytes() for p in files[one])
    assert all(n.endswith(".mp4") and (one / "train" / n).is_dir() for n in os.listdir(one / "train"))


def test_track_rule_on_boxes():
    """Detections every 2nd frame, a max_frames cut, a scale change, a face at the edge."""
    builder = TrackBuilder((100, 200), max_frames=6)
    for i in range(0, 10, 2):
        builder.add(i, [(10 + i, 10, 50 + i, 50)])
    builder.add(10, [(5, 5, 105, 95)])                     # 5x the area: IoU < 0.25, a new track
    builder.add(12, [(-10, 5, 90, 95)])                    # the same face crossing the left edge
    tracks = builder.finish()
    assert [(t.start, t.end, t.ended) for t in tracks] == [
        (0, 5, "max_frames"), (5, 9, "moved (shot or scale change)"), (10, 11, "left the frame")]
    assert tracks[1].union == (14.0, 10.0, 58.0, 50.0) and builder.counts["at_edge"] == 1


def test_cli_refuses_bad_flags(raw, tmp_path, capsys):
    assert main(["--input_dir", str(raw), "--output_dir", str(raw / "out")]) == 2
    assert "inside --input_dir" in capsys.readouterr().err
    assert main(["--input_dir", str(raw), "--output_dir", str(tmp_path), "--shard", "2/2"]) == 2
    assert main(["--input_dir", str(tmp_path / "none"), "--output_dir", str(tmp_path / "o")]) == 2


def test_real_voxceleb_clip(shared_fixtures, tmp_path):
    """The DaGAN authors' driving clip (a VoxCeleb crop) placed in a 640x360 frame: one stable track, cropped back
    to where the clip is, holding every detected box."""
    if shared_fixtures is None:
        pytest.skip("../shared/fixtures absent")
    frames = list(VideoReader(shared_fixtures / "dagan" / "driving.mp4"))
    _write(tmp_path / "raw" / "vox" / "driving.mp4", [_canvas(640, 360, (f, 300, 70)) for f in frames])
    out = tmp_path / "out"
    assert main(["--input_dir", str(tmp_path / "raw"), "--output_dir", str(out), "--landmarks", "offline",
                 "--no_progress"]) == 0
    clip = _report(out)["videos"]["vox#driving"]["clips"][0]
    assert (clip["start"], clip["end"], clip["ended"]) == (0, 183, "end of video") and clip["jitter"] < 0.02
    assert iou(clip["crop"], (300, 70, 556, 326)) > 0.9
    backend = make_backend("offline")
    left, top, right, bot = clip["crop"]
    for frame in frames[::4]:
        box = face_boxes(backend, _canvas(640, 360, (frame, 300, 70)))[0]
        assert left <= box[0] and top <= box[1] and box[2] <= right and box[3] <= bot


def test_identity_rules_and_test_ids(tmp_path):
    from pathlib import PurePath

    from dagan.cli.preprocess import read_identity_csv
    from dagan.dataset_prep import identity_and_video

    vox2 = PurePath("id00012/21Uxsk56VDQ/00001.mp4")          # VoxCeleb2's <id>/<youtube id>/<utterance>
    assert identity_and_video(vox2, Settings(input_dir=".")) == ("id00012", "21Uxsk56VDQ_00001")
    assert identity_and_video(vox2, Settings(input_dir=".", identity_from="parent")) == ("21Uxsk56VDQ",
                                                                                        "id00012_00001")
    assert identity_and_video(PurePath("a#b.mp4"), Settings(input_dir=".")) == ("a_b", "a_b")
    (tmp_path / "ids.csv").write_text("video,identity\nid00012/21Uxsk56VDQ/00001,anna\nclip7,bob\n")
    table = read_identity_csv(tmp_path / "ids.csv")
    by_csv = Settings(input_dir=".", identity_from="csv", identities=table)
    assert identity_and_video(vox2, by_csv)[0] == "anna" and identity_and_video(PurePath("x/clip7.mov"),
                                                                                 by_csv)[0] == "bob"
    with pytest.raises(Exception, match="not in the --identity_from CSV"):
        identity_and_video(PurePath("other.mp4"), by_csv)
    listed = Settings(input_dir=".", test_ids=("anna",))
    assert split_of("anna", listed) == "test" and split_of("bob", listed) == "train"
    many = [f"id{i:05d}" for i in range(400)]
    share = sum(split_of(i, Settings(input_dir=".", seed=3)) == "test" for i in many) / len(many)
    assert 0.06 < share < 0.14 and [split_of(i, Settings(input_dir=".", seed=3)) for i in many] == \
        [split_of(i, Settings(input_dir=".", seed=3)) for i in many]


def test_the_preprocess_does_not_load_the_networks():
    """`import dagan` loads torch and the networks only when a model name is used: the preprocess CLI and each of its
    worker processes (which import dagan.dataset_prep to run the work) crop videos without torch, 2 s of every
    process's start on 2 cores."""
    import sys

    code = ("import sys, dagan, dagan.cli.preprocess, dagan.dataset_prep\n"
            "assert 'torch' not in sys.modules, 'torch loaded'\n"
            "from dagan import load_model, DaganModel, SourceState\n"
            "assert 'torch' in sys.modules and callable(load_model)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    with pytest.raises(AttributeError, match="no attribute 'animate_video'"):
        import dagan

        _ = dagan.animate_video
