"""The VoxCeleb crop rule on face boxes: IoU, union over a track, the aspect-preserving enlargement, fitting the frame.

Boxes are ``(left, top, right, bottom)`` pixels. :func:`iou`, :func:`join` and :func:`vox_box` are the functions of
AliaksandrSiarohin/video-preprocessing ``util.py`` (``bb_intersection_over_union``, ``join``,
``compute_aspect_preserved_bbox``) and first-order-model ``crop-video.py`` (``compute_bbox``), kept to the letter,
``int()`` truncation included; :func:`clip_box` is ``crop-video.py``'s clamp. :func:`fit_square` is ours (why:
docs/face_crop.md).
"""
from __future__ import annotations

from collections.abc import Sequence

Box = tuple  # (left, top, right, bottom)

#: the authors' defaults: ``--increase 0.1`` and ``--iou_with_initial 0.25`` (crop_vox.py and crop-video.py)
INCREASE = 0.1
IOU_WITH_INITIAL = 0.25


def iou(box_a: Sequence[float], box_b: Sequence[float]) -> float:
    """Intersection over union as ``bb_intersection_over_union`` computes it (inclusive pixel counts: the ``+ 1``)."""
    x_a, y_a = max(box_a[0], box_b[0]), max(box_a[1], box_b[1])
    x_b, y_b = min(box_a[2], box_b[2]), min(box_a[3], box_b[3])
    inter = max(0, x_b - x_a + 1) * max(0, y_b - y_a + 1)
    area_a = (box_a[2] - box_a[0] + 1) * (box_a[3] - box_a[1] + 1)
    area_b = (box_b[2] - box_b[0] + 1) * (box_b[3] - box_b[1] + 1)
    return float(inter / float(area_a + area_b - inter))


def join(tube: Sequence[float], box: Sequence[float]) -> Box:
    """The union (bounding box) of two boxes: ``join`` of the authors' scripts."""
    return (min(tube[0], box[0]), min(tube[1], box[1]), max(tube[2], box[2]), max(tube[3], box[3]))


def vox_box(tube: Sequence[float], increase: float = INCREASE) -> Box:
    """The authors' aspect-preserving enlargement: the shorter side grows to ``(1 + 2 * increase)`` times the longer
    one, the longer side by ``increase`` of itself on each end, about the box's centre — a square of side
    ``(1 + 2 * increase) * max(w, h)`` — and every coordinate is truncated by ``int()`` (towards zero), as
    ``compute_aspect_preserved_bbox`` / ``compute_bbox`` do. May leave the frame."""
    left, top, right, bot = (float(v) for v in tube[:4])
    width, height = right - left, bot - top
    if width <= 0 or height <= 0:
        raise ValueError(f"face box {tuple(tube)} has no area")
    width_increase = max(increase, ((1 + 2 * increase) * height - width) / (2 * width))
    height_increase = max(increase, ((1 + 2 * increase) * width - height) / (2 * height))
    return (int(left - width_increase * width), int(top - height_increase * height),
            int(right + width_increase * width), int(bot + height_increase * height))


def clip_box(box: Sequence[int], shape: Sequence[int]) -> Box:
    """``crop-video.py``'s clamp to a frame of ``shape`` (H, W, ...): each side cut at the frame's edge, so a box
    that left the frame is no longer square (the script then stretches it to 256x256)."""
    left, top, right, bot = box
    return (max(0, left), max(0, top), min(right, shape[1]), min(bot, shape[0]))


def fit_square(box: Sequence[int], shape: Sequence[int]) -> Box:
    """The square of side ``max(w, h)`` of ``box`` about its centre, moved (not cut) into a frame of ``shape``
    (H, W, ...); a side longer than the frame's shorter side is reduced to it. Every VoxCeleb training crop is
    such a square inside its frame (crop_vox.py drops tubes whose box leaves the frame)."""
    left, top, right, bot = box
    height, width = int(shape[0]), int(shape[1])
    side = min(max(right - left, bot - top), height, width)
    x0 = round((left + right) / 2 - side / 2)
    y0 = round((top + bot) / 2 - side / 2)
    x0, y0 = min(max(x0, 0), width - side), min(max(y0, 0), height - side)
    return (int(x0), int(y0), int(x0 + side), int(y0 + side))


class Tube:
    """The union of one face's boxes over a clip, as ``crop_vox.py`` (``crop_video``) builds ``tube_bbox``: the
    first box is the initial one, every box is joined in. Where a box overlaps the initial one by less than
    ``iou_with_initial``, the authors' scripts start a new clip; a clip here stays one, so such boxes are joined
    all the same and counted in ``far`` (the crop is then looser than VoxCeleb's)."""

    def __init__(self, iou_with_initial: float = IOU_WITH_INITIAL):
        self.iou_with_initial = iou_with_initial
        self.initial: Box | None = None
        self.union: Box | None = None
        self.boxes = 0
        self.far = 0
        self.smallest = float("inf")                 # the smallest box side seen (pixels)

    def add(self, box: Sequence[float]) -> None:
        box = tuple(float(v) for v in box[:4])
        if self.initial is None:
            self.initial = self.union = box
        else:
            self.far += iou(self.initial, box) < self.iou_with_initial
            self.union = join(self.union, box)
        self.boxes += 1
        self.smallest = min(self.smallest, max(box[2] - box[0], box[3] - box[1]))


def crop_box(tube: Sequence[float], shape: Sequence[int], increase: float = INCREASE) -> Box:
    """The crop of a frame of ``shape`` for a face box (one image) or a track's union: :func:`vox_box`, then
    :func:`fit_square`. Integer pixels, square, inside the frame."""
    return fit_square(vox_box(tube, increase), shape)
