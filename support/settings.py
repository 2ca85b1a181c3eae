"""Settings for 发票助手, read from the environment (12-factor, django-environ).

Embedded default (nothing to start): SQLite file, local-memory cache, Celery
tasks executed in process. `DATABASE_URL` switches to PostgreSQL, `REDIS_URL`
switches on the Redis cache and the Celery broker. `DJANGO_DEBUG` off means
production rules: the secret key must come from the environment and cookies
are secure.
"""

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)

if DEBUG:
    # Development only; production has no default and fails loudly without one.
    SECRET_KEY = env.str(
        "DJANGO_SECRET_KEY",
        default="dev-insecure-fapiao-desk-key-never-use-in-production-0123456789",
    )
else:
    SECRET_KEY = env.str("DJANGO_SECRET_KEY")

ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS",
    default=["localhost", "127.0.0.1", "[::1]", "testserver"] if DEBUG else [],
)
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",  # legacy plaintext tokens: no longer accepted (docs/security.md)
    "knox",  # API tokens: hashed, with an expiry (manage.py api_token_create)
    "axes",  # login lockout
    "csp",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from our static files
    "auditlog",  # before "support": support/audit/admin.py replaces its LogEntry admin
    "dbbackup",
    "support",
    "tickets",
    "bot.conversations",
    "bot.channels.wechat",
    "bot.nlu",
    "bot.invoices",
    "bot.helpdesk",
    "bot.dialog",
    "bot.notices",
    "bot.feedback",
    "bot.reports",
    "bot.simulator",
]

MIDDLEWARE = [
    # First, so every log line of a request (the webhook's too) carries its id.
    "support.logging.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # WeChat's webhook skips the rest (bot/channels/wechat/middleware.py): none of it applies there.
    "bot.channels.wechat.middleware.WebhookShortcutMiddleware",
    "support.middleware.RejectNulMiddleware",  # NUL in a query string: 400, not a 500
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "support.audit.middleware.AuditActorMiddleware",  # who made each audited change
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a lockout into its 429 page
]

if not DEBUG:
    # gunicorn serves admin and simulator assets itself; runserver does it in DEBUG.
    # After the webhook's shortcut: WeChat's deliveries never reach it.
    MIDDLEWARE.insert(
        MIDDLEWARE.index("bot.channels.wechat.middleware.WebhookShortcutMiddleware") + 1,
        "whitenoise.middleware.WhiteNoiseMiddleware",
    )

