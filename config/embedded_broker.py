"""The embedded broker of `make run`: kombu's filesystem transport, with each message written whole
before a consumer can see it.

kombu writes a message by opening its final `.msg` file and then writing into it; a consumer listing
the folder in between moves and reads an empty file, and its `json.loads` error is "unrecoverable"
for the Celery worker, which exits — and honcho takes the whole of `make run` down with it (seen twice
in 16 minutes of a bulk Acknowledge). Here the message is written under a name no consumer looks
for and renamed into place, which POSIX makes atomic within one folder. A file that still cannot be
read is set aside with a warning instead of stopping the worker: what it carried is in the database
(the outbox, the hand-offs), and beat's sweeps hand it out again.
"""

import logging
import os
import uuid
from time import monotonic

from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

logger = logging.getLogger("config.embedded_broker")


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = os.path.join(self.data_folder_out, f".partial-{uuid.uuid4()}")  # no queue's name: no consumer takes it
        with open(partial, "wb") as file:
            file.write(str_to_bytes(dumps(payload)))
        os.replace(partial, final)

    def _get(self, queue):
        while True:  # until a message reads, or Empty
            try:
                return super()._get(queue)
            except ValueError:  # unreadable: its file is gone already (super() removes it before reading)
                logger.warning("an unreadable message on the embedded broker's %s queue was skipped; beat's "
                               "sweeps hand out again whatever it carried", queue, exc_info=True)


class Transport(filesystem.Transport):
    Channel = Channel
