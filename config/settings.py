"""Cunyi settings. Everything comes from the environment; `.env.example` documents each variable.

`CUNYI_ENV=production` switches on production mode: DEBUG off, HTTPS-only cookies and HSTS, and a
`SECRET_KEY` that must be given (the process refuses to start without it).
"""

import datetime
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("CUNYI_VAR_DIR", str(BASE_DIR / "var")))

CUNYI_ENV = env_str("CUNYI_ENV", "development")
PRODUCTION = CUNYI_ENV == "production"

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY must be set when CUNYI_ENV=production.")
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production-3f9a1c"

# The key of the keyed hash of ID numbers and patient identities (core.hashing), separate from
# SECRET_KEY so rotating one does not break the other; rotation is `manage.py rehash_keyed_values`.
HASH_KEY = env_str("CUNYI_HASH_KEY")
if not HASH_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("CUNYI_HASH_KEY must be set when CUNYI_ENV=production.")
    HASH_KEY = "dev-only-hash-key-do-not-use-in-production-8d2e41"

DEBUG = env_bool("DEBUG", default=not PRODUCTION)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if not PRODUCTION else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "config.admin_apps.CunyiAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "knox",  # terminals' API tokens, stored hashed (SHA-512) with an expiry (core.throttling)
    "drf_spectacular",
    "django_filters",
    "django_celery_beat",
    "axes",
    "clinics",
    "clinics.settlements",
    "staffing",
    "staffing.rosters",
    "staffing.payroll",
    "telemedicine",
    "notifications",
    "dashboard",
    "operations",
    "core",
    "config",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.pwa.PhonePagesGZipMiddleware",  # gzip for the phone pages only: BREACH reasoning in core.pwa
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    "clinics.password_change.OneTimePasswordMustBeChanged",  # a one-time password leads to setting one's own
    "clinics.permissions.TerminalsOnlyUseTheApi",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # Before every app's: config/templates overrides Django admin's own (admin/base_site.html
        # adds the icon) and holds the Chinese 403 page; app directories come after the admin's.
        "DIRS": [BASE_DIR / "config" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'cunyi.sqlite3'}"
