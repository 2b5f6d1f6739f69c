"""Amazon ORDER_CHANGE notifications (SQS) → an import of each named order, as they arrive."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from channels.amazon.notifications import consume_once, sqs_client
from orders.services.push import amazon_order_change_import


class Command(BaseCommand):
    help = ("Read Amazon ORDER_CHANGE notifications from the SQS queue (AMAZON_SQS_QUEUE_URL) and import each "
            "named order at once. AWS credentials and region: the usual AWS environment.")

    def add_arguments(self, parser):
        parser.add_argument("--queue-url", default="", help="Default: AMAZON_SQS_QUEUE_URL.")
        parser.add_argument("--endpoint-url", default="", help="Default: AMAZON_SQS_ENDPOINT_URL (AWS's own).")
        parser.add_argument("--polls", type=int, default=0, help="Stop after this many long polls (0: never).")
        parser.add_argument("--wait", type=int, default=None, help="Long-poll seconds (default AMAZON_SQS_WAIT_SECONDS).")
        parser.add_argument("--idle-without-queue", action="store_true",
                            help="With no queue configured, stay idle instead of stopping (the Procfile: the "
                                 "embedded demo has no AWS, and honcho stops everything when one process ends).")

    def handle(self, *args, queue_url: str, endpoint_url: str, polls: int, wait: int | None, idle_without_queue: bool,
               **options):
        queue_url = queue_url or settings.AMAZON_SQS_QUEUE_URL
        if not queue_url and idle_without_queue:
            self.stdout.write("No AMAZON_SQS_QUEUE_URL: Amazon orders arrive by the periodic import only.")
            while True:
                time.sleep(3600)
        if not queue_url:
            raise CommandError("No queue: set AMAZON_SQS_QUEUE_URL or pass --queue-url.")
        sqs = sqs_client(endpoint_url=endpoint_url or settings.AMAZON_SQS_ENDPOINT_URL)
        wait = settings.AMAZON_SQS_WAIT_SECONDS if wait is None else wait
        done = 0
        while not polls or done < polls:
            handled = consume_once(sqs=sqs, queue_url=queue_url, wait_seconds=wait,
                                   handle=lambda change: amazon_order_change_import(change=change))
            done += 1
            if handled:
                self.stdout.write(f"{handled} order notification(s) imported")
