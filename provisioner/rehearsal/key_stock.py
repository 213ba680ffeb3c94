"""RSA keys for the fakes' administrators, made ahead on a background thread.

A fake vendor's administrator issues an integration's first key pair (a Salesforce JWT
bearer certificate, a Snowflake key pair) when the rehearsal enrols it. Making an RSA-2048
key takes tens of milliseconds, and the rehearsal enrols one per such credential, in the
main process, one after the other. ``cryptography`` releases the GIL while it generates,
so a thread can make the next keys on the other core while the checks run; each key is
still fresh, and handed out once.

A stock is started and stopped with the fake server that owns it. Making ahead begins at
the first ``take()`` (a server whose callers never ask for a key costs nothing), keeps at
most ``depth`` keys ready, and makes one inline when none is ready, so a caller never waits
on the thread. An unstarted or stopped stock makes every key inline.

Usage::

    with KeyStock(new_rsa_key) as keys:
        key = keys.take()  # never handed out before, never handed out again
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Generic, Self, TypeVar

from cryptography.hazmat.primitives.asymmetric import rsa

from provisioner.lifecycle import Lifecycle

__all__ = ["KeyStock", "first_key_and_certificate", "new_rsa_key"]

T = TypeVar("T")

# Enough for a burst of enrolments (a manual rotation enrols three in a row); each key left
# at stop is made on the spare core and dropped, so more would only waste it.
DEPTH = 4


def new_rsa_key() -> rsa.RSAPrivateKey:
    """A new RSA-2048 private key, public exponent 65537 (what the vendors accept)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def first_key_and_certificate() -> tuple[str, str]:
    """A new RSA key and its self-signed certificate (PEMs), made by the rotation bundle's
    ``keys`` as the administrator's tools would make them. Made ahead, before anyone knows
    whose they will be, so the certificate's common name names no user (nothing reads it)."""
    from provisioner.rotate import bundle_on_path

    bundle_on_path()
    from credential_rotation.keys import generate_key_and_certificate

    return generate_key_and_certificate("rehearsal administrator's first certificate")


class KeyStock(Lifecycle, Generic[T]):
    """Up to ``depth`` results of ``make()`` made ahead, each handed out once by ``take()``."""

    def __init__(self, make: Callable[[], T], depth: int = DEPTH) -> None:
        self._make = make
        self._depth = depth
        self._ready: deque[T] = deque()
        self._changed = threading.Condition()
        self._open = False
        self._thread: threading.Thread | None = None
        #: how many keys were made inline because none was ready (read by the tests)
        self.made_inline = 0

    def start(self) -> Self:
        with self._changed:
            self._open = True
        return self

    def stop(self) -> None:
        """Stop making ahead and drop what is ready; returns once the thread has ended."""
        with self._changed:
            self._open = False
            thread, self._thread = self._thread, None
            self._ready.clear()
            self._changed.notify_all()
        if thread is not None:
            thread.join()  # at most the one key it is making

    @property
    def ready(self) -> int:
        """How many keys are made and waiting to be taken."""
        with self._changed:
            return len(self._ready)

    @property
    def running(self) -> bool:
        """Whether a thread is making keys ahead for this stock."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def take(self) -> T:
        """A key no one else got: a ready one, else one made now."""
        with self._changed:
            if self._open and self._thread is None:
                self._thread = threading.Thread(
                    target=self._refill, name="fake-key-stock", daemon=True
                )
                self._thread.start()
            self._changed.notify_all()  # one fewer ready: the thread makes the next
            if self._ready:
                return self._ready.popleft()
            self.made_inline += 1
        return self._make()

    def _refill(self) -> None:
        me = threading.current_thread()
        while True:
            with self._changed:
                while self._thread is me and len(self._ready) >= self._depth:
                    self._changed.wait()
                if self._thread is not me:  # stopped (and maybe started again since)
                    return
            try:
                key = self._make()
            except Exception:
                # The thread ends; take() makes every key inline from now on, so the same
                # error is raised there, in the check that asked, instead of lost here.
                return
            with self._changed:
                if self._thread is not me:
                    return  # made after stop: never handed out
                self._ready.append(key)
