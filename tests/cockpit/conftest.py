import pytest
from django.contrib.auth.models import Group


@pytest.fixture
def role_user(django_user_model):
    """A staff user holding one of the role groups (access/roles.py)."""

    def make(role: str):
        user = django_user_model.objects.create_user(role.lower().replace(" ", "-"), is_staff=True)
        user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def viewer_client(client, role_user):
    client.force_login(role_user("Viewer"))
    return client


@pytest.fixture
def operator_role_client(client, role_user):
    client.force_login(role_user("Operator"))
    return client
