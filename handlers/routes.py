"""Routes several features point to: a button made in one feature, answered in another.

The main menu links to help, the language, the orders, the pickup points and last week's order;
the basket and the search results open a product's card. Each route is defined once, here; the
feature that answers it registers its handler with :func:`handlers.buttons.button`.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from handlers.callback_data import CallbackData

NO_CATEGORY = -1  # a card opened from search results or the basket


def _quantity(text: str) -> Decimal | None:
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() and value > 0 else None


class ShowCard(CallbackData, prefix="cat:p"):
    """A product's card with ``quantity`` on the stepper, opened from a category page (or from
    search results: ``category`` is ``NO_CATEGORY``)."""

    cycle_id: int
    product_id: int
    quantity: str
    category: int
    page: int

    def __post_init__(self) -> None:
        super().__post_init__()
        if _quantity(self.quantity) is None:
            raise ValueError(f"{self.prefix}: {self.quantity!r} is not a quantity")

    @property
    def amount(self) -> Decimal:
        """The quantity, as a number (always positive)."""
        amount = _quantity(self.quantity)
        assert amount is not None  # checked when the data was made
        return amount


class AskQuantity(CallbackData, prefix="qty"):
    """ "How many?" for a product (a card's or a basket line's quantity label): the number the
    member types next becomes the basket's quantity of it."""

    cycle_id: int
    product_id: int


class OpenHelp(CallbackData, prefix="help"):
    """What the bot can do for this member."""


HELP = OpenHelp()


class AskLanguage(CallbackData, prefix="lang"):
    """The languages to choose from."""


LANGUAGE = AskLanguage()


class ShowOrders(CallbackData, prefix="ord"):
    """The member's past orders."""


ORDERS = ShowOrders()


class AskPickupPoint(CallbackData, prefix="pk"):
    """The pickup points to choose from."""


class ChoosePickupPoint(CallbackData, prefix="pk:set"):
    """The member collects at ``point_id`` from now on."""

    point_id: int


PICKUP = AskPickupPoint()


class ReorderNow(CallbackData, prefix="bsk:again"):
    """Last week's order copied into the open cycle's basket (the main menu's button)."""


REORDER_NOW = ReorderNow()


class ReorderPast(CallbackData, prefix="bsk:past"):
    """One of the member's past orders (``order_id``, shown in /commandes) copied into the open
    cycle's basket."""

    order_id: int


class AskPhone(CallbackData, prefix="ph"):
    """The offer to share one's phone number (a reply keyboard with Telegram's contact button)."""


ASK_PHONE = AskPhone()


class StartWeighing(CallbackData, prefix="wgh:pt"):
    """Start the guided weighing of a point's lines (``point_id`` 0: every point's), from the
    pickup-day screen or the weighing command."""

    point_id: int
