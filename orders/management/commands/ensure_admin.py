from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the local demo superuser if it does not exist (`announce_login` prints the login once up)."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--password", default="admin")

    def handle(self, *args, username: str, password: str, **options):
        users = get_user_model()
        if not users.objects.filter(username=username).exists():
            users.objects.create_superuser(username=username, email=f"{username}@example.com", password=password)
            self.stdout.write(f"Created the superuser {username}.")
