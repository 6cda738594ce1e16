""".dockerignore keeps weights, data, outputs, the virtual environment and .git out of the build context.

The rules are evaluated as Docker does (moby/patternmatcher: Go filepath.Match per path element, `**` for any
number of folders, a path is excluded when it or one of its parent folders matches, the last matching line wins,
`!` re-includes). scripts/docker_ci.sh checks the same with a real build."""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _regex(pattern: str) -> re.Pattern:
    out, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
            continue
        if pattern.startswith("**", i):
            out += ".*"
            i += 2
            continue
        out += {"*": "[^/]*", "?": "[^/]"}.get(c, re.escape(c))
        i += 1
    return re.compile(out + "$")


@lru_cache(maxsize=1)
def rules() -> list[tuple[bool, re.Pattern]]:
    out = []
    for line in (REPO / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line[1:].strip() if negate else line
        out.append((negate, _regex(pattern.strip("/"))))
    return out


def excluded(path: str) -> bool:
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    result = False
    for negate, rx in rules():
        if any(rx.match(c) for c in candidates):
            result = not negate
    return result


@pytest.mark.parametrize("path", [
    ".venv/bin/python", ".git/HEAD", "outputs/smoke/evaluation/full_results.json",
    "checkpoints/dagan/DaGAN_vox_adv_256.pth.tar", "checkpoints/syncnet/syncnet_v2.model", "checkpoints/README.md",
    "evaluation_set/gt_self/clip.mp4", "evaluation_set/README.md", "tests/conftest.py", "build/lib/x.py",
    "talkingface/__pycache__/media.cpython-311.pyc", "talkingface_kit.egg-info/PKG-INFO", "dagan/weights.pth",
])
def test_excluded(path):
    assert excluded(path), f"{path} would be sent into the image build"


@pytest.mark.parametrize("path", [
    "pyproject.toml", "constraints.txt", "requirements-nodeps.txt", "README.md", "talkingface/__init__.py",
    "talkingface/data/niqe_pris_params.npz", "dagan/model.py", "syncnet/model.py", "lawdnet/__init__.py",
    "config/dagan/vox-adv-256.yaml", "checkpoints/manifest.yaml", "docker/entrypoint.sh",
])
def test_included(path):
    assert not excluded(path), f"{path} is needed by docker/base.Dockerfile but left out of the build context"


def needed_by_the_base_image() -> list[str]:
    """What docker/base.Dockerfile takes from the context: COPY sources, /tmp/src/<path> of the code step, and the
    packages pyproject.toml installs (those present in this checkout)."""
    text = (REPO / "docker" / "base.Dockerfile").read_text()
    sources = []
    for m in re.finditer(r"^COPY (.+)$", text, re.M):
        words = m.group(1).split()
        if any(w.startswith("--from=") for w in words):
            continue  # from another build stage, not from the context
        sources += [w for w in words[:-1] if not w.startswith("--")]
    sources += re.findall(r"/tmp/src/([\w./-]+)", text)
    sources += ["pyproject.toml", "README.md"]
    sources += [p.name for p in REPO.iterdir() if p.is_dir() and (p / "__init__.py").is_file()
                and p.name in {"talkingface", "dagan", "syncnet", "lawdnet"}]
    return sorted(set(sources))


def test_everything_the_base_image_needs_is_included():
    sources = needed_by_the_base_image()
    assert {"constraints.txt", "config", "checkpoints/manifest.yaml", "docker/entrypoint.sh", "talkingface"} <= set(
        sources)
    for src in sources:
        target = REPO / src
        files = [p for p in target.rglob("*") if p.is_file()] if target.is_dir() else [target]
        files = [p for p in files if "__pycache__" not in p.parts]
        assert files, src
        for f in files:
            assert not excluded(str(f.relative_to(REPO))), f
