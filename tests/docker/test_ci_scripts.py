""".ci/run, scripts/docker_ci.sh, docker/build.sh and scripts/make_base_image.sh, without Docker: what they run, in
which order, how they take package mirrors from this machine's configuration, and that they name no host of their
own. Stand-ins replace `make`, `docker` and the long steps; the real run is .ci/run itself."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCKER_CI = REPO / "scripts" / "docker_ci.sh"
CI_RUN = REPO / ".ci" / "run"
SCRIPTS = [CI_RUN, REPO / "Makefile", DOCKER_CI, REPO / "scripts" / "make_base_image.sh",
           REPO / "scripts" / "setup_venv.sh", REPO / "scripts" / "reproduce_all.sh", REPO / "docker" / "build.sh",
           *sorted((REPO / "docker").glob("*.Dockerfile"))]


def code_lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if not line.lstrip().startswith("#")]


def bash_commands(path: Path) -> list[str]:
    """The script's lines with backslash continuations joined."""
    return path.read_text().replace("\\\n", " ").splitlines()


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: str(p.relative_to(REPO)))
def test_no_mirror_or_index_host_of_their_own(path):
    # mirrors come from /etc/apt/sources.list(.d) and `pip config list`: no URL with a host in the code
    for line in code_lines(path):
        assert not re.search(r"\b(?:https?|ftp)://[\w.-]", line), f"{path.name}: {line.strip()}"
        for host in ("deb.debian.org", "pypi.org", "pythonhosted.org", "download.pytorch.org"):
            assert host not in line, f"{path.name}: {line.strip()}"


@pytest.mark.parametrize("path", [p for p in SCRIPTS if p.suffix != ".Dockerfile" and p.name != "Makefile"],
                         ids=lambda p: str(p.relative_to(REPO)))
def test_bash_syntax(path):
    assert subprocess.run(["bash", "-n", str(path)]).returncode == 0


