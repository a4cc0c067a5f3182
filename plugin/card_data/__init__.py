"""The order card's data: finding the customer, the card, one order, and the cache.

Views call these services; they hold the Shopify queries (one request per view at most)
and the cache (`CustomerCache`, invalidated by webhooks and by our own actions).
"""

from plugin.card_data.service import (
    customer_card,
    find_customers,
    invalidate_customer,
    invalidate_order,
    launch_card,
    order_detail,
    reset_stats,
    stats_snapshot,
)

__all__ = ["customer_card", "find_customers", "invalidate_customer", "invalidate_order",
           "launch_card", "order_detail", "reset_stats", "stats_snapshot"]
