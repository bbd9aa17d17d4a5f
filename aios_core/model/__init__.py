"""The AiOS network: backbone, transformer, heads, SMPL-X read-out, configuration, checkpoint."""

from aios_core.model.config import AiOSConfig
from aios_core.model.network import AiOS

__all__ = ["AiOS", "AiOSConfig"]