# Persistent connections (seconds; 0 closes after each request), checked before each reuse.
DB_CONN_MAX_AGE = env_int("DB_CONN_MAX_AGE", 60 if PRODUCTION else 0)
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=DB_CONN_MAX_AGE, conn_health_checks=True)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the web server, worker and beat share one SQLite file.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
IS_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
# Reports read through the "reports" alias inside `operations.reports.reading_reports()`: a streaming
# replica when REPORTS_DATABASE_URL names one, else the primary; on PostgreSQL its sessions are
# read-only (default_transaction_read_only), so a report cannot write (docs/SCALING.md).
REPORTS_DATABASE_URL = env_str("REPORTS_DATABASE_URL", "")
DATABASES["reports"] = (
    dj_database_url.parse(REPORTS_DATABASE_URL, conn_max_age=DB_CONN_MAX_AGE, conn_health_checks=True)
    if REPORTS_DATABASE_URL
    else {**DATABASES["default"], "OPTIONS": dict(DATABASES["default"].get("OPTIONS", {}))}
)
if DATABASES["reports"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["reports"]["OPTIONS"]["options"] = "-c default_transaction_read_only=on"
DATABASES["reports"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["operations.reports.ReportsRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth and sessions ----------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "portal:login"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_MINUTES", 30) / 60
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_ENABLED = env_bool("AXES_ENABLED", True)
AXES_LOCKOUT_CALLABLE = "core.lockout.lockout_response"  # a Chinese page: how long to wait, whom to ask
# How many reverse proxies stand in front of the application (0: none, X-Forwarded-For is ignored;
# 1 behind the README's HTTPS reverse proxy). The client address in a lockout and in the API
# throttles is taken that many entries from the right of X-Forwarded-For (core.lockout.client_ip).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
AXES_CLIENT_IP_CALLABLE = "core.lockout.client_ip"

# --- Internationalisation: Chinese first ----------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
# These catalogues win over every app's and Django's own (the portal's "Log out" is 退出, not the
# admin's 注销): config's, and those of the shell pieces that moved out of config (core: the
# portal, lockout and rate-limit pages; dashboard: the admin index).
LOCALE_PATHS = [BASE_DIR / "config" / "locale", BASE_DIR / "core" / "locale", BASE_DIR / "dashboard" / "locale"]
# Form fields render dates as ISO 8601 (an <input type="date"> needs yyyy-MM-dd; Django's zh_Hans
# puts yyyy/MM/dd first): config/formats/zh_Hans/formats.py.
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "media/"
# Files only their owner may read (a job's export: full ID and bank numbers), served by a view
# that checks the reader, never by Caddy; outside MEDIA_ROOT and STATIC_ROOT (core.storage).
PRIVATE_FILES_DIR = Path(env_str("PRIVATE_FILES_DIR", str(VAR_DIR / "private")))

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: a missing, unknown, expired or revoked token answers 401 with WWW-Authenticate
    # (with session first, DRF turns every 401 into a 403).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.throttling.RateLimitedTokenAuthentication",  # knox tokens, "Bearer" or "Token"; a wrong one counts as anonymous
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "core.throttling.AnonymousCallsLimited",  # counts calls without credentials before the 401
        "rest_framework.permissions.IsAuthenticated",
        "clinics.permissions.RoleAllowed",
    ],
    # Rate limits (core.throttling): anonymous calls per client address, and writes on views with
    # a throttle_scope ("uploads": the settlement upload) per user. Over the rate: 429 in Chinese.
    "DEFAULT_THROTTLE_CLASSES": ["core.throttling.ScopedWriteRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("THROTTLE_ANON_RATE", "60/min"),
        "uploads": env_str("THROTTLE_UPLOAD_RATE", "30/min"),
    },
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,  # DRF's own address helper agrees with core.lockout.client_ip
    # JSON bodies only (a view that takes a file names MultiPartParser itself): a body declared
    # as JSON, form and multipart at once gives generated clients code that does not import.
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.SafeJSONParser",  # JSON nested too deeply is a 400, not a RecursionError
    ],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_PAGINATION_CLASS": "core.api.Pagination",
    "PAGE_SIZE": 50,
    # Filters, and ?ordering= by each list's explicit ordering_fields (an unknown field is a 400).
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend", "core.api.StrictOrderingFilter"],
    "DEFAULT_SCHEMA_CLASS": "core.schema.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.exception_handler",
}
# Terminals' API tokens (django-rest-knox, README "API tokens"): issued and rotated by a county-wide
# admin (admin → user roles and reach → API tokens, or `manage.py issue_api_token`), shown once,
# stored as a SHA-512 digest, valid API_TOKEN_TTL_DAYS by default (at most API_TOKEN_MAX_TTL_DAYS);
# a rotated token keeps working for the grace period chosen (default API_TOKEN_ROTATION_GRACE_HOURS).
# Expired tokens stay listed RETENTION_API_TOKENS_DAYS, then the daily retention run deletes them.
API_TOKEN_TTL_DAYS = env_int("API_TOKEN_TTL_DAYS", 365)
API_TOKEN_MAX_TTL_DAYS = env_int("API_TOKEN_MAX_TTL_DAYS", 730)
API_TOKEN_ROTATION_GRACE_HOURS = env_int("API_TOKEN_ROTATION_GRACE_HOURS", 24)
RETENTION_API_TOKENS_DAYS = env_int("RETENTION_API_TOKENS_DAYS", 30)
KNOX_TOKEN_MODEL = "knox.AuthToken"  # knox's own model; named so migrations can refer to it
REST_KNOX = {
    "TOKEN_TTL": datetime.timedelta(days=API_TOKEN_TTL_DAYS),
    "TOKEN_PREFIX": "cunyi_",  # recognisable in a leaked config file or a log
    "AUTH_HEADER_PREFIX": "Bearer",  # "Token" is accepted too (core.throttling)
    "AUTO_REFRESH": False,
}
# Idempotency-Key on the booking and settlement upload POSTs (core.idempotency): the first answer
# is kept IDEMPOTENCY_KEY_TTL_HOURS per user, endpoint and key (a retry gets it again); a request
# still at work holds its key IDEMPOTENCY_LEASE_SECONDS, after which a retry may take it over.
IDEMPOTENCY_KEY_TTL_HOURS = env_int("IDEMPOTENCY_KEY_TTL_HOURS", 24)
IDEMPOTENCY_LEASE_SECONDS = env_int("IDEMPOTENCY_LEASE_SECONDS", 120)
# Django's cache holds the throttle counters: in memory per process by default (one dev server, and
# each test worker its own); with several gunicorn workers give CACHE_URL (e.g. redis://redis:6379/1)
# so they count together.
CACHE_URL = env_str("CACHE_URL", "")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
        if CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "cunyi"}
    )
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Cunyi 村医 API",
    "DESCRIPTION": "乐业县村卫生室管理系统接口 — Leye County village clinic management API.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # One name per choice set, so the schema has no ambiguous "KindC18Enum"-style names.
    "ENUM_NAME_OVERRIDES": {
        "SexEnum": "staffing.models.Doctor.Sex",
        "LeaveKindEnum": "staffing.rosters.models.LeaveRequest.Kind",
        "ConsultStatusEnum": "telemedicine.models.ConsultBooking.Status",
        "ConsultConflictCodeEnum": "telemedicine.serializers.CONFLICT_CODES",
        "DecisionStatusEnum": "staffing.rosters.models.DecisionStatus",
    },
}

