"""The emulator's HTTP/1.1 keep-alive: connections reused, every message framed, all recorded."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from provisioner.rehearsal.emulator import Emulator
from provisioner.rehearsal.recorder import Request

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def aws() -> Iterator[Emulator]:
    with Emulator(region="eu-west-1", account_id="111111111111") as emulator:
        yield emulator


def _accepted(aws: Emulator) -> int:
    assert aws.connections is not None
    return aws.connections.accepted


def test_a_clients_calls_share_one_connection_and_the_recorder_sees_each(aws: Emulator) -> None:
    s3 = aws.client("s3")
    seen: list[Request] = []
    before = _accepted(aws)
    with aws.recorder.watching(seen.append):
        s3.create_bucket(
            Bucket="keepalive", CreateBucketConfiguration={"LocationConstraint": aws.region}
        )
        body = b"x" * 70_000
        s3.put_object(Bucket="keepalive", Key="k", Body=body)
        # HEAD: the length of the object, no body; the next call must still parse.
        assert s3.head_object(Bucket="keepalive", Key="k")["ContentLength"] == len(body)
        assert s3.get_object(Bucket="keepalive", Key="k")["Body"].read() == body
        s3.delete_object(Bucket="keepalive", Key="k")  # 204: no body either
        for _ in range(10):
            s3.list_objects_v2(Bucket="keepalive")
    assert _accepted(aws) - before == 1
    assert len(seen) == 15


def _raw(aws: Emulator) -> http.client.HTTPConnection:
    endpoint = urlsplit(aws.endpoint)
    return http.client.HTTPConnection(endpoint.hostname or "", endpoint.port, timeout=10)


def test_a_chunked_body_is_read_to_its_end_before_the_next_request(aws: Emulator) -> None:
    conn = _raw(aws)
    try:
        config = json.dumps({"lambda": {"use_docker": False}}).encode()
        conn.request("POST", "/moto-api/config", body=iter([config[:5], config[5:]]))
        first = conn.getresponse()
        assert first.status // 100 == 2  # moto answers its config with 201
        assert int(first.headers["Content-Length"]) == len(first.read())
        conn.request("GET", "/moto-api/config")  # on the same socket
        second = conn.getresponse()
        assert second.status // 100 == 2
        assert json.loads(second.read())["lambda"]["use_docker"] is False
        assert second.headers.get("Connection") != "close"
    finally:
        conn.close()


def test_stopping_closes_idle_kept_alive_connections() -> None:
    with Emulator(region="eu-west-1", account_id="111111111111") as aws:
        conn = _raw(aws)
        conn.request("GET", "/moto-api/config")
        conn.getresponse().read()
        sock: Any = conn.sock
    sock.settimeout(5)  # a handler still waiting on it would leave recv to time out
    try:
        closed = sock.recv(1) == b""
    except ConnectionResetError:
        closed = True
    finally:
        conn.close()
    assert closed
