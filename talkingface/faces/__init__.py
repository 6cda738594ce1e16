"""Face crops for your own media, the way DaGAN's VoxCeleb training data was cropped, and pasting the result back.

    face = find_face(backend, image)                       # talkingface.landmarks backend; None: no face
    box = crop_box(face.box, image.shape)                  # the VoxCeleb rule on one box
    tube = Tube(); [tube.add(f.box) for f in find_faces(backend, frames) if f]; box = crop_box(tube.union, shape)
    pasted = Paster(image, box).paste(animated_crop)       # the crop resized into the box, feathered seam

**The rule** — AliaksandrSiarohin/video-preprocessing (``crop_vox.py``, ``util.py``, commit ac40aac5, the VoxCeleb
crops of FOMM and DaGAN) and first-order-model ``crop-video.py`` (commit c0274845, its recipe for your own videos):

1. face boxes come from S3FD (face-alignment's detector) on each frame, reduced so its longest side is at most 640
   px (``crop-video.py``; ``crop_vox.py`` uses 360 px high);
2. a clip's box is the union of its boxes (``tube_bbox = join(tube_bbox, bbox)``), starting from the first; a box
   overlapping the first by IoU < 0.25 starts a new clip in their scripts (:class:`Tube` joins it and counts it);
3. the union is enlarged by ``increase = 0.1`` keeping the aspect: a square of side ``1.2 * max(w, h)`` about its
   centre, each coordinate truncated by ``int()`` (:func:`vox_box`);
4. ``crop-video.py`` clamps that square to the frame (:func:`clip_box`) and scales it to 256x256; ``crop_vox.py``,
   which made the training data, drops clips whose square leaves the frame. We keep the training crops' property:
   the square is moved inside the frame, not cut (:func:`fit_square`); a square larger than the frame's shorter
   side becomes that side.

A still image (the source) gets the same rule on its single box. Huge images are reduced to a longest side of 2048
before any model sees them; tiny ones are warned about (:mod:`talkingface.faces.frames`). The model-free parts live
here; DaGAN's use of them is ``dagan/framing.py``. Details and measurements: docs/face_crop.md.
"""
from talkingface.faces.boxes import INCREASE, IOU_WITH_INITIAL, Tube, clip_box, crop_box, fit_square, iou, join, vox_box
from talkingface.faces.frames import (
    DETECT_SIDE,
    MAX_SIDE,
    MIN_SIDE,
    crop,
    find_face,
    find_faces,
    limit_size,
    reduce_to,
    warn_if_tiny,
)
from talkingface.faces.paste import FEATHER, Paster, feather_mask

__all__ = ["DETECT_SIDE", "FEATHER", "INCREASE", "IOU_WITH_INITIAL", "MAX_SIDE", "MIN_SIDE", "Paster", "Tube",
           "clip_box", "crop", "crop_box", "feather_mask", "find_face", "find_faces", "fit_square", "iou", "join",
           "limit_size", "reduce_to", "vox_box", "warn_if_tiny"]
