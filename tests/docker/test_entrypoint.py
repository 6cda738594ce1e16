"""docker/entrypoint.sh: paths under the volumes are checked before the command runs (one line, exit 2).

The volume folders are replaced by temporary ones (TALKINGFACE_VOLUMES); mounts are made in a private mount
namespace (`unshare`), skipped where this machine does not allow one."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ENTRYPOINT = REPO / "docker" / "entrypoint.sh"


@pytest.fixture
def vols(tmp_path) -> dict:
    roots = {name: tmp_path / "root" / name for name in ("data", "checkpoints", "outputs")}
    for p in roots.values():
        p.mkdir(parents=True)
    host = {name: tmp_path / "host" / name for name in roots}
    for p in host.values():
        p.mkdir(parents=True)
    (host["data"] / "in.png").write_bytes(b"x")
    return {"root": roots, "host": host, "env": " ".join(str(p) for p in roots.values())}


def run(vols, *args, mounts=(), extra_env=None):
    """Run the entrypoint with `printf` as the command; `mounts` = names of volumes bind-mounted from host/."""
    env = {"PATH": "/usr/bin:/bin", "TALKINGFACE_VOLUMES": vols["env"], **(extra_env or {})}
    cmd = [str(ENTRYPOINT), "printf", "ran %s\\n", *args]
    if mounts:
        if not shutil.which("unshare"):
            pytest.skip("unshare not available")
        binds = " && ".join(f"mount --bind {vols['host'][m]} {vols['root'][m]}" for m in mounts)
        script = f'{binds} && exec "$@"'
        probe = subprocess.run(["unshare", "-m", "-r", "true"], capture_output=True)
        prefix = ["unshare", "-m"] if probe.returncode else ["unshare", "-m", "-r"]
        cmd = [*prefix, "sh", "-c", script, "sh", *cmd]
        check = subprocess.run([*prefix, "sh", "-c", f"{binds}"], capture_output=True, env=env)
        if check.returncode:
            pytest.skip(f"cannot make a private mount namespace here: {check.stderr.decode().strip()}")
    return subprocess.run(cmd, capture_output=True, text=True, env=env)


def test_help_and_plain_arguments_pass_through(vols):
    data = vols["root"]["data"]
    r = run(vols, "--help", f"--source_image={data}/missing.png")
    assert r.returncode == 0 and r.stdout.startswith("ran --help")
    r = run(vols, "--device", "cpu", "--out", "/tmp/elsewhere")  # outside the volumes: not checked
    assert r.returncode == 0, r.stderr


def test_unmounted_volume_is_named(vols):
    data = vols["root"]["data"]
    r = run(vols, "--source_image", f"{data}/in.png")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.strip() == (f"error: --source_image {data}/in.png: the {data} volume is not mounted "
                                f"(run with -v HOST_FOLDER:{data})")


def test_unmounted_output_volume_is_an_error(vols):
    out = vols["root"]["outputs"]
    r = run(vols, f"--result_video={out}/r.mp4")
    assert r.returncode == 2 and f"the {out} volume is not mounted" in r.stderr


def test_mounted_inputs_and_outputs(vols):
    root = vols["root"]
    r = run(vols, "--source_image", f"{root['data']}/in.png", "--save_folder", f"{root['outputs']}/new/deeper",
            mounts=("data", "outputs"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("ran --source_image")


def test_missing_input_in_a_mounted_volume(vols):
    ck = vols["root"]["checkpoints"]
    r = run(vols, "--checkpoint", f"{ck}/dagan/DaGAN_vox_adv_256.pth.tar", mounts=("checkpoints",))
    assert r.returncode == 2
    assert r.stderr.strip() == (f"error: --checkpoint {ck}/dagan/DaGAN_vox_adv_256.pth.tar: not found (expected in "
                                f"the {ck} volume, mounted from the host)")


def test_comma_separated_values_are_each_checked(vols):
    data = vols["root"]["data"]
    r = run(vols, "--generate_dirs", f"{data}/in.png,{data}/gone", mounts=("data",))
    assert r.returncode == 2 and f"{data}/gone: not found" in r.stderr


def test_positional_paths_only_need_their_volume(vols):
    data = vols["root"]["data"]
    assert run(vols, f"{data}/new_sample", mounts=("data",)).returncode == 0
    r = run(vols, f"{data}/new_sample")
    assert r.returncode == 2 and "volume is not mounted" in r.stderr


def test_weights_note_and_skip_switch(vols):
    data = vols["root"]["data"]
    r = run(vols, "--device", "cpu", extra_env={"TALKINGFACE_USES_WEIGHTS": "1"})
    assert r.returncode == 0 and f"note: {vols['root']['checkpoints']} is not mounted" in r.stderr
    r = run(vols, "--source_image", f"{data}/x.png", extra_env={"TALKINGFACE_SKIP_VOLUME_CHECK": "1"})
    assert r.returncode == 0 and r.stderr == ""
