"""Django settings, read from the environment.

Every setting that differs between a laptop and production comes from an environment variable; the README
lists them. With none set, the platform runs on the embedded PostgreSQL and Redis that `make run` starts.
"""

from __future__ import annotations

import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from config import embedded

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", default=False)
# A development key is only acceptable while DEBUG is on; production must set DJANGO_SECRET_KEY.
SECRET_KEY = env("DJANGO_SECRET_KEY") or ("dev-insecure-key-change-me" if DEBUG or env_bool("TRANCHE_DEV") else "")
if not SECRET_KEY:
    raise RuntimeError("Set DJANGO_SECRET_KEY (or TRANCHE_DEV=1 for a development machine).")

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")
SITE_URL = env("TRANCHE_SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.forms",
    "django.contrib.sites",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_htmx",
    "django_countries",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    # Tranche's own apps
    "accounts",
    "companies",
    "equity",
    "tokens",
    "compliance",
    "payments",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.PreferredLanguageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.middleware.RequireStaffTwoFactorMiddleware",
]

# The benchmarks add a bare view beside the real routes (bench/web_urls.py); nothing else sets this.
ROOT_URLCONF = env("DJANGO_ROOT_URLCONF", "config.urls")
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.navigation",
            ],
        },
    },
]

# --- data -------------------------------------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL") or embedded.database_url(),
        conn_max_age=int(env("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
# Two test runs on one machine (say, a branch and main) each need their own test database.
if env("TRANCHE_TEST_DATABASE"):
    DATABASES["default"]["TEST"] = {"NAME": env("TRANCHE_TEST_DATABASE")}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise RuntimeError("Tranche runs on PostgreSQL only (uint256 amounts and row locks); fix DATABASE_URL.")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL") or embedded.redis_url(0)
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env("CACHE_KEY_PREFIX", "tranche"),
    }
}

# --- Celery -------------------------------------------------------------------------------------------------
# redis-py and Celery spell a unix socket differently: "unix://" for the client, "redis+socket://" for kombu.
CELERY_BROKER_URL = env("CELERY_BROKER_URL") or REDIS_URL.replace("unix://", "redis+socket://", 1)
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND") or CELERY_BROKER_URL
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_ACKS_LATE = True
# The queue tasks go to and workers read when started without --queues: two platforms sharing one broker (or a
# test's own worker) each take their own.
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", "celery")
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_EXPIRES = timedelta(days=1)
CELERY_TIMEZONE = "UTC"
# Each capability adds its periodic tasks here (the chain scanner, payment reconciliation, KYC expiry, ...).
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    # Payments the platform never heard back about (a lost webhook, a worker that died) are settled from the
    # provider's own records; commitments not reconfirmed in time after a material change are cancelled.
    "payments-reconcile": {"task": "payments.tasks.payments_reconcile", "schedule": timedelta(minutes=10)},
    "payments-expire-unconfirmed": {"task": "payments.tasks.commitments_expire_unconfirmed",
                                    "schedule": timedelta(minutes=15)},
    # The sandbox provider's bank debits settle, and its webhook events are delivered (a no-op with Stripe).
    "payments-sandbox-settle": {"task": "payments.tasks.sandbox_settle", "schedule": timedelta(seconds=10)},
    "payments-sandbox-deliver": {"task": "payments.tasks.sandbox_deliver", "schedule": timedelta(seconds=10)},
    # Card buyers of tokens get back, by card, what a failed or oversubscribed sale returned to the distributor.
    "payments-token-card-refunds": {"task": "payments.tasks.token_card_refunds", "schedule": timedelta(seconds=10)},
    "payments-warrant-payouts": {"task": "payments.tasks.warrant_exercise_payouts", "schedule": timedelta(minutes=1)},
    # The transaction outbox (anything signed but not confirmed, or waiting for a dependency) and the chain's
    # event scanner; a pass that finds nothing to do costs one or two RPC calls.
    "tokens-outbox": {"task": "tokens.tasks.outbox_work", "schedule": timedelta(seconds=5)},
    "tokens-scan": {"task": "tokens.tasks.chain_scan", "schedule": timedelta(seconds=2)},
    "tokens-sales-advance": {"task": "tokens.tasks.sales_advance", "schedule": timedelta(seconds=10)},
    "tokens-sales-minter": {"task": "tokens.tasks.sales_awaiting_minter", "schedule": timedelta(seconds=5)},
    "tokens-allowlist-reconcile": {"task": "tokens.tasks.allowlist_reconcile", "schedule": timedelta(minutes=10)},
}

