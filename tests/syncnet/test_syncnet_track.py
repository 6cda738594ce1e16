"""Face-track mode: run_pipeline's tracking and cropping, the S3FD network, the Haar stand-in end to end."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import syncnet
from syncnet.s3fd import S3FDNet, detect_faces, detect_faces_batch, load_s3fd, prior_boxes
from syncnet.track import TrackOptions, crop_face, smooth_track, track_shot
from talkingface.errors import MediaError, WeightsError


def _faces(n, box=(40, 40, 160, 160), start=0, drift=0.5):
    return [[{"frame": start + i, "bbox": [box[0] + drift * i, box[1], box[2] + drift * i, box[3]], "conf": 0.99}]
            for i in range(n)]


def test_track_shot_keeps_long_tracks_and_reports_short_ones():
    opts = TrackOptions(min_track=20, min_face_size=50)
    faces = _faces(30)
    for i in (10, 11, 12):          # missed detections: interpolated back
        faces[i] = []
    faces += [[{"frame": 30 + i, "bbox": [300, 300, 400, 400], "conf": 0.95}] for i in range(5)]  # jumps: new track
    tracks, skipped = track_shot(opts, faces)
    assert len(tracks) == 1
    assert tracks[0]["frame"].tolist() == list(range(30))
    np.testing.assert_allclose(tracks[0]["bbox"][11], [40 + 5.5, 40, 160 + 5.5, 160])
    assert skipped == [{"start": 30, "end": 34, "detections": 5, "reason": "5 detections <= min_track 20"}]


def test_track_shot_min_face_size_and_gap():
    opts = TrackOptions(min_track=5, min_face_size=100, num_failed_det=2)
    faces = _faces(10, box=(0, 0, 50, 50), drift=0)
    tracks, skipped = track_shot(opts, faces)
    assert tracks == [] and "min_face_size 100" in skipped[0]["reason"]
    gap = _faces(8, drift=0) + [[] for _ in range(3)] + _faces(8, start=11, drift=0)
    tracks, skipped = track_shot(TrackOptions(min_track=5, num_failed_det=2, min_face_size=10), gap)
    assert [(t["frame"][0], t["frame"][-1]) for t in tracks] == [(0, 7), (11, 18)]


def test_crop_geometry_and_padding():
    img = np.zeros((200, 200, 3), np.uint8)
    img[90:110, 90:110] = 255                        # a white square at the centre
    crop = crop_face(img, bs=20, cy=100, cx=100, crop_scale=0.4)
    assert crop.shape == (224, 224, 3)
    # crop spans y in [80, 136), x in [72, 128): the square is in the upper middle
    assert crop[50:70, 100:120].min() == 255 and crop[200:, :].max() == 0
    edge = crop_face(img, bs=20, cy=5, cx=5, crop_scale=0.4)   # near the corner: 110-grey padding comes in
    assert (edge[:20, :20] == 110).all()
    track = {"frame": np.arange(20), "bbox": np.tile([10.0, 20.0, 50.0, 80.0], (20, 1))}
    track["bbox"][7] = [500, 500, 900, 900]          # one outlier is removed by the median filter
    dets = smooth_track(track)
    assert dets["s"][7] == 30 and dets["x"][7] == 30 and dets["y"][7] == 50


def test_s3fd_layout_round_trip_and_wrong_file(tmp_path):
    from talkingface.weights import save_torch

    net = S3FDNet()
    keys = list(net.state_dict())
    assert keys[:2] == ["vgg.0.weight", "vgg.0.bias"] and "vgg.33.weight" in keys
    assert {"L2Norm3_3.weight", "L2Norm4_3.weight", "L2Norm5_3.weight", "conf.0.weight", "loc.5.bias"} <= set(keys)
    assert net.state_dict()["conf.0.weight"].shape == (4, 256, 3, 3)
    path = save_torch(net.state_dict(), tmp_path / "sfd_face.pth")
    loaded = load_s3fd(path)
    assert torch.equal(loaded.state_dict()["vgg.31.weight"], net.state_dict()["vgg.31.weight"])
    bad = dict(net.state_dict())
    bad.pop("L2Norm3_3.weight")
    save_torch(bad, tmp_path / "bad.pth")
    with pytest.raises(WeightsError, match="L2Norm3_3.weight"):
        load_s3fd(tmp_path / "bad.pth")


def test_s3fd_detect_faces_shapes():
    torch.manual_seed(0)
    net = S3FDNet().eval()
    img = (np.random.default_rng(0).random((96, 128, 3)) * 255).astype(np.uint8)
    boxes = detect_faces(net, img, conf_th=0.0, scales=(0.5,))
    assert boxes.ndim == 2 and boxes.shape[1] == 5 and len(boxes) >= 1
    assert detect_faces(net, img, conf_th=1.0, scales=(0.5,)).shape == (0, 5)
    batch = detect_faces_batch(net, [img[::-1].copy(), img], conf_th=0.0, scales=(0.5,))   # one pass, same boxes
    np.testing.assert_allclose(batch[1], boxes, rtol=1e-4, atol=1e-3)
    pri = prior_boxes((64, 96), [(16, 24), (8, 12)])
    assert pri.shape == (16 * 24 + 8 * 12, 4)
    np.testing.assert_allclose(pri[1].numpy(), [1.5 / 24, 0.5 / 16, 16 / 96, 16 / 64], rtol=1e-6)


@pytest.mark.slow
def test_face_track_with_haar_stand_in(speech_clip, model, monkeypatch, tmp_path):
    monkeypatch.setenv("TALKINGFACE_CHECKPOINTS", str(tmp_path / "none"))   # no sfd_face.pth -> Haar
    opts = TrackOptions(min_track=10, min_face_size=40)
    r = syncnet.evaluate_video(speech_clip, model, mode="face-track", track_options=opts)
    assert r.mode == "face-track" and r.reference is False
    assert any("Haar" in n for n in r.notes)
    assert r.tracks and r.tracks[0]["scored"] and r.frames >= 10
    with pytest.raises(MediaError, match="min_track 100"):
        syncnet.evaluate_video(speech_clip, model, mode="face-track")


@pytest.mark.slow
def test_face_track_with_s3fd_weights_that_find_nothing(speech_clip, model, tmp_path):
    from talkingface.weights import save_torch

    net = S3FDNet()
    with torch.no_grad():
        for conv in net.conf:                       # every prior scores exactly 0.5 < conf_th 0.9
            conv.weight.zero_()
            conv.bias.zero_()
    weights = save_torch(net.state_dict(), tmp_path / "sfd_face.pth")
    with pytest.raises(MediaError, match="no face track could be scored"):
        syncnet.evaluate_video(speech_clip, model, mode="face-track", s3fd_weights=weights,
                               track_options=TrackOptions(min_track=10, facedet_scale=0.125))