# ------------------------------------------------------------------------------------------- make_base_image.sh
def print_mirror(apt_etc: Path, mirror: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DEBIAN_MIRROR"}
    env["APT_ETC"] = str(apt_etc)
    if mirror:
        env["DEBIAN_MIRROR"] = mirror
    return subprocess.run([str(REPO / "scripts" / "make_base_image.sh"), "--print-mirror"], capture_output=True,
                          text=True, env=env, timeout=30)


def test_base_image_mirror_from_deb822_sources(tmp_path):
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://security.mirror.test/debian-security\nSuites: bookworm-security\n"
        "Components: main\n\nTypes: deb\nURIs: http://mirror.test/debian\nSuites: bookworm bookworm-updates\n"
        "Components: main\n")
    r = print_mirror(tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "http://mirror.test/debian"


def test_base_image_mirror_from_sources_list(tmp_path):
    (tmp_path / "sources.list").write_text("deb [signed-by=/k.gpg] http://list.mirror.test/debian bookworm main\n")
    r = print_mirror(tmp_path)
    assert r.returncode == 0 and r.stdout.strip() == "http://list.mirror.test/debian"
    assert print_mirror(tmp_path, "http://given.test/debian").stdout.strip() == "http://given.test/debian"


def test_base_image_without_a_configured_mirror_stops(tmp_path):
    r = print_mirror(tmp_path)
    assert r.returncode == 2 and "set DEBIAN_MIRROR" in r.stderr


# ---------------------------------------------------------------------------------------------------- build.sh
BUILD_STUB = """#!/bin/bash
echo "$*" >> "$STUB_LOG"
if [ "$1" = build ]; then
  prev=""
  for a in "$@"; do
    if [ "$prev" = --secret ]; then echo "secret ${a%%,*}: $(cat "${a#*src=}" | tr '\\n' '|')" >> "$STUB_LOG"; fi
    prev=$a
  done
fi
exit 0
"""


def build(tmp_path, *args, stages=("evaluation",), **env) -> list[str]:
    stub = tmp_path / "docker"
    stub.write_text(BUILD_STUB)
    stub.chmod(0o755)
    log = tmp_path / "calls.log"
    full = {**os.environ, "DOCKER": str(stub), "STUB_LOG": str(log), "PIP_CONFIG_FILE": os.devnull,
            "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", **env}
    for key in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_TRUSTED_HOST", "PIP_CERT"):
        if key not in env:
            full.pop(key, None)
    r = subprocess.run([str(REPO / "docker" / "build.sh"), *args, *stages], capture_output=True, text=True,
                       env=full, timeout=120)
    assert r.returncode == 0, r.stderr
    return log.read_text().splitlines()


def test_build_passes_the_hosts_pip_index_as_a_secret(tmp_path):
    calls = build(tmp_path, PIP_INDEX_URL="https://mirror.test/simple",
                  PIP_EXTRA_INDEX_URL="file:///opt/local/simple https://extra.test/simple",
                  PIP_TRUSTED_HOST="mirror.test")
    secrets = [c for c in calls if c.startswith("secret id=pip_index")]
    assert len(secrets) == 1  # the base image only: this stage image installs nothing
    conf = secrets[0].split(": ", 1)[1].split("|")
    assert conf[0] == "[global]"
    assert "index-url = https://mirror.test/simple" in conf
    assert "extra-index-url = https://extra.test/simple" in conf  # the local file:// index is left out
    assert "trusted-host = mirror.test" in conf
    builds = [c for c in calls if c.startswith("build ")]
    assert not any("mirror.test" in c or "extra.test" in c for c in builds)  # never a build argument


def test_build_without_an_index_setting_passes_none(tmp_path):
    calls = build(tmp_path)
    assert not any("pip_index" in c for c in calls)
    calls = build(tmp_path, "--no-host-pip-index", PIP_INDEX_URL="https://mirror.test/simple")
    assert not any("pip_index" in c for c in calls)


def test_build_passes_the_ca_bundle_as_a_secret(tmp_path):
    cert = tmp_path / "ca.crt"
    cert.write_text("CERT\n")
    calls = build(tmp_path, PIP_CERT=str(cert))
    assert "secret id=pip_cert: CERT|" in calls


def test_build_gives_a_stage_that_installs_what_the_base_gets(tmp_path):
    # docker/lawdnet.Dockerfile installs TensorFlow: the pip secrets, the same OS image and the same user as the base
    cert = tmp_path / "ca.crt"
    cert.write_text("CERT\n")
    calls = build(tmp_path, "--base-image", "os:test", "--uid", "1234", "--gid", "99", stages=("evaluation", "lawdnet"),
                  PIP_CERT=str(cert), PIP_INDEX_URL="https://mirror.test/simple")
    builds = {c.split(" -t ")[1].split()[0]: c for c in calls if c.startswith("build ")}
    assert set(builds) == {"talkingface-base:latest", "evaluation-image:latest", "lawdnet:latest"}
    for name in ("talkingface-base:latest", "lawdnet:latest"):
        for arg in ("BASE_IMAGE=os:test", "UID=1234", "GID=99"):
            assert f"--build-arg {arg}" in builds[name], (name, arg)
        assert "--secret id=pip_cert," in builds[name] and "--secret id=pip_index," in builds[name], name
    assert "--secret" not in builds["evaluation-image:latest"] and "UID=" not in builds["evaluation-image:latest"]
    assert "--build-arg KIT_BASE=talkingface-base:latest" in builds["lawdnet:latest"]
    assert "TORCH_VERSION" not in builds["lawdnet:latest"]
    assert len([c for c in calls if c.startswith("secret id=pip_cert: CERT|")]) == 2


def test_build_tags_the_seed_name_generate_image(tmp_path):
    # the seed kit's README runs `generate-image`: build.sh tags the generate image with it (the same image)
    calls = build(tmp_path, "--tag", "t1", stages=("generate", "evaluation"))
    assert "tag generate:t1 generate-image:t1" in calls
    assert [c for c in calls if c.startswith("tag ")] == ["tag generate:t1 generate-image:t1"]  # no other alias
    builds = [c.split(" -t ")[1].split()[0] for c in calls if c.startswith("build ")]
    assert "generate-image:t1" not in builds  # tagged, never built twice


# ------------------------------------------------------------------------------------------------ docker_ci.sh
def test_docker_ci_runs_the_pipeline_once_locally():
    cmds = [c for c in bash_commands(DOCKER_CI) if re.match(r"\s*([A-Z_]+=\S+\s+)*scripts/reproduce_all\.sh ", c)]
    assert len(cmds) == 1, cmds
    assert "--smoke --local --random-weights" in cmds[0]
    assert "DOCKER_CI_LOCAL_RUN" in DOCKER_CI.read_text()  # or reuses the run .ci/run made


def test_docker_ci_one_containerised_evaluation_on_the_local_inputs():
    runs = [c for c in bash_commands(DOCKER_CI) if '"evaluation-image:$tag"' in c and "drun" in c]
    assert len(runs) == 1, runs
    run = runs[0]
    assert '-v "$local_run/evaluation_set:/data:ro"' in run  # the local run's inputs, read-only
    assert '-v "$local_run/random-weights:/checkpoints:ro"' in run  # the same seeded weights
    assert "--config /outputs/local-config.yaml" in run  # the local evaluation's resolved settings
    assert "--device cpu --batch_size" in run  # the seed kit's flags, as its README passes them
    text = DOCKER_CI.read_text()
    assert 'cp "$local_run/evaluation/config.resolved.yaml" "$cev/local-config.yaml"' in text
    assert "full_results.json" in text and '"value", "std", "n"' in text
    assert "drun() { $DOCKER run --rm --network none" in text


def test_docker_ci_keeps_its_checks():
    text = DOCKER_CI.read_text()
    for needle in ('"$hadolint" docker/*.Dockerfile', "context.txt", 'grep -qx "$step CACHED"',
                   '"/data volume is not mounted"', '"/outputs volume is not mounted"',
                   '"dagan, checkpoint missing"', '"generate, weights missing in /checkpoints"',
                   'grep -qx "$code_step CACHED"', "did not re-run the code layer",
                   "io.talkingface.kit.version", '[ "$user" != 0 ] || fail', "scripts/make_base_image.sh"):
        assert needle in text, needle


def test_docker_ci_times_every_step():
    text = DOCKER_CI.read_text()
    steps = re.findall(r'^\s*step_done "([^"]+)"', text, re.M)
    assert len(steps) >= 8 and len(set(steps)) == len(steps)
    assert 'printf \'docker: %s\\t%s\\n\' "$1" "$secs" >> "$DOCKER_CI_TIMES"' in text


# ------------------------------------------------------------------------------------------------------ .ci/run
@pytest.fixture
def ci(tmp_path) -> dict:
    """A copy of .ci/run over stand-in `make`, reproduce_all.sh and docker_ci.sh."""
    root = tmp_path / "repo"
    (root / ".ci").mkdir(parents=True)
    (root / "scripts").mkdir()
    shutil.copy2(CI_RUN, root / ".ci" / "run")
    shutil.copy2(REPO / "scripts" / "ci_tools.sh", root / "scripts" / "ci_tools.sh")    # CI_INSTALL_TOOLS=0 below
    log = tmp_path / "calls.log"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stubs = {
        bin_dir / "make": 'echo "make $*" >> "$CALLS"; v="FAIL_${1//-/_}"; exit "${!v:-0}"',
        root / "scripts" / "reproduce_all.sh": 'echo "reproduce_all.sh $*" >> "$CALLS"; exit "${FAIL_smoke:-0}"',
        root / "scripts" / "docker_ci.sh": 'echo "docker_ci.sh local=$DOCKER_CI_LOCAL_RUN" >> "$CALLS"\n'
                                           'printf "docker: image builds\\t12\\n" >> "$DOCKER_CI_TIMES"\n'
                                           'printf "docker: code-change rebuild\\t3\\n" >> "$DOCKER_CI_TIMES"',
    }
    for path, body in stubs.items():
        path.write_text("#!/bin/bash\n" + body + "\n")
        path.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "CALLS": str(log),
           "CI_WORK": str(tmp_path / "work"), "TALKINGFACE_VENV_CACHE": str(tmp_path / "cache"),
           "CI_INSTALL_TOOLS": "0"}
    return {"run": root / ".ci" / "run", "env": env, "log": log, "work": tmp_path / "work"}