# --- accounts -------------------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
SITE_ID = 1
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"
ACCOUNT_LOGOUT_REDIRECT_URL = "home"

ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
# Signing up with a registered address says so plainly (and offers to log in) rather than pretending to succeed;
# log-in and password reset stay rate-limited, which bounds what an enumeration attempt can learn.
ACCOUNT_PREVENT_ENUMERATION = False
ACCOUNT_EMAIL_VERIFICATION = env("ACCOUNT_EMAIL_VERIFICATION", "mandatory")
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = False
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Tranche] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if SITE_URL.startswith("https") else "http"
# allauth's rate limits (per IP and per key) are kept in the cache, so they hold across web replicas.
ACCOUNT_RATE_LIMITS = {
    "login": env("RATE_LIMIT_LOGIN", "30/m/ip"),
    "login_failed": env("RATE_LIMIT_LOGIN_FAILED", "5/5m/ip,5/5m/key"),
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "confirm_email": "1/3m/key",
}
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_SIGNUP_FORM_CLASS = "accounts.forms.SignupForm"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Tranche"
MFA_ADAPTER = "accounts.adapters.MFAAdapter"
MFA_ENCRYPTION_KEY = env("MFA_ENCRYPTION_KEY")

# --- email ----------------------------------------------------------------------------------------------------
EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = int(env("EMAIL_PORT", "25"))
EMAIL_HOST_USER = env("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", str(BASE_DIR / ".local" / "mail"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Tranche <no-reply@tranche.local>")

# --- i18n -----------------------------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

# --- files ----------------------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / ".local" / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(BASE_DIR / ".local" / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env_bool("STATIC_MANIFEST", default=not DEBUG)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
COMPANY_LOGO_MAX_BYTES = 2 * 1024 * 1024
# KYC documents: never under MEDIA_ROOT, never served by URL; a view checks who asks and streams the file.
PRIVATE_MEDIA_ROOT = Path(env("PRIVATE_MEDIA_ROOT", str(BASE_DIR / ".local" / "private")))
KYC_DOCUMENT_MAX_BYTES = int(env("KYC_DOCUMENT_MAX_BYTES", str(10 * 1024 * 1024)))

# --- API ------------------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an anonymous API call then gets 401 with a WWW-Authenticate header, not a bare 403.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_RATES": {"anon": "120/min", "user": "600/min"},
    "EXCEPTION_HANDLER": "config.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Tranche API",
    "DESCRIPTION": "Companies, raises, cap tables, KYC and token sales. Session or token authentication.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # The docs page loads Swagger UI from drf-spectacular-sidecar's static files, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several components have a field named "kind" with different choices: name each choice set once.
    "ENUM_NAME_OVERRIDES": {
        "ClassKindEnum": "equity.choices.ClassKind",
        "StakeholderKindEnum": "equity.choices.StakeholderKind",
        "TransactionKindEnum": "equity.choices.TransactionKind",
        "PositionKindEnum": ["shares", "options", "warrants", "pool"],
        "InstrumentKindEnum": ["post_money_safe", "pre_money_safe", "convertible_note"],
        "RoundKindEnum": "equity.choices.RoundKind",
        "SafeInstrumentEnum": "equity.choices.SafeInstrument",
        "AllocationKindEnum": "tokens.choices.AllocationKind",
        "WarrantKindEnum": "tokens.choices.WarrantKind",
    },
}

# --- security -------------------------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=SITE_URL.startswith("https"))
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_PROXY") else None
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
# How many proxies sit in front of the web process; the audit log reads the client address accordingly.
TRUSTED_PROXY_COUNT = int(env("TRUSTED_PROXY_COUNT", "0"))

# --- Tranche ----------------------------------------------------------------------------------------------------
COMPANY_INVITATION_MAX_AGE = timedelta(days=int(env("COMPANY_INVITATION_DAYS", "7")))
KYC_APPROVAL_VALIDITY = timedelta(days=int(env("KYC_APPROVAL_DAYS", "365")))
KYC_SLA = timedelta(hours=int(env("KYC_SLA_HOURS", "48")))
# Risk: applicants who declare this much income or net worth (USD), or live in one of these countries, are
# reviewed as higher risk; a high-risk approval needs a second officer.
KYC_HIGH_RISK_AMOUNT = Decimal(env("KYC_HIGH_RISK_AMOUNT", "1000000"))
# Regulation Crowdfunding investment limits (17 CFR 227.100(a)(2)); the SEC adjusts them for inflation.
REG_CF_MINIMUM = Decimal(env("REG_CF_MINIMUM", "2500"))
REG_CF_THRESHOLD = Decimal(env("REG_CF_THRESHOLD", "124000"))
REG_CF_CAP = Decimal(env("REG_CF_CAP", "124000"))
# Regulation Crowdfunding offering rules (17 CFR 227.304 cancellation and early close, 227.100(a)(1) issuer
# maximum); a jurisdiction with other rules changes these.
REG_CF_CANCEL_CUTOFF = timedelta(hours=int(env("REG_CF_CANCEL_CUTOFF_HOURS", "48")))
REG_CF_EARLY_CLOSE_MIN_OPEN_DAYS = int(env("REG_CF_EARLY_CLOSE_MIN_OPEN_DAYS", "21"))
REG_CF_EARLY_CLOSE_NOTICE_BUSINESS_DAYS = int(env("REG_CF_EARLY_CLOSE_NOTICE_BUSINESS_DAYS", "5"))
REG_CF_RECONFIRM_BUSINESS_DAYS = int(env("REG_CF_RECONFIRM_BUSINESS_DAYS", "5"))
REG_CF_ISSUER_12M_MAXIMUM = Decimal(env("REG_CF_ISSUER_12M_MAXIMUM", "5000000"))
# Payments: "sandbox" (no network; Stripe's test card numbers) or "stripe" (STRIPE_SECRET_KEY and friends).
PAYMENTS_PROVIDER = env("PAYMENTS_PROVIDER", "sandbox")
PAYMENTS_SANDBOX_WEBHOOK_SECRET = env("PAYMENTS_SANDBOX_WEBHOOK_SECRET", "whsec_sandbox_tranche")
PAYMENTS_SANDBOX_ACH_SETTLE_SECONDS = int(env("PAYMENTS_SANDBOX_ACH_SETTLE_SECONDS", "30"))
# The sandbox delivers its webhook events by itself (a Celery task after each change); tests turn it off to
# deliver, replay and reorder them by hand.
PAYMENTS_SANDBOX_AUTO_DELIVER = env_bool("PAYMENTS_SANDBOX_AUTO_DELIVER", default=True)
# Reconciliation asks the provider about payments it has not heard of for this long.
PAYMENTS_RECONCILE_WINDOW = timedelta(days=int(env("PAYMENTS_RECONCILE_DAYS", "14")))
# A card order of tokens not paid within this is cancelled, so an abandoned checkout stops holding room in the sale.
TOKEN_ORDER_PAY_WITHIN = timedelta(minutes=int(env("TOKEN_ORDER_PAY_WITHIN_MINUTES", "60")))
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", "")
STRIPE_PUBLISHABLE_KEY = env("STRIPE_PUBLISHABLE_KEY", "")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", "")
STRIPE_API_BASE = env("STRIPE_API_BASE", "")  # only to point at a Stripe-compatible test server (localstripe)
KYC_HIGH_RISK_COUNTRIES = env_list("KYC_HIGH_RISK_COUNTRIES", "BY,CU,IR,KP,MM,RU,SY,VE")
CHAIN_RPC_URL = env("CHAIN_RPC_URL", "http://127.0.0.1:8545")
CHAIN_ID = int(env("CHAIN_ID", "31337"))  # the chain wallets are verified on and sales run on
DEVNET_CHAIN_ID = 31337  # devnet/ (and anvil): the only chain the built-in development wallet signs for
# The platform's keys, one per role (tokens/chain/keys.py): CHAIN_KEY_<ROLE> holds a hex private key, or
# CHAIN_KEYSTORE_<ROLE> names an encrypted keystore file opened with CHAIN_KEYSTORE_PASSWORD. On the devnet
# (chain 31337) a role without either uses the dev mnemonic's account (deployer 0, eligibility 1, voucher 2,
# distributor 3, faucet 4). Keys never go into the database.
CHAIN_SIGNER_ROLES = ("deployer", "eligibility", "voucher", "distributor")
CHAIN_KEYS = {role: env(f"CHAIN_KEY_{role.upper()}") for role in CHAIN_SIGNER_ROLES}
CHAIN_KEYSTORES = {role: env(f"CHAIN_KEYSTORE_{role.upper()}") for role in CHAIN_SIGNER_ROLES}
CHAIN_KEYSTORE_PASSWORD = env("CHAIN_KEYSTORE_PASSWORD")
CHAIN_CONFIRMATIONS = int(env("CHAIN_CONFIRMATIONS", "1"))  # blocks on top of a transaction's before it counts
# The event scanner re-reads this many recent blocks on every pass (a reorganisation shallower than this is
# found by comparing hashes there; a deeper one by the cursor block's hash), in ranges of at most this size.
CHAIN_SCAN_SAFETY_BLOCKS = int(env("CHAIN_SCAN_SAFETY_BLOCKS", "12"))
CHAIN_SCAN_MAX_RANGE = int(env("CHAIN_SCAN_MAX_RANGE", "2000"))
# A sent transaction not mined after this long is re-sent at the same nonce with a higher fee.
CHAIN_REPLACE_AFTER = timedelta(seconds=int(env("CHAIN_REPLACE_AFTER_SECONDS", "60")))
# Wallets per on-chain allowlist transaction (updateAllowlist costs about 27k gas a wallet).
TOKENS_ALLOWLIST_BATCH = int(env("TOKENS_ALLOWLIST_BATCH", "100"))
# A voucher (voucher eligibility mode) is valid this long after the purchase page signs it.
TOKENS_VOUCHER_LIFETIME = timedelta(minutes=int(env("TOKENS_VOUCHER_LIFETIME_MINUTES", "15")))
DEMO_PASSWORD = env("TRANCHE_DEMO_PASSWORD", "tranche-demo-2026")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

FORM_RENDERER = "config.forms.FormRenderer"
