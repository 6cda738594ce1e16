"""talkingface.config: YAML -> dataclasses, overrides, unknown keys, resolved config written atomically."""
from __future__ import annotations

import re
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


@dataclass
class _Typed:
    lr: float = 1e-4
    steps: int = 10
    amp: bool = False
    size: int | None = None
    scale: int | float = 1
    name: str = "x"


@pytest.mark.parametrize(("override", "field", "value"), [
    ("lr=1e-12", "lr", 1e-12),            # YAML 1.1 reads 1e-12 (no dot) as text: the float field converts it
    ("lr=2", "lr", 2.0), ("steps=3", "steps", 3), ("amp=true", "amp", True), ("size=null", "size", None),
    ("size=5", "size", 5), ("scale=0.5", "scale", 0.5), ("name=1e-3", "name", "1e-3"),
])
def test_scalar_fields_are_checked_and_converted(override, field, value):
    cfg = load_config(None, _Typed, [override])
    got = getattr(cfg, field)
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize(("override", "message"), [
    ("lr=fast", "lr must be a number, got 'fast'"), ("steps=2.5", "steps must be an integer, got 2.5"),
    ("steps=true", "steps must be an integer, got True"), ("amp=1", "amp must be true or false, got 1"),
    ("size=big", "size must be an integer or null, got 'big'"), ("lr=true", "lr must be a number, got True"),
])
def test_a_wrong_scalar_is_a_one_line_error_naming_the_key(override, message):
    with pytest.raises(ConfigError, match=re.escape(message)) as err:
        load_config(None, _Typed, [override])
    assert "\n" not in str(err.value)
