"""Serving core without a server: format sniffing and audio checks, settings and flags, client file names, jobs on
disk (recovery, retention) and the queue's timeouts and cancelling."""
from __future__ import annotations

import argparse
import json
import logging
import struct
import time
from pathlib import Path

import pytest
from _fake_service import FakeProcessor
from _serving_media import CODECS, encode, lying_wav_bytes, wav_bytes, write_wav

from talkingface.errors import ConfigError, KitError
from talkingface.serving import JobCancelled, Processor, ServeSettings, add_serve_arguments, settings_from_args
from talkingface.serving.jobs import RESTART_REASON, JobStore, valid_job_id
from talkingface.serving.settings import check_settings, is_loopback, read_api_key, warn_if_exposed
from talkingface.serving.sniff import (
    AudioTooLong,
    UnsupportedAudio,
    check_audio,
    sniff_file,
    sniff_format,
    wav_header_seconds,
)
from talkingface.serving.uploads import log_name, safe_stem
from talkingface.serving.workers import JobQueue


@pytest.mark.parametrize("kind", sorted(CODECS))
def test_each_supported_container_is_sniffed_by_content_and_decodes(tmp_path, kind):
    path = encode(tmp_path / f"tone.{kind}", kind, seconds=0.3)
    renamed = path.rename(tmp_path / "no_extension")
    fmt = sniff_file(renamed)
    assert fmt is not None and fmt.suffix.lstrip(".") in (kind, "mka")
    assert check_audio(renamed, fmt, 10.0) == pytest.approx(0.3, abs=0.05)


def test_sniffing_wav_id3_and_frame_sync_headers():
    assert sniff_format(wav_bytes(0.1)).name == "wav"
    assert sniff_format(b"RF64\xff\xff\xff\xffWAVEds64").name == "wav"
    id3 = b"ID3\x04\x00\x00\x00\x00\x00\x05" + b"\x00" * 5
    assert sniff_format(id3 + b"\xff\xfb\x90\x00").name == "mp3"
    assert sniff_format(id3 + b"fLaC\x00\x00").name == "flac"
    assert sniff_format(b"\xff\xf1\x50\x80\x00").name == "aac"
    for junk in (b"hello, this is text\n", b"", b"\x00" * 64, b"PK\x03\x04", b"%PDF-1.7", b"\xff\xd8\xff\xe0"):
        assert sniff_format(junk) is None


def test_a_text_file_and_garbage_after_a_valid_magic_are_refused(tmp_path):
    text = tmp_path / "x.wav"
    text.write_text("not audio at all\n" * 100)
    assert sniff_file(text) is None
    garbage = tmp_path / "g"
    garbage.write_bytes(b"\xff\xfb\x90\x00" + bytes(range(256)) * 40)
    fmt = sniff_file(garbage)
    assert fmt is not None and fmt.name == "mp3"
    with pytest.raises(UnsupportedAudio):
        check_audio(garbage, fmt, 10.0)
    fake_wav = tmp_path / "w"
    fake_wav.write_bytes(b"RIFF\x00\x00\x00\x00WAVE" + b"junk" * 100)
    with pytest.raises(UnsupportedAudio):
        check_audio(fake_wav, sniff_file(fake_wav), 10.0)


def test_duration_limit_from_the_header_first_then_while_decoding(tmp_path):
    assert wav_header_seconds(lying_wav_bytes(36000.0)) == pytest.approx(36000.0)
    assert wav_header_seconds(wav_bytes(0.5)) == pytest.approx(0.5)
    streamed = bytearray(wav_bytes(0.5))
    streamed[40:44] = struct.pack("<I", 0xFFFFFFFF)
    assert wav_header_seconds(bytes(streamed)) is None
    liar = tmp_path / "liar.wav"
    liar.write_bytes(lying_wav_bytes(36000.0))
    t0 = time.monotonic()
    with pytest.raises(AudioTooLong, match="header says"):
        check_audio(liar, sniff_file(liar), 600.0)
    assert time.monotonic() - t0 < 1.0
    long_wav = write_wav(tmp_path / "long.wav", seconds=3.0)
    with pytest.raises(AudioTooLong):
        check_audio(long_wav, sniff_file(long_wav), 2.0)
    assert check_audio(long_wav, sniff_file(long_wav), 3.0) == pytest.approx(3.0)


def test_client_file_names_never_survive_as_paths():
    assert safe_stem("../../etc/passwd") == "passwd"
    assert safe_stem("..\\..\\win.ini") == "win"
    assert safe_stem("a\x00b\nc.wav") == "a_b_c"
    assert safe_stem("") == safe_stem("...") == safe_stem("/") == "audio"
    assert safe_stem("voix d'été.mp3") == "voix_d_t"
    assert len(safe_stem("x" * 500 + ".wav")) == 64
    assert "\n" not in log_name("a\nb\x00") and "\x00" not in log_name("a\nb\x00")