# --- Celery ---------------------------------------------------------------------------------
# Without CELERY_BROKER_URL the embedded filesystem transport under var/broker is used, so
# `make run` needs no Redis.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or "filesystem://"
CELERY_BROKER_TRANSPORT_OPTIONS = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        "control_folder": str(_broker_dir / "control"),
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
# Each app adds its periodic tasks here; django-celery-beat syncs them into the database.
CELERY_BEAT_SCHEDULE: dict = {}
# notifications: send due outbox rows every minute; run the registered reminder scans daily.
CELERY_BEAT_SCHEDULE["notifications-dispatch-due"] = {"task": "notifications.dispatch_due", "schedule": 60.0}
CELERY_BEAT_SCHEDULE["notifications-reminder-scans"] = {
    "task": "notifications.run_reminder_scans",
    "schedule": crontab(hour=6, minute=30),
}
# telemedicine: keep slots materialised for the booking horizon; mark no-shows after slot end + grace.
CELERY_BEAT_SCHEDULE["telemedicine-materialise-slots"] = {
    "task": "telemedicine.materialise_slots",
    "schedule": crontab(minute=15, hour="*/6"),
}
CELERY_BEAT_SCHEDULE["telemedicine-sweep-past-consults"] = {"task": "telemedicine.sweep_past_consults", "schedule": 300.0}
# settlements: monthly partitions of the log created ahead (PostgreSQL); last month's activity anomalies.
CELERY_BEAT_SCHEDULE["settlements-create-partitions"] = {
    "task": "settlements.create_partitions",
    "schedule": crontab(hour=1, minute=10),
}
CELERY_BEAT_SCHEDULE["settlements-detect-anomalies"] = {
    "task": "settlements.detect_anomalies",
    "schedule": crontab(hour=2, minute=20, day_of_month="2"),
}
# staffing: a doctor's login follows the posting in force, so a move recorded in advance takes the
# login to the new clinic on its start date (just after midnight, China time).
CELERY_BEAT_SCHEDULE["staffing-sync-doctor-logins"] = {
    "task": "staffing.sync_doctor_logins",
    "schedule": crontab(hour=0, minute=5),
}
# operations: a worker's heartbeat every minute (the health check reads it), the nightly backup, the
# daily retention run, and jobs nobody is working on sent again.
CELERY_BEAT_SCHEDULE["operations-heartbeat"] = {"task": "operations.heartbeat", "schedule": 60.0}
CELERY_BEAT_SCHEDULE["operations-backup-database"] = {
    "task": "operations.backup_database",
    "schedule": crontab(hour=env_int("BACKUP_HOUR", 2), minute=40),
}
CELERY_BEAT_SCHEDULE["operations-apply-retention"] = {
    "task": "operations.apply_retention",
    "schedule": crontab(hour=3, minute=30),
}
CELERY_BEAT_SCHEDULE["operations-requeue-stale-jobs"] = {"task": "operations.requeue_stale_jobs", "schedule": 300.0}
# A job's result file is deleted from disk once it expires (JOBS_FILE_RETENTION_HOURS), hourly.
CELERY_BEAT_SCHEDULE["operations-sweep-job-files"] = {"task": "operations.sweep_job_files", "schedule": crontab(minute=7)}

