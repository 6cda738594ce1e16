"""The weights manifest and status/verify/fetch (against a local HTTP server); file loading: test_weights_loading."""
from __future__ import annotations

import hashlib
import http.server
import io
import os
import re
import socket
import subprocess
import sys
import tarfile
import threading
import zipfile
from pathlib import Path

import pytest
import yaml

from talkingface import weights as W
from talkingface.cli import weights as cli
from talkingface.errors import WeightsError

REPO = Path(__file__).resolve().parents[2]
EXPECTED_NAMES = {
    "dagan_vox_adv_256", "depth_encoder", "depth_decoder", "syncnet_v2", "s3fd", "fid_inception",
    "lawdnet_epoch_170", "dinet_clip_256mouth", "lawdnet_syncnet_256mouth", "deepspeech_graph",
    "deepspeech_pytorch_librispeech",
    "face_alignment_2dfan4", "face_alignment_s3fd", "vgg19_imagenet", "alexnet_imagenet", "lpips_alex_linear",
    "facenet_vggface2", "mtcnn_pnet", "mtcnn_rnet", "mtcnn_onet", "openface_nn4_small2",
}
STAGES = {"dagan": "demo", "train": "training", "evaluation-image": "metrics"}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def entry(path: str, **extra) -> dict:
    base = {"description": "a test file", "path": path, "stages": ["dagan"], "licence": "MIT",
            "source": "https://example.invalid/", "manual": "Ask a colleague."}
    base.update(extra)
    return base


