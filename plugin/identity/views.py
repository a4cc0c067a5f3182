"""Pages outside the card: the Zendesk sign-in popup's callback and the demo outbox."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, render_template, request

from plugin.identity import zendesk_oauth
from plugin.identity.mailer import demo_outbox

bp = Blueprint("identity", __name__, url_prefix="/identity")

# The popup page runs only our own script and loads nothing else.
POPUP_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; base-uri 'none'; "
             "form-action 'none'; frame-ancestors 'none'")


@bp.get("/zendesk/callback")
def zendesk_callback() -> Response:
    """Zendesk's OAuth redirect: check who signed in and hand the card a one-time result.

    The page posts `{"type": "sidecard:zendesk-sign-in", "ok", "result" | "reason"}` to
    the window that opened it (same origin only) and closes.
    """
    outcome = zendesk_oauth.complete_callback(
        state=request.args.get("state"), code=request.args.get("code"),
        error=request.args.get("error"))
    message = {"type": "sidecard:zendesk-sign-in", "ok": outcome.ok}
    if outcome.ok:
        message["result"] = outcome.result
    else:
        message["reason"] = outcome.reason
    html = render_template("identity/zendesk_done.html", outcome=outcome, message=message,
                           origin=str(current_app.config["APP_URL"]).rstrip("/"))
    response = current_app.response_class(html, status=200 if outcome.ok else 400,
                                          mimetype="text/html")
    response.headers["Content-Security-Policy"] = POPUP_CSP
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.get("/demo/outbox")
def demo_outbox_page() -> str:
    """Demo mode only: the sign-in codes "sent" without a mail server, newest first.

    :raise 404: not in demo mode.
    """
    if not current_app.config.get("DEMO_MODE"):
        abort(404)
    return render_template("identity/demo_outbox.html", messages=demo_outbox())
