"""DaGAN's --crop auto / --paste_back (dagan.framing) end to end on a tiny random model: a photo of the source's
size comes out, the driving video is probed once and decoded twice in every combination, the best-frame search
shares the crop's pass and picks what the authors' rule picks, no face is one error line, and the crop settings
belong to a generated folder's maker."""
from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from dagan import framing, pipeline
from dagan.cli import animate, generate
from talkingface.landmarks import LandmarkBackend
from talkingface.landmarks.offline import mean_shape
from talkingface.media import VideoReader, probe, write_image

TINY = ["--random_tiny_model", "0", "--cpu", "--no_progress", "--landmarks", "offline"]


def photo(width=241, height=181) -> np.ndarray:
    """The astronaut photo, head and shoulders with the flag and some of the suit, at an odd size (not a crop)."""
    import cv2
    from skimage.data import astronaut

    return cv2.resize(astronaut()[0:300, 60:460], (width, height), interpolation=cv2.INTER_AREA)


@pytest.mark.slow
def test_animate_cli_crop_paste_back_writes_the_photo_size(make_video, tmp_path, media_counts):
    """--crop auto --paste_back --find_best_frame: the output has the source photo's size (odd: padded by one by
    the encoder), the photo outside the face box is kept, the driving video is probed once and decoded twice (the
    box and best-frame search in one pass, then the animation)."""
    source = write_image(tmp_path / "me.png", photo())
    driving = make_video.talking_head(frames=3)
    out = tmp_path / "out.mp4"
    assert animate.main(["--source_image", str(source), "--driving_video", str(driving), "--result_video", str(out),
                         "--relative", "--crop", "auto", "--paste_back", "--find_best_frame", *TINY]) == 0
    assert media_counts["probe"].count(driving.name) == 1
    assert media_counts["decode"].count(driving.name) == 2
    info = probe(out)
    assert (info.width, info.height, info.frame_count) == (242, 182, 3)
    record = yaml.safe_load((tmp_path / "out.config.yaml").read_text())
    result, settings = record["result"], record["options"]["face_crop"]
    assert result["output_size"] == [241, 181] and settings["crop"] == "auto" and settings["paste_back"] is True
    assert settings["landmarks"] == "offline" and settings["increase"] == 0.1
    assert result["anchor_reason"] == "best frame (offline)"
    left, top, right, bot = result["source_box"]
    assert right - left == bot - top and 0 <= left < right <= 241 and 0 <= top < bot <= 181
    assert result["driving_box"][2] - result["driving_box"][0] > 100          # the clip's face box, 256x256 frames
    first = next(iter(VideoReader(out)))[:181, :241].astype(int)
    outside = np.ones((181, 241), bool)
    outside[top:bot, left:right] = False
    assert np.abs(first[outside] - photo()[outside]).mean() < 3                # the photo, up to H.264 coding
    assert np.abs(first[~outside] - photo()[~outside]).mean() > 10             # the animated (random) face


@pytest.mark.parametrize(("best_frame", "search", "paste_back", "relative"), [
    (None, False, False, True), (None, True, False, True), (2, False, True, True), (None, False, True, False)])
def test_one_probe_two_passes_with_a_crop(tiny_model, make_video, tmp_path, media_counts, best_frame, search,
                                          paste_back, relative):
    """With a crop the driving video is probed once and decoded twice, whatever else is on: the crop's pass also
    searches the best frame and keeps the anchor's pixels."""
    from talkingface.landmarks import make_backend

    driving = make_video.talking_head(frames=3)
    crop = framing.FaceCrop("auto", paste_back=paste_back, backend=make_backend("offline"))
    result = pipeline.animate_video(tiny_model, photo(), driving, tmp_path / "out.mp4", best_frame=best_frame,
                                    landmarks=crop.backend if search else None, crop=crop, relative=relative,
                                    progress=False)
    assert media_counts["probe"] == [driving.name] and media_counts["decode"] == [driving.name] * 2
    assert result.output_size == ((241, 181) if paste_back else (64, 64))     # the tiny model works at 64x64
    assert result.frames == 3 and result.anchor_reason == (
        "given" if best_frame is not None else "best frame (offline)" if search else "first frame")
    if not search:
        assert result.anchor_frame == (best_frame or 0)


def test_still_driving_image_cropped_and_pasted_back(tiny_model, make_video):
    from talkingface.landmarks import make_backend

    crop = framing.FaceCrop("auto", paste_back=True, backend=make_backend("offline"))
    driving = next(iter(VideoReader(make_video.talking_head(frames=3))))
    source = framing.frame_source(photo(), "me.png", crop)
    out = pipeline.animate_image(tiny_model, source, driving, crop, "drive.png")
    assert out.shape == (181, 241, 3) and out.dtype == np.uint8
    left, top, right, bot = source.box
    outside = np.ones((181, 241), bool)
    outside[top:bot, left:right] = False
    np.testing.assert_array_equal(out[outside], photo()[outside])
    with pytest.raises(Exception, match="blank.png: no face found"):
        pipeline.animate_image(tiny_model, source, np.zeros((64, 64, 3), np.uint8), crop, "blank.png")


