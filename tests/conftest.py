import os
import random
import shutil
import zlib

import factory.random
import faker.generator
import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from hypothesis import register_random, settings as hypothesis_settings

from channels.registry import forget_clients
from channels.sandbox.server import SandboxServer
from tests.factories import AmazonAccountFactory, ChannelAccountFactory

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CHROMIUM = "/usr/bin/chromium"

# Property tests: few examples in CI, more locally, many in `make property`; a failure prints its
# example and a @reproduce_failure line (README: replaying a random failure). `make mutation` runs the
# same examples for every mutant (derandomized, no example database), so its score is reproducible.
for name, examples in (("ci", 10), ("dev", 25), ("thorough", 400)):
    hypothesis_settings.register_profile(name, max_examples=examples, deadline=None, print_blob=True)
hypothesis_settings.register_profile("mutation", max_examples=10, deadline=None, print_blob=True, derandomize=True,
                                     database=None)
# Inside a property test, factory_boy's and Faker's generators start every example from the same
# state (hypothesis seeds registered generators per example, as it does `random`): an example's
# data depends on the example alone, so a failing one replays with its @reproduce_failure line.
register_random(factory.random.randgen)
register_random(faker.generator.random)
HYPOTHESIS_PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci" if IN_CI else "dev")
hypothesis_settings.load_profile(HYPOTHESIS_PROFILE)


def pytest_addoption(parser):
    parser.addoption("--factory-seed", type=int, default=None,
                     help="seed of factory_boy, Faker and `random` (default: FACTORY_SEED or a new one, printed)")


def pytest_configure(config):
    seed = config.getoption("--factory-seed") or os.environ.get("FACTORY_SEED")
    config.factory_seed = int(seed) if seed else random.SystemRandom().randrange(10**9)


def pytest_report_header(config):
    profile = config.getoption("hypothesis_profile", None) or HYPOTHESIS_PROFILE
    return [f"factory seed: {config.factory_seed} (replay with --factory-seed={config.factory_seed})",
            f"hypothesis profile for the property tests: {profile}"]


@pytest.fixture(autouse=True)
def _seeded_random(request):
    """Each test's random data depends only on the session seed and the test's id, so one test
    replays alone with --factory-seed whatever ran before it."""
    seed = request.config.factory_seed ^ zlib.crc32(request.node.nodeid.encode())
    random.seed(seed)
    factory.random.reseed_random(seed)


def _unavailable(reason: str) -> None:
    """Locally a missing service skips the test; in CI it fails it (CI must never skip these)."""
    if IN_CI:
        pytest.fail(f"{reason} (required in CI)")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _service_markers(request):
    if request.node.get_closest_marker("postgres") and connection.vendor != "postgresql":
        _unavailable("needs PostgreSQL: set DATABASE_URL")
    if request.node.get_closest_marker("redis") and not os.environ.get("REDIS_URL"):
        _unavailable("needs Redis: set REDIS_URL")
    if request.node.get_closest_marker("browser") and not shutil.which(CHROMIUM):
        _unavailable(f"needs Debian's chromium at {CHROMIUM}")


@pytest.fixture
def walmart_account(db):
    return ChannelAccountFactory(title="Walmart US")


@pytest.fixture
def amazon_account(db):
    return AmazonAccountFactory(title="Amazon US")


def _user_with_perms(django_user_model, username: str, codenames: list[str]):
    user = django_user_model.objects.create_user(username=username, password="pw-for-tests-only", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return user


@pytest.fixture
def operator(db, django_user_model):
    return _user_with_perms(django_user_model, "operator", ["view_order", "operate_order", "view_orderlog", "view_bulkjob",
                                                         "view_channelaction"])


@pytest.fixture
def viewer(db, django_user_model):
    return _user_with_perms(django_user_model, "viewer", ["view_order"])


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client


@pytest.fixture(scope="session")
def sandbox_server():
    with SandboxServer() as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server):
    """The sandbox marketplace, empty, on a real port; its state is `sandbox_server.sandbox`. Its
    throttling is off here, as our pacing is (_limits_off): `real_limits` turns both on."""
    sandbox_server.sandbox.reset()
    sandbox_server.sandbox.enforce_limits(False)
    forget_clients()
    yield sandbox_server.sandbox
    forget_clients()


@pytest.fixture(autouse=True)
def _limits_off(settings):
    """Tests run without pacing to the channels' published limits (they would take minutes)."""
    settings.CHANNEL_PACING = False


@pytest.fixture
def real_limits(settings, sandbox):
    """The channels' published limits, enforced by the sandbox and paced by our clients."""
    from channels.pacing import reset_shared_buckets

    settings.CHANNEL_PACING = True
    sandbox.enforce_limits(True)
    reset_shared_buckets()
    yield sandbox
    reset_shared_buckets()


@pytest.fixture
def sandbox_url(sandbox_server, sandbox):
    return sandbox_server.url


@pytest.fixture
def fast_retries(settings):
    """Backoff in milliseconds instead of seconds, so retry tests run quickly."""
    settings.CHANNEL_ACTION_BACKOFF_BASE = 0.02
    settings.CHANNEL_ACTION_BACKOFF_CAP = 0.2
    settings.CHANNEL_ACTION_MAX_ATTEMPTS = 4
    return settings


@pytest.fixture(autouse=True)
def _quick_feed_polls(settings):
    settings.CHANNEL_FEED_POLL_SECONDS = 0.01


@pytest.fixture
def az_account(db, sandbox_url):
    """An Amazon account talking to the sandbox, with every order option on."""
    return AmazonAccountFactory(title="Amazon sandbox", base_url=sandbox_url, seller_id="SANDBOXSELLER",
                                credentials={"client_id": "amzn1.application-oa2-client.test",
                                             "client_secret": "amazon-test-secret",
                                             "refresh_token": "Atzr|test-refresh-token"})


@pytest.fixture
def wm_account(db, sandbox_url):
    """A Walmart account talking to the sandbox, with every order option on."""
    return ChannelAccountFactory(title="Walmart sandbox", base_url=sandbox_url)


@pytest.fixture
def import_walmart_orders(sandbox, wm_account):
    """sell(count): Walmart orders sold in the sandbox and imported, store orders off (they stay
    Created), oldest first."""
    from orders.models import Order
    from orders.services.importing import account_import_orders

    def sell(count: int = 3) -> list:
        wm_account.create_store_order = False
        wm_account.save()
        sandbox.walmart.create_orders(count=count)
        account_import_orders(account_id=wm_account.pk)
        return list(Order.objects.order_by("pk"))

    return sell
