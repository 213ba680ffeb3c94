"""Load the roadmap and a stack's settings for a command, turning failures into CLI errors."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from provisioner.errors import CheckFailed, UsageError
from provisioner.paths import PROJECT_ROOT, ROADMAP, STACKS_DIR
from roadmap.io import SourceFileError, load_roadmap
from roadmap.model import Roadmap
from roadmap.problems import RoadmapError
from roadmap.settings import StackSettings, stack_problems
from roadmap.stack_config import StackSettingsError, load_stack_settings, stack_file


@dataclass(frozen=True)
class StackContext:
    """What a stack-level command works on."""

    stack: str
    settings: StackSettings
    roadmap: Roadmap
    roadmap_path: Path

    @property
    def environment(self) -> str:
        """The environment whose rules and roadmap phases the stack follows."""
        return self.settings.environment


def resolve_roadmap_path(explicit: Path | None, settings: StackSettings | None = None) -> Path:
    if explicit is not None:
        return explicit
    if settings is not None:
        return PROJECT_ROOT / settings.roadmap
    return ROADMAP


def read_roadmap(path: Path) -> Roadmap:
    """Load a roadmap; I/O problems are usage errors (2), rule violations failures (1)."""
    try:
        return load_roadmap(path)
    except SourceFileError as err:
        raise UsageError(str(err)) from None
    except RoadmapError as err:
        raise CheckFailed(
            f"{path} is invalid ({len(err.problems)} problem(s)); run "
            f"`provisioner validate --roadmap {path}`:\n{err}"
        ) from None


def read_settings(stack: str, stacks_dir: Path = STACKS_DIR) -> StackSettings:
    try:
        return load_stack_settings(stacks_dir, stack)
    except StackSettingsError as err:
        raise UsageError(str(err)) from None


def load_stack_context(
    stack: str, roadmap: Path | None = None, stacks_dir: Path = STACKS_DIR
) -> StackContext:
    settings = read_settings(stack, stacks_dir)
    path = resolve_roadmap_path(roadmap, settings)
    context = StackContext(stack, settings, read_roadmap(path), path)
    problems = stack_problems(settings, context.roadmap)
    if problems:
        source = str(stack_file(stacks_dir, stack))
        raise UsageError(
            f"{source} does not fit {path} ({len(problems)} problem(s)):\n"
            + "\n".join(p.render(source) for p in problems)
        )
    return context