def test_crop_auto_without_a_face_is_one_error_line(make_video, tmp_path, capsys):
    grey = write_image(tmp_path / "wall.png", np.full((120, 160, 3), 128, np.uint8))
    out = tmp_path / "out.mp4"
    code = animate.main(["--source_image", str(grey), "--driving_video", str(make_video(frames=2, size=(32, 32))),
                         "--result_video", str(out), "--crop", "auto", *TINY])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err                 # found before the weights: no RANDOM WEIGHTS line
    assert err[0].startswith(f"error: {grey}: no face found by the offline face detector (--crop auto)")
    assert not out.exists()
    code = animate.main(["--source_image", str(grey), "--driving_video", str(make_video(frames=2, size=(32, 32))),
                         "--result_video", str(out), "--paste_back", *TINY])
    assert code == 2 and "--paste_back needs --crop auto" in capsys.readouterr().err


class TaggedFaces(LandmarkBackend):
    """Landmarks by a tag in the frame's first pixel (driving frames), or the template (the source)."""

    name = "tagged"

    def __init__(self, table):
        self.table = table

    def detect(self, frame):
        return self.table.get(int(frame[0, 0, 0]))


class FakeReader:
    def __init__(self, frames):
        self.frames, self.path, self.frame_count = frames, "fake.mp4", len(frames)
        self.height, self.width = frames[0].shape[:2]

    def __iter__(self):
        return iter(self.frames)


def test_shared_pass_picks_the_authors_best_frame_and_the_union_box():
    shape = mean_shape().astype(np.float64)
    tilt = np.radians(12)
    rotated = (shape - 0.5) @ np.array([[np.cos(tilt), -np.sin(tilt)], [np.sin(tilt), np.cos(tilt)]]) + 0.5
    table = {0: shape * [130, 100] + 60, 1: None, 2: rotated * 90 + 80, 3: shape * 110 + 40, 7: shape * 100 + 70}
    frames = []
    for tag in (0, 1, 2, 3):
        frame = np.zeros((256, 256, 3), np.uint8)
        frame[0, 0, 0] = tag
        frames.append(frame)
    backend = TaggedFaces(table)
    source = np.zeros((256, 256, 3), np.uint8)
    source[0, 0, 0] = 7
    authors = pipeline.find_best_frame(source, frames, backend)
    scan = framing.scan_driving(FakeReader(frames), framing.FaceCrop("auto", backend=backend),
                                source_points=table[7], keep=2)
    assert authors == 3 and scan.best[0] == 3 and scan.best[1] is frames[3] and scan.kept is frames[2]
    # the union of the three faces' boxes (landmark extents raised by a forehead), enlarged 1.2x, moved inside
    boxes = np.array([backend.detect_face(f).box for f in frames if table[int(f[0, 0, 0])] is not None])
    union = (*boxes[:, :2].min(0), *boxes[:, 2:].max(0))
    from talkingface.faces import crop_box
    assert scan.box == crop_box(union, (256, 256))
    every = framing.scan_driving(FakeReader(frames), framing.FaceCrop("auto", every=2, backend=backend))
    assert every.best is None and every.box == crop_box((*boxes[[0, 1], :2].min(0), *boxes[[0, 1], 2:].max(0)),
                                                         (256, 256))


@pytest.mark.slow
def test_generate_crop_settings_belong_to_the_maker(make_video, tmp_path, capsys):
    """A video pair -> an mp4 of the source photo's size; a run with --crop none refuses (another maker); the
    same settings resume."""
    src, drv, out = tmp_path / "source_self", tmp_path / "gt_self", tmp_path / "generate_dagan_self"
    src.mkdir()
    drv.mkdir()
    write_image(src / "vid.png", photo())
    (drv / "vid.mp4").write_bytes(make_video.talking_head(frames=3).read_bytes())
    argv = ["--source_dir", str(src), "--driving_dir", str(drv), "--save_folder", str(out), "--crop", "auto",
            "--paste_back", *TINY]
    assert generate.main(argv) == 0, capsys.readouterr().err
    info = probe(out / "vid.mp4")
    assert (info.width, info.height, info.frame_count) == (242, 182, 3)
    settings = json.loads((out / "provenance.json").read_text())["maker"]["settings"]
    assert settings["face_crop"]["crop"] == "auto" and settings["face_crop"]["paste_back"] is True
    capsys.readouterr()
    none = [a for a in argv if a not in ("auto", "--paste_back")]
    none[none.index("--crop")] = "--crop=none"
    assert generate.main(none) == 2
    assert "made with another model or other settings" in capsys.readouterr().err
    assert generate.main(argv) == 0 and "made 0, kept 1 made earlier" in capsys.readouterr().err
