"""The driver: a test acts as a person talking to the bot.

``alice = sandbox.user("Alice", language="fr")`` gives a :class:`SandboxUser`; ``await
alice.send("/start")``, ``await alice.press("Légumes")`` produce real Telegram updates, and
``alice.last_message``/``alice.messages``/``alice.answers`` show what the bot did in her chat.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import TYPE_CHECKING, Any

from bot.sandbox.formatting import command_entities
from bot.sandbox.state import (
    CallbackAnswer,
    CallbackQueryRecord,
    MessageRecord,
    PreCheckoutRecord,
    SandboxEvent,
)

if TYPE_CHECKING:
    from bot.sandbox.core import Sandbox

JSON = dict[str, Any]


class SandboxUser:
    """A Telegram user and their private chat with the bot (``chat_id == id``)."""

    __slots__ = (
        "_counter",
        "_messages",
        "_sandbox",
        "answers",
        "blocked",
        "chat_json",
        "first_name",
        "id",
        "language_code",
        "last_name",
        "user_json",
        "username",
    )

    def __init__(
        self,
        sandbox: Sandbox,
        user_id: int,
        first_name: str,
        language_code: str | None,
        last_name: str | None = None,
        username: str | None = None,
    ) -> None:
        self._sandbox = sandbox
        self.id = user_id
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.language_code = language_code
        self.blocked = False
        self.answers: list[CallbackAnswer] = []
        """The bot's ``answerCallbackQuery`` answers to this user's presses, oldest first."""
        self._messages: dict[int, MessageRecord] = {}
        # Message ids are per private chat and shared by both sides, as in Telegram.
        self._counter = itertools.count(1)
        self.user_json: JSON = {"id": user_id, "is_bot": False, "first_name": first_name}
        self.chat_json: JSON = {"id": user_id, "type": "private", "first_name": first_name}
        for key, value in (("last_name", last_name), ("username", username)):
            if value is not None:
                self.user_json[key] = value
                self.chat_json[key] = value
        if language_code:
            self.user_json["language_code"] = language_code

    def __repr__(self) -> str:
        return f"<SandboxUser {self.first_name} id={self.id}>"

    @property
    def sandbox(self) -> Sandbox:
        """The sandbox (the bot) this person talks to."""
        return self._sandbox

    @property
    def chat_id(self) -> int:
        """The private chat's id (same as the user id)."""
        return self.id

    # -- what the bot did ---------------------------------------------------------------------

    @property
    def messages(self) -> list[MessageRecord]:
        """The bot's messages in this chat (deleted ones excluded), oldest first."""
        return [m for m in self._messages.values() if m.from_bot]

    @property
    def history(self) -> list[MessageRecord]:
        """Every message in the chat, from both sides, oldest first."""
        return list(self._messages.values())

    @property
    def last_message(self) -> MessageRecord:
        """The bot's newest message here, in its current (possibly edited) state."""
        for message in reversed(self._messages.values()):
            if message.from_bot:
                return message
        raise AssertionError(f"the bot has sent no message to {self.first_name}")

    @property
    def keyboard(self) -> list[list[str]]:
        """The reply keyboard currently shown to the user (``[]`` if none or removed)."""
        for message in reversed(self._messages.values()):
            if message.from_bot and message.reply_keyboard is not None:
                return message.keyboard
        return []

    def forget(self) -> None:
        """Drop this chat's transcript from the sandbox: its messages (both sides, with their
        edit histories), the bot's answers to its presses, its button presses and the messages
        the bot deleted in it. The user, their chat and its message numbering remain.

        Telegram keeps chat histories, not the bot: a long simulation (a benchmark) calls this
        once a conversation is over, so the sandbox's memory does not grow with every chat.
        """
        sandbox = self._sandbox
        self._messages.clear()
        self.answers.clear()
        for query_id in [q for q, r in sandbox.callback_queries.items() if r.user_id == self.id]:
            del sandbox.callback_queries[query_id]
        if any(m.chat_id == self.id for m in sandbox.deleted):
            sandbox.deleted[:] = [m for m in sandbox.deleted if m.chat_id != self.id]

    def block_bot(self) -> asyncio.Task[None] | None:
        """From now on every send to this chat answers 403 ``bot was blocked by the user``;
        the bot gets a ``my_chat_member`` update (its status ``member`` → ``kicked``), as
        Telegram sends. Returns the delivery (await it to wait until the bot handled it), or
        None outside an event loop (then the update is queued for ``getUpdates``)."""
        self.blocked = True
        return self._sandbox._deliver_soon(self._member_update("member", "kicked"))

    def unblock_bot(self) -> asyncio.Task[None] | None:
        """Undo :meth:`block_bot`; the bot gets ``my_chat_member`` (``kicked`` → ``member``)."""
        self.blocked = False
        return self._sandbox._deliver_soon(self._member_update("kicked", "member"))

    def _member_update(self, old: str, new: str) -> JSON:
        bot = self._sandbox.bot_json
        old_member: JSON = {"status": old, "user": bot}
        new_member: JSON = {"status": new, "user": bot}
        for member in (old_member, new_member):
            if member["status"] == "kicked":
                member["until_date"] = 0  # forever
        return {
            "my_chat_member": {
                "chat": self.chat_json,
                "from": self.user_json,
                "date": self._sandbox.now(),
                "old_chat_member": old_member,
                "new_chat_member": new_member,
            }
        }

    # -- acting -------------------------------------------------------------------------------

    async def send(self, text: str, *, wait: bool = False) -> MessageRecord:
        """Send a text message; ``/commands`` get ``bot_command`` entities as in Telegram.

        With an attached application, returns once the bot handled it. In polling mode the
        update is queued; ``wait=True`` also waits for ``sandbox.idle()``.
        """
        record = self._new_message(text=text, entities=command_entities(text))
        self._emit("user_text", text=text, message_id=record.message_id)
        await self._deliver({"message": record.to_json()}, wait)
        return record

    async def send_document(
        self,
        content: bytes,
        file_name: str,
        *,
        caption: str | None = None,
        mime_type: str | None = None,
        wait: bool = False,
    ) -> MessageRecord:
        """Send a file as a document (the bot can ``getFile`` and download it)."""
        file = self._sandbox._new_file(file_name, content, mime_type)
        record = self._new_message(document=file, caption=caption)
        self._emit("document", text=caption, message_id=record.message_id, file_name=file_name)
        await self._deliver({"message": record.to_json()}, wait)
        return record

    async def send_photo(
        self, content: bytes, *, caption: str | None = None, wait: bool = False
    ) -> MessageRecord:
        """Send a photo."""
        from bot.sandbox.methods import _image_size

        file = self._sandbox._new_file(None, content, "image/jpeg")
        file.width, file.height = _image_size(content)
        record = self._new_message(photo=file, caption=caption)
        self._emit("photo", text=caption, message_id=record.message_id)
        await self._deliver({"message": record.to_json()}, wait)
        return record

    async def share_contact(
        self,
        phone: str,
        *,
        user_id: int | None = None,
        first_name: str | None = None,
        wait: bool = False,
    ) -> MessageRecord:
        """Send a contact, as the reply keyboard's "share my phone number" button does: this
        user's own (the default) or, with ``user_id``, someone else's from the address book."""
        contact: JSON = {
            "phone_number": phone,
            "first_name": first_name or self.first_name,
            "user_id": self.id if user_id is None else user_id,
        }
        record = self._new_message(contact=contact)
        self._emit("contact", text=phone, message_id=record.message_id)
        await self._deliver({"message": record.to_json()}, wait)
        return record

    async def edit(self, message: MessageRecord, text: str, *, wait: bool = False) -> MessageRecord:
        """Edit one of this user's own text messages (an ``edited_message`` update)."""
        if message.from_bot or message.chat_id != self.id:
            raise AssertionError(f"{self.first_name} can only edit her own messages")
        message.history.append(message.snapshot())
        message.text = text
        message.entities = command_entities(text)
        message.edits += 1
        message.edit_date = self._sandbox.now()
        self._emit("user_edit", text=text, message_id=message.message_id)
        await self._deliver({"edited_message": message.to_json()}, wait)
        return message

    async def press(
        self, text: str, *, message: MessageRecord | None = None, wait: bool = False
    ) -> CallbackQueryRecord:
        """Press the inline button whose visible text is ``text`` (exact match first, then a
        unique substring) on ``message`` or else the newest bot message with a keyboard.

        Raises AssertionError, listing the buttons, if none or several match."""
        target = message or self._newest_with_keyboard()
        if target.deleted:
            raise AssertionError(f"message {target.message_id} was deleted")
        buttons = [b for row in (target.reply_markup or {}).get("inline_keyboard", []) for b in row]
        exact = [b for b in buttons if b["text"] == text]
        matches = exact or [b for b in buttons if text.casefold() in b["text"].casefold()]
        if len(matches) != 1:
            problem = "no button" if not matches else f"{len(matches)} buttons"
            raise AssertionError(
                f"{problem} matching {text!r} on message {target.message_id} "
                f"({target.body!r}); buttons: {target.buttons!r}"
            )
        button = matches[0]
        if "callback_data" not in button:
            raise AssertionError(f"button {button['text']!r} is not a callback button: {button!r}")
        return await self._press(target, button["callback_data"], button["text"], wait)

    async def press_data(
        self, data: str, *, message: MessageRecord | None = None, wait: bool = False
    ) -> CallbackQueryRecord:
        """Send a callback query with arbitrary ``data`` (forged; for hostile tests), from
        ``message`` or else the newest bot message with a keyboard (or the newest at all)."""
        if message is None:
            try:
                message = self._newest_with_keyboard()
            except AssertionError:
                message = self.last_message
        return await self._press(message, data, None, wait)

    async def pay(
        self,
        message: MessageRecord | None = None,
        *,
        repeat: int = 1,
        delay: float = 0.0,
        wait: bool = False,
    ) -> PreCheckoutRecord:
        """Pay an invoice (``message``, else the newest one in the chat) as Telegram does: the
        bot gets a ``pre_checkout_query``; if it answered ``ok`` within 10 seconds (``delay``
        moves the sandbox clock's reading of the answer, for tests of a slow bot), the chat gets
        the ``successful_payment`` service message, delivered ``repeat`` times (as Telegram
        does when it did not get the webhook's answer). Returns the query and its answer."""
        from bot.sandbox.core import PRE_CHECKOUT_TIMEOUT

        sandbox = self._sandbox
        target = message or next(
            (m for m in reversed(self.messages) if m.invoice is not None), None
        )
        if target is None or target.invoice is None:
            raise AssertionError(f"no invoice in {self.first_name}'s chat")
        invoice = target.invoice
        query = PreCheckoutRecord(
            id=str(5_000_000_000_000_000 + sandbox._next_id()),
            user_id=self.id,
            message_id=target.message_id,
            currency=invoice["currency"],
            total_amount=invoice["total_amount"],
            invoice_payload=invoice["sandbox"]["payload"],
            asked_at=sandbox.moment() - delay,
        )
        sandbox.pre_checkout_queries[query.id] = query
        self._emit("pay", text=invoice["title"], message_id=target.message_id)
        payload = {
            "id": query.id,
            "from": self.user_json,
            "currency": query.currency,
            "total_amount": query.total_amount,
            "invoice_payload": query.invoice_payload,
        }
        await self._deliver({"pre_checkout_query": payload}, wait)
        in_time = sandbox.moment() - query.asked_at <= PRE_CHECKOUT_TIMEOUT
        if not (query.answered and query.ok and in_time):
            return query
        n = sandbox._next_id()
        record = self._new_message(
            successful_payment={
                "currency": query.currency,
                "total_amount": query.total_amount,
                "invoice_payload": query.invoice_payload,
                "telegram_payment_charge_id": f"tg-charge-{n:08d}",
                "provider_payment_charge_id": f"provider-charge-{n:08d}",
            }
        )
        for _time in range(max(repeat, 1)):
            await self._deliver({"message": record.to_json()}, wait)
        return query

    # -- internals ----------------------------------------------------------------------------

    def _next_message_id(self) -> int:
        return next(self._counter)

    def _newest_with_keyboard(self) -> MessageRecord:
        for message in reversed(self._messages.values()):
            if message.from_bot and message.reply_markup:
                return message
        raise AssertionError(f"no bot message with an inline keyboard in {self.first_name}'s chat")

    def _new_message(self, **fields: Any) -> MessageRecord:
        record = MessageRecord(
            chat_id=self.id,
            message_id=self._next_message_id(),
            date=self._sandbox.now(),
            from_bot=False,
            chat_json=self.chat_json,
            from_json=self.user_json,
            **fields,
        )
        self._messages[record.message_id] = record
        return record

    async def _press(
        self, message: MessageRecord, data: str, label: str | None, wait: bool
    ) -> CallbackQueryRecord:
        sandbox = self._sandbox
        query = CallbackQueryRecord(
            id=str(4_000_000_000_000_000 + sandbox._next_id()),
            user_id=self.id,
            chat_id=self.id,
            message_id=message.message_id,
            data=data,
            pressed_at=sandbox.moment(),
        )
        sandbox.callback_queries[query.id] = query
        self._emit("press", text=label, message_id=message.message_id, data=data)
        payload = {
            "id": query.id,
            "from": self.user_json,
            "message": message.to_json(),
            # Stable per chat, as Telegram's chat_instance is.
            "chat_instance": str(abs(hash(("chat_instance", sandbox.bot_id, self.id)))),
            "data": data,
        }
        await self._deliver({"callback_query": payload}, wait)
        return query

    def _emit(self, kind: str, **fields: Any) -> None:
        self._sandbox._emit(
            SandboxEvent(
                who=self.first_name, kind=kind, chat_id=self.id, chat=self.first_name, **fields
            )
        )

    async def _deliver(self, payload: JSON, wait: bool) -> None:
        await self._sandbox._deliver(payload)
        if wait:
            await self._sandbox.idle()
