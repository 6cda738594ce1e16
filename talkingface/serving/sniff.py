"""What an upload really is: its format from its first bytes (never its name or Content-Type), then a PyAV check
that it holds audio that decodes, no longer than a limit.

    fmt = sniff_format(head)                 # AudioFormat("wav", ".wav") or None (415)
    seconds = check_audio(path, fmt, 600)    # UnsupportedAudio (415) or AudioTooLong (422)

The container's declared duration is checked first (a WAV header saying 10 hours is refused without decoding);
then the audio is decoded, counting samples, and decoding stops as soon as the limit is passed.
"""
from __future__ import annotations

import logging
import struct
from dataclasses import dataclass
from pathlib import Path

import av

from talkingface.errors import MediaError

log = logging.getLogger(__name__)

HEAD_BYTES = 4096           # what sniff_format looks at
DURATION_SLACK = 0.05       # seconds of rounding a declared duration may exceed the limit by


class UnsupportedAudio(MediaError):
    """Not a supported audio format, or no audio stream that decodes (415)."""


class AudioTooLong(MediaError):
    """The audio is longer than the limit (422)."""


@dataclass(frozen=True)
class AudioFormat:
    """A sniffed format: ``name`` (ours), ``suffix`` of the server-made file name, ``demuxer`` (ffmpeg's name)."""

    name: str
    suffix: str
    demuxer: str


WAV = AudioFormat("wav", ".wav", "wav")
FLAC = AudioFormat("flac", ".flac", "flac")
OGG = AudioFormat("ogg", ".ogg", "ogg")
MP3 = AudioFormat("mp3", ".mp3", "mp3")
AAC = AudioFormat("aac", ".aac", "aac")
MP4 = AudioFormat("mp4", ".mp4", "mov")
M4A = AudioFormat("m4a", ".m4a", "mov")
WEBM = AudioFormat("webm", ".webm", "matroska")
MATROSKA = AudioFormat("matroska", ".mka", "matroska")

SUPPORTED = "WAV, FLAC, OGG, MP3, AAC, MP4/M4A, WebM/Matroska"


def _id3_size(head: bytes) -> int:
    """Bytes of an ID3v2 tag at the start of ``head`` (header + syncsafe size + optional footer)."""
    size = 0
    for b in head[6:10]:
        size = (size << 7) | (b & 0x7F)
    return 10 + size + (10 if head[5] & 0x10 else 0)


def _mpeg_audio(head: bytes) -> AudioFormat | None:
    """MP3 (MPEG audio layer I-III) or ADTS AAC from a frame sync word at the start of ``head``."""
    if len(head) < 4 or head[0] != 0xFF or (head[1] & 0xE0) != 0xE0:
        return None
    layer = (head[1] >> 1) & 0x3
    if layer == 0:                                              # ADTS: 12 sync bits, layer 00
        return AAC if (head[1] & 0xF0) == 0xF0 else None
    version, bitrate, rate = (head[1] >> 3) & 0x3, head[2] >> 4, (head[2] >> 2) & 0x3
    return MP3 if version != 1 and bitrate != 0xF and rate != 0x3 else None


def sniff_format(head: bytes) -> AudioFormat | None:
    """The audio container ``head`` (a file's first bytes, :data:`HEAD_BYTES` are enough) starts like, else None."""
    if len(head) >= 12 and head[:4] in (b"RIFF", b"RF64", b"BW64") and head[8:12] == b"WAVE":
        return WAV
    if head[:4] == b"fLaC":
        return FLAC
    if head[:4] == b"OggS":
        return OGG
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return M4A if head[8:12] in (b"M4A ", b"M4B ") else MP4
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return WEBM if b"webm" in head[:64] else MATROSKA
    if len(head) >= 10 and head[:3] == b"ID3":
        after = head[_id3_size(head):]
        if after[:4] == b"fLaC":
            return FLAC
        return _mpeg_audio(after) or MP3        # PyAV's decoding check decides what follows a long tag
    return _mpeg_audio(head)


def sniff_file(path: Path) -> AudioFormat | None:
    """:func:`sniff_format` of a file's first bytes."""
    with open(path, "rb") as fh:
        return sniff_format(fh.read(HEAD_BYTES))


def wav_header_seconds(head: bytes) -> float | None:
    """The duration a WAV/RF64 header declares (data chunk size / byte rate), or None when ``head`` does not say
    (no fmt or data chunk in it, or the "unknown size" values 0 and 0xFFFFFFFF of streamed WAVs)."""
    if len(head) < 12 or head[8:12] != b"WAVE":
        return None
    pos, byte_rate, data_size, ds64_size = 12, 0, None, None
    while pos + 8 <= len(head):
        chunk, size = head[pos:pos + 4], struct.unpack_from("<I", head, pos + 4)[0]
        body = head[pos + 8:pos + 8 + size]
        if chunk == b"ds64" and len(body) >= 16:
            ds64_size = struct.unpack_from("<Q", body, 8)[0]
        elif chunk == b"fmt " and len(body) >= 12:
            byte_rate = struct.unpack_from("<I", body, 8)[0]
        elif chunk == b"data":
            data_size = ds64_size if size == 0xFFFFFFFF and ds64_size is not None else size
            break
        pos += 8 + size + (size & 1)
    if not byte_rate or data_size in (None, 0, 0xFFFFFFFF):
        return None
    return data_size / byte_rate


def _declared_seconds(container: av.container.InputContainer, stream: av.audio.AudioStream) -> float | None:
    """The duration the container or the stream says it has, or None when neither says."""
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def check_audio(path: Path, fmt: AudioFormat, max_seconds: float) -> float:
    """Seconds of audio in ``path`` (of sniffed format ``fmt``) after decoding it; UnsupportedAudio when it has no
    audio stream that decodes, AudioTooLong beyond ``max_seconds`` (declared, or while decoding)."""
    try:
        with av.open(str(path), format=fmt.demuxer, metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise UnsupportedAudio(f"the {fmt.name} file has no audio stream")
            stream = container.streams.audio[0]
            declared = _declared_seconds(container, stream)
            if fmt.name == "wav":  # ffmpeg clamps a WAV's data size to the file's: read the header
                with open(path, "rb") as fh:
                    declared = max(declared or 0.0, wav_header_seconds(fh.read(HEAD_BYTES)) or 0.0) or None
            if declared is not None and declared > max_seconds + DURATION_SLACK:
                raise AudioTooLong(f"the audio is {declared:.1f} s long (its header says); "
                                   f"the limit is {max_seconds:g} s")
            samples, rate = 0, stream.rate or 0
            for frame in container.decode(stream):
                rate = frame.sample_rate or rate
                samples += frame.samples
                if rate and samples / rate > max_seconds + DURATION_SLACK:
                    raise AudioTooLong(f"the audio is longer than the limit of {max_seconds:g} s")
    except av.FFmpegError as exc:
        log.debug("%s: PyAV: %s", path, exc)
        raise UnsupportedAudio(f"the {fmt.name} file does not decode as audio") from None
    if samples == 0 or not rate:
        raise UnsupportedAudio(f"the {fmt.name} file holds no audio samples")
    return samples / rate
