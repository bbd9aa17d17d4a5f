"""The error every HumanData reader problem is reported with."""

from aios_core.errors import AiosError


class HumanDataError(AiosError, ValueError):
    """A HumanData file is missing, unreadable or has a missing / malformed key.

    The message is one line naming the file and the key.
    """
