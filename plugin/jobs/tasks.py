"""Job handlers that belong to no single feature: keeping shop tokens fresh."""

from __future__ import annotations

import logging

from plugin.exceptions import ShopNotInstalledError
from plugin.extensions import db
from plugin.jobs import register
from plugin.models import Job, Shop
from plugin.shopify.auth import fresh_access_token

log = logging.getLogger("sidecard.jobs")


@register("refresh_shop_token", max_attempts=5)
def refresh_shop_token(job: Job) -> None:
    """Refresh the shop's expiring offline token ahead of use (no-op when not installed)."""
    domain = job.payload.get("shop_domain") or job.shop_domain
    shop = db.session.scalar(db.select(Shop).where(Shop.domain == domain))
    if shop is None or not shop.is_installed:
        log.info("refresh_shop_token: shop %s is not installed; nothing to do", domain)
        return
    try:
        fresh_access_token(shop)
    except ShopNotInstalledError:
        # The refresh token expired: only the merchant's next visit (token exchange)
        # can fix that, so retrying here would only burn attempts.
        log.info("refresh_shop_token: shop %s must re-authenticate", domain)
