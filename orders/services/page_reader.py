"""The channel's pages read by a second process while this one stores them (issue 8 §6).

Fetching a page and reading its orders is a third of the import's Python; in a thread of the
storing process it took the storing thread's interpreter lock at every turn, and a page's
transaction — every lock the import holds — lasted twice its work (BENCHMARKS.md, "2026-12-03,
afternoon: the page reader in its own process"). A forked process fetches and reads the next page
meanwhile, on the machine's other core, and hands it over parsed, a page at a time (it reads at
most one page ahead: memory stays flat).

Imports run in Celery's prefork workers and in management commands, processes of one thread, which
a fork copies whole (a fork of a many-threaded process could inherit a lock another thread held).
The reader only reads: it writes nothing the import owns, so however it ends — killed, its
connection to the channel lost — the pages stored are whole (each in its own transaction) and
the run fails with the reason, to be taken up again from the same cursor by the next run.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import Connection, Pipe

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

from channels.clients import ChannelOrder, OrderPage, UnreadableOrder

from ..copy import JSONText
from ..models import Order

_PAGE, _FAILED, _END = "page", "failed", "end"
_inherited: list = []  # the storing process's database connections, which a reader must never use nor close
_PAYLOAD_ENCODER = Order._meta.get_field("raw_payload").encoder


class PageReaderStopped(Exception):
    """The reading process ended before it handed over the last page (killed, or out of memory)."""


def pages_read_ahead(pages: Iterable[OrderPage], *, before_fork: Callable[[], None]) -> Iterator[OrderPage]:
    """The pages, each next one fetched and read by the reading process while this one is stored.
    An error of the reader (the channel's) is raised here, where the run records it. `before_fork`
    closes what the two processes must not share (the client's pooled connections to the channel:
    each process opens its own). Inside a caller's transaction (a test's) the pages are read in
    turn: the reader's own connection would not see what that transaction sees."""
    if connections[DEFAULT_DB_ALIAS].in_atomic_block:
        yield from pages
        return
    before_fork()
    receiving, sending = Pipe(duplex=False)
    for stream in (sys.stdout, sys.stderr):  # what is buffered is said once, not again by the reader
        stream.flush()
    # os.fork, not multiprocessing: the importer may itself be a daemonic worker process (Celery's
    # prefork pool), which multiprocessing forbids to start one. The reader is this process as it is:
    # its client, its settings, its database settings.
    reader = os.fork()
    if reader == 0:
        receiving.close()
        code = 1
        try:
            _read(pages, sending)
            code = 0
        finally:
            os._exit(code)  # nothing of the storing process's exit (atexit, its connections) runs here
    sending.close()  # the reader's end: once it is gone, receiving reads end-of-file
    told_the_end = False
    try:
        while True:
            _wait_for_a_page(receiving)
            try:
                kind, body = pickle.loads(receiving.recv_bytes())
            except EOFError:
                told_the_end = True
                code = _ended(reader)
                how = f"was killed (signal {-code})" if code is not None and code < 0 else f"ended (exit code {code})"
                raise PageReaderStopped(f"the process reading the channel's pages {how} before the last page; "
                                        f"{AGAIN}") from None
            if kind != _PAGE:
                told_the_end = True  # the reader ends on its own after this
                if kind == _FAILED:
                    raise body
                return
            yield body
    finally:
        receiving.close()
        if not told_the_end:  # this run stopped early: the reader has nothing left to do
            os.kill(reader, signal.SIGKILL)
        _ended(reader)


AGAIN = ("the pages stored are kept, and the next import reads the channel again from where the last "
         "completed import left off")


def _wait_for_a_page(receiving: Connection) -> None:
    """Until the reader hands something over (or ends: end-of-file is ready to read too). A reader
    stopped or stuck gives nothing: after IMPORT_PAGE_READER_TIMEOUT_SECONDS the run fails with the
    reason, and its end kills the reader, rather than the import waiting for ever while the
    account's health still says OK."""
    limit = settings.IMPORT_PAGE_READER_TIMEOUT_SECONDS
    deadline = time.monotonic() + limit
    while not receiving.poll(min(1.0, limit)):
        if time.monotonic() >= deadline:
            raise PageReaderStopped(f"the process reading the channel's pages gave no page for {limit:g} s "
                                    f"(stopped or stuck); {AGAIN}")


def _ended(reader: int) -> int | None:
    """Wait for the reader to end; its exit code (negative: the signal that ended it)."""
    try:
        return os.waitstatus_to_exitcode(os.waitpid(reader, 0)[1])
    except ChildProcessError:  # reaped already (a worker's own handler of its children's ends)
        return None


def _read(pages: Iterable[OrderPage], sending: Connection) -> None:
    """In the reading process: every page, then the end or the error that stopped it. A handover
    waits while the storing process has not taken the page before (the pipe is full), and fails
    once that process is gone, which ends this one."""
    _leave_inherited_connections()
    try:
        for page in pages:
            sending.send_bytes(pickle.dumps((_PAGE, [_payload_encoded(entry) for entry in page]),
                                            protocol=pickle.HIGHEST_PROTOCOL))
        last = (_END, None)
    except BaseException as failure:  # noqa: BLE001 - handed to the storing process, which raises it
        failure.add_note("raised in the import's page reader:\n" + "".join(traceback.format_exception(failure)))
        last = (_FAILED, failure)
    try:
        try:
            message = pickle.dumps(last, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # noqa: BLE001 - an error that cannot be pickled is handed over in words
            message = pickle.dumps((_FAILED, RuntimeError(f"{type(last[1]).__name__}: {last[1]}")))
        sending.send_bytes(message)
    except OSError:
        pass  # the storing process is gone: nobody to tell
    finally:
        connections.close_all()  # the reader's own connections (pacing may use the database)


def _payload_encoded(entry: ChannelOrder | UnreadableOrder) -> ChannelOrder | UnreadableOrder:
    """A readable order with its payload as the JSON text its column stores: encoded here, it is
    neither pickled as a tree of objects nor encoded by the storing process."""
    if not isinstance(entry, ChannelOrder):
        return entry
    return dataclasses.replace(entry, raw=JSONText(json.dumps(entry.raw, cls=_PAYLOAD_ENCODER)))


def _leave_inherited_connections() -> None:
    """The forked reader holds copies of the storing process's database connections: using one
    would interleave two processes' statements, closing one would end the storing process's
    session. They are set aside, untouched (the reader leaves through os._exit, which closes
    nothing); a query of the reader opens its own connection."""
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None:
            _inherited.append(connection.connection)
            connection.connection = None
