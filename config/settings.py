"""Settings read from the environment (SPEC §8).

With no environment at all the project runs embedded: SQLite in WAL mode and a
filesystem Celery broker, so `make run` needs no server. `DATABASE_URL` and
`REDIS_URL` switch to PostgreSQL and Redis, the production setup.
"""

import base64
import datetime as dt
import hashlib
from pathlib import Path

import environ
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)


def _local_secret_key() -> str:
    """With no SECRET_KEY in the environment (the embedded setup), a random key is made once and
    kept in var/secret_key, outside git. Deployments with several hosts must set SECRET_KEY."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        import secrets

        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = env("SECRET_KEY", default="") or _local_secret_key()

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Fernet key for channel credentials at rest. In development it is derived from
# SECRET_KEY so the demo runs without configuration; production sets its own.
FIELD_ENCRYPTION_KEY = env(
    "FIELD_ENCRYPTION_KEY",
    default=base64.urlsafe_b64encode(hashlib.sha256(SECRET_KEY.encode()).digest()).decode(),
)
# Keys replaced by FIELD_ENCRYPTION_KEY, still read until `manage.py rotate_credentials_key` has run.
FIELD_ENCRYPTION_OLD_KEYS = env.list("FIELD_ENCRYPTION_OLD_KEYS", default=[])

INSTALLED_APPS = [
    "cockpit.apps.OperationsAdminConfig",  # django.contrib.admin with the cockpit's site ("Today" as index)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_filters",
    "django_celery_beat",
    "axes",
    "channels.apps.ChannelsConfig",
    "orders.apps.OrdersConfig",
    "creditmemos.apps.CreditMemosConfig",
    "cockpit.apps.CockpitConfig",
    "access.apps.AccessConfig",  # last: it gives the role groups every app's permissions after migrate
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its lockout answer.
    "axes.middleware.AxesMiddleware",
]

# Login throttling (django-axes): after AXES_FAILURE_LIMIT failed logins for one username, or from
# one IP address, further attempts are refused (HTTP 429) for AXES_COOLOFF_TIME, even with the right
# password. Administrators see attempts and lockouts in the admin (Axes); `manage.py axes_reset`
# (or axes_reset_username / axes_reset_ip) lifts them. The address: see TRUSTED_PROXY_COUNT below.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=60))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each on its own: per user and per IP
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "admin/lockout.html"
# Whose address a failed login counts against (django-axes asks django-ipware). Behind reverse
# proxies REMOTE_ADDR is the nearest proxy's, the same for everyone: five failures would lock
# everybody out. TRUSTED_PROXY_COUNT is how many proxies stand in front of the app, each appending
# to X-Forwarded-For the address it got the request from (nginx's $proxy_add_x_forwarded_for, AWS
# ALB, Heroku); 0 (the default): none, the address is REMOTE_ADDR and the header is ignored. The
# client is then the entry just left of the last N (the proxies) in the chain X-Forwarded-For +
# REMOTE_ADDR; ipware counts only the proxies named in the header (all but the nearest, which is
# REMOTE_ADDR), hence the - 1. A header with any other number of entries (the client wrote some
# itself) is not believed: such requests count against the proxy's address. Set it only when the
# app can be reached through the proxies alone, or anyone could name any address.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
if TRUSTED_PROXY_COUNT > 0:
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")
    AXES_IPWARE_PROXY_COUNT = TRUSTED_PROXY_COUNT - 1
    AXES_IPWARE_PROXY_ORDER = "left-most"  # the header as proxies write it: client first
else:
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("REMOTE_ADDR",)
    AXES_IPWARE_PROXY_COUNT = None

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one file: WAL lets readers run beside a writer,
    # IMMEDIATE takes the write lock at BEGIN so no transaction fails half-way
    # with "database is locked"; busy_timeout makes the others wait instead.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;",
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", 60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
# The operators' time zone: every date and time is shown in it, with the zone (config/formats).
TIME_ZONE = env("TIME_ZONE", default="UTC")
FORMAT_MODULE_PATH = ["config.formats"]
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"

# Hardened cookies and transport outside development (`manage.py check --deploy`).
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# Admin sessions end this long after login, and when the browser closes.
SESSION_COOKIE_AGE = 60 * env.int("ADMIN_SESSION_TIMEOUT_MINUTES", default=8 * 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Celery: Redis when REDIS_URL is set, otherwise kombu's filesystem transport.
REDIS_URL = env("REDIS_URL", default="")
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="") or REDIS_URL
# A web request publishing to a broker host that does not answer waits at most about
# (connect + socket timeout) x (1 + retries): every publisher has a sweep behind it
# (orders.handoff, the outbox), so giving up soon loses nothing and keeps the page answering.
CELERY_BROKER_CONNECT_TIMEOUT = env.float("CELERY_BROKER_CONNECT_TIMEOUT", default=2.0)
CELERY_BROKER_SOCKET_TIMEOUT = env.float("CELERY_BROKER_SOCKET_TIMEOUT", default=5.0)
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": env.int("CELERY_PUBLISH_MAX_RETRIES", default=1),
                                    "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
if CELERY_BROKER_URL:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 60 * 60,
                                       "socket_connect_timeout": CELERY_BROKER_CONNECT_TIMEOUT,
                                       "socket_timeout": CELERY_BROKER_SOCKET_TIMEOUT}
else:
    _broker_dir = Path(env("CELERY_FILESYSTEM_BROKER_DIR", default=str(VAR_DIR / "broker")))
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT = "config.embedded_broker:Transport"  # kombu's, each message written whole
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),  # kombu's default is ./control, in the checkout
        "store_processed": False,
        "polling_interval": 0.25,
    }
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_IGNORE_RESULT = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Long work (imports, bulk jobs) has its own queue, so it never holds up a channel action behind it.
CELERY_TASK_ROUTES = {
    "orders.tasks.import_account_orders": {"queue": "long"},
    "orders.tasks.reimport_account_orders": {"queue": "long"},
    "orders.tasks.run_bulk_job": {"queue": "long"},
    "orders.tasks.archive_history": {"queue": "long"},
    "orders.tasks.write_csv_export": {"queue": "long"},
    "cockpit.tasks.*": {"queue": "long"},
}
CELERY_TIMEZONE = TIME_ZONE

# An account whose import has failed for longer than this is flagged (R-SYNC-5).
SYNC_HEALTH_FAILING_AFTER_HOURS = env.int("SYNC_HEALTH_FAILING_AFTER_HOURS", default=4)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
SANDBOX_URL = env("SANDBOX_URL", default="http://127.0.0.1:8100")
# Hosts besides the channels' own that accounts may send credentials to (channels.hosts): the
# sandbox in development, test doubles in tests. Empty in production.
CHANNEL_EXTRA_HOSTS = env.list("CHANNEL_EXTRA_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])

# Channel actions (SPEC §6): retries with exponential backoff and jitter.
CHANNEL_ACTION_MAX_ATTEMPTS = env.int("CHANNEL_ACTION_MAX_ATTEMPTS", default=6)
CHANNEL_ACTION_BACKOFF_BASE = env.float("CHANNEL_ACTION_BACKOFF_BASE", default=2.0)
CHANNEL_ACTION_BACKOFF_CAP = env.float("CHANNEL_ACTION_BACKOFF_CAP", default=600.0)
# A worker that dies mid-call leaves its claim; after this long another worker takes the action over.
CHANNEL_ACTION_LEASE_SECONDS = env.int("CHANNEL_ACTION_LEASE_SECONDS", default=120)
# Orders import: look back this far on the first run, and re-read this overlap on every run.
IMPORT_INITIAL_DAYS = env.int("IMPORT_INITIAL_DAYS", default=30)
IMPORT_OVERLAP_SECONDS = env.int("IMPORT_OVERLAP_SECONDS", default=120)
IMPORT_INTERVAL_SECONDS = env.int("IMPORT_INTERVAL_SECONDS", default=60)
# A failing account's import is retried by beat after 1, 2, 4… intervals, at most this far apart.
IMPORT_RETRY_BACKOFF_CAP_SECONDS = env.int("IMPORT_RETRY_BACKOFF_CAP_SECONDS", default=1800)
# A run started this long ago that neither completed nor recorded a failure died (killed worker).
IMPORT_RUN_STALE_MINUTES = env.int("IMPORT_RUN_STALE_MINUTES", default=30)
# A page the import's reading process has not handed over in this long: the run fails with the reason
# (orders.services.page_reader), well before a run counts as stale.
IMPORT_PAGE_READER_TIMEOUT_SECONDS = env.float("IMPORT_PAGE_READER_TIMEOUT_SECONDS", default=600)
CHANNEL_ACTION_SWEEP_SECONDS = env.float("CHANNEL_ACTION_SWEEP_SECONDS", default=15.0)
# Reconciliation (cockpit): orders created on the channel this many days back are compared, nightly
# at RECONCILE_HOUR (TIME_ZONE) and on demand; orders the channel changed in the last
# RECONCILE_GRACE_MINUTES are left to the regular import.
RECONCILE_DAYS = env.int("RECONCILE_DAYS", default=30)
RECONCILE_HOUR = env.int("RECONCILE_HOUR", default=3)
RECONCILE_GRACE_MINUTES = env.int("RECONCILE_GRACE_MINUTES", default=10)
# The cockpit's figures (all 90 days) are recounted this often.
COCKPIT_STATS_REFRESH_MINUTES = env.float("COCKPIT_STATS_REFRESH_MINUTES", default=5.0)
CELERY_BEAT_SCHEDULE = {
    "sweep-channel-actions": {
        "task": "orders.tasks.sweep_channel_actions",
        "schedule": CHANNEL_ACTION_SWEEP_SECONDS,
    },
    "archive-history": {
        "task": "orders.tasks.archive_history",
        "schedule": 24 * 60 * 60.0,
    },
    "expire-csv-exports": {
        "task": "orders.tasks.expire_csv_exports",
        "schedule": 60 * 60.0,
    },
    "sweep-handoffs": {
        "task": "orders.tasks.sweep_handoffs",
        "schedule": CHANNEL_ACTION_SWEEP_SECONDS,
    },
    # Nightly: compare every active account's recent orders with the channel's (cockpit: Needs attention).
    "reconcile-accounts": {
        "task": "cockpit.tasks.reconcile_all_accounts",
        "schedule": crontab(hour=RECONCILE_HOUR, minute=17),
    },
    # The cockpit's daily figures (seller performance, charts), the whole 90 days each time.
    "cockpit-refresh-stats": {
        "task": "cockpit.tasks.refresh_stats",
        "schedule": 60.0 * COCKPIT_STATS_REFRESH_MINUTES,
    },
}
# CSV exports of at least this many orders are written in the background, kept this long, in this folder.
CSV_EXPORT_INLINE_ROWS = env.int("CSV_EXPORT_INLINE_ROWS", default=10_000)
CSV_EXPORT_KEEP_HOURS = env.int("CSV_EXPORT_KEEP_HOURS", default=24)
CSV_EXPORT_DIR = Path(env("CSV_EXPORT_DIR", default=str(VAR_DIR / "exports")))
# Order Log lines and succeeded channel actions older than this move to the archive (orders.services.retention).
HISTORY_RETENTION_DAYS = env.int("HISTORY_RETENTION_DAYS", default=730)
# Drain tasks started per batch of bulk-queued actions (orders.batching): one per worker process.
CHANNEL_ACTION_DRAINS = env.int("CHANNEL_ACTION_DRAINS", default=2)
# A drain claims up to this many due bulk actions of one account at a time and records the channel's
# confirmations of them in one transaction (orders.outbox); an operator's click waits for at most one batch.
CHANNEL_ACTION_BULK_BATCH = env.int("CHANNEL_ACTION_BULK_BATCH", default=20)
CHANNEL_FEED_POLL_SECONDS = env.float("CHANNEL_FEED_POLL_SECONDS", default=10.0)
# A submission (Amazon feed) still unprocessed after this long fails, visibly, instead of being polled forever.
CHANNEL_FEED_TIMEOUT_HOURS = env.float("CHANNEL_FEED_TIMEOUT_HOURS", default=24.0)
CHANNEL_HTTP_CONNECT_TIMEOUT = env.float("CHANNEL_HTTP_CONNECT_TIMEOUT", default=3.05)
CHANNEL_HTTP_READ_TIMEOUT = env.float("CHANNEL_HTTP_READ_TIMEOUT", default=20.0)

# Pacing (channels.pacing): each account's requests stay within the channels' published limits per
# operation, in buckets shared by all workers (Redis when configured, the database otherwise). A
# request that would wait longer than CHANNEL_PACING_MAX_WAIT_SECONDS is rescheduled instead, so a
# worker never sleeps on one account's backlog. Off only against a sandbox without limits (tests).
CHANNEL_PACING = env.bool("CHANNEL_PACING", default=True)
CHANNEL_PACING_MAX_WAIT_SECONDS = env.float("CHANNEL_PACING_MAX_WAIT_SECONDS", default=2.0)

# Pushed orders (orders.webhooks, orders.services.push). Walmart signs each webhook with HMAC-SHA256
# of the body under the secret given when subscribing (authMethod HMAC); the header is the
# authHeaderName given there (no underscores: Django's runserver and nginx drop such headers). Bodies larger than WEBHOOK_MAX_BYTES are refused unread.
WALMART_WEBHOOK_SIGNATURE_HEADER = env("WALMART_WEBHOOK_SIGNATURE_HEADER", default="X-Walmart-Signature")
WEBHOOK_MAX_BYTES = env.int("WEBHOOK_MAX_BYTES", default=64 * 1024)
# Amazon ORDER_CHANGE notifications (Notifications API, SQS destination): `consume_amazon_notifications`
# reads this queue. AWS credentials and region come from the usual AWS environment (boto3);
# AMAZON_SQS_ENDPOINT_URL points boto3 elsewhere (a local SQS in tests).
AMAZON_SQS_QUEUE_URL = env("AMAZON_SQS_QUEUE_URL", default="")
AMAZON_SQS_ENDPOINT_URL = env("AMAZON_SQS_ENDPOINT_URL", default="")
AMAZON_SQS_WAIT_SECONDS = env.int("AMAZON_SQS_WAIT_SECONDS", default=20)
