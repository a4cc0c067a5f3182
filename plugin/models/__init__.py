"""Database models; each module owns one concern and is imported here for Alembic."""

from plugin.models.actions import ActionRequest, ApprovalRequest
from plugin.models.audit import AuditEvent
from plugin.models.cache import CustomerCache
from plugin.models.helpdesk import HelpdeskConnection, UsedLaunchToken
from plugin.models.identity import (
    DeviceCredential,
    VerificationCode,
    VerificationFailure,
    ZendeskOAuthState,
)
from plugin.models.jobs import Job
from plugin.models.notes import ConversationNote
from plugin.models.permissions import PermissionConfig
from plugin.models.shop import OAuthState, Shop
from plugin.models.webhooks import WebhookDelivery

__all__ = ["ActionRequest", "ApprovalRequest", "AuditEvent", "ConversationNote", "CustomerCache",
           "DeviceCredential", "HelpdeskConnection", "Job", "OAuthState", "PermissionConfig",
           "Shop", "UsedLaunchToken", "VerificationCode", "VerificationFailure",
           "WebhookDelivery", "ZendeskOAuthState"]
