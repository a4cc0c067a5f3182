"""The app's Shopify entry points: the embedded app home, the install redirect and callback.

`GET /` is `application_url` and serves three kinds of request (reference/shopify.md §2.1):

- with `id_token` (embedded load, managed install): verify it, token-exchange if the shop has
  no usable token, render the app home;
- with `shop`, `hmac`, `timestamp` and no `id_token` (legacy install, non-embedded): verify the
  signature, then redirect to Shopify's authorize page with a single-use `state`;
- nothing: the demo page in demo mode, otherwise a pointer to the Shopify App Store.

The `hmac` timestamp may be up to SHOPIFY_HMAC_MAX_AGE_SECONDS (24 h) old, like Shopify's
Python library, not 90 s like its JS one: replaying a signed install link only restarts OAuth,
which still needs the merchant's Shopify login, and the callback is protected by its
single-use `state` and single-use `code`. A long window tolerates clock skew and admin tabs left
open, which a 90 s window turns into failed installs.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote, urlsplit

from flask import (
    Blueprint,
    Response,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)

from plugin.errors import error_response
from plugin.exceptions import AuthenticationError, ValidationError
from plugin.oauth.install import (
    PATCH_ID_TOKEN_PATH,
    authorize_url,
    consume_state,
    create_state,
    embedded_app_url,
    find_shop,
    grants_required_scopes,
    has_usable_token,
    record_install,
    uses_real_admin,
)
from plugin.security import allow_framing
from plugin.shopify import shopify_app
from plugin.shopify.auth import exchange_code, exchange_id_token, verify_id_token
from plugin.shopify.hmac import normalize_shop, sign_query, verify_query_hmac

bp = Blueprint("oauth", __name__)


@bp.after_request
def _keep_url_tokens_private(response: Response) -> Response:
    """App loads carry an `id_token`, installs a `state` and a `code` in the URL: no cache
    (browser or proxy) keeps these pages, and no request they make sends the URL on."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response

RETRY_HEADER = "X-Shopify-Retry-Invalid-Session-Request"
HELPDESK_DOCS = (
    ("Zendesk", "https://developer.zendesk.com/documentation/apps/"),
    ("Gorgias", "https://developers.gorgias.com/"),
    ("Kustomer", "https://developer.kustomer.com/"),
)


@bp.get("/")
def app_home():
    """application_url: embedded load, install request, or the landing page.

    :raise 400: a bad shop domain or parameters Shopify never sends.
    :raise 401: a bad signature or session token.
    """
    args = request.args
    if args.get("id_token") or request.headers.get("Authorization") or (
            args.get("embedded") == "1" and "hmac" not in args):
        return _embedded_load()
    if "shop" in args or "hmac" in args:
        return _install_request()
    if current_app.config.get("DEMO_MODE"):
        page = _demo_page()
        if page is not None:
            return page
    if args:
        raise ValidationError("This page takes no parameters. Open Sidecard from the Shopify "
                              "admin or install it from the Shopify App Store.")
    return render_template("oauth/landing.html")


@bp.get("/oauth/callback")
def oauth_callback():
    """Authorization-code callback: check hmac, shop and state, exchange the code, store it.

    :raise 400: bad shop, missing parameters, unknown/expired/used/foreign state.
    :raise 401: bad signature or a code Shopify refused.
    :raise 502/504: Shopify failed or timed out (nothing is stored).
    """
    args = request.args
    _require(args, "code", "hmac", "shop", "state", "timestamp")
    shop_domain = normalize_shop(args["shop"])
    _verify_signed_query()
    consume_state(shop_domain, args["state"])
    tokens = exchange_code(shop_domain, args["code"])
    record_install(shop_domain, tokens, flow="authorization_code")
    if uses_real_admin():
        return redirect(embedded_app_url(shop_domain))
    # Sandbox or demo admin: come back to the app home with a freshly signed query.
    params = {"shop": shop_domain, "timestamp": str(int(time.time()))}
    params["hmac"] = sign_query(params, current_app.config["SHOPIFY_API_SECRET"])
    return redirect(url_for("oauth.app_home", **params))


@bp.get(PATCH_ID_TOKEN_PATH)
def patch_id_token():
    """A page that only loads App Bridge, which reloads `shopify-reload` with a fresh id token.

    :raise 400: bad shop, or a reload target that is not a path on this app.
    """
    normalize_shop(request.args.get("shop"))
    target = request.args.get("shopify-reload", "")
    # Browsers drop tabs and newlines from URLs ("/\t/evil.com" becomes "//evil.com"), so
    # control characters and spaces are refused too, not only "//" and backslashes.
    if (not target.startswith("/") or target.startswith("//") or "\\" in target
            or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in target)):
        raise ValidationError("shopify-reload must be a path on this app")
    result = shopify_app().app_home_patch_id_token(_request_dict())
    return _package_response(result.response)


# --- the three kinds of application_url request ----------------------------------------------


