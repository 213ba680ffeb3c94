"""HTTP/1.1 keep-alive for the emulator's server, so clients reuse their connections.

moto's ``ThreadedMotoServer`` serves through werkzeug's development handler, which ends
every response with ``Connection: close``: each of the rehearsal's thousands of requests
opened a new connection (and the server a new thread), and after answering, the handler
waited 10 ms for stray request bytes to discard. With keep-alive, boto3's pooled
connections are reused: ~1.6 → ~1.1 ms a request on a loopback loop of 1,000 calls.

Keep-alive is only correct if both sides know where each message ends (RFC 9112,
"Message Body Length"). So this handler reads each request's whole body (by its
``Content-Length``, or to the end of a chunked body) before the application runs, which
leaves the connection at the next request's first byte, and answers every response with
a ``Content-Length`` of the body it sends, buffered, except where HTTP has no body
(``HEAD``, 1xx, 204, 304). A request whose body length is unknown, or a failure after the
status went out, closes the connection. The application (moto behind the recorder) sees
every request exactly as before, with the body as a file to read.

Usage::

    connections = adopt(wsgi_server)  # before the first client connects
    ...
    connections.close_all()  # after the server stops: idle keep-alive threads end
"""

from __future__ import annotations

import contextlib
import io
import socket
import threading
import traceback
from typing import Any

from moto.moto_server.werkzeug_app import MotoRequestHandler

__all__ = ["Connections", "KeepAliveHandler", "adopt"]

_NO_BODY = frozenset({204, 304})


class Connections:
    """The sockets a server's handlers hold open, to close when the server stops."""

    def __init__(self) -> None:
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.accepted = 0  # connections served in all, which tests and the bench read

    def add(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.add(sock)
            self.accepted += 1

    def discard(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.discard(sock)

    def close_all(self) -> None:
        """Shut every open connection down: a handler waiting for a next request ends."""
        with self._lock:
            found, self._open = list(self._open), set()
        for sock in found:
            with contextlib.suppress(OSError):  # the client closed it already
                sock.shutdown(socket.SHUT_RDWR)


class KeepAliveHandler(MotoRequestHandler):
    """moto's request handler (its header handling kept) answering over HTTP/1.1 keep-alive."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle's algorithm the body waits
    # for the client's delayed ACK (~40 ms a request on Linux).
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        _connections(self.server).add(self.connection)

    def finish(self) -> None:
        _connections(self.server).discard(self.connection)
        super().finish()

    def run_wsgi(self) -> None:
        # BaseHTTPRequestHandler.parse_request has already answered "Expect: 100-continue"
        # (HTTP/1.1), so the client is sending the body.
        self.environ = environ = self.make_environ()
        if not _buffer_body(environ, self.headers):
            self.close_connection = True
        status = "500 Internal Server Error"
        headers: list[tuple[str, str]] = []

        def start_response(new_status: str, new_headers: Any, exc_info: Any = None) -> Any:
            nonlocal status, headers
            status, headers = new_status, list(new_headers)
            return lambda data: chunks.append(data)

        chunks: list[bytes] = []
        try:
            result = self.server.app(environ, start_response)
            try:
                chunks.extend(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except Exception:
            self.server.log("error", f"Error on request:\n{traceback.format_exc()}")
            status, headers = "500 Internal Server Error", [("Content-Type", "text/plain")]
            chunks = [b"Internal Server Error"]
            self.close_connection = True
        try:
            self._respond(status, headers, b"".join(chunks))
        except (ConnectionError, TimeoutError):
            self.close_connection = True  # the client went away

    def _respond(self, status: str, headers: list[tuple[str, str]], body: bytes) -> None:
        code_text, _, reason = status.partition(" ")
        code = int(code_text)
        self.send_response(code, reason)
        bodiless = self.command == "HEAD" or code < 200 or code in _NO_BODY
        for key, value in headers:
            # HEAD keeps the length of what a GET would send; every other length is ours.
            if key.lower() in ("connection", "transfer-encoding") or (
                key.lower() == "content-length" and not bodiless
            ):
                continue
            self.send_header(key, value)
        if not bodiless:
            self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if not bodiless and body:
            self.wfile.write(body)
        self.wfile.flush()


def _buffer_body(environ: dict[str, Any], headers: Any) -> bool:
    """Read the request's whole body into ``wsgi.input``; False if its end is unknown."""
    if environ.pop("wsgi.input_terminated", False):  # chunked: werkzeug's reader stops at
        body = environ["wsgi.input"].read()  # its end; the app sees a body of known length
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ["wsgi.input"] = io.BytesIO(body)
        return True
    length = headers.get("Content-Length")
    if length is None:
        environ["wsgi.input"] = io.BytesIO(b"")
        return True  # no body (RFC 9112: neither Content-Length nor Transfer-Encoding)
    try:
        size = int(length)
    except ValueError:
        environ["wsgi.input"] = io.BytesIO(b"")
        return False
    environ["wsgi.input"] = io.BytesIO(environ["wsgi.input"].read(size) if size > 0 else b"")
    return True


def _connections(server: Any) -> Connections:
    found: Connections = server.rehearsal_connections
    return found


def adopt(server: Any) -> Connections:
    """Serve ``server`` (werkzeug's, moto's handler) through `KeepAliveHandler` from now on."""
    connections = Connections()
    server.rehearsal_connections = connections
    server.RequestHandlerClass = KeepAliveHandler
    return connections
