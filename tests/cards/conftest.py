"""Card fixtures (defined in tests/card_fixtures.py, shared with tests/api)."""

from card_fixtures import (  # noqa: F401  (fixtures)
    connection,
    launch,
    session_token,
    shop,
    store,
    world,
)
