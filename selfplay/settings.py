"""Django settings for Selfplay; everything deployment-specific comes from the environment."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import dj_database_url

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


DEBUG = env_bool("DJANGO_DEBUG", False)
# The development key is fixed so checkpoint tokens survive a restart of `make run`;
# a deployment sets DJANGO_SECRET_KEY (and rotates through DJANGO_SECRET_KEY_FALLBACKS).
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "selfplay-development-key-not-for-production-use")
SECRET_KEY_FALLBACKS = [k for k in os.environ.get("DJANGO_SECRET_KEY_FALLBACKS", "").split(",") if k]
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_celery_beat",
    "channels",
    "events",
    "agents",
    "verification",
    "checkpoints",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

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
if "DATABASE_URL" not in os.environ:
    VAR_DIR.mkdir(parents=True, exist_ok=True)

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
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
    DATABASES["default"].setdefault("CONN_MAX_AGE", 0)

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

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL], "capacity": 1000, "expiry": 30},
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
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redis redelivers an unacked task after the visibility timeout; a tick is short, so a dead
# worker's tick comes back quickly (and the world stream's expected version stops duplicates).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("SELFPLAY_VISIBILITY_TIMEOUT", 60)}

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
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "selfplay.api_errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Selfplay API",
    "DESCRIPTION": "Commands, checkpoints, sync and projections of a self-running world.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

# --- Selfplay -------------------------------------------------------------------------------
SELFPLAY_SIM_TICK_SECONDS = env_int("SELFPLAY_SIM_TICK_SECONDS", 2)
SELFPLAY_PLAN_TICK_SECONDS = env_int("SELFPLAY_PLAN_TICK_SECONDS", 60)
SELFPLAY_MAX_CATCHUP_TICKS = env_int("SELFPLAY_MAX_CATCHUP_TICKS", 30)
SELFPLAY_CHECKPOINT_EVERY_EVENTS = env_int("SELFPLAY_CHECKPOINT_EVERY_EVENTS", 500)
SELFPLAY_CHECKPOINT_EVERY_SECONDS = env_int("SELFPLAY_CHECKPOINT_EVERY_SECONDS", 300)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("SELFPLAY_LOG_LEVEL", "INFO")},
}

# Brains by the short name an agent records; values are dotted paths to Brain subclasses.
SELFPLAY_BRAINS = {
    "builder": "agents.brains.builder.Builder",
    "forager": "agents.brains.forager.Forager",
    "trader": "agents.brains.trader.Trader",
    "wanderer": "agents.brains.wanderer.Wanderer",
}
# Projections kept by the runner in events.projections, in the order they are folded.
SELFPLAY_PROJECTIONS = [
    "agents.projections.WORLD",
    "agents.projections.AGENTS",
    "agents.projections.LEADERBOARD",
]
# Publish committed events to the channel layer (tests and benchmarks may turn it off).
SELFPLAY_PUBLISH_EVENTS = env_bool("SELFPLAY_PUBLISH_EVENTS", True)
# Called inside the recording transaction with the recorded events (see events.recording).
SELFPLAY_AFTER_RECORD: list[str] = []
# Commands: a hard per-actor limit (fixed window, counted in Redis).
SELFPLAY_COMMAND_RATE_LIMIT = env_int("SELFPLAY_COMMAND_RATE_LIMIT", 30)
SELFPLAY_COMMAND_RATE_WINDOW_SECONDS = env_int("SELFPLAY_COMMAND_RATE_WINDOW_SECONDS", 60)
SELFPLAY_REDIS_PREFIX = os.environ.get("SELFPLAY_REDIS_PREFIX", "selfplay")

# --- Checkpoints (checkpoints app; DESIGN §5, §7) ------------------------------------------------
# Backend that stores new checkpoint states: checkpoints.storage.DatabaseStorage or .RedisStorage.
SELFPLAY_CHECKPOINT_STORAGE = os.environ.get("SELFPLAY_CHECKPOINT_STORAGE", "checkpoints.storage.DatabaseStorage")
SELFPLAY_CHECKPOINT_RETENTION = env_int("SELFPLAY_CHECKPOINT_RETENTION", 5)  # kept per stream
SELFPLAY_TOKEN_TTL_SECONDS = env_int("SELFPLAY_TOKEN_TTL_SECONDS", 24 * 3600)
SELFPLAY_AFTER_RECORD = ["checkpoints.services.after_record"]
# Per-stream states, so that every stream can be checkpointed: `agent` and the generic `stream`.
SELFPLAY_PROJECTIONS += ["checkpoints.projections.AGENT", "checkpoints.projections.STREAM"]
# Verification: a tick later than this (default half the cadence) at p99 is cadence jitter;
# one token used by two client sessions within this window is flagged.
SELFPLAY_JITTER_THRESHOLD_MS = env_int("SELFPLAY_JITTER_THRESHOLD_MS", 0) or None
SELFPLAY_TOKEN_SHARED_WINDOW_SECONDS = env_int("SELFPLAY_TOKEN_SHARED_WINDOW_SECONDS", 60)
SELFPLAY_PROJECTIONS += ["verification.projections.PLAYERHOOD"]