# --- Operations -----------------------------------------------------------------------------
# Long work (core.jobs): a running job whose progress is older than the lease is taken over by a
# redelivered task; progress is written at most this often.
JOBS_LEASE_SECONDS = env_int("JOBS_LEASE_SECONDS", 300)
JOBS_PROGRESS_INTERVAL_SECONDS = env_int("JOBS_PROGRESS_INTERVAL_SECONDS", 1)
# A job's result file (an export) may be downloaded by its starter for this long, then is deleted.
JOBS_FILE_RETENTION_HOURS = env_int("JOBS_FILE_RETENTION_HOURS", 24)
# Health (/health/): how old the worker's heartbeat and beat's last run may be, how long the oldest
# due message may wait, how long the broker may take to answer; anonymous calls per address a minute.
HEALTH_WORKER_MAX_AGE_SECONDS = env_int("HEALTH_WORKER_MAX_AGE_SECONDS", 180)
HEALTH_BEAT_MAX_AGE_SECONDS = env_int("HEALTH_BEAT_MAX_AGE_SECONDS", 420)  # beat saves last_run_at every 3 min
HEALTH_OUTBOX_MAX_DELAY_SECONDS = env_int("HEALTH_OUTBOX_MAX_DELAY_SECONDS", 900)
HEALTH_BROKER_TIMEOUT_SECONDS = env_int("HEALTH_BROKER_TIMEOUT_SECONDS", 3)
HEALTH_ANONYMOUS_PER_MINUTE = env_int("HEALTH_ANONYMOUS_PER_MINUTE", 30)
# Backups (pg_dump custom format, mode 0600): where, and how many daily and monthly copies stay.
BACKUP_DIR = Path(env_str("BACKUP_DIR", str(VAR_DIR / "backups")))
BACKUP_KEEP_DAILY = env_int("BACKUP_KEEP_DAILY", 14)
BACKUP_KEEP_MONTHLY = env_int("BACKUP_KEEP_MONTHLY", 12)
# Retention: delivered/cancelled outbox rows, expired sessions and finished jobs are deleted after
# these ages; audit rows are archived to VAR_DIR/archive (then deleted) after RETENTION_AUDIT_YEARS.
RETENTION_OUTBOX_DAYS = env_int("RETENTION_OUTBOX_DAYS", 180)
RETENTION_EXPIRED_SESSIONS_DAYS = env_int("RETENTION_EXPIRED_SESSIONS_DAYS", 7)
RETENTION_JOBS_DAYS = env_int("RETENTION_JOBS_DAYS", 90)
RETENTION_AUDIT_YEARS = env_int("RETENTION_AUDIT_YEARS", 10)
RETENTION_AUDIT_BATCH = env_int("RETENTION_AUDIT_BATCH", 100_000)

