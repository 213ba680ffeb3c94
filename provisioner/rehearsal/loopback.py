"""One threaded WSGI server on 127.0.0.1, started and stopped the same way by every fake.

The rehearsal's fake systems (`fakes.FakeSystems`) and vendor fakes (`vendors.VendorServer`)
serve on a free loopback port for as long as a `with` block lasts.

Usage::

    class Fake(LoopbackServer):
        def _wsgi(self, environ, start_response): ...
        def _serving(self, root): self.base_url = root

    with Fake() as fake: ...
"""

from __future__ import annotations

import threading
from typing import Any, Self

from werkzeug.serving import BaseWSGIServer, make_server

from provisioner.lifecycle import Lifecycle

__all__ = ["LoopbackServer"]


class LoopbackServer(Lifecycle):
    """Serves `_wsgi` on 127.0.0.1 from `start()` to `stop()`; `_serving` learns the root URL."""

    _server: BaseWSGIServer | None = None

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        raise NotImplementedError

    def _serving(self, root: str) -> None:
        """Called with `http://127.0.0.1:{port}` before the first request is served."""

    def _companions(self) -> tuple[Lifecycle, ...]:
        """What runs exactly as long as the server does: started before it, stopped after."""
        return ()

    def start(self) -> Self:
        for companion in self._companions():
            companion.start()
        server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self._server = server
        self._serving(f"http://127.0.0.1:{server.server_port}")
        # A short poll interval: stop() waits for the loop to notice, and tests start many.
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        for companion in self._companions():
            companion.stop()
