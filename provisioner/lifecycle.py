"""Something this process starts and must stop (a server, a subprocess): `with` stops it on
the way out, on failure too.

Usage::

    class Fake(Lifecycle):
        def start(self) -> Self: ...  # bind, spawn; return self
        def stop(self) -> None: ...  # safe to call twice and after a failed start

    with Fake() as fake: ...
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self

__all__ = ["Lifecycle"]


class Lifecycle(ABC):
    """`start()` on entering a `with` block, `stop()` on leaving it, however it is left."""

    @abstractmethod
    def start(self) -> Self: ...

    @abstractmethod
    def stop(self) -> None: ...

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