# --- E-mail and SMS -------------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "cunyi@localhost")
# Notifications: outbox retries and the SMS backend (console log by default, or the HTTP gateway).
NOTIFICATIONS_MAX_ATTEMPTS = env_int("NOTIFICATIONS_MAX_ATTEMPTS", 6)
NOTIFICATIONS_RETRY_BASE_SECONDS = env_int("NOTIFICATIONS_RETRY_BASE_SECONDS", 60)
NOTIFICATIONS_RETRY_MAX_SECONDS = env_int("NOTIFICATIONS_RETRY_MAX_SECONDS", 6 * 3600)
NOTIFICATIONS_CLAIM_LEASE_SECONDS = env_int("NOTIFICATIONS_CLAIM_LEASE_SECONDS", 300)
NOTIFICATIONS_BATCH_SIZE = env_int("NOTIFICATIONS_BATCH_SIZE", 100)
NOTIFICATIONS_DISPATCH_TIME_BUDGET_SECONDS = env_int("NOTIFICATIONS_DISPATCH_TIME_BUDGET_SECONDS", 50)
# {channel code: dotted backend class} replacing a registered channel's backend (tests plug in fakes).
NOTIFICATIONS_CHANNEL_BACKENDS: dict[str, str] = {}
NOTIFICATIONS_DISPATCH_ON_COMMIT = env_bool("NOTIFICATIONS_DISPATCH_ON_COMMIT", True)
# A request hands a message to the broker (the dispatch nudge, a job's start) waiting at most this
# long (seconds); after a publish that failed or timed out none is tried for the pause (core.broker;
# beat's sweeps still send everything).
BROKER_PUBLISH_TIMEOUT_SECONDS = float(env_str("BROKER_PUBLISH_TIMEOUT_SECONDS", "0.5"))
BROKER_PUBLISH_PAUSE_SECONDS = env_int("BROKER_PUBLISH_PAUSE_SECONDS", 30)
NOTIFICATIONS_SMS_BACKEND = env_str("NOTIFICATIONS_SMS_BACKEND", "notifications.channels.ConsoleSMSBackend")
SMS_GATEWAY_URL = env_str("SMS_GATEWAY_URL", "")
SMS_GATEWAY_KEY = env_str("SMS_GATEWAY_KEY", "")
SMS_GATEWAY_TEMPLATE_ID = env_str("SMS_GATEWAY_TEMPLATE_ID", "")
SMS_GATEWAY_TIMEOUT = env_int("SMS_GATEWAY_TIMEOUT", 10)
# 企业微信 (WeChat Work) application messages: the channel is used once corp id, agent id and secret
# are all set. The access token is cached in CACHES["default"] (Redis when CACHE_URL is set, so
# every worker shares one).
WECOM_CORP_ID = env_str("WECOM_CORP_ID", "")
WECOM_AGENT_ID = env_str("WECOM_AGENT_ID", "")
WECOM_SECRET = env_str("WECOM_SECRET", "")
WECOM_API_BASE = env_str("WECOM_API_BASE", "https://qyapi.weixin.qq.com")
WECOM_TIMEOUT = env_int("WECOM_TIMEOUT", 10)

