"""Domain errors: each one names a rule a person broke, with the values a message needs.

Handlers turn them into polite sentences in the member's language; the domain never renders text.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A request the rules refuse. ``code`` names the rule; ``params`` fill the message."""

    code = "domain_error"

    def __init__(self, **params: Any) -> None:
        super().__init__(f"{self.code} {params}" if params else self.code)
        self.params = params


class NoOpenCycle(DomainError):
    """Ordering needs an open cycle and there is none (``next_opens_at`` may say when)."""

    code = "no_open_cycle"


class CycleClosed(DomainError):
    """The cycle this action belongs to is no longer open."""

    code = "cycle_closed"


class StaleAction(DomainError):
    """A button from an earlier cycle, an old message, or for something that no longer exists."""

    code = "stale"


class NotAllowed(DomainError):
    """The member may not do this (someone else's order, another farm's product…)."""

    code = "not_allowed"


class EmptyBasket(DomainError):
    """There is nothing to confirm."""

    code = "empty_basket"


class AlreadyConfirmed(DomainError):
    """The order is already confirmed as it stands: confirming again would change nothing."""

    code = "already_confirmed"


class BelowMinimum(DomainError):
    """The basket is below the network's minimum order amount."""

    code = "below_minimum"


class NoPickupPoint(DomainError):
    """The member has not chosen where to collect the order."""

    code = "no_pickup_point"


class SoldOut(DomainError):
    """Nothing is left of this product."""

    code = "sold_out"


class InvalidQuantity(DomainError):
    """A quantity that is zero, negative, absurdly large or not a multiple of the product's step."""

    code = "invalid_quantity"


class QuestionPending(DomainError):
    """A stock update still has a question unanswered (which product? is that quantity right?)."""

    code = "question_pending"


class BalanceTooLow(DomainError):
    """The member's balance (with the network's overdraft) does not cover the order:
    ``available`` is what it can still hold, ``needed`` what the change asked for."""

    code = "balance_too_low"


class NothingToPay(DomainError):
    """The order owes nothing (already paid, or not an order to pay)."""

    code = "nothing_to_pay"


class AmountChanged(DomainError):
    """The invoice's amount is no longer what the order owes (``to_pay``)."""

    code = "amount_changed"


class InvalidAmount(DomainError):
    """An amount of money that is zero, negative or beyond ``maximum`` cents."""

    code = "invalid_amount"


class AboveMaximum(DomainError):
    """The member already holds the product's per-person maximum (``maximum``, ``held``)."""

    code = "above_maximum"


class MemberBlocked(DomainError):
    """An admin blocked this member from ordering."""

    code = "member_blocked"
