"""Stream one sample's frames into the batcher: generated frames paired by index with the ground truth and the source.

The ground truth is opened whenever a full-reference metric applies to the sample (every metric then sees the same
paired frames as in a fresh run, even when only some are scored again). The source is opened when a
source-referenced metric (CSIM) is scored: an image is repeated for every generated frame, a video is paired by index
and read in chunks; it keeps its own size (the metric crops faces itself). A source that is missing or cannot be read
makes those metrics not computable for the sample; the other metrics go on.
"""
from __future__ import annotations

import numpy as np

from talkingface.errors import KitError, MediaError, one_line
from talkingface.evaluation.batcher import Batcher, SampleState
from talkingface.evaluation.frames import FrameFile, PairedStream, SourceFrames, fid_stride

NO_SOURCE = "no source image"


def source_metrics(metrics, wanted: set) -> list:
    """The source-referenced image metrics among ``wanted``."""
    return [n for n in metrics.image if n in wanted and metrics.specs[n].source_reference]


def _open_source(state: SampleState, names: list, batch_size: int):
    """The sample's SourceFrames, or None with ``names`` made not computable (no source, or it cannot be read)."""
    if not names:
        return None
    if state.sample.source is None:
        why = NO_SOURCE
    else:
        try:
            return SourceFrames(state.sample.source, batch_size)
        except (KitError, OSError, StopIteration) as exc:
            why = f"source not readable: {one_line(exc)}"
    for n in names:
        state.not_computable.setdefault(n, why)
    return None


def stream_sample(state: SampleState, batcher: Batcher, metrics, cfg, full_ref: bool, reference_dir) -> None:
    """Read the sample's frames into ``batcher``; ``full_ref``: pair them with the ground truth. Errors land on
    ``state.error``; ``state.streamed`` is set at the end."""
    s = state.sample
    if s.same_identity and s.reference is None and state.wanted != {"fid"}:
        why = ("no ground truth with the same name" if reference_dir is not None
               else "no ground truth (folder or file missing)")
        for n in metrics.image:
            if metrics.specs[n].full_reference:
                state.not_computable[n] = why
    gen = ref = src = None
    try:
        gen = FrameFile(s.generated)
        state.extras["has_audio"] = gen.has_audio
        if full_ref:
            ref = FrameFile(s.reference)
            if gen.size != ref.size:
                if not cfg.resize:
                    raise MediaError(f"{s.generated} is {gen.size[0]}x{gen.size[1]} but its ground truth "
                                     f"{s.reference} is {ref.size[0]}x{ref.size[1]} (pass --resize to resize "
                                     f"generated frames to the ground-truth size)")
                state.notes.append(f"generated resized from {gen.size[0]}x{gen.size[1]} to "
                                   f"{ref.size[0]}x{ref.size[1]}")
                gen.resize_to = ref.size
            if gen.fps and ref.fps and abs(gen.fps - ref.fps) > 1e-3:
                state.extras["fps_mismatch"] = [gen.fps, ref.fps]
                state.notes.append(f"frame rates differ (generated {gen.fps:.3f} fps, ground truth "
                                   f"{ref.fps:.3f} fps): frames are paired by index")
        src_names = source_metrics(metrics, state.wanted - set(state.not_computable))
        src = _open_source(state, src_names, cfg.batch_size)
        state.fid_stride = fid_stride(gen.count, cfg.fid_max_frames_per_video)
        mid = gen.count // 2
        pos = 0
        stream = PairedStream(gen, ref, cfg.batch_size)
        for g, r in stream:
            if cfg.save_visuals and pos <= mid < pos + len(g) and state.wanted != {"fid"}:
                state.mid["generated"] = g[mid - pos].copy()
                if r is not None:
                    state.mid["reference"] = r[mid - pos].copy()
            mask = state.fid_mask(pos, len(g)) if "fid" in state.wanted else np.zeros(len(g), bool)
            batcher.add(state, g, r, mask, None if src is None else src.take(len(g)))
            pos += len(g)
        state.n_frames = pos
        if pos == 0:
            raise MediaError(f"{s.generated}: no frames")
        if stream.longer:
            state.extras["length_mismatch"] = [gen.count, ref.count]
            state.notes.append(f"frame counts differ (generated {gen.count}, ground truth {ref.count}): "
                               f"the first {pos} frames are paired")
        if src is not None and src.taken == 0:
            for n in src_names:
                state.not_computable.setdefault(n, "the source video has no frames")
        elif src is not None and src.short:
            state.extras["source_length_mismatch"] = [pos, src.taken]
            state.notes.append(f"the source video is shorter than the generated frames ({src.taken} of {pos}): "
                               f"{', '.join(src_names)} scored on the first {src.taken} frames")
    except (KitError, OSError) as exc:
        state.error = one_line(exc)
    finally:
        for f in (gen, ref, src):
            if f is not None:
                f.close()
    state.streamed = True