def _parse(argv):
    parser = argparse.ArgumentParser()
    add_serve_arguments(parser, default_port=6000)
    return parser.parse_args(argv)


def test_flags_give_the_safe_defaults_and_every_flag_has_a_help():
    parser = argparse.ArgumentParser()
    add_serve_arguments(parser, default_port=6000)
    assert all(a.help for a in parser._actions if a.dest not in ("help", "api_key"))
    s = settings_from_args(parser.parse_args([]))
    assert s == ServeSettings(port=6000, results_dir=Path("serve_results"), api_key=None)
    assert (s.host, s.workers, s.queue_size, s.max_upload_mb, s.max_audio_seconds) == ("127.0.0.1", 1, 8, 100, 600)
    assert (s.timeout, s.job_timeout, s.keep_hours, s.max_results_mb) == (300, 3600, 24, 2048)


@pytest.mark.parametrize("argv, flag", [
    (["--port", "0"], "--port"), (["--port", "70000"], "--port"), (["--workers", "0"], "--workers"),
    (["--queue_size", "-1"], "--queue_size"), (["--max_upload_mb", "0"], "--max_upload_mb"),
    (["--max_audio_seconds", "-5"], "--max_audio_seconds"), (["--timeout", "nan"], "--timeout"),
    (["--job_timeout", "0"], "--job_timeout"), (["--keep_hours", "inf"], "--keep_hours"),
    (["--max_results_mb", "10"], "--max_results_mb"), (["--host", ""], "--host"), (["--host", "a b"], "--host"),
])
def test_bad_values_are_one_line_errors_naming_the_flag(argv, flag):
    with pytest.raises(ConfigError, match=flag) as info:
        settings_from_args(_parse(argv))
    assert "\n" not in str(info.value)


def test_results_dir_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(ConfigError, match="is a file"):
        check_settings(ServeSettings(results_dir=tmp_path / "f"))


def test_the_api_key_comes_from_a_file_or_the_environment_never_a_flag(tmp_path, monkeypatch):
    monkeypatch.delenv("TALKINGFACE_API_KEY", raising=False)
    assert settings_from_args(_parse([])).api_key is None
    monkeypatch.setenv("TALKINGFACE_API_KEY", "env-secret-123")
    assert settings_from_args(_parse([])).api_key == "env-secret-123"
    key_file = tmp_path / "key"
    key_file.write_text("file-secret-456\n")
    s = settings_from_args(_parse(["--api_key_file", str(key_file)]))
    assert s.api_key == "file-secret-456" and "secret" not in repr(s)
    key_file.write_text("  \n")
    with pytest.raises(ConfigError, match="empty"):
        read_api_key(key_file)
    with pytest.raises(ConfigError, match="cannot read"):
        read_api_key(tmp_path / "missing")
    with pytest.raises(ConfigError, match="8 printable"):
        check_settings(ServeSettings(api_key="short"))

def test_a_key_on_the_command_line_is_refused_without_echoing_it(capsys):
    with pytest.raises(SystemExit):
        _parse(["--api_key", "hunter2-secret"])
    err = capsys.readouterr().err
    assert "--api_key_file" in err and "hunter2" not in err


def test_exposed_without_a_key_logs_a_warning(caplog):
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.2")
    with caplog.at_level(logging.WARNING, logger="talkingface"):
        warn_if_exposed(ServeSettings(host="127.0.0.1"))
        warn_if_exposed(ServeSettings(host="0.0.0.0", api_key="a-long-key"))
        assert not caplog.records
        warn_if_exposed(ServeSettings(host="0.0.0.0"))
    assert len(caplog.records) == 1 and "without an API key" in caplog.records[0].getMessage()


def test_the_fake_processor_meets_the_protocol():
    assert isinstance(FakeProcessor(), Processor)


def _plant(store: JobStore, tmp_path: Path, state: str, finished_ago: float | None = None, size: int = 100) -> str:
    upload = tmp_path / f"up{time.monotonic_ns()}"
    upload.write_bytes(b"x" * size)
    job = store.add(upload, ".wav", "a.wav", "a", 1.0)
    changes = {"state": state}
    if finished_ago is not None:
        changes["finished"] = time.time() - finished_ago
    if state == "done":
        (store.folder(job.id) / store.result_name).write_bytes(b"r" * size)
    store.update(job.id, **changes)
    return job.id


