"""byoml: bring your own ML to Azure Log Analytics / Microsoft Sentinel data, on Spark."""
from ._version import __version__

__all__ = ["__version__"]