def _embedded_load():
    """Verify the App Bridge id token, install by token exchange if needed, render."""
    shop_param = request.args.get("shop")
    expected_shop = normalize_shop(shop_param) if shop_param is not None else None
    result = shopify_app().verify_app_home_req(
        _request_dict(), app_home_patch_id_token_path=PATCH_ID_TOKEN_PATH)
    if not result.ok:
        return _package_response(result.response)
    id_token = result.id_token.token
    try:
        # Stricter than the package: iss/dest/exp/nbf required, and dest == the `shop` param.
        claims = verify_id_token(id_token, shop_domain=expected_shop)
    except AuthenticationError as exc:
        return _invalid_session(exc.message)
    shop_domain = normalize_shop(urlsplit(str(claims["dest"])).hostname)
    # From here on every page, errors included, must display inside this shop's admin.
    allow_framing([f"https://{shop_domain}", "https://admin.shopify.com"])
    shop = find_shop(shop_domain)
    if not has_usable_token(shop):
        try:
            tokens = exchange_id_token(shop_domain, id_token)
        except AuthenticationError as exc:
            return _invalid_session(exc.message)
        shop = record_install(shop_domain, tokens, flow="token_exchange")
    response = make_response(_render_home(shop, embedded=True))
    response.headers.update(result.response.headers)  # CSP frame-ancestors, preload links
    return response


def _install_request():
    """Signed install request without id token: start the authorization-code grant."""
    args = request.args
    _require(args, "shop", "hmac", "timestamp")
    shop_domain = normalize_shop(args["shop"])
    _verify_signed_query()
    embedded = args.get("embedded") == "1"
    shop = find_shop(shop_domain)
    if has_usable_token(shop) and grants_required_scopes(shop):
        if embedded:
            return _embedded_load()  # no id token yet: bounce through the patch page
        if uses_real_admin():
            return redirect(embedded_app_url(shop_domain))
        allow_framing([f"https://{shop_domain}", "https://admin.shopify.com"])
        return _render_home(shop, embedded=False)
    url = authorize_url(shop_domain, create_state(shop_domain))
    if embedded:
        # Shopify's authorize page refuses to load in the admin iframe: open it in the top frame.
        result = shopify_app().app_home_parent_redirect(
            _request_dict(), url, shop_domain.removesuffix(".myshopify.com"))
        return _package_response(result.response)
    return redirect(url)


def _demo_page() -> Any:
    """The demo's index page, when the demo package provides one."""
    try:
        from plugin.demo import render_demo_index
    except ImportError:
        return None
    return render_demo_index()


# --- helpers -----------------------------------------------------------------------------------


def _render_home(shop, *, embedded: bool) -> str:
    """The app home: what is installed and where to go next."""
    config = current_app.config
    return render_template(
        "oauth/app_home.html", shop=shop, embedded=embedded, api_key=config["SHOPIFY_API_KEY"],
        api_version=config["SHOPIFY_API_VERSION"], scopes=sorted(shop.scope_set),
        missing_scopes=not grants_required_scopes(shop), helpdesk_docs=HELPDESK_DOCS)


def _require(args, *names: str) -> None:
    """Refuse a request missing one of the parameters Shopify always sends.

    :raises ValidationError: one is missing or empty.
    """
    missing = [name for name in names if not args.get(name)]
    if missing:
        raise ValidationError("Missing Shopify parameter(s): " + ", ".join(missing)
                              + ". Start again from the Shopify admin.")


def _verify_signed_query() -> None:
    """Check the query's `hmac` (current or old secret) and its timestamp.

    :raises InvalidHmacError: wrong signature or stale/future timestamp.
    """
    config = current_app.config
    secrets = [s for s in (config["SHOPIFY_API_SECRET"], config.get("SHOPIFY_OLD_API_SECRET"))
               if s]
    verify_query_hmac(request.args, secrets,
                      max_age_seconds=config["SHOPIFY_HMAC_MAX_AGE_SECONDS"])


def _request_dict() -> dict[str, Any]:
    """The request as shopifyapp reads it, on the app's public origin (APP_URL).

    Behind a proxy `request.url` may say http://internal-host; the patch-id-token redirect the
    package builds from this URL must point at the public origin instead.
    """
    query = request.query_string.decode("latin-1")
    url = current_app.config["APP_URL"] + quote(request.path) + (f"?{query}" if query else "")
    return {"method": request.method, "headers": dict(request.headers), "url": url,
            "body": request.get_data(as_text=True)}


def _package_response(res) -> Response:
    """shopifyapp's prepared response (status, body, headers), unchanged."""
    return Response(res.body, status=res.status, headers=dict(res.headers))


def _invalid_session(message: str) -> Response:
    """401 that tells App Bridge to fetch a fresh session token and retry."""
    response = make_response(error_response(401, "unauthorized", message))
    response.headers[RETRY_HEADER] = "1"
    return response