@pytest.fixture
def kit(tmp_path, monkeypatch):
    """A temporary manifest + checkpoints folder (the manifest's folder); torch.hub cache isolated."""
    root = tmp_path / "ckpt"
    root.mkdir()
    monkeypatch.setenv("TALKINGFACE_MANIFEST", str(root / "manifest.yaml"))
    monkeypatch.delenv("TALKINGFACE_CHECKPOINTS", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    for var in ("no_proxy", "NO_PROXY"):  # the local test server must not be reached through a proxy
        monkeypatch.setenv(var, "127.0.0.1,localhost")

    def write(weights: dict) -> Path:
        doc = {"version": 1, "stages": STAGES, "weights": weights}
        (root / "manifest.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
        return root

    return write


def run_cli(*args: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO), no_proxy="127.0.0.1,localhost", **(env_extra or {}))
    cmd = [sys.executable, "-m", "talkingface", "weights", *args]
    return subprocess.run(cmd, check=False, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)


# ------------------------------------------------------------------------------------------ the real manifest
def test_repo_manifest_is_valid_and_complete(monkeypatch):
    monkeypatch.delenv("TALKINGFACE_MANIFEST", raising=False)
    entries = W.load_manifest(REPO / "checkpoints" / "manifest.yaml")
    assert set(entries) == EXPECTED_NAMES
    stages = set(W.load_stages(REPO / "checkpoints" / "manifest.yaml"))
    for e in entries.values():
        assert e.path and e.licence and e.source and e.stages, e.name
        assert set(e.stages) <= stages
        assert e.urls or e.manual or e.package_file, e.name
        if e.sha256 is None and e.md5 is None:
            assert e.note and "publish" in e.note, f"{e.name}: say in `note` that no hash is published"
        if e.sha256_prefix:
            assert f"-{e.sha256_prefix}." in Path(e.path).name
        if e.hub_name:
            assert Path(e.path).name == e.hub_name
    assert entries["lpips_alex_linear"].package_file == "lpips/weights/v0.1/alex.pth"
    assert entries["deepspeech_graph"].extract == "models/output_graph.pb"


def test_readme_table_matches_manifest():
    text = (REPO / "checkpoints" / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- weights-table:start[^\n]*-->\n(.*?)\n<!-- weights-table:end -->", text, re.DOTALL)
    assert block, "checkpoints/README.md lost its generated table markers"
    entries = W.load_manifest(REPO / "checkpoints" / "manifest.yaml")
    assert block.group(1) == cli.readme_table(entries), "regenerate it: python -m talkingface weights table"
    headings = set(re.findall(r"^### (\S+)$", text, re.MULTILINE))
    assert headings == set(entries)


def test_lpips_alex_digest_matches_installed_package():
    lpips_file = W.package_file_path("lpips/weights/v0.1/alex.pth")
    if lpips_file is None or not lpips_file.is_file():
        pytest.skip("lpips is not installed")
    e = W.load_manifest(REPO / "checkpoints" / "manifest.yaml")["lpips_alex_linear"]
    assert lpips_file.stat().st_size == e.size
    assert W.hash_file(lpips_file)["sha256"] == e.sha256


# ----------------------------------------------------------------------------------------- locating, manifest
def test_env_overrides(kit, tmp_path, monkeypatch):
    root = kit({"a": entry("x/a.bin")})
    assert W.checkpoints_dir() == root
    assert W.weight_path("a", required=False) == root / "x" / "a.bin"
    other = tmp_path / "elsewhere"
    monkeypatch.setenv("TALKINGFACE_CHECKPOINTS", str(other))
    assert W.checkpoints_dir() == other
    assert W.weight_path("a", required=False) == other / "x" / "a.bin"


@pytest.mark.parametrize("bad, words", [
    ({"colour": "red"}, "unknown field"),
    ({"sha256": "abc"}, "sha256"),
    ({"path": "/abs/a.bin"}, "relative"),
    ({"path": "../a.bin"}, "relative"),
    ({"stages": ["nowhere"]}, "stages"),
    ({"manual": None}, "needs `urls`"),
    ({"extract": "m.bin", "manual": "x"}, "extract"),
])
def test_bad_manifest_is_one_clear_error(kit, bad, words):
    root = kit({"a": {**entry("a.bin"), **bad}})
    with pytest.raises(WeightsError, match=re.escape(words)) as info:
        W.load_manifest()
    assert str(root / "manifest.yaml") in str(info.value)


def test_weight_path_missing_wrong_size_and_hub_cache(kit, tmp_path):
    root = kit({"a": entry("a.bin", size=4), "h": entry("h.pth", hub_name="h-1234.pth")})
    with pytest.raises(WeightsError, match=r"weights missing: .*a\.bin \(`python -m talkingface weights fetch a`\); "
                                           r"see `python -m talkingface weights status`"):
        W.weight_path("a")
    (root / "a.bin").write_bytes(b"123")
    with pytest.raises(WeightsError, match="3 bytes, expected 4"):
        W.weight_path("a")
    (root / "a.bin").write_bytes(b"1234")
    assert W.weight_path("a") == root / "a.bin"
    with pytest.raises(WeightsError, match="unknown weights name 'nope'"):
        W.weight_path("nope")
    hub = tmp_path / "torch_home" / "hub" / "checkpoints" / "h-1234.pth"
    hub.parent.mkdir(parents=True)
    hub.write_bytes(b"cached")
    assert W.weight_path("h") == hub
    (root / "h.pth").write_bytes(b"local")
    assert W.weight_path("h") == root / "h.pth"  # the checkpoints folder wins


# --------------------------------------------------------------------------------------------- status, verify
@pytest.fixture
def four_files(kit):
    good, other = b"good weights", b"evil weights"
    root = kit({
        "good": entry("good.bin", size=len(good), sha256=sha256(good)),
        "missing": entry("sub/missing.bin", stages=["train"]),
        "short": entry("short.bin", size=100),
        "tampered": entry("tampered.bin", size=len(other), sha256=sha256(good)),
        "nodigest": entry("nodigest.bin"),
    })
    (root / "good.bin").write_bytes(good)
    (root / "short.bin").write_bytes(b"x" * 10)
    (root / "tampered.bin").write_bytes(other)
    (root / "nodigest.bin").write_bytes(b"anything")
    return root


def test_check_states(four_files):
    entries = W.load_manifest()
    fast = {n: W.check(e).state for n, e in entries.items()}
    assert fast == {"good": "present", "missing": "missing", "short": "wrong size", "tampered": "present",
                    "nodigest": "present"}
    deep = {n: W.check(e, deep=True) for n, e in entries.items()}
    assert {n: s.state for n, s in deep.items()} == {
        "good": "ok", "missing": "missing", "short": "wrong size", "tampered": "bad hash", "nodigest": "unverified"}
    assert deep["nodigest"].sha256 == sha256(b"anything") and sha256(b"anything") in deep["nodigest"].detail


def test_status_and_verify_cli(four_files, capsys):
    assert cli.main(["status"]) == 1  # missing and short
    out = capsys.readouterr().out
    assert re.search(r"short\s+wrong size", out) and re.search(r"missing\s+missing", out)
    assert "3 of 5 present" in out  # good, tampered (only verify catches it) and nodigest
    assert cli.main(["verify"]) == 1
    out = capsys.readouterr().out
    assert re.search(r"BAD\s+tampered.*sha256", out) and re.search(r"MISSING\s+missing", out)
    assert re.search(r"BAD\s+short.*wrong size: 10 bytes, expected 100", out)
    assert cli.main(["verify", "good", "nodigest"]) == 0
    assert re.search(r"ok\?\s+nodigest", capsys.readouterr().out)
    assert cli.main(["verify", "--stage", "train"]) == 1  # only `missing` is in stage train
    assert cli.main(["verify", "nope"]) == 2
    assert "unknown weights name 'nope'" in capsys.readouterr().err


# -------------------------------------------------------------------------------------------------- fetching
class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        srv = self.server
        srv.requests.append((self.path, self.headers.get("Range")))
        data = srv.files.get(self.path)
        if data is None:
            self.send_error(404)
            return
        start, rng = 0, self.headers.get("Range")
        if rng and not srv.ignore_range:
            start = int(re.match(r"bytes=(\d+)-$", rng).group(1))
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if srv.cut is not None:  # one interrupted transfer, then normal ones
            body, srv.cut = body[: srv.cut], None
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.files, srv.requests, srv.ignore_range, srv.cut = {}, [], False, None
    srv.url = f"http://127.0.0.1:{srv.server_address[1]}"
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


PAYLOAD = bytes(range(256)) * 40  # 10 KiB


def test_fetch_full_download(kit, server, capsys):
    server.files["/w.bin"] = PAYLOAD
    root = kit({"w": entry("d/w.bin", urls=[server.url + "/w.bin"], sha256=sha256(PAYLOAD), size=len(PAYLOAD))})
    assert cli.main(["fetch", "w", "--no-progress"]) == 0
    assert (root / "d" / "w.bin").read_bytes() == PAYLOAD
    assert not list(root.rglob("*.part"))
    assert "sha256 verified" in capsys.readouterr().out
    assert cli.main(["fetch", "w"]) == 0 and "already in place" in capsys.readouterr().out
    assert len(server.requests) == 1


def test_fetch_resumes_an_interrupted_download(kit, server):
    server.files["/w.bin"] = PAYLOAD
    root = kit({"w": entry("w.bin", urls=[server.url + "/w.bin"], sha256=sha256(PAYLOAD))})
    server.cut = 3000
    e = W.get_entry("w")
    with pytest.raises(WeightsError, match="run fetch again"):
        W.fetch(e, progress=False)
    part = root / "w.bin.part"
    assert part.stat().st_size == 3000 and not (root / "w.bin").exists()
    result = W.fetch(e, progress=False)
    assert result.action == "downloaded" and (root / "w.bin").read_bytes() == PAYLOAD
    assert server.requests[-1] == ("/w.bin", "bytes=3000-")
    assert not part.exists()


def test_fetch_restarts_when_server_ignores_range(kit, server):
    server.files["/w.bin"] = PAYLOAD
    server.ignore_range = True
    root = kit({"w": entry("w.bin", urls=[server.url + "/w.bin"], sha256=sha256(PAYLOAD))})
    (root / "w.bin.part").write_bytes(b"stale bytes of another attempt")
    W.fetch(W.get_entry("w"), progress=False)
    assert (root / "w.bin").read_bytes() == PAYLOAD


def test_fetch_hash_mismatch_installs_nothing(kit, server):
    server.files["/w.bin"] = PAYLOAD
    root = kit({"w": entry("w.bin", urls=[server.url + "/w.bin"], sha256=sha256(b"something else"))})
    with pytest.raises(WeightsError, match="sha256 .* but the manifest expects .*nothing was installed"):
        W.fetch(W.get_entry("w"), progress=False)
    assert sorted(p.name for p in root.iterdir()) == ["manifest.yaml"]


def test_fetch_http_error_is_one_line(kit, server):
    kit({"w": entry("w.bin", urls=[server.url + "/absent.bin"])})
    with pytest.raises(WeightsError, match="HTTP 404"):
        W.fetch(W.get_entry("w"), progress=False)


def _zip(member: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("models/readme.txt", "other member")
        zf.writestr(member, data)
    return buf.getvalue()


def _targz(member: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, blob in (("models/lm.binary", b"unused" * 100), (member, data)):
            info = tarfile.TarInfo(name)
            info.size = len(blob)
            tf.addfile(info, io.BytesIO(blob))
    return buf.getvalue()


@pytest.mark.parametrize("suffix, make", [(".zip", _zip), (".tar.gz", _targz)])
def test_fetch_extracts_archive_member(kit, server, suffix, make):
    server.files["/models" + suffix] = make("models/output_graph.pb", PAYLOAD)
    root = kit({"g": entry("ds/output_graph.pb", urls=[server.url + "/models" + suffix],
                           extract="models/output_graph.pb", md5=hashlib.md5(PAYLOAD).hexdigest())})
    result = W.fetch(W.get_entry("g"), progress=False)
    assert (root / "ds" / "output_graph.pb").read_bytes() == PAYLOAD
    assert "md5 verified" in result.detail
    assert not [p for p in root.rglob("*") if p.is_file() and p.name != "manifest.yaml" and p.suffix != ".pb"]


def test_fetch_copies_package_file(kit):
    import yaml as pkg

    src = Path(pkg.__file__)
    root = kit({"p": entry("p/init.py", package_file="yaml/__init__.py", sha256=sha256(src.read_bytes()))})
    result = W.fetch(W.get_entry("p"))
    assert result.action == "copied" and (root / "p" / "init.py").read_bytes() == src.read_bytes()


def test_fetch_manual_entry_prints_steps(kit, capsys):
    root = kit({"m": entry("m/model.pth", manual="Open https://drive.example/folder and download model.pth.")})
    assert cli.main(["fetch", "m"]) == 1
    out = capsys.readouterr().out
    assert "https://drive.example/folder" in out and f"Put the file at: {root / 'm' / 'model.pth'}" in out
    assert "python -m talkingface weights verify m" in out


def test_fetch_unreachable_host_cli_one_line(kit):
    with socket.socket() as s:  # a local port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    root = kit({"w": entry("w.bin", urls=[f"http://127.0.0.1:{port}/w.bin"])})
    proc = run_cli("fetch", "w", "--timeout", "2", env_extra={"TALKINGFACE_MANIFEST": str(root / "manifest.yaml")})
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    errors = proc.stderr.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith("error: cannot download w from http://127.0.0.1:")
    assert not (root / "w.bin").exists()


# ----------------------------------------------------------------------------------------------------- the CLI
def test_cli_status_subprocess_on_repo_manifest(tmp_path):
    env = {"TALKINGFACE_CHECKPOINTS": str(tmp_path), "TORCH_HOME": str(tmp_path)}
    proc = run_cli("status", env_extra=env)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr  # 1: files are missing
    assert all(name in proc.stdout for name in EXPECTED_NAMES)
    (tmp_path / "syncnet").mkdir()
    (tmp_path / "syncnet" / "syncnet_v2.model").write_bytes(b"x")
    quiet = run_cli("status", "--quiet", "syncnet_v2", env_extra=env)
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")
    assert run_cli("status", "--quiet", "syncnet_v2", "s3fd", env_extra=env).returncode == 1


def test_cli_broken_manifest_subprocess(tmp_path):
    bad = tmp_path / "manifest.yaml"
    bad.write_text("version: 1\nweights: [not, a, mapping\n")
    proc = run_cli("status", env_extra={"TALKINGFACE_MANIFEST": str(bad)})
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and str(bad) in proc.stderr
