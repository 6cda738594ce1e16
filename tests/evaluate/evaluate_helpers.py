"""Small lookups shared by the evaluation tests."""


def run_by_name(results: dict, name: str) -> dict:
    return next(r for r in results["runs"] if r["name"] == name)


def sample_by_name(run: dict, name: str) -> dict:
    return next(s for s in run["samples"] if s["sample"] == name)
