from django.core.management.base import BaseCommand

from cockpit.demo import add_cockpit_demo


class Command(BaseCommand):
    help = "Add the cockpit's demo orders (late, at risk, drifted, 90 days of history) to the active accounts."

    def handle(self, *args, **options):
        add_cockpit_demo(stdout=self.stdout)
