"""Face tracks over a video, the VoxCeleb way: boxes joined while they overlap the track's first box, every face.

    builder = TrackBuilder((height, width), iou_with_initial=0.25, max_frames=None)
    for i, frame in enumerate(frames): builder.add(i, face_boxes(backend, frame))     # boxes largest first
    tracks = builder.finish()                            # Track: start, end, initial, union, ended (why), jitter

The rule is first-order-model crop-video.py's multi-face tracking with crop_vox.py's threshold (video-preprocessing):
every face box of a frame, largest first, continues the open track whose *initial* box it overlaps most, with IoU
>= ``iou_with_initial``; else it starts a new track. An open track that gets no box ends: the face was lost, moved
too far (a shot or scale change: its next box starts a new track), or left the frame (a box that crosses the
frame's edge is never tracked, as crop_vox.py drops crops that leave the frame). A track reaching ``max_frames`` is
cut and goes on as a new one (crop_vox.py). Frames between two detections of a track (``add`` skipping frames)
belong to it: their boxes, interpolated, lie inside the union of the two, so the track's crop holds them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from talkingface.faces import DETECT_SIDE, iou, join, reduce_to


@dataclass
class Track:
    """One face over consecutive frames ``[start, end)``: its first box, the union of its boxes, its jitter."""

    start: int
    initial: tuple
    union: tuple
    last: int = -1
    last_box: tuple = ()
    end: int = 0
    ended: str = ""
    crop: tuple = ()                                            # set when the track is kept
    motion: list = field(default_factory=lambda: [0.0, 0])      # sum of per-frame centre motion / box side, steps

    @property
    def frames(self) -> int:
        return self.end - self.start

    @property
    def jitter(self) -> float | None:
        return self.motion[0] / self.motion[1] if self.motion[1] else None


def _inside(box, shape) -> bool:
    return box[0] >= 0 and box[1] >= 0 and box[2] <= shape[1] and box[3] <= shape[0]


class TrackBuilder:
    """Face boxes per detected frame in, tracks out (the rule: module docstring). ``add(i, boxes)`` in frame order
    (boxes largest first), then ``finish()``; ``tracks`` in order of creation, ``counts`` frames by what was seen."""

    def __init__(self, shape, iou_with_initial: float = 0.25, max_frames: int | None = None):
        self.shape, self.threshold, self.max_frames = shape, iou_with_initial, max_frames
        self.open: list[Track] = []
        self.tracks: list[Track] = []
        self.counts = {"detected": 0, "no_face": 0, "at_edge": 0, "several_faces": 0}

    def _close(self, track: Track, why: str) -> None:
        track.end, track.ended = track.last + 1, why
        self.open.remove(track)

    def _new(self, start: int, box: tuple, last: int | None = None) -> Track:
        track = Track(start, box, box, last=start if last is None else last, last_box=box)
        self.open.append(track)
        self.tracks.append(track)
        return track

    def _extend(self, track: Track, i: int, box: tuple) -> None:
        a = track.last_box
        side = (max(a[2] - a[0], a[3] - a[1]) + max(box[2] - box[0], box[3] - box[1])) / 2
        shift = np.hypot((box[0] + box[2] - a[0] - a[2]) / 2, (box[1] + box[3] - a[1] - a[3]) / 2)
        track.motion[0] += shift / side                 # centre motion over the frames since the last detection
        track.motion[1] += i - track.last
        track.union, track.last, track.last_box = join(track.union, box), i, box

    def add(self, i: int, boxes) -> None:
        boxes = [tuple(float(v) for v in b[:4]) for b in boxes]
        inside = [b for b in boxes if _inside(b, self.shape)]
        edge = [b for b in boxes if not _inside(b, self.shape)]
        for key, hit in (("detected", True), ("no_face", not boxes), ("at_edge", bool(edge)),
                         ("several_faces", len(boxes) > 1)):
            self.counts[key] += hit
        pairs: list[tuple[Track | None, tuple]] = []
        free = list(self.open)
        for box in inside:                              # largest first: it picks its track first
            best = max(free, key=lambda t: iou(t.initial, box), default=None)
            if best is not None and iou(best.initial, box) >= self.threshold:
                free.remove(best)
                pairs.append((best, box))
            else:
                pairs.append((None, box))
        for track in free:
            left = any(iou(track.last_box, b) >= self.threshold for b in edge)    # it went on, out
            self._close(track, "left the frame" if left else "face lost" if not boxes
                        else "moved (shot or scale change)")
        for track, box in pairs:
            if track is None:
                self._new(i, box)
            elif self.max_frames and i + 1 - track.start > self.max_frames:
                self._close(track, "max_frames")
                new = self._new(track.end, box, last=i)
                if i > track.end:                       # the frames between are interpolated from both boxes
                    new.union = join(track.last_box, box)
            else:
                self._extend(track, i, box)

    def finish(self) -> list[Track]:
        for track in list(self.open):
            self._close(track, "end of video")
        return self.tracks


def face_boxes(backend, image: np.ndarray) -> list[np.ndarray]:
    """Every face box the backend's detector finds in ``image`` (looked for on a copy reduced to 640 px), in
    ``image``'s pixels, largest first: S3FD's boxes for face-alignment, the Haar boxes (enlarged as the offline
    backend enlarges its one box) for offline, the one face of any other backend."""
    from talkingface.landmarks.offline import BOX_SCALE, OfflineBackend

    small, factor = reduce_to(image, DETECT_SIDE)
    if isinstance(backend, OfflineBackend):
        import cv2

        scale = backend.WORK_SIZE / min(small.shape[:2])
        work = cv2.resize(small, (max(1, round(small.shape[1] * scale)), max(1, round(small.shape[0] * scale))),
                          interpolation=cv2.INTER_AREA)
        found = backend.face.detectMultiScale(cv2.cvtColor(work, cv2.COLOR_RGB2GRAY), 1.1, 5,
                                              minSize=(backend.WORK_SIZE // 6,) * 2)
        boxes = [np.array([x + w / 2, y + h / 2, x + w / 2, y + h / 2]) / scale
                 + np.array([-1, -1, 1, 1]) * BOX_SCALE * max(w, h) / 2 / scale
                 for x, y, w, h in np.asarray(found).reshape(-1, 4)]
    elif getattr(backend, "fa", None) is not None:   # face-alignment: its S3FD, called as it calls it (RGB)
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = backend.fa.face_detector.detect_from_image(np.ascontiguousarray(small[..., :3]).copy())
        boxes = [np.asarray(b[:4], np.float64) for b in (found if found is not None else [])]
    else:
        face = backend.detect_face(small)
        boxes = [] if face is None else [np.asarray(face.box, np.float64)]
    boxes.sort(key=lambda b: -(b[2] - b[0]) * (b[3] - b[1]))
    return [b * factor for b in boxes]