# --- Domain settings ------------------------------------------------------------------------
CUNYI_DEMO_PASSWORD = env_str("CUNYI_DEMO_PASSWORD", "cunyi-demo-2026")
CUNYI_SEEDS_DIR = BASE_DIR / "seeds"
# Teleconsultation: when the room opens, how long past the slot's end it stays open while the
# consult is in progress, when cancelling closes, the no-show grace period and how far ahead
# slots are bookable.
TELECONSULT_VIDEO_OPENS_MINUTES = env_int("TELECONSULT_VIDEO_OPENS_MINUTES", 10)
TELECONSULT_ROOM_OVERRUN_MINUTES = env_int("TELECONSULT_ROOM_OVERRUN_MINUTES", 60)
# The county's Jitsi Meet server with token authentication (README, "Teleconsultation video"):
# each party's room link carries a JWT (HS256) signed with JITSI_APP_SECRET. Without
# JITSI_BASE_URL the pages say that video is not configured.
JITSI_BASE_URL = env_str("JITSI_BASE_URL", "")
JITSI_APP_ID = env_str("JITSI_APP_ID", "cunyi")
JITSI_APP_SECRET = env_str("JITSI_APP_SECRET", "")
JITSI_AUDIENCE = env_str("JITSI_AUDIENCE", "jitsi")
JITSI_SUB = env_str("JITSI_SUB", "")  # empty: the host name of JITSI_BASE_URL
TELECONSULT_CANCEL_CLOSES_HOURS = env_int("TELECONSULT_CANCEL_CLOSES_HOURS", 2)
TELECONSULT_NO_SHOW_GRACE_MINUTES = env_int("TELECONSULT_NO_SHOW_GRACE_MINUTES", 30)
TELECONSULT_SLOT_HORIZON_DAYS = env_int("TELECONSULT_SLOT_HORIZON_DAYS", 28)
# Rosters: an on-call duty (weekends and public holidays) starts when the clinic opens and lasts
# this many hours (24: until the clinic opens the next morning); a day duty is the clinic's opening
# hours. The calendar feeds show both with these times.
ROSTER_ON_CALL_HOURS = env_int("ROSTER_ON_CALL_HOURS", 24)
# Calendar feeds (staffing.rosters.ical): the domain every event's UID ends in (duty-…@<domain>), so
# two deployments never make the same UID; empty: the first name in ALLOWED_HOSTS that is a domain
# (not an address, not localhost), else "cunyi.invalid". Set it once and keep it: calendar apps
# know the events by their UIDs. A new feed reminds this many minutes before each duty (720: at
# 20:00 the evening before an 08:00 start; the doctor switches it off or changes it on the phone);
# a cancelled duty stays in the feed, marked cancelled, this many days after it was cancelled.
ICAL_UID_DOMAIN = env_str("ICAL_UID_DOMAIN", "")
ICAL_ALARM_MINUTES_BEFORE = env_int("ICAL_ALARM_MINUTES_BEFORE", 720)
ICAL_CANCELLED_KEEP_DAYS = env_int("ICAL_CANCELLED_KEEP_DAYS", 60)
# Payroll: "county" (one run a month) or "township" (one run per township a month); leave types
# that are unpaid (pro-rated out of monthly components); months back a run corrects.
PAYROLL_RUN_SCOPE = env_str("PAYROLL_RUN_SCOPE", "county")
PAYROLL_UNPAID_LEAVE_TYPES = env_list("PAYROLL_UNPAID_LEAVE_TYPES", "personal")
PAYROLL_CORRECTION_MONTHS = env_int("PAYROLL_CORRECTION_MONTHS", 3)
# Read-only work a second process can do beside the caller (core.forked: a pay run's corrections,
# recomputing the approved months while the month is calculated). Forks only on PostgreSQL, from a
# single-threaded process (a Celery prefork child, a management command) outside any enclosing
# transaction; off, or where it cannot fork, the same work runs in the caller.
FORKED_READS = env_bool("FORKED_READS", True)
# A pay policy version in force from a day other than the 1st: "prorate" (default) pays each
# monthly amount pro rata by the days each version is in force, one payslip line per version;
# "refuse" refuses such a version at entry (admin and services) — the county then enters versions
# from the 1st of a month only. Versions stored before the switch are still applied pro rata.
PAYROLL_MIDMONTH_POLICY = env_str("PAYROLL_MIDMONTH_POLICY", "prorate")
if PAYROLL_MIDMONTH_POLICY not in ("prorate", "refuse"):
    raise ImproperlyConfigured('PAYROLL_MIDMONTH_POLICY must be "prorate" or "refuse"')
# A run covering more doctors than this is calculated and approved as a job on a worker, with progress.
PAYROLL_JOB_THRESHOLD = env_int("PAYROLL_JOB_THRESHOLD", 200)
# The number a doctor told of a bank-account change calls if it was not them ("" names the township health centre).
PAYROLL_BANK_CHANGE_CONTACT = env_str("PAYROLL_BANK_CHANGE_CONTACT", "")
# Bank files: a 16–19 digit account starting 62 (a UnionPay card) must also pass the Luhn check
# digit to be paid by file. Off by default: not every card a 农信 or 邮储 branch issued passes it.
PAYROLL_BANK_CARD_LUHN = env_bool("PAYROLL_BANK_CARD_LUHN", False)
# Settlements: the upper bound of each amount of one settlement (yuan; a county's outpatient
# visit is far below it). A row above it is rejected with its reason; the monthly rollup is sized
# so that no sum of stored rows can overflow it.
try:
    SETTLEMENT_MAX_AMOUNT = Decimal(env_str("SETTLEMENT_MAX_AMOUNT", "100000.00")).quantize(Decimal("0.01"))
except InvalidOperation as exc:
    raise ImproperlyConfigured("SETTLEMENT_MAX_AMOUNT must be an amount in yuan, like 100000.00") from exc
if not Decimal("0") < SETTLEMENT_MAX_AMOUNT <= Decimal("9999999999.99"):
    raise ImproperlyConfigured("SETTLEMENT_MAX_AMOUNT must be above 0 and at most 9999999999.99 (the log's amounts)")
