"""talkingface.config: YAML -> dataclasses, overrides, unknown keys, resolved config written atomically."""
from __future__ import annotations

from dataclasses import dataclass, field

import pytest
import yaml

from talkingface.config import apply_overrides, load_config, save_resolved
from talkingface.errors import ConfigError


@dataclass
class Model:
    kp_num: int = 15
    channels: list[int] = field(default_factory=lambda: [64, 128])


@dataclass
class Run:
    name: str = "demo"
    model: Model = field(default_factory=Model)


def test_yaml_into_nested_dataclasses(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("name: x\nmodel:\n  kp_num: 10\n")
    cfg = load_config(path, Run)
    assert cfg == Run(name="x", model=Model(kp_num=10))


def test_defaults_and_dotted_overrides():
    cfg = load_config(None, Run, overrides=["model.kp_num=3", "model.channels=[1, 2, 3]", "name=y"])
    assert cfg.model.kp_num == 3 and cfg.model.channels == [1, 2, 3] and cfg.name == "y"


@pytest.mark.parametrize("text, message", [
    ("nmae: typo\n", "unknown key(s) nmae"),
    ("model:\n  kp: 1\n", "model: unknown key(s) kp"),
    ("- a list\n", "expected a mapping"),
    ("model: [unclosed\n", "not valid YAML"),
])
def test_bad_files_name_the_problem(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        load_config(path, Run)


def test_missing_file_and_bad_override(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "none.yaml", Run)
    with pytest.raises(ConfigError, match="not of the form"):
        apply_overrides({}, ["novalue"])


def test_resolved_config_round_trips(tmp_path):
    cfg = load_config(None, Run, overrides=["model.kp_num=7"])
    written = save_resolved(cfg, tmp_path / "out")
    assert load_config(written, Run) == cfg
    assert yaml.safe_load(written.read_text())["model"]["kp_num"] == 7
    assert [p.name for p in written.parent.iterdir()] == ["config.resolved.yaml"]  # no temp file left
