"""Streaming video and audio I/O: probe, read frame by frame, write H.264 mp4 atomically, re-time, extract audio.

    from talkingface.media import VideoReader, VideoWriter
    with VideoReader("in.mp4") as reader, VideoWriter("out.mp4", reader.fps, audio=reader.info) as writer:
        for chunk in reader.chunks(32):          # (k, H, W, 3) uint8 RGB, k <= 32
            writer.write(255 - chunk)            # single frames (H, W, 3) or batches; uint8 or float in [0, 1]

One module per job: ``probe`` (metadata without decoding), ``reader`` (PyAV decoding, bounded memory), ``writer``
(the pinned ffmpeg's libx264, audio muxed, atomic), ``audio`` (16 kHz mono samples / wav), ``retime`` (constant
frame rate), ``ffmpeg`` (the pinned binary), ``images`` (still images), ``frames`` (shape, dtype and resize of
frame arrays), ``prefetch`` (decode ahead on a thread). Decoding and encoding never hold a whole video.

What we *write* is limited-range BT.601 (tagged ``smpte170m``, ``tv``), so files round-trip through any decoder.
LSE-D/LSE-C move with the ffmpeg version because the range conversion before syncnet_python's JPEG step changed
between versions (docs/lse_protocol.md): report :func:`media_versions` next to LSE numbers.
"""
from talkingface.media.audio import extract_audio, read_audio
from talkingface.media.ffmpeg import ffmpeg_exe, ffmpeg_version, media_versions
from talkingface.media.frames import as_uint8_frames
from talkingface.media.images import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, is_image, is_video, read_image, write_image
from talkingface.media.probe import MediaInfo, probe, require_audio
from talkingface.media.reader import VideoReader
from talkingface.media.retime import to_constant_fps
from talkingface.media.writer import VideoWriter

__all__ = [
    "IMAGE_EXTENSIONS",
    "MediaInfo",
    "VIDEO_EXTENSIONS",
    "VideoReader",
    "VideoWriter",
    "as_uint8_frames",
    "extract_audio",
    "ffmpeg_exe",
    "ffmpeg_version",
    "is_image",
    "is_video",
    "media_versions",
    "probe",
    "read_audio",
    "read_image",
    "require_audio",
    "to_constant_fps",
    "write_image",
]
