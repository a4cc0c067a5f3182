"""Database models; each module owns one concern and is imported here for Alembic."""

from plugin.models.audit import AuditEvent
from plugin.models.cache import CustomerCache
from plugin.models.helpdesk import HelpdeskConnection, UsedLaunchToken
from plugin.models.jobs import Job
from plugin.models.shop import OAuthState, Shop
from plugin.models.webhooks import WebhookDelivery

__all__ = ["AuditEvent", "CustomerCache", "HelpdeskConnection", "Job", "OAuthState", "Shop",
           "UsedLaunchToken", "WebhookDelivery"]
