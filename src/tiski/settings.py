"""Django settings for Tiski, read from the environment (see docs/configuration.md)."""

from __future__ import annotations

import datetime
import os
from pathlib import Path
from typing import Any

import dj_database_url
from django.utils.translation import gettext_lazy as _

from tiski.conf import data_dir, env_bool, env_int, env_list, secret_key

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = data_dir()

SECRET_KEY = secret_key(DATA_DIR)
DEBUG = env_bool("TISKI_DEBUG")
ALLOWED_HOSTS = env_list("TISKI_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("TISKI_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "channels",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "ninja",  # serves the API docs' assets locally: no CDN for a self-hosted install
    "csp",
    "axes",  # login throttling (docs/security.md, "Logging in")
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "mozilla_django_oidc",
    "tiski.core",
    "tiski.accounts",
    "tiski.customers",
    "tiski.cases",
    "tiski.channels",
    "tiski.channels.chat",
    "tiski.channels.meta",
    "tiski.channels.voice",
    "tiski.notifications",
    "tiski.routing",
    "tiski.sla",
    "tiski.automation",
    "tiski.macros",
    "tiski.proactive",
    "tiski.surveys",
    "tiski.knowledge",
    "tiski.reports",
    "tiski.reports.delivery",
    "tiski.console",
    "tiski.api",
    "tiski.audit",
    "tiski.simulators",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "tiski.core.security.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "tiski.core.limits.PublicLimitsMiddleware",  # 413/429 of the public endpoints, before a view reads the body
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "tiski.accounts.session.SessionSecurityMiddleware",  # idle/absolute expiry, required two-factor
    "tiski.audit.context.AuditContextMiddleware",
    "tiski.routing.middleware.AgentSeenMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a lockout into the login page's message
]

ROOT_URLCONF = "tiski.urls"
WSGI_APPLICATION = "tiski.wsgi.application"
ASGI_APPLICATION = "tiski.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: DATABASE_URL (postgres://… or sqlite:///…), else a SQLite file in the data directory.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'tiski.sqlite3'}",
        conn_max_age=env_int("TISKI_DB_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers run beside the one writer; IMMEDIATE takes the write lock at BEGIN, so two
        # writers queue on busy_timeout instead of failing with "database is locked" mid-transaction.
        # (WAL is set once per process by tiski.core.sqlite: it is stored in the file, and costly per connection.)
        "init_command": "PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool("TISKI_DB_POOL", default=True):
    # A pool per process: under ASGI every request and every database call of a WebSocket consumer would open
    # a new connection (Django closes it after each); returned to the pool instead, it is reused at once.
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # Django's persistent connections and its pool exclude each other
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": env_int("TISKI_DB_POOL_SIZE", 10),
        "timeout": 30,
    }
if os.environ.get("TISKI_TEST_DB_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": os.environ["TISKI_TEST_DB_NAME"]}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "tiski.accounts.throttle.ThrottleBackend",  # refuses a locked-out username+address before the password check
    "django.contrib.auth.backends.ModelBackend",
    "tiski.accounts.oidc.OidcBackend",  # single sign-on; inert unless TISKI_OIDC_CLIENT_ID is set
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "console:inbox"
LOGOUT_REDIRECT_URL = "login"

# Internationalisation: English and Finnish; the browser's locale picks, Finnish when it asks for it.
LANGUAGE_CODE = os.environ.get("TISKI_LANGUAGE", "en")
LANGUAGES = [("en", _("English")), ("fi", _("Finnish"))]
TIME_ZONE = os.environ.get("TISKI_TIME_ZONE", "Europe/Helsinki")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise serves from the finders; an absent root only makes it warn
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("TISKI_MEDIA_ROOT") or DATA_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Security defaults.
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
HTTPS = env_bool("TISKI_HTTPS")
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("TISKI_HSTS_SECONDS", 365 * 24 * 3600)
# Content Security Policy (django-csp) on every page: Tiski's own scripts and styles only, no inline script and
# no eval (htmx runs with allowEval off), never framed; the web form names the sites that may embed it. Inline
# style attributes stay allowed: bars and charts are sized by the server.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
TISKI_PERMISSIONS_POLICY = {"camera": "()", "microphone": "()", "geolocation": "()", "payment": "()", "usb": "()"}

