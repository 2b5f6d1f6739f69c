"""`make run`'s last word: once the services answer, where to log in and as whom — printed after
their start-up output, so it does not scroll away. Then it waits, as honcho stops every process
when one of them ends."""

import threading
import time

import requests
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

DEMO_PASSWORD = "admin"


class Command(BaseCommand):
    help = "Wait until the given URLs answer, print the login, then stay until stopped."

    def add_arguments(self, parser):
        parser.add_argument("--wait-for", action="append", default=[], metavar="URL",
                            help="A URL that must answer first (repeatable); the first one is the admin's address.")
        parser.add_argument("--username", default="admin")
        parser.add_argument("--timeout", type=float, default=120.0)
        parser.add_argument("--no-stay", action="store_true", help="Exit once printed (tests).")

    def handle(self, *args, wait_for: list[str], username: str, timeout: float, no_stay: bool, **options):
        if not wait_for:
            raise CommandError("name at least one URL with --wait-for (the admin's address first)")
        deadline = time.monotonic() + timeout
        for url in wait_for:
            while not answers(url):
                if time.monotonic() > deadline:
                    raise CommandError(f"{url} did not answer within {timeout:.0f}s; see the output above.")
                time.sleep(0.5)
        admin_url = wait_for[0].split("/admin/")[0] + "/admin/"
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            who = f"a superuser (none is called {username}: `manage.py createsuperuser`)"
        elif user.check_password(DEMO_PASSWORD):
            who = f"{username} / {DEMO_PASSWORD}"
        else:
            who = f"{username} (with the password you gave it)"
        self.stdout.write(self.style.SUCCESS(f"Ready. Log in at {admin_url} as {who}. Ctrl-C stops everything."))
        self.stdout.flush()
        if not no_stay:
            threading.Event().wait()


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code < 500
    except requests.RequestException:
        return False
