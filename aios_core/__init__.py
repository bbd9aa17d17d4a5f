"""aios core: the AiOS network, SMPL-X body model and everything around them.

``from aios_core import AiOS`` is resolved lazily so that light commands (``aios --help``,
``aios doctor``) do not pay for importing the network.
"""

from __future__ import annotations

__all__ = ["AiOS"]


def __getattr__(name: str):
    if name == "AiOS":
        from aios_core.model.network import AiOS

        return AiOS
    raise AttributeError(f"module 'aios_core' has no attribute {name!r}")
