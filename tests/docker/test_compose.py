"""docker/compose.yaml: one service per stage image, GPU reservation with CPU twins, no network, the three volumes."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker" / "compose.yaml"
VOLUMES = ("/data", "/checkpoints", "/outputs")


@pytest.fixture(scope="module")
def services() -> dict:
    data = yaml.safe_load(COMPOSE.read_text())  # YAML merge keys (<<) resolved
    return data["services"]


def stage_images() -> set[str]:
    out = set()
    for path in (REPO / "docker").glob("*.Dockerfile"):
        m = re.search(r"^# image: *(\S+)", path.read_text(), re.M)
        if m:
            out.add(m.group(1))
    return out


def image_name(service: dict) -> str:
    return service["image"].split(":")[0]


def test_every_stage_image_has_a_gpu_and_a_cpu_service(services):
    gpu = {image_name(s) for s in services.values() if "deploy" in s}
    cpu = {image_name(s) for s in services.values() if "deploy" not in s}
    assert stage_images() <= gpu
    assert stage_images() <= cpu
    assert "talkingface-base" in cpu


def test_gpu_reservation(services):
    for name, s in services.items():
        if "deploy" not in s:
            continue
        devices = s["deploy"]["resources"]["reservations"]["devices"]
        assert devices == [{"driver": "nvidia", "count": "all", "capabilities": ["gpu"]}], name
        assert "profiles" not in s, name


def test_cpu_twins_are_a_profile(services):
    for name, s in services.items():
        if name.endswith("-cpu"):
            assert s["profiles"] == ["cpu"] and "deploy" not in s
            assert services[name[:-4]]["image"] == s["image"]


def test_isolation_and_volumes(services):
    for name, s in services.items():
        # one-shot stages have no network; the lip-sync service needs one, its port on this machine's loopback only
        if "ports" in s:
            assert s["network_mode"] == "bridge", name
            assert all(str(p).startswith("127.0.0.1:") for p in s["ports"]), name
            assert "--host" in s["command"] and s["healthcheck"]["test"][0] == "CMD", name
        else:
            assert s["network_mode"] == "none", name
        assert s["shm_size"], name
        assert s["user"].startswith("${TALKINGFACE_USER:-1000:1000}"), name
        targets = {}
        for v in s["volumes"]:
            parts = v.split(":")
            # "${VAR:-default}:/target[:ro]": the source holds a ':' of its own
            target = next(p for p in parts if p in VOLUMES)
            targets[target] = v
        assert set(targets) == set(VOLUMES), name
        assert targets["/checkpoints"].endswith(":ro"), name


def test_images_follow_the_tag_variable(services):
    for name, s in services.items():
        assert s["image"].endswith(":${TALKINGFACE_IMAGE_TAG:-latest}"), name
