"""Zendesk signed-URL tokens open one card each, with or without a `jti`."""

from __future__ import annotations

import pytest
from factories import make_connection, rsa_keypair, zendesk_signed_token

from plugin.exceptions import AuthenticationError
from plugin.launch import IDENTITY_VERIFIED, verify_zendesk_signed_launch
from plugin.models.helpdesk import UsedLaunchToken


@pytest.fixture
def signed_connection(app):
    """A Zendesk connection configured for signed URLs (installation 42)."""
    return make_connection(zendesk_public_key=rsa_keypair()[1], zendesk_app_id="9",
                           zendesk_installation_id="42")


def test_zendesk_signed_token_without_jti_cannot_be_replayed(signed_connection):
    """A verified launch lifted from a log or re-sent by the browser is refused the 2nd time."""
    token = zendesk_signed_token()
    assert verify_zendesk_signed_launch(token, signed_connection).identity == IDENTITY_VERIFIED
    with pytest.raises(AuthenticationError) as caught:
        verify_zendesk_signed_launch(token, signed_connection)
    assert caught.value.extra["reason"] == "reused"


def test_zendesk_signed_card_post_replay_is_a_401_page(client, signed_connection):
    """The card's Zendesk signed-URL POST works once; the same form again is a 401 page."""
    form = {"token": zendesk_signed_token()}
    assert client.post("/cards/zendesk", data=form).status_code == 200
    again = client.post("/cards/zendesk", data=form)
    assert again.status_code == 401
    assert "already used" in again.get_data(as_text=True)


def test_zendesk_signed_jti_of_any_length_is_stored_hashed(signed_connection):
    """A 255-character jti still fits the column: the spent value is a fixed-size hash."""
    verify_zendesk_signed_launch(zendesk_signed_token(jti="j" * 255), signed_connection)
    [row] = UsedLaunchToken.query.all()
    assert len(row.jti) == 64 and "j" * 20 not in row.jti