# Settlements: the 2207 amount relations the shared document marks unconfirmed (codes of
# clinics.settlements.rules.RELATIONS: total_parts, personal_share, fund_items, mulaid_in_acct) are
# warnings on the import report until the county confirms them against real platform answers:
# list a code here (comma-separated) and a row breaking it is rejected instead. A relation holds
# within SETTLEMENT_RELATION_TOLERANCE yuan (0.00: to the cent).
SETTLEMENT_CONFIRMED_RELATIONS = tuple(
    code.strip() for code in env_str("SETTLEMENT_CONFIRMED_RELATIONS", "").split(",") if code.strip()
)
try:
    SETTLEMENT_RELATION_TOLERANCE = Decimal(env_str("SETTLEMENT_RELATION_TOLERANCE", "0.00")).quantize(Decimal("0.01"))
except InvalidOperation as exc:
    raise ImproperlyConfigured("SETTLEMENT_RELATION_TOLERANCE must be an amount in yuan, like 0.01") from exc
if not Decimal("0") <= SETTLEMENT_RELATION_TOLERANCE <= Decimal("1.00"):
    raise ImproperlyConfigured("SETTLEMENT_RELATION_TOLERANCE must be between 0.00 and 1.00 yuan")
# The county's 6-digit insurance division code (医保区划, Leye 451028): a clinic's platform
# institution code is H + it + 5 digits. Used where a clinic's own codes do not tell it.
INSURANCE_ADMDVS = env_str("INSURANCE_ADMDVS", "451028")
if not re.fullmatch(r"[0-9]{6}", INSURANCE_ADMDVS):
    raise ImproperlyConfigured("INSURANCE_ADMDVS must be a 6-digit division code, like 451028")
# An import previewed (doctor import) waits this long for its confirmation; then upload again.
IMPORT_PREVIEW_SECONDS = env_int("IMPORT_PREVIEW_SECONDS", 30 * 60)

# --- Uploads --------------------------------------------------------------------------------
# Every CSV/XLSX upload (imports, settlement files, bureau statements) is checked against these
# before it is parsed (core.tabular.enforce_upload_limits); a file over one is refused with a
# Chinese message naming the limit. Figures for a limit-sized hostile XLSX: bench/upload_limits.py.
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 50 * 1024 * 1024)
UPLOAD_MAX_ROWS = env_int("UPLOAD_MAX_ROWS", 500_000)  # data rows, the header not counted
# An admin's settlement file above this size is stored under VAR_DIR and imported by a job.
SETTLEMENT_JOB_THRESHOLD_BYTES = env_int("SETTLEMENT_JOB_THRESHOLD_BYTES", 5 * 1024 * 1024)
# Reconciling a month whose bureau statement names at least this many clinics runs as a job.
RECONCILE_JOB_MIN_CLINICS = env_int("RECONCILE_JOB_MIN_CLINICS", 50)
# An export of at least this many rows (the doctor register, the reconciliation's detail lines)
# runs as a job whose file the starter downloads from the task page; smaller ones stay immediate.
EXPORT_JOB_MIN_ROWS = env_int("EXPORT_JOB_MIN_ROWS", 5_000)
# The roster changelist's regenerate/publish of more than one township, or of this many rosters, runs as a job.
ROSTER_JOB_MIN_ROSTERS = env_int("ROSTER_JOB_MIN_ROSTERS", 200)
# A request body read into memory (an API upload of up to 5,000 settlements is about 3 MB of JSON).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 16 * 1024 * 1024)
# XLSX is parsed cell by cell in Python (tens of thousands of cells a second): a sheet may hold at
# most XLSX_MAX_CELLS filled cells (rows × columns; 10,000 rows of 20 columns) and the shared-strings
# table at most as many entries. Larger tables go in as CSV.
XLSX_MAX_CELLS = env_int("XLSX_MAX_CELLS", 200_000)
XLSX_MAX_UNCOMPRESSED_BYTES = env_int("XLSX_MAX_UNCOMPRESSED_BYTES", 100 * 1024 * 1024)  # all parts together
XLSX_MAX_COMPRESSION_RATIO = env_int("XLSX_MAX_COMPRESSION_RATIO", 100)  # per part over 1 MB unpacked
XLSX_MAX_MEMBERS = env_int("XLSX_MAX_MEMBERS", 500)  # parts in the zip

# --- Security -------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^health/$"]  # the containers' own healthchecks call it over plain HTTP
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
