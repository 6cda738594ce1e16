"""Corpus rows for `python -m lawdnet.infer`: bad audio, video, weights, outputs and flags — and the inputs that look
bad but must work (style ``ok``: 8 kHz / 44.1 kHz / stereo / mp3 audio, a tone, noise, a 1-frame, 30 fps or
variable-frame-rate template), whose output must be 25 fps and as long as the audio.

Decisions (docs: the table of tests/corpus/README.md):

* **silent audio** (every sample the same) and **0-length audio** cannot be made: DeepSpeech's normalisation divides
  by the spread of the spectrogram, 0 there (the authors' code returns NaN features). One line naming the file,
  before any weights load.
* **audio without speech** (a pure tone, white noise) *can* be made: its features are finite and the model gets what
  speech-less audio gives it (a mostly closed or babbling mouth). It works, exit 0, like any audio.
* a **1-frame template** works: a still face, the one frame shown for every output frame (ping-pong of one frame);
  **30 fps** and **variable-frame-rate** templates are re-timed to 25 fps.
* a template **without a face** is found out by the landmark pass, which runs after the (random) model is built:
  reach *work*, still one line and nothing left behind, not even the output folder the run made.

Every case is tiny: the 10-frame 256x256 talking head (or the 32x32 synthetic clip), 0.36 s of the sample speech
(9 output frames), ``--mouthsize 64 --max_frames 10 --no_cache --landmarks offline`` and the seeded random generator
and dp2 network (``--random_model 0``) unless a case brings weight files.
"""
from __future__ import annotations

import os
from pathlib import Path

from _corpus import Case

CLI = "lawdnet.infer"
RANDOM = ["--random_model", "0"]
SMALL = ["--mouthsize", "64", "--max_frames", "10", "--no_cache", "--no_progress", "--landmarks", "offline"]
SECONDS = 0.36                    # of speech: 9 frames at 25 fps (below --max_frames, so the audio sets the length)
RANDOM_LOG = ("warning: RANDOM WEIGHTS",)
OK_LOGS = ("warning: RANDOM WEIGHTS", "wrote ")
OK_WHY = ("the output and its record; the random-weights warning and the 'wrote' line are the run's own log")
OK_NEW = ("out.mp4", "out.config.yaml")


def _run(w, *extra: str, video=None, audio=None, out: str = "out.mp4", model=None) -> list[str]:
    """lawdnet.infer on face.mp4 (10 frames of the talking head) and speech.wav (0.36 s, 16 kHz mono)."""
    video = video(w) if video else w.face()
    audio = audio(w) if audio else w.speech(seconds=SECONDS)
    return ["--video_path", video, "--audio_path", audio, "--output", w.p(out), *SMALL,
            *(RANDOM if model is None else model(w)), *extra]


def _weights(w, generator=None, features=None) -> list[str]:
    """A real generator checkpoint (random weights, the authors' format) and a dp2 placeholder, or ``generator`` /
    ``features`` (``(flag, path)``) built instead."""
    gen = generator(w) if generator else w.lawdnet_generator()
    flag, path = features(w) if features else (
        "--dp2_model_path", w.file("LibriSpeech.ckpt", b"placeholder: never read, the generator fails first"))
    return ["--lawdnet_model_path", gen, flag, path]


def _dp1(**graph):
    """--features dp1 with a tiny DeepSpeech-like graph (``graph``: another release's tensor names)."""
    return lambda w: ["--features", "dp1", "--deepspeech_model_path", w.dp1_graph(**graph),
                      "--lawdnet_model_path", w.lawdnet_generator()]


