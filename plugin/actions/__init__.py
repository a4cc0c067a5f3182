"""The actions registry: one class per card action, keyed by the contract's action name."""

from __future__ import annotations

from plugin.actions.base import Action
from plugin.exceptions import NotFoundError

ACTIONS: dict[str, type[Action]] = {}


def register(cls: type[Action]) -> type[Action]:
    """Add an action class to the registry (use as a class decorator)."""
    if not getattr(cls, "name", None):
        raise ValueError(f"{cls.__name__} has no name")
    if cls.name in ACTIONS and ACTIONS[cls.name] is not cls:
        raise ValueError(f"action {cls.name!r} is registered twice")
    ACTIONS[cls.name] = cls
    return cls


def get_action(name: str) -> Action:
    """An instance of the action called `name`.

    :raises NotFoundError: no such action.
    """
    load_actions()
    try:
        return ACTIONS[name]()
    except KeyError:
        raise NotFoundError(f"There is no action called {name!r}.", action=name) from None


def all_actions() -> list[Action]:
    """Every registered action, in the card's display order."""
    load_actions()
    return [cls() for cls in sorted(ACTIONS.values(), key=lambda c: c.order)]


def load_actions() -> None:
    """Import the action modules so that each registers its class."""
    # Imported here, not at module top, so that action modules may import this package.
    from plugin.actions import (  # noqa: F401
        cancel,
        note,
        refund,
        shipping_address,
        tags,
    )
