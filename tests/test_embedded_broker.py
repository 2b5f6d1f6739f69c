"""The embedded broker (`make run`): a Celery worker died of an empty message file — kombu's
filesystem transport creates the file before writing it — and honcho took the whole product down
with it, twice in 16 minutes of a bulk Acknowledge."""

import json
import logging
import os

import pytest
from django.conf import settings
from kombu import Connection

from config import embedded_broker


@pytest.fixture
def broker(tmp_path):
    folder = tmp_path / "queue"
    folder.mkdir()
    options = {"data_folder_in": str(folder), "data_folder_out": str(folder), "store_processed": False,
               "control_folder": str(tmp_path / "control")}
    with Connection("filesystem://", transport="config.embedded_broker:Transport",
                    transport_options=options) as connection:
        yield connection, folder


def test_make_run_uses_the_embedded_broker_that_writes_messages_whole():
    source = (settings.BASE_DIR / "config" / "settings.py").read_text()
    assert '''    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT = "config.embedded_broker:Transport"''' in source


def test_a_message_is_out_of_a_consumers_sight_until_it_is_written_whole(broker, monkeypatch):
    connection, folder = broker
    seen_while_writing = []

    def dumps(payload):
        seen_while_writing.append([name for name in os.listdir(folder) if name.endswith(".msg")])
        return json.dumps(payload)

    monkeypatch.setattr(embedded_broker, "dumps", dumps)
    queue = connection.SimpleQueue("whole")  # kombu keeps a queue's bindings between connections
    queue.put({"task": "one"})
    assert seen_while_writing == [[]]
    assert queue.get(timeout=1).payload == {"task": "one"}
    assert os.listdir(folder) == []  # no partial file left behind


def test_an_unreadable_message_file_is_skipped_with_a_warning_not_the_end_of_the_worker(broker, caplog):
    connection, folder = broker
    queue = connection.SimpleQueue("celery")
    (folder / "0_empty.celery.msg").write_bytes(b"")  # as kombu's own writer leaves it for a moment
    queue.put({"task": "next"})
    with caplog.at_level(logging.WARNING, logger="config.embedded_broker"):
        assert queue.get(timeout=1).payload == {"task": "next"}
    assert "an unreadable message on the embedded broker's celery queue was skipped" in caplog.text
