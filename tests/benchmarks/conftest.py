"""Benchmark-harness tests: the scripts of ``benchmarks/`` importable (``import benchlib``, ``import run_all``), as
those scripts import each other (their own folder on ``sys.path``)."""
import sys
from pathlib import Path

_BENCHMARKS = str(Path(__file__).resolve().parents[2] / "benchmarks")
if _BENCHMARKS not in sys.path:
    sys.path.insert(0, _BENCHMARKS)
