"""Metric tests: make the image recipes of ``_metric_images.py`` importable (``from _metric_images import ...``)."""
import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
