"""The fakes' RSA keys are made ahead on a thread, each handed out once, never shared.

``KeyStock`` is tested with a cheap numbered stand-in for the key (which key is which is
what matters); the fakes' own stocks are tested with real RSA keys.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from provisioner.rehearsal.fakes import FakeSystems
from provisioner.rehearsal.key_stock import KeyStock, new_rsa_key
from provisioner.rehearsal.vendors import VendorServer
from provisioner.rehearsal.vendors.salesforce import SalesforceFake
from provisioner.rehearsal.vendors.snowflake import SnowflakeFake


def _numbered() -> Callable[[], int]:
    return itertools.count().__next__


def _until(condition: Callable[[], bool]) -> None:
    """Wait for the stock's thread (a generous bound: a busy CI box is slow, never wrong)."""
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, "the stock's thread never got there"
        time.sleep(0.01)


def test_every_key_taken_from_a_running_stock_is_a_different_one() -> None:
    with KeyStock(_numbered(), depth=3) as stock:
        taken = [stock.take() for _ in range(30)]

    assert len(set(taken)) == 30


def test_the_stock_makes_keys_ahead_after_the_first_take_and_refills_what_is_taken() -> None:
    with KeyStock(_numbered(), depth=3) as stock:
        assert (stock.ready, stock.running) == (0, False)  # nothing made before it is asked
        stock.take()
        _until(lambda: stock.ready == 3)
        stock.take()
        stock.take()
        _until(lambda: stock.ready == 3)

        assert stock.made_inline == 1  # only the first: the others were ready


def test_an_empty_stock_makes_the_key_inline_instead_of_waiting_for_its_thread() -> None:
    release = threading.Event()
    count = _numbered()

    def make() -> int:
        if threading.current_thread() is not threading.main_thread():
            release.wait(timeout=5)  # the thread is stuck making its first key
        return count()

    stock = KeyStock(make, depth=2).start()
    try:
        first, second = stock.take(), stock.take()
        assert (first, second, stock.made_inline, stock.ready) == (0, 1, 2, 0)
    finally:
        release.set()
        stock.stop()


def test_a_stock_whose_thread_fails_makes_every_key_inline_where_an_error_would_show() -> None:
    count = _numbered()

    def make() -> int:
        if threading.current_thread() is not threading.main_thread():
            raise OSError("no entropy on this thread")
        return count()

    with KeyStock(make, depth=2) as stock:
        first = stock.take()
        _until(lambda: not stock.running)
        taken = [first, stock.take(), stock.take()]

    assert (taken, stock.made_inline) == ([0, 1, 2], 3)


def test_stop_ends_the_thread_and_drops_the_ready_keys_unhanded() -> None:
    stock = KeyStock(_numbered(), depth=3).start()
    first = stock.take()
    _until(lambda: stock.ready == 3)
    threads = {t for t in threading.enumerate() if t.name == "fake-key-stock"}

    stock.stop()

    assert not stock.running and not any(t.is_alive() for t in threads)
    assert stock.take() == first + 4  # 1-3 were made ahead and dropped: never handed out
    assert not stock.running  # a stopped stock makes inline, with no thread


def test_ctrl_c_inside_a_fake_server_ends_its_stock_thread_and_exit_never_waits_on_it() -> None:
    server = VendorServer()
    server.key_stock = KeyStock(new_rsa_key, depth=1)
    with pytest.raises(KeyboardInterrupt), server:
        server.key_stock.take()
        _until(lambda: server.key_stock.ready == 1)
        (thread,) = [t for t in threading.enumerate() if t.name == "fake-key-stock"]
        raise KeyboardInterrupt

    assert thread.daemon  # an interpreter exiting mid-key does not wait for it
    assert not thread.is_alive() and not server.key_stock.running


def test_an_unstarted_stock_makes_every_key_inline_without_a_thread() -> None:
    stock = KeyStock(_numbered())

    assert [stock.take(), stock.take()] == [0, 1]
    assert (stock.made_inline, stock.running) == (2, False)


def test_a_vendor_server_enrols_each_credential_with_its_own_key_and_stops_its_stock() -> None:
    salesforce, snowflake = SalesforceFake(), SnowflakeFake()
    with VendorServer(salesforce, snowflake) as server:
        docs = [salesforce.enrol({"kind": "salesforce_jwt_bearer"}) for _ in range(3)]
        docs.append(snowflake.enrol({"kind": "snowflake_key_pair", "user": "LOADER"}))
        _until(lambda: server.key_stock.ready > 0)  # made ahead, beside the enrolments

    assert len({doc["private_key_pem"] for doc in docs}) == 4
    assert not server.key_stock.running
    trusted = salesforce.trusted[docs[-2]["client_id"]]  # the last key the app trusts
    assert trusted.public_numbers() == _public(docs[-2]["private_key_pem"])


def test_fake_systems_give_each_connected_app_its_own_key_and_certificate() -> None:
    with FakeSystems() as fake:
        docs = [
            fake.enrol({"kind": "salesforce_jwt_bearer", "username": f"int{n}@acme.example"})
            for n in range(2)
        ]
        snowflake = fake.enrol({"kind": "snowflake_key_pair", "account": "xy1", "user": "a"})
        accepted = [fake.accepts(doc) for doc in (*docs, snowflake)]
        _until(lambda: fake.key_stock.ready > 0)  # made ahead, beside the enrolments

    assert accepted == [True, True, True]
    assert len({d["private_key_pem"] for d in (*docs, snowflake)}) == 3
    for doc in docs:
        certificate = x509.load_pem_x509_certificate(doc["certificate_pem"].encode())
        public = certificate.public_key()
        assert isinstance(public, rsa.RSAPublicKey)
        assert public.public_numbers() == _public(doc["private_key_pem"])
    assert not fake.key_stock.running


def _public(private_pem: str) -> rsa.RSAPublicNumbers:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key.public_key().public_numbers()
