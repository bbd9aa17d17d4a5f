"""The AiOS network, its configuration, checkpoint loading, and pre/post-processing."""

from aios_core.model.config import AiOSConfig
from aios_core.model.network import AiOS

__all__ = ["AiOS", "AiOSConfig"]