def test_recover_fails_unfinished_jobs_and_never_reports_them_done(tmp_path):
    store = JobStore(tmp_path / "r", ".mp4")
    store.recover()
    running = _plant(store, tmp_path, "running")
    (store.folder(running) / store.result_name).write_bytes(b"complete but not recorded")
    (store.folder(running) / ".result-abc.partial.mp4").write_bytes(b"half")
    queued = _plant(store, tmp_path, "queued")
    done = _plant(store, tmp_path, "done", finished_ago=1)
    lost = _plant(store, tmp_path, "done", finished_ago=1)
    (store.folder(lost) / store.result_name).unlink()
    orphan = store.jobs_dir / ("f" * 32)
    orphan.mkdir()
    (orphan / "input.wav").write_bytes(b"x")
    stranger = store.jobs_dir / "not-a-job"
    stranger.mkdir()
    (store.incoming / "cut.upload").write_bytes(b"x")

    fresh = JobStore(tmp_path / "r", ".mp4")
    assert fresh.recover() == 3
    for job_id in (running, queued):
        job = fresh.get(job_id)
        assert (job.state, job.error) == ("failed", RESTART_REASON)
        assert fresh.result_path(job) is None
        assert sorted(p.name for p in fresh.folder(job_id).iterdir()) == ["input.wav", "job.json"]
        assert json.loads((fresh.folder(job_id) / "job.json").read_text())["state"] == "failed"
    assert fresh.get(done).state == "done" and fresh.result_path(fresh.get(done)) is not None
    assert fresh.get(lost).state == "failed"
    assert not orphan.exists() and stranger.exists() and not any(fresh.incoming.iterdir())


def test_retention_by_age_and_size_never_touches_unfinished_jobs(tmp_path):
    store = JobStore(tmp_path / "r", ".mp4")
    store.recover()
    old = _plant(store, tmp_path, "done", finished_ago=3 * 3600)
    old_running = _plant(store, tmp_path, "running")
    store.update(old_running, created=time.time() - 10 * 3600)
    mid = _plant(store, tmp_path, "failed", finished_ago=600, size=4000)
    new = _plant(store, tmp_path, "done", finished_ago=60, size=4000)
    assert store.prune(keep_hours=2, max_bytes=10**9) == 1
    assert store.get(old) is None and not store.folder(old).exists()
    assert store.prune(keep_hours=2, max_bytes=10_000) == 1          # mid (older) goes, new fits
    assert store.get(mid) is None and store.get(new) is not None
    assert store.prune(keep_hours=2, max_bytes=1) == 1
    assert store.get(new) is None and store.get(old_running).state == "running"
    assert not valid_job_id("../" + "a" * 29) and not valid_job_id("A" * 32) and valid_job_id("a" * 32)
    with pytest.raises(ValueError):
        store.folder("../etc")


class _Stubborn(FakeProcessor):
    """Calls progress() until it raises."""

    def process(self, audio, output, progress):
        while True:
            progress(0.5)
            time.sleep(0.01)


def _queue(tmp_path, processor, **settings):
    s = check_settings(ServeSettings(results_dir=tmp_path / "r", **settings))
    store = JobStore(s.results_dir, processor.result_suffix)
    store.recover()
    queue = JobQueue(processor, store, s)
    queue.start()
    return store, queue


def _submit(store, queue, tmp_path):
    job = store.add(write_wav(tmp_path / f"{time.monotonic_ns()}.wav", 0.2), ".wav", "a.wav", "a", 0.2)
    assert queue.submit(job.id) is None
    return job.id


def _wait_state(store, job_id, states, timeout=5.0):
    end = time.monotonic() + timeout
    while (job := store.get(job_id)) is not None and job.state not in states:
        assert time.monotonic() < end, f"job stuck in {job.state}"
        time.sleep(0.01)
    return job


def test_a_job_past_job_timeout_is_stopped_at_its_next_progress_call(tmp_path):
    store, queue = _queue(tmp_path, _Stubborn(), job_timeout=0.2)
    job = _wait_state(store, _submit(store, queue, tmp_path), ("failed",))
    assert job.error_kind == "timeout" and "--job_timeout" in job.error
    queue.stop("test")
    queue.join(2.0)


def test_cancel_a_running_job_deletes_it_and_stop_fails_the_rest(tmp_path):
    store, queue = _queue(tmp_path, _Stubborn(), queue_size=2)
    running = _submit(store, queue, tmp_path)
    queued = _submit(store, queue, tmp_path)
    _wait_state(store, running, ("running",))
    assert queue.counts() == {"queued": 1, "running": 1, "bound": 2, "workers": 1}
    assert queue.cancel(running) == "stopping"
    _wait_state(store, running, ())
    assert not store.folder(running).exists()
    _wait_state(store, queued, ("running",))
    third = _submit(store, queue, tmp_path)
    fourth = _submit(store, queue, tmp_path)
    assert queue.submit("b" * 32) == "full"
    assert queue.cancel(fourth) == "deleted" and store.get(fourth) is None and not store.folder(fourth).exists()
    assert queue.cancel("c" * 32) == "unknown"
    queue.stop("SIGTERM")
    queue.join(2.0)
    assert store.get(queued).error == "the server stopped (SIGTERM) while the job ran"
    assert store.get(third).error == "the server stopped before the job started"
    assert queue.submit("a" * 32) == "stopping"


def test_job_cancelled_carries_its_reason():
    assert JobCancelled("why").reason == "why" and isinstance(KitError("x"), Exception)
