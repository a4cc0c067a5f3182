"""Constants shared by the install tests: the shop, its token endpoint, a granted token set."""

from __future__ import annotations

SHOP = "test-shop.myshopify.com"
TOKEN_URL = f"https://{SHOP}/admin/oauth/access_token"
GRANTED = {
    "access_token": "shpat_granted_access_token",
    "scope": "read_customers,read_orders,write_orders",
    "expires_in": 3600,
    "refresh_token": "shprt_granted_refresh_token",
    "refresh_token_expires_in": 2592000,
}
# Real client secrets are `shpss_` + 32 hex digits. PyJWT warns (an error under
# filterwarnings=error) on HS256 keys shorter than 32 bytes, so these tests use one that long
# rather than the suite's short `test-secret`.
SECRET = "shpss_" + "0123456789abcdef" * 2