def ci_run(ci, **env):
    return subprocess.run([str(ci["run"])], capture_output=True, text=True, env={**ci["env"], **env}, timeout=60)


def test_ci_runs_each_step_once_in_order_and_prints_their_times(ci):
    r = ci_run(ci)
    assert r.returncode == 0, r.stdout + r.stderr
    calls = ci["log"].read_text().splitlines()
    smoke = ci["work"] / "smoke"
    assert calls == ["make setup", "make lint", "make test", "make slips-fast",
                     f"reproduce_all.sh --smoke --local --random-weights --train --fresh --out {smoke}",
                     f"docker_ci.sh local={smoke}"]
    table = r.stdout[r.stdout.index("ci: step times"):]
    for name in ("setup", "tools", "lint", "tests", "slips", "smoke", "docker", "image builds", "code-change rebuild",
                 "total"):
        assert re.search(rf"^ci: +{name} +\d+", table, re.M), name
    assert re.search(r"^ci: total \d+ s", r.stdout, re.M) and "ci: OK" in r.stdout
    assert not ci["work"].exists()  # removed when CI passes


def test_ci_reports_every_failed_step_and_fails(ci):
    r = ci_run(ci, FAIL_lint="3")
    assert r.returncode == 1
    assert len(ci["log"].read_text().splitlines()) == 6  # the other steps still ran
    assert re.search(r"^ci: +lint +\d+ .*FAILED \(exit 3\)", r.stdout, re.M)
    assert "ci: FAILED steps: lint" in r.stdout and ci["work"].is_dir()
    r = ci_run(ci, FAIL_test="1", CI_FAIL_FAST="1")
    assert r.returncode == 1
    assert ci["log"].read_text().splitlines()[-1] == "make test"


def test_makefile_lint_runs_ruff_and_the_import_contracts():
    text = (REPO / "Makefile").read_text()
    recipe = text[text.index("\nlint:"):].split("\n\n")[0]
    assert "$(PY) -m ruff check $(LINT_PATHS)" in recipe and "$(VENV)/bin/lint-imports" in recipe


def test_ci_tools_installs_nothing_when_told_or_when_present(tmp_path):
    script = REPO / "scripts" / "ci_tools.sh"
    r = subprocess.run([str(script)], capture_output=True, text=True, env={**os.environ, "CI_INSTALL_TOOLS": "0"},
                       timeout=30)
    assert r.returncode == 0 and "nothing installed" in r.stdout
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "chromium").write_text("#!/bin/sh\necho Chromium 1.2.3\n")
    (fake / "chromium").chmod(0o755)
    r = subprocess.run([str(script)], capture_output=True, text=True, timeout=30,
                       env={**os.environ, "PATH": f"{fake}:{os.environ['PATH']}"})
    assert r.returncode == 0 and "Chromium 1.2.3 already installed" in r.stdout
