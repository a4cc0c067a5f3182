"""Webhook topics, the URIs they are delivered to, and realistic payloads."""

from __future__ import annotations

SHOP = "test-shop.myshopify.com"

# Topic → the URI it is delivered to (as in shopify.app.toml) and a realistic payload.
TOPICS = {
    "app/uninstalled": ("/webhooks/app/uninstalled",
                        {"id": 548380009, "domain": SHOP, "myshopify_domain": SHOP}),
    "app/scopes_update": ("/webhooks/app/scopes_update",
                          {"id": 1, "previous": ["read_orders"],
                           "current": ["read_customers", "read_orders", "write_orders"],
                           "updated_at": "2026-10-01T00:00:00Z"}),
    "orders/updated": ("/webhooks/orders/updated",
                       {"id": 450789469, "customer": {"id": 207119551}}),
    "customers/data_request": ("/webhooks/compliance",
                               {"shop_id": 954889, "shop_domain": SHOP,
                                "orders_requested": [299938, 280263],
                                "customer": {"id": 191167, "email": "john@example.com",
                                             "phone": "555-625-1199"},
                                "data_request": {"id": 9999}}),
    "customers/redact": ("/webhooks/compliance",
                         {"shop_id": 954889, "shop_domain": SHOP,
                          "customer": {"id": 191167, "email": "john@example.com",
                                       "phone": "555-625-1199"},
                          "orders_to_redact": [299938, 280263]}),
    "shop/redact": ("/webhooks/compliance", {"shop_id": 954889, "shop_domain": SHOP}),
}