# Email out: the company's own SMTP relay, configured from the environment.
# Messaging providers. Webhooks are signed over the public URL: behind a proxy set the base it is reached at.
TISKI_WEBHOOK_BASE_URL = os.environ.get("TISKI_WEBHOOK_BASE_URL", "")
# The providers' REST APIs; tests and `tiski demo` point these at the local provider simulators.
TISKI_TWILIO_API_URL = os.environ.get("TISKI_TWILIO_API_URL", "https://api.twilio.com")
TISKI_META_GRAPH_URL = os.environ.get("TISKI_META_GRAPH_URL", "https://graph.facebook.com/v21.0")
TISKI_SIMULATORS = env_bool("TISKI_SIMULATORS")  # `tiski demo`: the provider simulators and /simulator/
TISKI_CHAT_MAX_ATTACHMENT_BYTES = env_int("TISKI_CHAT_MAX_ATTACHMENT_MB", 10) * 1024 * 1024
TISKI_AUDIT_RETENTION_DAYS = env_int("TISKI_AUDIT_RETENTION_DAYS", 730)  # `tiski audit_prune` deletes older entries

EMAIL_BACKEND = os.environ.get("TISKI_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = os.environ.get("TISKI_SMTP_HOST", "localhost")
EMAIL_PORT = env_int("TISKI_SMTP_PORT", 25)
EMAIL_HOST_USER = os.environ.get("TISKI_SMTP_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("TISKI_SMTP_PASSWORD", "")
EMAIL_USE_TLS = env_bool("TISKI_SMTP_STARTTLS")
EMAIL_USE_SSL = env_bool("TISKI_SMTP_SSL")
EMAIL_TIMEOUT = env_int("TISKI_SMTP_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = os.environ.get("TISKI_FROM_EMAIL", "Tiski <support@tiski.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
TISKI_LOCAL_MAIL_DIR = DATA_DIR / "sent-mail"

# Email service providers (django-anymail): send with TISKI_EMAIL_BACKEND=anymail.backends.mailgun.EmailBackend
# (or .postmark / .sendgrid / .amazon_ses); receive on /email/webhooks/<provider>/inbound/. Only values that are
# set are passed on: an empty Mailgun signing key would let anymail accept posts signed with "".
ANYMAIL: dict[str, Any] = {
    name: value
    for name, value in {
        "MAILGUN_API_KEY": os.environ.get("TISKI_MAILGUN_API_KEY", ""),
        "MAILGUN_SENDER_DOMAIN": os.environ.get("TISKI_MAILGUN_SENDER_DOMAIN", ""),
        "MAILGUN_API_URL": os.environ.get("TISKI_MAILGUN_API_URL", ""),  # https://api.eu.mailgun.net/v3 in the EU
        "MAILGUN_WEBHOOK_SIGNING_KEY": os.environ.get("TISKI_MAILGUN_WEBHOOK_SIGNING_KEY", ""),
        "SENDGRID_API_KEY": os.environ.get("TISKI_SENDGRID_API_KEY", ""),
        "POSTMARK_SERVER_TOKEN": os.environ.get("TISKI_POSTMARK_SERVER_TOKEN", ""),
        "WEBHOOK_SECRET": os.environ.get("TISKI_ANYMAIL_WEBHOOK_SECRET", ""),  # "user:password" (basic auth)
    }.items()
    if value
}
if os.environ.get("TISKI_AMAZON_SES_REGION"):
    ANYMAIL["AMAZON_SES_CLIENT_PARAMS"] = {"region_name": os.environ["TISKI_AMAZON_SES_REGION"]}

# Background work: Django's task API with the database backend (no extra server on one machine).
TASKS = {
    "default": {
        "BACKEND": os.environ.get("TISKI_TASK_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

# Real time: in-memory channel layer on one machine, Redis when scaled out.
REDIS_URL = os.environ.get("TISKI_REDIS_URL", "")
if REDIS_URL:
    # redis-py's 5 s socket timeout equals channels_redis's blocking receive: idle consoles would drop every 5 s.
    # Its pool allows 100 connections and then raises instead of waiting: a burst of sockets closing at once
    # (a proxy restart drops every chat) needs more, each group_add/discard/send holding one for a moment.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "socket_timeout": 30,
                        "max_connections": env_int("TISKI_REDIS_MAX_CONNECTIONS", 1000),
                    }
                ]
            },
        }
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Product settings.
TISKI_CASE_PREFIX = os.environ.get("TISKI_CASE_PREFIX", "TSK")
TISKI_CASE_NUMBER_OFFSET = 1000
TISKI_RULE_WEBHOOK_ATTEMPTS = env_int("TISKI_RULE_WEBHOOK_ATTEMPTS", 6)  # a rule's webhook call, with backoff
TISKI_RULE_WEBHOOK_BACKOFF_S = env_int("TISKI_RULE_WEBHOOK_BACKOFF_S", 30)
TISKI_PHONE_REGION = os.environ.get("TISKI_PHONE_REGION", "FI")
TISKI_EMAIL_STRIP_PLUS = env_bool("TISKI_EMAIL_STRIP_PLUS")  # anssi+shop@example.com is anssi@example.com
TISKI_MATCH_MIN_SCORE = env_int("TISKI_MATCH_MIN_SCORE", 60)  # suggest a known customer from this score (0-100)
TISKI_BASE_URL = os.environ.get("TISKI_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
TISKI_WEBFORM_MAX_ATTACHMENT_BYTES = env_int("TISKI_WEBFORM_MAX_ATTACHMENT_MB", 10) * 1024 * 1024
TISKI_WEBFORM_MAX_ATTACHMENTS = env_int("TISKI_WEBFORM_MAX_ATTACHMENTS", 5)
TISKI_WEBFORM_RATE_LIMIT = env_int("TISKI_WEBFORM_RATE_LIMIT", 10)  # submissions per IP per window
TISKI_WEBFORM_RATE_WINDOW_S = env_int("TISKI_WEBFORM_RATE_WINDOW_S", 3600)
TISKI_WEBFORM_EMBED_ORIGINS = env_list("TISKI_WEBFORM_EMBED_ORIGINS", "")
TISKI_TRUSTED_PROXIES = env_list("TISKI_TRUSTED_PROXIES", "")  # peers whose X-Forwarded-For is believed
TISKI_OUTBOX_MAX_ATTEMPTS = env_int("TISKI_OUTBOX_MAX_ATTEMPTS", 8)
TISKI_OUTBOX_BACKOFF_S = env_int("TISKI_OUTBOX_BACKOFF_S", 30)
# A delivery a dead worker left "sending" is in doubt: after this long without the provider confirming it,
# it is sent again.
TISKI_OUTBOX_STALE_CLAIM_S = env_int("TISKI_OUTBOX_STALE_CLAIM_S", 600)
TISKI_INBOX_PAGE_SIZE = env_int("TISKI_INBOX_PAGE_SIZE", 50)
# Non-file request data held in memory: a provider's inbound-mail webhook posts the whole mail as a field, so
# this bounds the largest mail received that way (a 25 MB mail is ~34 MB base64-encoded).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("TISKI_MAX_REQUEST_MB", 40) * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# The largest request body at all (checked before Django reads it): the larger of a provider's mail post and
# a full contact form.
TISKI_MAX_REQUEST_BYTES = max(
    DATA_UPLOAD_MAX_MEMORY_SIZE,
    TISKI_WEBFORM_MAX_ATTACHMENTS * TISKI_WEBFORM_MAX_ATTACHMENT_BYTES + 1024 * 1024,
)
# Public endpoints (tiski.core.limits): the largest body of a messaging provider's webhook call and of a public
# form post without files, and the rates, "count/seconds" per client address (per token for the API), each
# from TISKI_RATE_<NAME>; over a rate the answer is 429 with Retry-After, over a size 413.
TISKI_WEBHOOK_MAX_KB = env_int("TISKI_WEBHOOK_MAX_KB", 1024)
TISKI_PUBLIC_POST_MAX_KB = env_int("TISKI_PUBLIC_POST_MAX_KB", 64)
TISKI_CHAT_MAX_FRAME_KB = env_int("TISKI_CHAT_MAX_FRAME_KB", 16)  # one chat WebSocket frame
TISKI_RATES = {
    name: os.environ.get(f"TISKI_RATE_{name.upper()}", "").strip() or default
    for name, default in {
        "webform": f"{TISKI_WEBFORM_RATE_LIMIT}/{TISKI_WEBFORM_RATE_WINDOW_S}",  # submissions
        "chat": "60/60",  # attachment uploads and downloads
        "chat_frame": "30/10",  # frames of one chat socket
        "chat_open": "30/60",  # chat sockets opened per client address
        "help": "120/60",  # searches and share links
        "help_suggest": "120/300",  # suggestions for the form and the widget
        "help_feedback": "20/600",
        "survey": "30/300",
        "webhook": "1200/60",  # per provider address
        "api": "600/60",  # per token
    }.items()
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("TISKI_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# ---------------------------------------------------------------------------------------------------------
# Collaboration around customers: notifications by email, the marketing-suppression webhook.
# (docs/configuration.md, "Following, notifications and marketing suppression")
TISKI_NOTIFY_EMAIL_MAX_ATTEMPTS = env_int("TISKI_NOTIFY_EMAIL_MAX_ATTEMPTS", 5)
TISKI_NOTIFY_EMAIL_BACKOFF_S = env_int("TISKI_NOTIFY_EMAIL_BACKOFF_S", 60)
# POSTed {"event": "customer.marketing_suppression", …} whenever a customer's "do not market" changes; signed
# with HMAC-SHA256 of the body under the secret (X-Tiski-Signature: sha256=<hex>). Nothing is sent while unset.
TISKI_MARKETING_WEBHOOK_URL = os.environ.get("TISKI_MARKETING_WEBHOOK_URL", "").strip()
TISKI_MARKETING_WEBHOOK_SECRET = os.environ.get("TISKI_MARKETING_WEBHOOK_SECRET", "")
TISKI_MARKETING_WEBHOOK_MAX_ATTEMPTS = env_int("TISKI_MARKETING_WEBHOOK_MAX_ATTEMPTS", 10)
TISKI_MARKETING_WEBHOOK_BACKOFF_S = env_int("TISKI_MARKETING_WEBHOOK_BACKOFF_S", 30)

# ---------------------------------------------------------------------------------------------------------
# Omni-channel routing (docs/configuration.md, "Routing").
# Units of an agent's capacity (100 by default) that one item of work takes, by channel: "phone=100,chat=33".
TISKI_PROACTIVE_EVERY_MINUTES = env_int("TISKI_PROACTIVE_EVERY_MINUTES", 5)  # how often proactive rules look
TISKI_ROUTING_UNITS = {
    "phone": 100,
    "callback": 100,  # the agent is on the phone while calling back
    "outbound": 100,  # a proactive outbound call: on the phone, too
    "chat": 33,
    "email": 10,
    "webform": 10,
    "sms": 20,
    "whatsapp": 25,
    "messenger": 25,
    "instagram": 25,
} | {
    kind.strip(): int(units)
    for kind, _sep, units in (pair.partition("=") for pair in env_list("TISKI_ROUTING_UNITS", ""))
    if kind.strip() and units.strip().isdigit()
}
# Minutes within which work must be answered when its queue sets no target of its own: "chat=2,email=480".
TISKI_RESPONSE_TARGETS = {
    "phone": 2,
    "callback": 15,  # a callback request is called back within 15 minutes of its window opening
    "outbound": 480,  # a proactive call: within the working day
    "chat": 2,
    "email": 480,
    "webform": 480,
    "sms": 60,
    "whatsapp": 60,
    "messenger": 60,
    "instagram": 60,
} | {
    kind.strip(): int(minutes)
    for kind, _sep, minutes in (pair.partition("=") for pair in env_list("TISKI_RESPONSE_TARGETS", ""))
    if kind.strip() and minutes.strip().isdigit()
}
# Callback requests: minutes before the 2nd, 3rd … attempt after one that did not reach the customer; when
# they are used up the request is unreachable and the customer is told by SMS or email.
TISKI_CALLBACK_RETRY_MINUTES = [
    int(m) for m in env_list("TISKI_CALLBACK_RETRY_MINUTES", "15,60") if m.strip().isdigit()
]
# The router runs inside the web server ("embedded") or only in `tiski router` processes ("off" here).
TISKI_ROUTER = os.environ.get("TISKI_ROUTER", "embedded")
TISKI_ROUTER_POLL_S = float(os.environ.get("TISKI_ROUTER_POLL_S", "0.5"))  # timers and other processes' work
TISKI_PRESENCE_ON_LOGIN = os.environ.get("TISKI_PRESENCE_ON_LOGIN", "online")  # or "offline": the agent chooses
TISKI_PRESENCE_IDLE_MINUTES = env_int("TISKI_PRESENCE_IDLE_MINUTES", 15)  # no activity → away (0: never)
TISKI_DETECT_LANGUAGES = env_list("TISKI_DETECT_LANGUAGES", "fi,en,sv")  # languages the router tells apart

# ---------------------------------------------------------------------------------------------------------
# Reports out of Tiski (docs/configuration.md, "Report exports and scheduled reports"; docs/reports-export.md).
# A directory the nightly export writes each day's figures to (CSV and Parquet, <dir>/<YYYY-MM-DD>/); empty: off.
TISKI_REPORTS_EXPORT_DIR = os.environ.get("TISKI_REPORTS_EXPORT_DIR", "").strip()
# With TISKI_REPORTS_EXPORT_DIR=s3://bucket/prefix: the S3-compatible endpoint (empty: AWS); credentials from the
# environment as boto3 reads them (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION).
TISKI_REPORTS_S3_ENDPOINT_URL = os.environ.get("TISKI_REPORTS_S3_ENDPOINT_URL", "").strip()
TISKI_REPORTS_EXPORT_AT = os.environ.get("TISKI_REPORTS_EXPORT_AT", "02:00").strip()  # local time, HH:MM

# ---------------------------------------------------------------------------------------------------------
# Logging in (docs/security.md, "Logging in"): throttling, two-factor, session lifetime, single sign-on.
TISKI_LOGIN_FAILURES = env_int("TISKI_LOGIN_FAILURES", 5)  # failed logins of one username from one address …
TISKI_LOGIN_LOCKOUT_MINUTES = env_int("TISKI_LOGIN_LOCKOUT_MINUTES", 15)  # … lock that pair out this long
AXES_FAILURE_LIMIT = TISKI_LOGIN_FAILURES
AXES_COOLOFF_TIME = datetime.timedelta(minutes=TISKI_LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "tiski.accounts.throttle.axes_client_ip"
AXES_LOCKOUT_CALLABLE = "tiski.accounts.throttle.lockout_response"
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # the lockout ends when it says it does
AXES_VERBOSE = False
TISKI_REQUIRE_2FA = env_bool("TISKI_REQUIRE_2FA")  # every console user sets up two-factor before working
OTP_TOTP_ISSUER = os.environ.get("TISKI_2FA_ISSUER", "Tiski")
TISKI_SESSION_HOURS = env_int("TISKI_SESSION_HOURS", 12)  # log out this long after logging in, however active
TISKI_SESSION_IDLE_MINUTES = env_int("TISKI_SESSION_IDLE_MINUTES", 60)  # … or after this long without activity
SESSION_COOKIE_AGE = TISKI_SESSION_HOURS * 3600
# Single sign-on over OpenID Connect (mozilla-django-oidc); off unless TISKI_OIDC_CLIENT_ID is set.
TISKI_OIDC_ENABLED = bool(os.environ.get("TISKI_OIDC_CLIENT_ID", "").strip())
TISKI_OIDC_PROVIDER_NAME = os.environ.get("TISKI_OIDC_PROVIDER_NAME", "SSO")
OIDC_RP_CLIENT_ID = os.environ.get("TISKI_OIDC_CLIENT_ID", "").strip()
OIDC_RP_CLIENT_SECRET = os.environ.get("TISKI_OIDC_CLIENT_SECRET", "")
OIDC_OP_AUTHORIZATION_ENDPOINT = os.environ.get("TISKI_OIDC_AUTHORIZATION_URL", "")
OIDC_OP_TOKEN_ENDPOINT = os.environ.get("TISKI_OIDC_TOKEN_URL", "")
OIDC_OP_USER_ENDPOINT = os.environ.get("TISKI_OIDC_USERINFO_URL", "")
OIDC_OP_JWKS_ENDPOINT = os.environ.get("TISKI_OIDC_JWKS_URL", "")
OIDC_RP_SIGN_ALGO = os.environ.get("TISKI_OIDC_SIGN_ALGO", "RS256")
OIDC_RP_SCOPES = os.environ.get("TISKI_OIDC_SCOPES", "openid email profile")
OIDC_VERIFY_SSL = env_bool("TISKI_OIDC_VERIFY_TLS", default=True)
OIDC_TIMEOUT = env_int("TISKI_OIDC_TIMEOUT_S", 10)
OIDC_CREATE_USER = env_bool("TISKI_OIDC_CREATE_USERS", default=True)
OIDC_AUTHENTICATION_CALLBACK_URL = "oidc_authentication_callback"
LOGIN_REDIRECT_URL_FAILURE = "/login/?sso=failed"
TISKI_OIDC_ISSUER = os.environ.get("TISKI_OIDC_ISSUER", "").strip()  # checked against the id_token's "iss" when set
# The claim that carries the user's groups, and which of its values make which Tiski role:
# "tiski-admins=administrator,…"
TISKI_OIDC_ROLE_CLAIM = os.environ.get("TISKI_OIDC_ROLE_CLAIM", "groups")
TISKI_OIDC_ROLE_MAP = {
    value.strip(): role.strip()
    for value, _sep, role in (pair.partition("=") for pair in env_list("TISKI_OIDC_ROLE_MAP", ""))
    if value.strip() and role.strip()
}
TISKI_OIDC_DEFAULT_ROLE = os.environ.get("TISKI_OIDC_DEFAULT_ROLE", "").strip()  # empty: no mapped role, no entry
