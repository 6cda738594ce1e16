"""External weight files: the manifest and where each file is (``manifest``), safe loading and strict state dicts
(``loading``), digests and downloads (``fetch``).

    from talkingface.weights import load_torch, weight_path
    state = load_torch(weight_path("syncnet_v2"))          # WeightsError naming the file if missing or damaged
"""
from talkingface.weights.fetch import DEFAULT_TIMEOUT, FetchResult, fetch, manual_steps
from talkingface.weights.loading import (
    format_keys,
    load_state_dict_file,
    load_state_strict,
    load_torch,
    save_torch,
    strip_ddp_prefix,
)
from talkingface.weights.manifest import (
    CHECKPOINTS_ENV,
    MANIFEST_ENV,
    STATUS_HINT,
    WeightEntry,
    checkpoints_dir,
    get_entry,
    load_manifest,
    load_stages,
    locate,
    manifest_path,
    missing_weights,
    package_file_path,
    require_weights,
    resolve_weights,
    weight_path,
)
from talkingface.weights.verify import WeightStatus, check, hash_file

__all__ = [
    "DEFAULT_TIMEOUT",
    "FetchResult",
    "WeightStatus",
    "check",
    "fetch",
    "format_keys",
    "hash_file",
    "manual_steps",
    "package_file_path",
    "CHECKPOINTS_ENV",
    "MANIFEST_ENV",
    "STATUS_HINT",
    "WeightEntry",
    "checkpoints_dir",
    "get_entry",
    "load_manifest",
    "load_stages",
    "load_state_dict_file",
    "load_state_strict",
    "load_torch",
    "locate",
    "manifest_path",
    "missing_weights",
    "require_weights",
    "resolve_weights",
    "save_torch",
    "strip_ddp_prefix",
    "weight_path",
]
