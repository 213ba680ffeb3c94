"""An embedded AWS (moto's threaded server on 127.0.0.1) that always stops.

The server runs in this process, on a free port, and every client of the rehearsal talks
to it over HTTP exactly as it would talk to AWS. IAM enforcement is off while resources
are created (as an administrator would deploy) and switched on only around the checks
that must prove denials, through moto's documented server-mode switch
(``POST /moto-api/reset-auth``). Every request passes the recorder (``recorder.py``) on its
way to moto, which judges those of a role under test on the resources they name.

Usage::

    with Emulator(region="eu-west-1", account_id="111111111111") as aws:
        sqs = aws.client("sqs")
        with aws.iam_enforced():
            ...  # every call now needs a known access key whose policies allow it
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Self

import boto3
import botocore.session
import requests
from botocore.config import Config

from provisioner.lifecycle import Lifecycle
from provisioner.rehearsal.recorder import Recorder

if TYPE_CHECKING:
    from provisioner.rehearsal.keepalive import Connections

__all__ = ["ADMIN_CREDENTIALS", "Emulator", "scoped_environ"]

# Credentials of the deployer while IAM enforcement is off; moto accepts any key then.
# They are deliberately not AKIA-shaped so that nobody mistakes them for a real key.
ADMIN_CREDENTIALS: Mapping[str, str] = {
    "aws_access_key_id": "rehearsal-admin",
    "aws_secret_access_key": "rehearsal-admin-secret",
}
# Variables a developer's shell may carry that would send a client to real AWS or make
# it pick other credentials; the rehearsal replaces them for its own duration.
_AWS_ENV = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "MOTO_ACCOUNT_ID",
)
# Short timeouts and no retries: a local server either answers at once or is broken, and
# an access-denied answer must surface as one, not after botocore's back-off.
_CLIENT_CONFIG = Config(
    connect_timeout=5, read_timeout=60, retries={"max_attempts": 1, "mode": "standard"}
)


def _set_environ(values: Mapping[str, str | None]) -> None:
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@contextmanager
def scoped_environ(values: Mapping[str, str | None]) -> Iterator[None]:
    """Set (or, for None, remove) environment variables and restore them afterwards."""
    saved = {key: os.environ.get(key) for key in values}
    try:
        _set_environ(values)
        yield
    finally:
        _set_environ(saved)


class Emulator(Lifecycle):
    """moto's ThreadedMotoServer on 127.0.0.1 with a random free port, reset and stopped on exit.

    The account id is the stack's own (moto reads ``MOTO_ACCOUNT_ID`` per request, and the
    server shares this process's environment), so ARNs the program builds from its
    settings and ARNs the emulator returns agree.
    """

    def __init__(self, *, region: str, account_id: str) -> None:
        self.region = region
        self.account_id = account_id
        self.endpoint = ""
        self._server: Any = None
        self._connections: Connections | None = None
        self._env: Any = None
        self._saved_lambda_config: dict[str, Any] = {"use_docker": True}
        self._loader: Any = None
        self._admin: dict[str, Any] = {}
        # In front of moto's app: judges the requests of roles under test (recorder.py).
        self.recorder = Recorder(account_id)
        # One session per set of credentials makes the clients (see `client`).
        self._sessions: dict[tuple[tuple[str, str], ...], boto3.session.Session] = {}
        self._sessions_lock = threading.Lock()

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Self:
        """Start the server and point this process's AWS environment at it."""
        from moto.server import ThreadedMotoServer

        from provisioner.rehearsal.keepalive import adopt
        from provisioner.rehearsal.moto_seams import install, serve_through

        install()  # bucket policies judged as for TLS requests (moto_seams.py)

        # werkzeug logs every request to stderr, which would drown the rehearsal's progress.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._env = scoped_environ(
            {
                **dict.fromkeys(_AWS_ENV),
                "MOTO_ACCOUNT_ID": self.account_id,
                "AWS_ACCESS_KEY_ID": ADMIN_CREDENTIALS["aws_access_key_id"],
                "AWS_SECRET_ACCESS_KEY": ADMIN_CREDENTIALS["aws_secret_access_key"],
                "AWS_DEFAULT_REGION": self.region,
            }
        )
        self._env.__enter__()
        try:
            # port=0: the OS picks a free port, so parallel runs and tests never collide.
            self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
            self._server.start()
            serve_through(self._server, self.recorder)
            self._connections = adopt(self._server._server)  # HTTP/1.1 keep-alive
            host, port = self._server.get_host_and_port()
            self.endpoint = f"http://{host}:{port}"
            os.environ["AWS_ENDPOINT_URL"] = self.endpoint
            # moto's backends live in this process and outlive a server; start clean.
            self._post("/moto-api/reset")
            self.set_iam_enforcement(False)
            # No Docker here: moto's Lambda must not try to start containers when Secrets
            # Manager tests a rotation function; the rehearsal runs function code itself.
            saved = requests.get(f"{self.endpoint}/moto-api/config", timeout=30).json()
            self._saved_lambda_config = saved.get("lambda", {"use_docker": True})
            self._post("/moto-api/config", data=json.dumps({"lambda": {"use_docker": False}}))
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the server (idempotent), drop its state and restore the environment."""
        server, self._server = self._server, None
        self._admin.clear()
        self._sessions.clear()
        try:
            if server is not None:
                try:
                    self.set_iam_enforcement(False)
                    self._post("/moto-api/reset")
                    restore = {"lambda": self._saved_lambda_config}
                    self._post("/moto-api/config", data=json.dumps(restore))
                except requests.RequestException:
                    pass  # already gone; stopping is what matters
                server.stop()
                if self._connections is not None:
                    self._connections.close_all()
        finally:
            env, self._env = self._env, None
            if env is not None:
                env.__exit__(None, None, None)

    @property
    def connections(self) -> Connections | None:
        """The server's client connections while it runs (`keepalive.Connections`)."""
        return self._connections

    @property
    def running(self) -> bool:
        return self._server is not None

    def exports(self) -> dict[str, str]:
        """What another shell sets to reach this emulator as the deployer (`rehearse --keep`)."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": ADMIN_CREDENTIALS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": ADMIN_CREDENTIALS["aws_secret_access_key"],
            "AWS_DEFAULT_REGION": self.region,
        }

    # ------------------------------------------------------------------ clients and auth

    def session(self, credentials: Mapping[str, str] | None = None) -> boto3.session.Session:
        """A boto3 session with ``credentials`` (default: the deployer's) in the emulator's region.

        Sessions share one botocore data loader: each fresh loader parses the service models
        and endpoint tables again (~0.2 s a client), which dominated the rehearsal's checks.
        """
        if self._loader is None:
            self._loader = botocore.session.get_session().get_component("data_loader")
        core = botocore.session.get_session()
        core.register_component("data_loader", self._loader)
        return boto3.session.Session(
            botocore_session=core,
            region_name=self.region,
            **dict(credentials or ADMIN_CREDENTIALS),
        )

    def admin(self, service: str) -> Any:
        """The deployer's client for ``service``, made once per emulator run and shared.

        Creating a client costs ~0.1 s, and the checks read as the deployer thousands of
        times; a boto3 client is thread-safe. Never register event handlers on it (make a
        `client` of your own for that).
        """
        if service not in self._admin:
            self._admin[service] = self.client(service)
        return self._admin[service]

    def client(self, service: str, credentials: Mapping[str, str] | None = None) -> Any:
        """A new boto3 client for the emulator; ``credentials`` default to the deployer's.

        Clients of one set of credentials come from one session: a client from a fresh
        session costs ~20 ms (its endpoint resolver and credential chain), from a made one
        ~3 ms. A session is not thread-safe, so clients are made under a lock; the client
        itself is, and handlers registered on it stay its own.
        """
        key = tuple(sorted((credentials or ADMIN_CREDENTIALS).items()))
        with self._sessions_lock:
            if key not in self._sessions:
                self._sessions[key] = self.session(credentials)
            return self._sessions[key].client(
                service, endpoint_url=self.endpoint, config=_CLIENT_CONFIG
            )

    def set_iam_enforcement(self, on: bool) -> None:
        """Switch moto's IAM enforcement: on, every request needs an allowed, known key."""
        # The count of unauthenticated requests moto still lets through: 0 or unlimited.
        self._post("/moto-api/reset-auth", data=b"0" if on else b"inf")

    @contextmanager
    def iam_enforced(self) -> Iterator[None]:
        """Enforce IAM for the duration of the block, and switch it off again in any case."""
        self.set_iam_enforcement(True)
        try:
            yield
        finally:
            self.set_iam_enforcement(False)

    def _post(self, path: str, data: bytes | str = b"") -> None:
        response = requests.post(f"{self.endpoint}{path}", data=data, timeout=30)
        response.raise_for_status()