def _truncated(w) -> str:
    data = Path(w.lawdnet_generator("full.pth")).read_bytes()
    os.unlink(w.p("full.pth"))
    return w.file("checkpoint_epoch_0.pth", data[:len(data) // 2])


def _made(frames: int = 9, template: int | None = None, ping_pong: bool | None = None):
    """The output of a run that worked: 25 fps, ``frames`` frames (the audio's length), the audio muxed, and the
    record saying the same (template frames, ping-pong)."""
    def expect(root: Path) -> None:
        import yaml

        from talkingface.media import probe

        info = probe(root / "out.mp4")
        assert (info.frame_count, info.fps) == (frames, 25), (info.frame_count, info.fps)
        assert info.has_audio and abs(info.audio_duration - SECONDS) < 0.05, info.audio_duration
        result = yaml.safe_load((root / "out.config.yaml").read_text())["result"]
        assert result["frames"] == frames and result["fps"] == 25, result
        if template is not None:
            assert result["template"]["frames"] == template, result["template"]
        if ping_pong is not None:
            assert result["template"]["ping_pong"] is ping_pong, result["template"]
    return expect


def _works(id_: str, what: str, expect=None, process: bool = False, **kw) -> Case:
    return Case(id_, CLI, what, lambda w: _run(w, **kw), (), code=0, style="ok", reach="work", logs=OK_LOGS,
                why=OK_WHY, new=OK_NEW, expect=expect or _made(), process=process)


def _out_is_audio(w) -> list[str]:
    talk = w.video("talk.mp4")                       # a video's audio track as the speech, and the output
    return _run(w, audio=lambda w: talk, out="talk.mp4")


def _link_to_video(w) -> list[str]:
    face = w.face()
    os.symlink("face.mp4", w.p("out.mp4"))
    return _run(w, video=lambda w: face)


AUDIO = [
    Case("lawdnet-audio-silent", CLI, "silent audio (0.5 s of digital zeros)",
         lambda w: _run(w, audio=lambda w: w.pcm("silent.wav", [0] * 8000)),
         ("silent.wav", "the audio is silent", "give audio with sound"), process=True),
    Case("lawdnet-audio-0-samples", CLI, "0-length audio (a wav header without samples)",
         lambda w: _run(w, audio=lambda w: w.pcm("empty.wav", [])), ("empty.wav", "0 samples")),
    Case("lawdnet-audio-0-bytes", CLI, "a 0-byte audio file",
         lambda w: _run(w, audio=lambda w: w.file("speech.wav", b"")), ("speech.wav", "empty file (0 bytes)")),
    Case("lawdnet-audio-no-stream", CLI, "a video without sound as the audio",
         lambda w: _run(w, audio=lambda w: w.video("mute.mp4", audio=False)), ("mute.mp4", "has no audio stream")),
    Case("lawdnet-audio-text", CLI, "a text file named .wav as the audio",
         lambda w: _run(w, audio=lambda w: w.file("speech.wav", "hello\n")), ("speech.wav", "not a readable media")),
    _works("lawdnet-audio-tone", "audio without speech: a 440 Hz tone (works: features exist)",
           audio=lambda w: w.tone(seconds=SECONDS)),
    _works("lawdnet-audio-noise", "audio without speech: white noise (works)",
           audio=lambda w: w.tone("noise.wav", seconds=SECONDS, noise=True)),
    _works("lawdnet-audio-8k", "8 kHz speech (works: resampled to 16 kHz)",
           audio=lambda w: w.speech("speech8k.wav", SECONDS, rate=8000)),
    _works("lawdnet-audio-44k", "44.1 kHz speech (works)",
           audio=lambda w: w.speech("speech44k.wav", SECONDS, rate=44100)),
    _works("lawdnet-audio-stereo", "stereo 16 kHz speech (works: channels averaged, as the authors' torchaudio)",
           audio=lambda w: w.speech("stereo.wav", SECONDS, stereo=True)),
    _works("lawdnet-audio-mp3", "mp3 speech (works: decoded by ffmpeg)", process=True,
           audio=lambda w: w.speech("speech.mp3", SECONDS)),
]

VIDEO = [
    Case("lawdnet-video-missing", CLI, "--video_path does not exist",
         lambda w: _run(w, video=lambda w: w.p("nothere.mp4")), ("nothere.mp4", "no such file")),
    Case("lawdnet-video-audio-only", CLI, "a .wav as the template video",
         lambda w: _run(w, video=lambda w: w.speech("voice.wav")), ("voice.wav", "has no video stream")),
    Case("lawdnet-video-truncated", CLI, "a truncated template mp4",
         lambda w: _run(w, video=lambda w: w.truncated()), ("cut.mp4", "truncated file")),
    Case("lawdnet-video-no-face", CLI, "a template without a face (smooth colour waves), --output_dir res/new",
         lambda w: [*_run(w, video=lambda w: w.video("waves.mp4"))[:4], "--output_dir", w.p("res/new"),
                    *SMALL, *RANDOM], ("waves.mp4", "no face found"), reach="work", logs=RANDOM_LOG,
         why="the landmark pass finds no face after the random model is built (its warning first); the output "
             "folders the run made (res/new) are removed again"),
    _works("lawdnet-video-one-frame", "a 1-frame template (works: a still face, ping-pong of one frame)",
           expect=_made(template=1, ping_pong=True), video=lambda w: w.face("one.mp4", frames=1)),
    _works("lawdnet-video-30fps", "a 30 fps template (works: re-timed to 25 fps)",
           video=lambda w: w.face_retimed("face30.mp4", fps="30")),
    _works("lawdnet-video-vfr", "a variable-frame-rate template (frame gaps of 40-120 ms; works: re-timed to 25)",
           video=lambda w: w.face_retimed("vfr.mp4", vfr=True)),
]

WEIGHTS = [
    Case("lawdnet-weights-missing", CLI, "no weights in TALKINGFACE_CHECKPOINTS: both manifest entries listed",
         lambda w: _run(w, model=lambda w: []),
         ("weights missing", "weights fetch lawdnet_epoch_170", "weights fetch deepspeech_pytorch_librispeech"),
         process=True),
    Case("lawdnet-weights-missing-dinet", CLI, "--model dinet without weights: DINet's entries listed",
         lambda w: _run(w, "--model", "dinet", model=lambda w: []),
         ("weights fetch dinet_clip_256mouth", "weights fetch deepspeech_graph")),
    Case("lawdnet-generator-path-missing", CLI, "--lawdnet_model_path names no file",
         lambda w: _run(w, model=lambda w: _weights(w, generator=lambda w: w.p("nothere.pth"))),
         ("nothere.pth",)),
    Case("lawdnet-checkpoint-truncated", CLI, "--lawdnet_model_path cut to half its size",
         lambda w: _run(w, model=lambda w: _weights(w, generator=_truncated)),
         ("checkpoint_epoch_0.pth", "truncated or damaged checkpoint"), reach="weights"),
    Case("lawdnet-checkpoint-dinet", CLI, "a DINet generator file with --model lawdnet",
         lambda w: _run(w, model=lambda w: _weights(w, generator=lambda w: w.lawdnet_generator("dinet.pth", "dinet"))),
         ("dinet.pth", "looks like DINet", "--model dinet"), reach="weights"),
    Case("lawdnet-checkpoint-random-bytes", CLI, "--lawdnet_model_path: 5000 random bytes",
         lambda w: _run(w, model=lambda w: _weights(w, generator=lambda w: w.file(
             "x.pth", bytes((i * 97 + 13) % 256 for i in range(5000))))),
         ("x.pth", "not a PyTorch checkpoint"), reach="weights"),
    Case("lawdnet-checkpoint-state-dict", CLI, "--lawdnet_model_path: a bare state dict, not the authors' format",
         lambda w: _run(w, model=lambda w: _weights(w, generator=lambda w: w.torch_file(
             "g.pth", lambda t: {"conv.weight": t.zeros(1)}))), ("g.pth", "'state_dict'"), reach="weights"),
    Case("lawdnet-dp1-other-version", CLI, "--features dp1 with a DeepSpeech graph of another release (no logits)",
         lambda w: _run(w, model=_dp1(logits_name="output")),
         ("output_graph.pb", "not the DeepSpeech v0.1.0 graph", "deepspeech/logits:0"), reach="weights",
         process=True),
    Case("lawdnet-dp1-other-scope", CLI, "--features dp1 with a graph whose tensors live under another scope",
         lambda w: _run(w, model=_dp1(scope="v2")), ("output_graph.pb", "deepspeech/input_node:0"),
         reach="weights"),
    Case("lawdnet-dp1-graph-text", CLI, "--deepspeech_model_path is a text file",
         lambda w: _run(w, model=lambda w: _weights(w, features=lambda w: (
             "--deepspeech_model_path", w.file("output_graph.pb", "not a graph\n"))) + ["--features", "dp1"]),
         ("output_graph.pb", "not a TensorFlow GraphDef"), reach="weights"),
]

OUTPUT = [
    Case("lawdnet-output-is-video", CLI, "--output = --video_path",
         lambda w: _run(w, out="face.mp4"), ("face.mp4", "would overwrite the input file")),
    Case("lawdnet-output-is-audio", CLI, "--output = --audio_path (a video's audio track)",
         _out_is_audio, ("talk.mp4", "would overwrite the input file")),
    Case("lawdnet-output-symlink", CLI, "--output is a symlink to the template video",
         _link_to_video, ("out.mp4", "would overwrite the input file")),
    Case("lawdnet-output-folder-missing", CLI, "--output in a folder that does not exist",
         lambda w: _run(w, out="results/out.mp4"), ("results", "does not exist; create it first")),
    Case("lawdnet-output-is-dir", CLI, "--output is a directory named out.mp4",
         lambda w: (w.dir("out.mp4"), _run(w))[1], ("out.mp4", "is a directory")),
    Case("lawdnet-output-suffix", CLI, "--output with an unsupported extension (.avi)",
         lambda w: _run(w, out="out.avi"), ("out.avi", "must end with .mp4")),
    Case("lawdnet-output-dir-is-file", CLI, "--output_dir is a file",
         lambda w: [*_run(w)[:4], "--output_dir", w.file("res", "a file\n"), *SMALL, *RANDOM],
         ("res", "is not a folder")),
    Case("lawdnet-record-is-dir", CLI, "<output>.config.yaml is a directory (the record could not be written)",
         lambda w: (w.dir("out.config.yaml"), _run(w))[1], ("out.config.yaml", "is a directory")),
    Case("lawdnet-output-read-only", CLI, "--output in a read-only folder (bind mount)",
         lambda w: _run(w, out=os.path.basename(w.dir("ro")) + "/out.mp4"), ("read-only file system",),
         readonly="ro"),
]

FLAGS = [
    Case("lawdnet-batch-size-0", CLI, "--batch_size 0",
         lambda w: _run(w, "--batch_size", "0"), ("--batch_size must be >= 1, got 0",)),
    Case("lawdnet-max-frames-0", CLI, "--max_frames 0",
         lambda w: _run(w, "--max_frames", "0"), ("--max_frames must be >= 1, got 0",)),
    Case("lawdnet-start-past-end", CLI, "--start_time_sec 5 on a 0.4 s template",
         lambda w: _run(w, "--start_time_sec", "5"), ("face.mp4", "--start_time_sec 5", "after the video's end")),
    Case("lawdnet-start-negative", CLI, "--start_time_sec -1",
         lambda w: _run(w, "--start_time_sec", "-1"), ("--start_time_sec must be >= 0",)),
    Case("lawdnet-mouthsize-30", CLI, "--mouthsize 30",
         lambda w: _run(w, "--mouthsize", "30"), ("--mouthsize must be a positive multiple of 8", "got 30")),
    Case("lawdnet-model-unknown", CLI, "--model wav2lip (not a choice)",
         lambda w: _run(w, "--model", "wav2lip"), ("invalid choice: 'wav2lip'",)),
    Case("lawdnet-random-and-checkpoint", CLI, "--random_model with --lawdnet_model_path",
         lambda w: _run(w, "--lawdnet_model_path", w.file("g.pth", "x")),
         ("--random_model cannot be combined with --lawdnet_model_path",)),
    Case("lawdnet-openface-no-csv", CLI, "--landmarks openface-csv without --landmarks_csv",
         lambda w: _run(w, "--landmarks", "openface-csv"), ("--landmarks openface-csv needs --landmarks_csv",)),
]

CASES = AUDIO + VIDEO + WEIGHTS + OUTPUT + FLAGS
