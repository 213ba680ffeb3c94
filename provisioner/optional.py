"""Import another part of the project that may not have landed yet.

The parts (program, policy harness, pricing, promotion, rehearsal) are built separately;
a caller that can work without one asks for it here and says "not available" on None::

    harness = optional_module("provisioner.policy_harness")
    if harness is None:
        ...
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["optional_module"]


def optional_module(name: str) -> ModuleType | None:
    """The module, or None when it (or a package above it) is missing.

    An import error raised inside the module itself (a missing dependency of a part that has
    landed) still raises: that is a defect to see, not a part to skip.
    """
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as err:
        if err.name is not None and name.startswith(err.name):
            return None
        raise
