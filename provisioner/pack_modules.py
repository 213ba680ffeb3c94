"""Pure modules of the policy pack that other parts read, loaded without starting the pack.

The pack's package (`policies/integration_policies`) builds every policy object when
imported, and the pack folder is not on the CLI's import path. A few of its modules are
plain data and functions with no import of the pack: the fence evaluator (`fence`) and
what a trail records (`trail_coverage`), read by the rehearsal, and the controls table
(`controls`), read by the report. They are loaded here from their files, so there is one
definition and the pack stays self-contained.

Usage::

    fence = pack_module("fence")
    fence.denies(policy, "secretsmanager:GetSecretValue", role_arn)
"""

from __future__ import annotations

import importlib.util
import sys
from functools import cache
from types import ModuleType

from provisioner.paths import POLICY_PACK_DIR

__all__ = ["pack_module"]

_STANDALONE = frozenset({"fence", "controls", "trail_coverage"})


@cache
def pack_module(name: str) -> ModuleType:
    """`integration_policies.<name>` loaded from its file; only the standalone modules."""
    if name not in _STANDALONE:
        raise ValueError(f"{name} imports the pack; load one of {sorted(_STANDALONE)}")
    path = POLICY_PACK_DIR / "integration_policies" / f"{name}.py"
    qualified = f"_integration_policies_{name}"
    spec = importlib.util.spec_from_file_location(qualified, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the pack's {name} module from {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[qualified] = module  # dataclasses resolve annotations through it
    spec.loader.exec_module(module)
    return module