ROOT_URLCONF = "support.urls"
WSGI_APPLICATION = "support.wsgi.application"

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

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DJANGO_CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several runserver threads and the in-process tasks share one file.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("timeout", 20)
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # An unreachable server must cost a request seconds, not the OS's minutes: the
    # webhook then buffers the delivery in Redis (bot/conversations/buffer.py).
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault(
        "connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=2)
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
EMBEDDED = not REDIS_URL

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "support.cache.ReusingRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="fapiao"),
            # Well under WeChat's 5 s: a frozen Redis costs a request one timeout, then
            # the cache degrades to "miss" for a few seconds (support/cache.py).
            "OPTIONS": {
                "socket_connect_timeout": env.float("CACHE_SOCKET_TIMEOUT", default=0.3),
                "socket_timeout": env.float("CACHE_SOCKET_TIMEOUT", default=0.3),
                "outage_retry_seconds": env.float("CACHE_OUTAGE_RETRY_SECONDS", default=2.0),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery: a real broker with Redis; otherwise tasks run in process, eagerly.
# A separate Redis database for the broker keeps cache flushes away from queued tasks.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = EMBEDDED
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "Asia/Shanghai"
# Each area adds its periodic tasks in its own section below.
CELERY_BEAT_SCHEDULE: dict = {}
# Deliveries answered while the database was unreachable (bot/conversations/buffer.py).
CELERY_BEAT_SCHEDULE["conversations-drain-inbound-buffer"] = {
    "task": "bot.conversations.tasks.drain_inbound_buffer",
    "schedule": 30.0,
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.str("DJANGO_STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
MEDIA_URL = "media/"
MEDIA_ROOT = env.str("DJANGO_MEDIA_ROOT", default=str(BASE_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "knox.auth.TokenAuthentication",  # "Authorization: Token <token>", hashed at rest
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"],
    # Per token (per user) and per address for the anonymous; 429 beyond (docs/security.md).
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.UserRateThrottle",
        "rest_framework.throttling.AnonRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": env.str("API_THROTTLE_USER", default="600/min"),
        "anon": env.str("API_THROTTLE_ANON", default="30/min"),
    },
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "support.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "发票助手 Fapiao Desk API",
    "DESCRIPTION": "Agent and operator API of the WeChat invoice support bot.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and the docs are for staff only; the UI's assets come from static files.
    "SERVE_PERMISSIONS": ["support.roles.IsStaff"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Security: logins, tokens, Content-Security-Policy (docs/security.md) ---
AUTHENTICATION_BACKENDS = [
    "support.auth.LockoutBackend",  # django-axes: refuses a locked-out login first
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)  # hours
# Locked when either the username or the address has too many failures.
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True

REST_KNOX = {
    "TOKEN_TTL": timedelta(days=env.int("API_TOKEN_TTL_DAYS", default=30)),
    "AUTH_HEADER_PREFIX": "Token",
    "TOKEN_LIMIT_PER_USER": env.int("API_TOKEN_LIMIT_PER_USER", default=5),
}
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        # No inline script without the request's nonce (templates: {{ request.csp_nonce }}).
        "script-src": [SELF, NONCE],
        # The admin, Swagger UI and the dashboard use style attributes; CSS cannot run code.
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:", "blob:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# WeChat official account.
WECHAT_TOKEN = env.str("WECHAT_TOKEN", default="fapiao-dev-token" if DEBUG else "")
WECHAT_APP_ID = env.str("WECHAT_APP_ID", default="wx0000000000simulator" if DEBUG else "")
# Empty secret = embedded mode: outbound messages are recorded and shown in the simulator.
WECHAT_APP_SECRET = env.str("WECHAT_APP_SECRET", default="")
# 43 characters; empty means the account runs in plaintext mode only.
WECHAT_ENCODING_AES_KEY = env.str(
    "WECHAT_ENCODING_AES_KEY",
    default="abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG" if DEBUG else "",
)
# plaintext | compatible | safe, as chosen in the official account's console: safe
# refuses an unencrypted body, plaintext an encrypted one; compatible accepts both.
WECHAT_ENCRYPTION_MODE = env.str("WECHAT_ENCRYPTION_MODE", default="compatible")
WECHAT_API_BASE_URL = env.str("WECHAT_API_BASE_URL", default="https://api.weixin.qq.com").rstrip(
    "/"
)
WECHAT_API_TIMEOUT = env.float("WECHAT_API_TIMEOUT", default=5.0)
WECHAT_MAX_BODY_BYTES = 64 * 1024
WECHAT_TIMESTAMP_TOLERANCE_SECONDS = 300
# A duplicate delivery waits this long for the first one's reply (WeChat gives up after 5 s).
WECHAT_DUPLICATE_WAIT_SECONDS = env.float("WECHAT_DUPLICATE_WAIT_SECONDS", default=4.0)
# The channel hands every verified, parsed message to this callable (like EMAIL_BACKEND):
# bot.channels.wechat imports nothing of the dialog.
WECHAT_MESSAGE_RECEIVER = env.str(
    "WECHAT_MESSAGE_RECEIVER", default="bot.dialog.receive.message_receive"
)
# Group commit of the webhook's fast path on PostgreSQL (support/db/group_commit.py): one
# writer thread per web process commits the messages of concurrent requests together,
# as prepared statements. Off: each request commits its own (e.g. behind a pooler that
# cannot keep prepared statements).
WECHAT_GROUP_COMMIT = env.bool("WECHAT_GROUP_COMMIT", default=True)
WECHAT_GROUP_COMMIT_MAX_BATCH = env.int("WECHAT_GROUP_COMMIT_MAX_BATCH", default=64)
WECHAT_MENU_FILE = env.str(
    "WECHAT_MENU_FILE", default=str(BASE_DIR / "bot" / "channels" / "wechat" / "menu.json")
)
WECHAT_DEFAULT_TEMPLATE_ID = env.str("WECHAT_DEFAULT_TEMPLATE_ID", default="")

SIMULATOR_ENABLED = env.bool("SIMULATOR_ENABLED", default=DEBUG)

if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    # WeChat may be configured with a plain-http URL; health checks come from the load balancer.
    SECURE_REDIRECT_EXEMPT = [r"^wechat/", r"^healthz$"]
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "context": {"()": "support.logging.ContextFilter"},
        "mask": {"()": "support.logging.MaskingFilter"},  # tax ids, phones, invoice numbers
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "support.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            # JSON lines in production, readable lines in development (LOG_FORMAT).
            "formatter": env.str("LOG_FORMAT", default="plain" if DEBUG else "json"),
            "filters": ["context", "mask"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {"jieba": {"level": "WARNING"}},
}

# --- NLU (bot.nlu) ---
# How long a conversation's topic, offered options and miss count are remembered.
NLU_CONTEXT_TTL_SECONDS = env.int("NLU_CONTEXT_TTL_SECONDS", default=300)

# --- Invoices (bot.invoices) ---
# Ordered verification backends: "ledger" (the operator's issued invoices, local) and
# "tencentcloud" (Tencent Cloud OCR VatInvoiceVerifyNew). "Not found" in one tries the next.
INVOICE_VERIFY_BACKENDS = env.list("INVOICE_VERIFY_BACKENDS", default=["ledger"])
INVOICE_VERIFY_TIMEOUT = env.float("INVOICE_VERIFY_TIMEOUT", default=5.0)
INVOICE_DAILY_CHECK_LIMIT = env.int("INVOICE_DAILY_CHECK_LIMIT", default=5)
INVOICE_MAX_AGE_YEARS = env.int("INVOICE_MAX_AGE_YEARS", default=5)
# An invoice not found within this many days of issue is watched (sync delay, not uploaded).
INVOICE_RECENT_DAYS = env.int("INVOICE_RECENT_DAYS", default=7)
INVOICE_WATCH_DAYS = env.int("INVOICE_WATCH_DAYS", default=3)
INVOICE_WATCH_FIRST_DELAY_MINUTES = env.int("INVOICE_WATCH_FIRST_DELAY_MINUTES", default=30)
INVOICE_WATCH_MAX_DELAY_MINUTES = env.int("INVOICE_WATCH_MAX_DELAY_MINUTES", default=360)
# Re-checks a watch may spend per day, leaving the rest of the daily limit to the follower.
INVOICE_WATCH_CHECKS_PER_DAY = env.int("INVOICE_WATCH_CHECKS_PER_DAY", default=3)
TENCENTCLOUD_SECRET_ID = env.str("TENCENTCLOUD_SECRET_ID", default="")
TENCENTCLOUD_SECRET_KEY = env.str("TENCENTCLOUD_SECRET_KEY", default="")
INVOICE_TENCENTCLOUD_ENDPOINT = env.str(
    "INVOICE_TENCENTCLOUD_ENDPOINT", default="https://ocr.tencentcloudapi.com"
)
INVOICE_TENCENTCLOUD_REGION = env.str("INVOICE_TENCENTCLOUD_REGION", default="ap-beijing")
# Named explicitly so it never collides with other apps' "status" enums in the schema.
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {})["LedgerInvoiceStatusEnum"] = (
    "bot.invoices.models.LedgerInvoice.Status"
)
# Photos sent to the account: download cap, timeout, and the hosts a PicUrl may point to.
INVOICE_PHOTO_MAX_BYTES = env.int("INVOICE_PHOTO_MAX_BYTES", default=20 * 1024 * 1024)
INVOICE_PHOTO_TIMEOUT = env.float("INVOICE_PHOTO_TIMEOUT", default=3.0)
# A photo not fetched within the webhook's budget is fetched again by a task this much later.
INVOICE_PHOTO_RETRY_SECONDS = env.int("INVOICE_PHOTO_RETRY_SECONDS", default=20)
INVOICE_PHOTO_URL_HOSTS = env.list(
    "INVOICE_PHOTO_URL_HOSTS", default=["mmbiz.qpic.cn", "mmbiz.qlogo.cn"]
)
# How long a half-filled invoice check waits for the missing fields.
INVOICE_DIALOG_TTL_SECONDS = env.int("INVOICE_DIALOG_TTL_SECONDS", default=600)
CELERY_BEAT_SCHEDULE["invoice-watches-recheck"] = {
    "task": "bot.invoices.tasks.invoice_watches_recheck_due",
    "schedule": env.float("INVOICE_WATCH_BEAT_SECONDS", default=300.0),
}

# --- Help desk (tickets) ---
# Replies and notices reach people through this backend (tickets never imports bot).
TICKETS_NOTIFY_BACKEND = env.str(
    "TICKETS_NOTIFY_BACKEND", default="bot.helpdesk.backend.WeChatTicketBackend"
)
# Replies and notices outside the 48-hour window use the notice template of kind
# ticket_event / satisfaction (admin → 通知模板; docs/helpdesk.md).
# Optional dotted path `callable(ticket) -> list[dict]` re-verifying a ticket's invoices.
TICKETS_INVOICE_REVERIFY = env.str(
    "TICKETS_INVOICE_REVERIFY", default="bot.helpdesk.invoices.ticket_invoices_reverify"
)
TICKETS_REOPEN_DAYS = env.int("TICKETS_REOPEN_DAYS", default=7)
TICKETS_AUTO_CLOSE_DAYS = env.int("TICKETS_AUTO_CLOSE_DAYS", default=7)
TICKETS_MINUTES_PER_TICKET = env.int("TICKETS_MINUTES_PER_TICKET", default=20)
TICKETS_BUSINESS_HOURS = {
    "timezone": "Asia/Shanghai",
    "weekdays": env.list("TICKETS_BUSINESS_WEEKDAYS", cast=int, default=[0, 1, 2, 3, 4]),
    "start": env.str("TICKETS_BUSINESS_START", default="09:00"),
    "end": env.str("TICKETS_BUSINESS_END", default="18:00"),
}
# Several apps have a "status" choice field; name the ticket one explicitly in the schema.
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {})["TicketStatusEnum"] = (
    "tickets.models.Ticket.Status"
)
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]["SuggestionStatusEnum"] = (
    "bot.feedback.models.Suggestion.Status"
)
CELERY_BEAT_SCHEDULE["tickets-assign-waiting"] = {
    "task": "tickets.tasks.tickets_assign_waiting",
    "schedule": 60.0,
}
CELERY_BEAT_SCHEDULE["tickets-sla-check"] = {
    "task": "tickets.tasks.tickets_sla_check",
    "schedule": 60.0,
}
CELERY_BEAT_SCHEDULE["tickets-auto-close"] = {
    "task": "tickets.tasks.tickets_auto_close",
    "schedule": 15 * 60.0,
}

# --- Notices, broadcasts and incidents (bot.notices) ---
# Shared send budget (token bucket in Redis) for every notice; WeChat also caps per day.
NOTICES_RATE_PER_SECOND = env.float("NOTICES_RATE_PER_SECOND", default=1000.0)
NOTICES_BURST_SECONDS = env.float("NOTICES_BURST_SECONDS", default=1.0)
# After 45009 (frequency limit) nobody sends for this long.
NOTICES_RATE_LIMIT_PAUSE_SECONDS = env.float("NOTICES_RATE_LIMIT_PAUSE_SECONDS", default=5.0)
NOTICES_CHUNK_SIZE = env.int("NOTICES_CHUNK_SIZE", default=200)  # notices per delivery task
NOTICES_EXPAND_BATCH = env.int("NOTICES_EXPAND_BATCH", default=2000)  # followers per step
NOTICES_MAX_ATTEMPTS = env.int("NOTICES_MAX_ATTEMPTS", default=5)
# A claim older than this belongs to a lost worker; must stay well under the dedup window.
NOTICES_CLAIM_LEASE_SECONDS = env.int("NOTICES_CLAIM_LEASE_SECONDS", default=60)
# WeChat drops a repeated template client_msg_id for 10 minutes; keep a margin.
NOTICES_CLIENT_MSG_ID_WINDOW_SECONDS = 540
NOTICES_RECOVER_BATCH = env.int("NOTICES_RECOVER_BATCH", default=20000)
NOTICES_RECOVER_SECONDS = env.float("NOTICES_RECOVER_SECONDS", default=60.0)
# Template for notice kinds without their own NoticeTemplate (admin); falls back to
# WECHAT_DEFAULT_TEMPLATE_ID.
NOTICES_DEFAULT_TEMPLATE_ID = env.str("NOTICES_DEFAULT_TEMPLATE_ID", default="")
# Incident detection: >= MIN_COUNT distinct followers in WINDOW and >= RATE_FACTOR x the
# usual rate of the BASELINE_HOURS before.
NOTICES_INCIDENT_MIN_COUNT = env.int("NOTICES_INCIDENT_MIN_COUNT", default=20)
NOTICES_INCIDENT_WINDOW_MINUTES = env.int("NOTICES_INCIDENT_WINDOW_MINUTES", default=30)
NOTICES_INCIDENT_RATE_FACTOR = env.float("NOTICES_INCIDENT_RATE_FACTOR", default=3.0)
NOTICES_INCIDENT_BASELINE_HOURS = env.int("NOTICES_INCIDENT_BASELINE_HOURS", default=7 * 24)
NOTICES_INCIDENT_RESULTS = env.list(
    "NOTICES_INCIDENT_RESULTS", default=["not_found", "upstream_error"]
)
NOTICES_INCIDENT_INTENTS = env.list(
    "NOTICES_INCIDENT_INTENTS", default=["system_outage", "invoice_not_found"]
)
CELERY_BEAT_SCHEDULE["notices-recover"] = {
    "task": "bot.notices.tasks.recover_notices",
    "schedule": NOTICES_RECOVER_SECONDS,
}
CELERY_BEAT_SCHEDULE["notices-start-due-broadcasts"] = {
    "task": "bot.notices.tasks.start_due_broadcasts",
    "schedule": 30.0,
}
CELERY_BEAT_SCHEDULE["notices-detect-incidents"] = {
    "task": "bot.notices.tasks.detect_incidents",
    "schedule": env.float("NOTICES_DETECT_SECONDS", default=300.0),
}
# HTTP calls in flight per delivery task (threads; WeChat's latency, not CPU, dominates).
NOTICES_SEND_THREADS = env.int("NOTICES_SEND_THREADS", default=8)

# --- Operations: backups, audit trail, metrics (support) ---
# Backups (support/backup, docs/operations.md): `manage.py backup` / `manage.py restore`
# through django-dbbackup's connectors (pg_dump/pg_restore; SQLite's backup API).
DBBACKUP_CONNECTOR_MAPPING = {
    "django.db.backends.postgresql": "support.backup.database.PostgresConnector",
    "django.db.backends.sqlite3": "support.backup.database.SqliteConnector",
}
# The nightly backup task writes here and keeps BACKUP_KEEP_DAILY / _WEEKLY of them.
BACKUP_DIR = env.str("BACKUP_DIR", default=str(BASE_DIR / "backups"))
BACKUP_KEEP_DAILY = env.int("BACKUP_KEEP_DAILY", default=7)
BACKUP_KEEP_WEEKLY = env.int("BACKUP_KEEP_WEEKLY", default=4)
# Off-site copies in an S3-compatible store (django-storages); empty bucket = off.
BACKUP_S3_BUCKET = env.str("BACKUP_S3_BUCKET", default="")
if BACKUP_S3_BUCKET:
    STORAGES["backups"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": BACKUP_S3_BUCKET,
            "location": env.str("BACKUP_S3_PREFIX", default="fapiao-desk"),
            "endpoint_url": env.str("BACKUP_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("BACKUP_S3_REGION", default="") or None,
            "access_key": env.str("BACKUP_S3_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("BACKUP_S3_SECRET_ACCESS_KEY", default="") or None,
            "file_overwrite": False,  # a name taken twice is an error, never a silent overwrite
            "default_acl": "private",
        },
    }
# The nightly backup (local copy, off-site copy, retention): on with off-site backups.
if env.bool("BACKUP_NIGHTLY", default=bool(BACKUP_S3_BUCKET)):
    from celery.schedules import crontab

    _hour, _minute = env.str("BACKUP_NIGHTLY_AT", default="03:30").split(":")
    CELERY_BEAT_SCHEDULE["backup-nightly"] = {
        "task": "support.backup.tasks.backup_nightly",
        "schedule": crontab(hour=int(_hour), minute=int(_minute)),
    }
CELERY_IMPORTS = ["support.backup.tasks"]

# Audit trail (support/audit): every change of these models, field by field, by whom.
_AUDIT_KB = ["nlu.intent", "nlu.faqentry", "nlu.keyword", "nlu.synonymgroup", "nlu.domainword"]
AUDITLOG_INCLUDE_TRACKING_MODELS = [
    *_AUDIT_KB,
    "nlu.replytemplate",
    "tickets.cannedresponse",
    "tickets.queue",
    "tickets.slatarget",
    "tickets.holiday",
    {"model": "tickets.agentprofile", "m2m_fields": ["queues"]},
    "invoices.ledgerinvoice",
    "notices.noticetemplate",
    {
        "model": "auth.user",
        "exclude_fields": ["last_login"],
        "mask_fields": ["password"],
        "m2m_fields": ["groups", "user_permissions"],
    },
    {"model": "auth.group", "m2m_fields": ["permissions"]},
    "auth.permission",
]
AUDITLOG_CID_GETTER = "support.logging.current_request_id"  # entries carry the request id
# Fixture loads (loaddata: raw saves) are data moving in bulk, not people changing it.
AUDITLOG_DISABLE_ON_RAW_SAVE = True
# Celery logs through LOGGING above (JSON, request id, masking), not its own handlers.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Metrics (support/metrics.py): /metrics for a scraper with the token or from an address
# of the allow-list; nobody else. Multiprocess: set PROMETHEUS_MULTIPROC_DIR.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=[])
METRICS_DB_CACHE_SECONDS = env.int("METRICS_DB_CACHE_SECONDS", default=15)
METRICS_CELERY_QUEUES = env.list("METRICS_CELERY_QUEUES", default=["celery"])
if not DEBUG:
    SECURE_REDIRECT_EXEMPT.append(r"^metrics$")  # scraped inside the network, like /healthz

# --- Answer ratings and suggestions (bot.feedback), reports (bot.reports) ---
# Share of knowledge-base answers that carry the prompt to rate them (有用 / 没用). A
# prompted turn leaves the webhook's one-statement route (about 4x the CPU of a plain
# answer, docs/benchmarks.md), so the share is the cost: 0.05 adds ~15 % CPU on answers.
# 0 (the default) asks nobody; 有用 / 没用 after any answer still rates it.
FEEDBACK_ASK_SHARE = env.float("FEEDBACK_ASK_SHARE", default=0.0)
REPORTS_TIMEZONE = "Asia/Shanghai"
REPORTS_MAX_RANGE_DAYS = env.int("REPORTS_MAX_RANGE_DAYS", default=366)
# Days the refresh builds per run (newest first), and how far back it ever goes.
REPORTS_DAYS_PER_RUN = env.int("REPORTS_DAYS_PER_RUN", default=7)
REPORTS_BACKFILL_DAYS = env.int("REPORTS_BACKFILL_DAYS", default=400)
REPORTS_MINING_MAX_TEXTS = env.int("REPORTS_MINING_MAX_TEXTS", default=5000)
# Alarms: a rate >= threshold over window_minutes (with >= min_events events) opens an
# episode; it closes below REPORTS_ALARM_CLEAR_FACTOR x threshold.
REPORTS_ALARMS = {
    "verify_upstream": {
        "threshold": env.float("REPORTS_ALARM_VERIFY_UPSTREAM_RATE", default=0.2),
        "window_minutes": env.int("REPORTS_ALARM_VERIFY_UPSTREAM_MINUTES", default=15),
        "min_events": env.int("REPORTS_ALARM_VERIFY_UPSTREAM_MIN", default=10),
    },
    "webhook": {
        "threshold": env.float("REPORTS_ALARM_WEBHOOK_RATE", default=0.05),
        "window_minutes": env.int("REPORTS_ALARM_WEBHOOK_MINUTES", default=10),
        "min_events": env.int("REPORTS_ALARM_WEBHOOK_MIN", default=20),
    },
    "notices": {
        "threshold": env.float("REPORTS_ALARM_NOTICES_RATE", default=0.1),
        "window_minutes": env.int("REPORTS_ALARM_NOTICES_MINUTES", default=30),
        "min_events": env.int("REPORTS_ALARM_NOTICES_MIN", default=10),
    },
    "unanswered": {
        "threshold": env.float("REPORTS_ALARM_UNANSWERED_RATE", default=0.4),
        "window_minutes": env.int("REPORTS_ALARM_UNANSWERED_MINUTES", default=60),
        "min_events": env.int("REPORTS_ALARM_UNANSWERED_MIN", default=20),
    },
}
REPORTS_ALARM_CLEAR_FACTOR = env.float("REPORTS_ALARM_CLEAR_FACTOR", default=0.8)
CELERY_BEAT_SCHEDULE["reports-refresh"] = {
    "task": "bot.reports.tasks.reports_refresh_task",
    "schedule": env.float("REPORTS_REFRESH_SECONDS", default=300.0),
}
CELERY_BEAT_SCHEDULE["reports-alarms-check"] = {
    "task": "bot.reports.tasks.reports_alarms_check",
    "schedule": env.float("REPORTS_ALARMS_SECONDS", default=60.0),
}
