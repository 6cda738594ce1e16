"""talkingface-kit core: media I/O, weights, configs, metrics, evaluation and reports."""
from talkingface.errors import ConfigError, KitError, MediaError, WeightsError

__version__ = "0.1.0"
__all__ = ["KitError", "MediaError", "WeightsError", "ConfigError", "__version__"]
