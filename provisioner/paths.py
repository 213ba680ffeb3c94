"""Where the project's files live, resolved from this package so any working directory works."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ROADMAP = PROJECT_ROOT / "roadmap.yaml"
STACKS_DIR = PROJECT_ROOT / "stacks"
POLICY_PACK_DIR = PROJECT_ROOT / "policies"
PROGRAM = PROJECT_ROOT / "__main__.py"
FUNCTIONS_BUNDLE = PROJECT_ROOT / "functions"
SECRETS_BUNDLE = PROJECT_ROOT / "secrets"
BUILD_DIR = PROJECT_ROOT / ".build"
# The policy pack as `provisioner build` lays it out to run or publish on its own.
BUILT_POLICY_PACK_DIR = BUILD_DIR / "policy-pack"
