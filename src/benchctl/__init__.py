"""benchctl: load testing and capacity planning for ML model servers."""

from benchctl.errors import BenchctlError, InputError

__version__ = "0.1.0"
__all__ = ["BenchctlError", "InputError", "__version__"]
