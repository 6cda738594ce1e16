"""The record written next to every lip-sync output (``<output>.config.yaml``): weights, options, result, versions."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def record_path(output: str | os.PathLike) -> Path:
    """``<folder>/<stem>.config.yaml`` of an output video."""
    output = Path(output)
    return output.with_name(output.stem + ".config.yaml")


def write_record(output: str | os.PathLike, weights: dict[str, Any], options: dict[str, Any],
                 result: dict[str, Any]) -> Path:
    """Write the record of a run atomically (YAML, unicode kept readable); returns its path."""
    import yaml

    from talkingface.fsutil import write_text_atomic
    from talkingface.provenance import environment, kit_version

    record = {"weights": weights, "options": options, "result": result,
              "versions": {"talkingface_kit": kit_version(), **environment(str(options.get("device", "cpu")))}}
    return write_text_atomic(record_path(output), yaml.safe_dump(record, sort_keys=False, allow_unicode=True))
