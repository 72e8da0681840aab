"""Django settings for Selfplay; everything deployment-specific comes from the environment."""

from __future__ import annotations

import os
import tempfile
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from agents.brains.registry import BUILTIN_BRAINS, CAPABILITY_BRAINS
from agents.routing import queue_names
from selfplay.secret_key import local_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("SELFPLAY_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    """Read a boolean from the environment ("1", "true", "yes", "on" are true)."""
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# SELFPLAY_PRODUCTION=1 is a deployment (docs/deployment.md): it refuses to start without its
# own key and hosts, and turns on HTTPS-only cookies, redirects and HSTS.
PRODUCTION = env_bool("SELFPLAY_PRODUCTION", False)
DEBUG = env_bool("DJANGO_DEBUG", False)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DJANGO_DEBUG must be off when SELFPLAY_PRODUCTION=1")
if PRODUCTION and not os.environ.get("DJANGO_SECRET_KEY"):
    raise ImproperlyConfigured("SELFPLAY_PRODUCTION=1 needs DJANGO_SECRET_KEY (at least 50 random "
                               "characters, e.g. `python -c 'import secrets; print(secrets.token_urlsafe(64))'`)")
if PRODUCTION and not os.environ.get("DJANGO_ALLOWED_HOSTS"):
    raise ImproperlyConfigured("SELFPLAY_PRODUCTION=1 needs DJANGO_ALLOWED_HOSTS (the host names it serves)")
# Without DJANGO_SECRET_KEY (development, `make run`) a random key is made once in the var folder
# and reused, so tokens survive restarts and no key is ever written in the source.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or local_secret_key(VAR_DIR)
SECRET_KEY_FALLBACKS = env_list("DJANGO_SECRET_KEY_FALLBACKS")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SELFPLAY_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SELFPLAY_HSTS_SECONDS", 365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_PRELOAD = True
if os.environ.get("SELFPLAY_PROXY_SSL_HEADER"):
    # Behind a TLS-terminating proxy that sets this header to "https" (e.g. HTTP_X_FORWARDED_PROTO).
    SECURE_PROXY_SSL_HEADER = (os.environ["SELFPLAY_PROXY_SSL_HEADER"], "https")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "axes",
    "drf_spectacular",
    "django_celery_beat",
    "channels",
    "events",
    "agents",
    "verification",
    "checkpoints",
    "selfplay.web",
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

# django-axes first: it refuses a login for a username and address that failed too often.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "selfplay.lockout.LockoutHandler"
AXES_CACHE = "logins"
AXES_FAILURE_LIMIT = env_int("SELFPLAY_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("SELFPLAY_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "selfplay/locked_out.html"
AXES_VERBOSE = False

ROOT_URLCONF = "selfplay.urls"
ASGI_APPLICATION = "selfplay.asgi.application"
WSGI_APPLICATION = None

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

# --- Database -------------------------------------------------------------------------------
SQLITE_BUSY_TIMEOUT_SECONDS = env_int("SELFPLAY_SQLITE_BUSY_TIMEOUT", 30)
_default_sqlite = f"sqlite:///{VAR_DIR / 'selfplay.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(os.environ.get("DATABASE_URL", _default_sqlite))}

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    _sqlite_path = Path(DATABASES["default"]["NAME"])
    try:
        _sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ImproperlyConfigured(f"cannot create the folder of the SQLite database {_sqlite_path}: {exc}") from exc
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE takes the write lock at BEGIN, so concurrent writers queue on the busy
        # timeout instead of failing with "database is locked" on lock upgrade.
        "transaction_mode": "IMMEDIATE",
        "timeout": SQLITE_BUSY_TIMEOUT_SECONDS,
        "init_command": (
            "PRAGMA journal_mode=WAL;"
            "PRAGMA synchronous=NORMAL;"
            "PRAGMA foreign_keys=ON;"
            # 64 MiB of page cache (the default is 2 MiB): the event id and stream indexes of a
            # log with millions of events stay in memory instead of being re-read per append.
            "PRAGMA cache_size=-65536;"
            f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000};"
        ),
    }
    # Tests use a file (not :memory:) so WAL, the busy timeout and other connections are real;
    # one file per test process so parallel runs never share it.
    DATABASES["default"]["TEST"] = {
        "NAME": os.environ.get("SELFPLAY_TEST_SQLITE_NAME")
        or os.path.join(tempfile.gettempdir(), f"selfplay-test-{os.getpid()}.sqlite3")
    }
else:
    # Seconds a process keeps its PostgreSQL connection between tasks (Celery workers: e.g. 60,
    # checked before reuse). Keep 0 for daphne: Django's async mode wants no persistent
    # connections (put PgBouncer in front instead); docs/deployment.md counts connections.
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("SELFPLAY_CONN_MAX_AGE", 0)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = DATABASES["default"]["CONN_MAX_AGE"] > 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"

# --- Redis, Channels, Celery ------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
# Every key Selfplay keeps in Redis (rate limits, login counters, checkpoint states) starts with it.
SELFPLAY_REDIS_PREFIX = os.environ.get("SELFPLAY_REDIS_PREFIX", "selfplay")
# Selfplay's own keys (rate limits, checkpoint states, token lineage); empty means REDIS_URL.
# May be a Redis Cluster: redis+cluster://host1:port1,host2:port2/ (selfplay/redis_client.py).
SELFPLAY_REDIS_STATE_URL = os.environ.get("SELFPLAY_REDIS_STATE_URL", "")
# The channel layer shards channels and groups over these plain Redis servers (channels-redis
# `hosts`, a consistent hash of each name); default: REDIS_URL alone.
SELFPLAY_CHANNEL_REDIS_URLS = env_list("SELFPLAY_CHANNEL_REDIS_URLS") or [REDIS_URL]

CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    # Failed-login counters (django-axes): shared by every web process, expiring by themselves.
    "logins": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
               "KEY_PREFIX": f"{SELFPLAY_REDIS_PREFIX}:logins",
               "OPTIONS": {"socket_timeout": 2, "socket_connect_timeout": 2}},
}

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": SELFPLAY_CHANNEL_REDIS_URLS, "capacity": 1000, "expiry": 30},
    }
}

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_TASK_IGNORE_RESULT = True
# Interval schedules on the grid of their interval, and one beat at a time (agents/beat.py).
CELERY_BEAT_SCHEDULER = "agents.beat:AlignedScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Planning ticks run brains' plan(), which may take seconds (a language model, say), and
# capabilities call slow things outside: each has a queue of its own, served by the `planner` and
# `capabilities` workers (Procfile), so neither ever holds the worker that runs the simulation
# ticks (`-Q celery`, the default queue).
# Redis redelivers an unacked task after the visibility timeout; a tick is short, so a dead
# worker's tick comes back quickly (and the world stream's expected version stops duplicates).
# Workers look for such tasks every `unacked_restore_interval` seconds; kombu would otherwise
# scan only on every tenth look (`unacked_restore_throttle`), and its first scan, made as a
# worker starts, is too early to see a task its dead predecessor held: a killed worker's task
# then waited ~100 s more for its redelivery (a capability's result, a tick).
_VISIBILITY_SECONDS = env_int("SELFPLAY_VISIBILITY_TIMEOUT", 60)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": _VISIBILITY_SECONDS,
    "unacked_restore_interval": max(1, min(10, _VISIBILITY_SECONDS // 2)),
    "unacked_restore_throttle": 1,
}
# Simulation ticks go to queue `ticks.<shard>`, shard = crc32(region) % SELFPLAY_TICK_SHARDS, so
# each simulation worker (`-Q ticks.0`, …) keeps its regions; 0 keeps them on the default queue.
# A region's ticks stay serial whichever worker runs them (agents/routing.py says why). Beat's
# dispatch and the verification follower stay on the default queue `celery`.
SELFPLAY_TICK_SHARDS = env_int("SELFPLAY_TICK_SHARDS", 0)
# Planning ticks (brains' slow plan()) on their own queue, so they never delay a simulation tick.
SELFPLAY_PLANNING_QUEUE = os.environ.get("SELFPLAY_PLANNING_QUEUE", "planning")  # empty: the default queue
CELERY_TASK_ROUTES = {
    "agents.planning_tick": {"queue": SELFPLAY_PLANNING_QUEUE or "celery"},
    "agents.perform_capability": {"queue": "capabilities"},
}
# Declared, so that a worker started without -Q consumes every one of
# them; a worker given -Q consumes those it names.
CELERY_TASK_QUEUES = {name: {} for name in queue_names(SELFPLAY_TICK_SHARDS, SELFPLAY_PLANNING_QUEUE)}

# --- REST framework and the schema ----------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Token first: its WWW-Authenticate header makes "not logged in" a 401, not a 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "agents.auth.PlayerTokenAuthentication",
        "agents.auth.AgentKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["selfplay.api_parsers.JSONParser"],
    "EXCEPTION_HANDLER": "selfplay.api_errors.exception_handler",
    # Reads are limited per client; commands have their own per-actor limit (agents.commands).
    "DEFAULT_THROTTLE_CLASSES": ["selfplay.ratelimit.ClientReadThrottle"],
    # How many proxies in front of daphne append to X-Forwarded-For: 0 trusts none of it, so a
    # client cannot pick a new address per request to dodge its read limit.
    "NUM_PROXIES": env_int("SELFPLAY_NUM_PROXIES", 0),
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Selfplay API",
    "DESCRIPTION": "Commands, checkpoints, sync and projections of a self-running world.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "selfplay.api_schema.require_request_bodies",
                             "selfplay.api_schema.document_rate_limits"],
}

# --- Selfplay -------------------------------------------------------------------------------
SELFPLAY_SIM_TICK_SECONDS = env_int("SELFPLAY_SIM_TICK_SECONDS", 2)
SELFPLAY_PLAN_TICK_SECONDS = env_int("SELFPLAY_PLAN_TICK_SECONDS", 60)
SELFPLAY_MAX_CATCHUP_TICKS = env_int("SELFPLAY_MAX_CATCHUP_TICKS", 30)
SELFPLAY_CHECKPOINT_EVERY_EVENTS = env_int("SELFPLAY_CHECKPOINT_EVERY_EVENTS", 500)
SELFPLAY_CHECKPOINT_EVERY_SECONDS = env_int("SELFPLAY_CHECKPOINT_EVERY_SECONDS", 300)
# PostgreSQL keeps the log in partitions of this many global positions (docs/partitioning.md),
# with at least SELFPLAY_EVENT_PARTITIONS_AHEAD empty ones made ahead of the head.
SELFPLAY_EVENT_PARTITION_SIZE = env_int("SELFPLAY_EVENT_PARTITION_SIZE", 10_000_000)
SELFPLAY_EVENT_PARTITIONS_AHEAD = env_int("SELFPLAY_EVENT_PARTITIONS_AHEAD", 2)
# The beat lock's lease: a crashed beat's lock lapses after this long and a standby takes over.
SELFPLAY_BEAT_LOCK_TTL_SECONDS = env_int("SELFPLAY_BEAT_LOCK_TTL_SECONDS", 15)
# TEST-ONLY (tests/e2e, tests/chaos): hold every tick's transaction open this long after its
# events are appended, logging a marker, so a harness can kill a worker mid-tick. Always 0 else.
SELFPLAY_TEST_TICK_PAUSE_SECONDS = float(os.environ.get("SELFPLAY_TEST_TICK_PAUSE_SECONDS", "0"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("SELFPLAY_LOG_LEVEL", "INFO")},
    # One line per tick at INFO (agents.services says what the tick did): Celery's own lines for
    # every task received and done, and beat's for every task sent, are for DEBUG-level runs.
    "loggers": {name: {"level": os.environ.get("SELFPLAY_CELERY_LOG_LEVEL", "WARNING")}
                for name in ("celery.app.trace", "celery.worker.strategy", "celery.beat")},
}

# Brains by the short name an agent records; values are dotted paths to Brain subclasses. The
# built-in ones are listed once, in agents.brains.registry (the browser-only variant reads it too).
SELFPLAY_BRAINS = {**BUILTIN_BRAINS, **CAPABILITY_BRAINS}

# --- Capabilities (DESIGN §9, docs/capabilities.md) -------------------------------------------
# name -> dotted path of an agents.capabilities.base.Capability subclass. Removing one leaves the
# world ticking: its requests fail "unavailable".
SELFPLAY_CAPABILITIES = {
    "hash": "agents.capabilities.builtin.Sha256Hash",
    "store": "agents.capabilities.builtin.BlobStore",
    "notify": "agents.capabilities.builtin.Notify",
    "read_public": "agents.capabilities.builtin.ReadPublic",
    "read_authenticated": "agents.capabilities.builtin.ReadAuthenticated",
    "post": "agents.capabilities.builtin.SignedWebhookPost",
}
# The budget bucket: refilled by REFILL per tick up to CAP; each request costs its capability's cost.
SELFPLAY_CAPABILITY_BUDGET_CAP = env_int("SELFPLAY_CAPABILITY_BUDGET_CAP", 20)
SELFPLAY_CAPABILITY_BUDGET_REFILL = env_int("SELFPLAY_CAPABILITY_BUDGET_REFILL", 1)
SELFPLAY_CAPABILITY_COSTS = {"hash": 1, "store": 2, "notify": 3, "read_public": 5, "read_authenticated": 5,
                             "post": 8}
SELFPLAY_CAPABILITY_DEFAULT_COST = 5
# A result longer than this (as canonical JSON) is kept as a blob and recorded as its hash.
SELFPLAY_CAPABILITY_INLINE_MAX_CHARS = env_int("SELFPLAY_CAPABILITY_INLINE_MAX_CHARS", 4096)
SELFPLAY_CAPABILITY_RETRY_AFTER_TICKS = env_int("SELFPLAY_CAPABILITY_RETRY_AFTER_TICKS", 10)
SELFPLAY_CAPABILITY_SWEEP_SECONDS = env_int("SELFPLAY_CAPABILITY_SWEEP_SECONDS", 60)
SELFPLAY_CAPABILITY_HTTP_TIMEOUT_SECONDS = float(os.environ.get("SELFPLAY_CAPABILITY_HTTP_TIMEOUT_SECONDS", "5"))
SELFPLAY_BLOB_MAX_BYTES = env_int("SELFPLAY_BLOB_MAX_BYTES", 64 * 1024)
SELFPLAY_READ_MAX_BYTES = env_int("SELFPLAY_READ_MAX_BYTES", 64 * 1024)
# read_public: hosts (or host:port) it may read; redirects elsewhere are refused.
SELFPLAY_READ_PUBLIC_HOSTS = [h for h in os.environ.get("SELFPLAY_READ_PUBLIC_HOSTS", "example.org").split(",") if h]
# read_authenticated: service -> {"url": "...{scope}...", "scopes": [...]}; the credential of a service
# and scope is read from the environment (SELFPLAY_CREDENTIAL_<SERVICE>_<SCOPE>) when used.
SELFPLAY_AUTH_SERVICES: dict[str, dict] = {}
# post: service -> {"url": ..., "secret_env": "<variable holding the HMAC secret>"}.
SELFPLAY_POST_SERVICES: dict[str, dict] = {}
# TEST-ONLY (tests/e2e): wait this long between a capability's effect and recording its result,
# logging a marker, so a harness can kill the worker in between. Always 0 else.
SELFPLAY_TEST_CAPABILITY_PAUSE_SECONDS = float(os.environ.get("SELFPLAY_TEST_CAPABILITY_PAUSE_SECONDS", "0"))
SELFPLAY_TEST_CAPABILITY_PAUSE_ONLY = os.environ.get("SELFPLAY_TEST_CAPABILITY_PAUSE_ONLY", "")
# Projections kept by the runner in events.projections, in the order they are folded.
SELFPLAY_PROJECTIONS = [
    "agents.projections.WORLD",
    "agents.projections.AGENTS",
    "agents.projections.LEADERBOARD",
]
# WS /stream: what a `command` message does, which heartbeat groups a stream follows (events
# knows no game; these are injected), and how many sockets one address may hold per process.
SELFPLAY_STREAM_COMMAND_HANDLER = "selfplay.web.stream_commands.handle"
SELFPLAY_STREAM_HEARTBEAT_GROUPS = "agents.streams.heartbeat_groups"
SELFPLAY_STREAM_HEARTBEATS = "agents.streams.heartbeats"
SELFPLAY_WS_MAX_CONNECTIONS_PER_CLIENT = env_int("SELFPLAY_WS_MAX_CONNECTIONS_PER_CLIENT", 20)
# Messages one socket may send (a page sends a command now and then); beyond, it is closed (4429).
SELFPLAY_WS_MESSAGES_PER_SECOND = env_int("SELFPLAY_WS_MESSAGES_PER_SECOND", 5)
SELFPLAY_WS_MESSAGE_BURST = env_int("SELFPLAY_WS_MESSAGE_BURST", 20)
# Publish committed events to the channel layer (tests and benchmarks may turn it off).
SELFPLAY_PUBLISH_EVENTS = env_bool("SELFPLAY_PUBLISH_EVENTS", True)
# Called inside the recording transaction with the recorded events (see events.recording).
SELFPLAY_AFTER_RECORD: list[str] = []
# Commands: a hard per-actor limit (fixed window, counted in Redis).
SELFPLAY_COMMAND_RATE_LIMIT = env_int("SELFPLAY_COMMAND_RATE_LIMIT", 30)
SELFPLAY_COMMAND_RATE_WINDOW_SECONDS = env_int("SELFPLAY_COMMAND_RATE_WINDOW_SECONDS", 60)
# Reads (/sync, /checkpoint/latest, /projection, the schema): per client, fixed window.
SELFPLAY_READ_RATE_LIMIT = env_int("SELFPLAY_READ_RATE_LIMIT", 300)
SELFPLAY_READ_RATE_WINDOW_SECONDS = env_int("SELFPLAY_READ_RATE_WINDOW_SECONDS", 60)

# --- Checkpoints (checkpoints app; DESIGN §5, §7) ------------------------------------------------
# Backend that stores new checkpoint states: checkpoints.storage.DatabaseStorage or .RedisStorage.
SELFPLAY_CHECKPOINT_STORAGE = os.environ.get("SELFPLAY_CHECKPOINT_STORAGE", "checkpoints.storage.DatabaseStorage")
SELFPLAY_CHECKPOINT_RETENTION = env_int("SELFPLAY_CHECKPOINT_RETENTION", 5)  # kept per stream
SELFPLAY_TOKEN_TTL_SECONDS = env_int("SELFPLAY_TOKEN_TTL_SECONDS", 24 * 3600)
SELFPLAY_AFTER_RECORD = ["checkpoints.services.after_record"]
# Per-stream states, so that every stream can be checkpointed: `agent` and the generic `stream`.
SELFPLAY_PROJECTIONS += ["checkpoints.projections.AGENT_STREAM", "checkpoints.projections.STREAM"]
# Verification: a tick later than this (default half the cadence) at p99 is cadence jitter;
# one token used by two client sessions within this window is flagged.
SELFPLAY_JITTER_THRESHOLD_MS = env_int("SELFPLAY_JITTER_THRESHOLD_MS", 0) or None
SELFPLAY_TOKEN_SHARED_WINDOW_SECONDS = env_int("SELFPLAY_TOKEN_SHARED_WINDOW_SECONDS", 60)
# Flags raised on behalf of (possibly anonymous) requests, at most this many an hour in all.
SELFPLAY_REQUEST_FLAGS_PER_HOUR = env_int("SELFPLAY_REQUEST_FLAGS_PER_HOUR", 60)
SELFPLAY_PROJECTIONS += ["verification.projections.PLAYERHOOD"]

# --- The browser-only variant (DESIGN §10; selfplay.local, agents.imports) ------------------------
# /local/: plan every this many ticks (the daemon's planning cadence in ticks) and checkpoint the
# IndexedDB log every this many events. The tick cadence and catch-up are the daemon's own.
SELFPLAY_LOCAL_PLAN_EVERY_TICKS = env_int("SELFPLAY_LOCAL_PLAN_EVERY_TICKS", 30)
SELFPLAY_LOCAL_CHECKPOINT_EVERY_EVENTS = env_int("SELFPLAY_LOCAL_CHECKPOINT_EVERY_EVENTS", 500)
# POST /worlds/import and GET /worlds/<region>/export: bounded work per request, and per actor.
SELFPLAY_IMPORT_MAX_BYTES = env_int("SELFPLAY_IMPORT_MAX_BYTES", 64 * 1024 * 1024)
SELFPLAY_IMPORT_MAX_EVENTS = env_int("SELFPLAY_IMPORT_MAX_EVENTS", 200_000)
SELFPLAY_IMPORT_RATE_LIMIT = env_int("SELFPLAY_IMPORT_RATE_LIMIT", 20)  # imports or exports per window
SELFPLAY_IMPORT_RATE_WINDOW_SECONDS = env_int("SELFPLAY_IMPORT_RATE_WINDOW_SECONDS", 3600)
