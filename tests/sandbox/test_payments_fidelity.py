"""The sandbox's Telegram Payments refuse what Telegram refuses (bot/sandbox/README.md)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.sandbox import Sandbox, SandboxUser


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sandbox(clock: Clock) -> Sandbox:
    return Sandbox(clock=clock)


@pytest.fixture
def alice(sandbox: Sandbox) -> SandboxUser:
    return sandbox.user("Alice", language="fr")


def invoice(chat_id: int, **changes: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "chat_id": chat_id,
        "title": "Commande n° 7",
        "description": "Vos produits de la semaine",
        "payload": "order:7:1700",
        "provider_token": "284685063:TEST:sandbox",
        "currency": "EUR",
        "prices": [{"label": "Commande n° 7", "amount": 1700}],
    }
    params.update(changes)
    return params


async def refusal(sandbox: Sandbox, method: str, params: dict[str, Any]) -> str:
    answer = await sandbox.call(method, params)
    assert answer.status == 400, answer.body
    assert answer.body is not None
    return str(answer.body["description"])


async def test_an_invoice_is_a_message_with_its_total_in_the_smallest_units(sandbox, alice):
    answer = await sandbox.call("sendInvoice", invoice(alice.id))
    assert answer.status == 200
    assert answer.body is not None
    sent = answer.body["result"]["invoice"]
    assert sent == {
        "title": "Commande n° 7",
        "description": "Vos produits de la semaine",
        "start_parameter": "",
        "currency": "EUR",
        "total_amount": 1700,
    }
    assert alice.last_message.invoice is not None


@pytest.mark.parametrize(
    ("changes", "description"),
    [
        ({"title": "x" * 33}, "Bad Request: INVOICE_TITLE_OR_DESCRIPTION_INVALID"),
        ({"description": ""}, "Bad Request: INVOICE_TITLE_OR_DESCRIPTION_INVALID"),
        ({"payload": "é" * 65}, "Bad Request: INVOICE_PAYLOAD_INVALID"),  # 130 bytes
        ({"currency": "ZZZ"}, "Bad Request: CURRENCY_INVALID"),
        ({"provider_token": ""}, "Bad Request: PAYMENT_PROVIDER_INVALID"),
        ({"currency": "XTR"}, "Bad Request: PAYMENT_PROVIDER_INVALID"),
        ({"prices": [{"label": "x", "amount": 0}]}, "Bad Request: CURRENCY_TOTAL_AMOUNT_INVALID"),
        (
            {"prices": [{"label": "x", "amount": 1_000_001}]},
            "Bad Request: CURRENCY_TOTAL_AMOUNT_INVALID",
        ),
    ],
)
async def test_sendinvoice_refuses_what_telegram_refuses(sandbox, alice, changes, description):
    assert await refusal(sandbox, "sendInvoice", invoice(alice.id, **changes)) == description


async def test_a_pre_checkout_query_is_answered_once_within_ten_seconds(sandbox, alice, clock):
    await sandbox.call("sendInvoice", invoice(alice.id))
    asked = await alice.pay()  # nobody answers: no bot attached
    assert not asked.answered
    assert not any(m.successful_payment for m in alice.history)
    query = {"pre_checkout_query_id": asked.id, "ok": False}
    assert await refusal(sandbox, "answerPreCheckoutQuery", query) == (
        "Bad Request: ERROR_MESSAGE_EMPTY"
    )
    clock.now += 11
    query = {"pre_checkout_query_id": asked.id, "ok": True}
    assert "query is too old" in await refusal(sandbox, "answerPreCheckoutQuery", query)


async def test_polling_without_pre_checkout_query_in_allowed_updates_never_gets_it(sandbox, alice):
    await sandbox.call("getUpdates", {"allowed_updates": ["message"], "timeout": 0})
    await sandbox.call("sendInvoice", invoice(alice.id))
    await alice.pay()
    updates = (await sandbox.call("getUpdates", {"timeout": 0})).body
    assert updates is not None
    assert updates["result"] == []
