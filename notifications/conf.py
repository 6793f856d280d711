"""Notification settings with their defaults (config/settings.py reads them from the environment)."""

from django.conf import settings

DEFAULTS = {
    "NOTIFICATIONS_MAX_ATTEMPTS": 6,
    "NOTIFICATIONS_RETRY_BASE_SECONDS": 60,
    "NOTIFICATIONS_RETRY_MAX_SECONDS": 6 * 3600,
    "NOTIFICATIONS_BATCH_SIZE": 100,
    "NOTIFICATIONS_CLAIM_LEASE_SECONDS": 300,
    "NOTIFICATIONS_DISPATCH_TIME_BUDGET_SECONDS": 50,
    "NOTIFICATIONS_DISPATCH_ON_COMMIT": True,
    "NOTIFICATIONS_CHANNEL_BACKENDS": {},
    "NOTIFICATIONS_SMS_BACKEND": "notifications.channels.ConsoleSMSBackend",
    "SMS_GATEWAY_URL": "",
    "SMS_GATEWAY_KEY": "",
    "SMS_GATEWAY_TEMPLATE_ID": "",
    "SMS_GATEWAY_TIMEOUT": 10,
}


def get(name: str):
    return getattr(settings, name, DEFAULTS[name])
