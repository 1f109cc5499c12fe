"""The Bot API methods the sandbox implements, over the state held by :class:`Sandbox`.

Each handler receives the parameters already validated and typed by the method table and
returns the ``result`` Telegram would return (a ``Message`` dict, ``True``...), or raises
:class:`~bot.sandbox.errors.ApiError` with Telegram's wording.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import struct
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from bot.sandbox.errors import ApiError, bad_request, forbidden, too_many_requests
from bot.sandbox.formatting import parse_text
from bot.sandbox.state import CallbackAnswer, FileRecord, MessageRecord, SandboxEvent
from bot.sandbox.table import UploadedFile

if TYPE_CHECKING:
    from bot.sandbox.core import Sandbox
    from bot.sandbox.driver import SandboxUser

logger = logging.getLogger(__name__)

JSON = dict[str, Any]
Params = dict[str, Any]
Files = Mapping[str, UploadedFile]
Handler = Callable[[Params, Files], Any | Awaitable[Any]]

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_ANSWER = 200
MAX_KEYBOARD_BUTTONS = 100
MAX_ROW_BUTTONS = 8

# Methods that put a message (or an action) in a chat: subject to blocking and rate limits.
SENDING_METHODS = frozenset(
    {
        "sendMessage",
        "sendDocument",
        "sendPhoto",
        "sendMediaGroup",
        "sendChatAction",
        "sendInvoice",
        "copyMessage",
        "forwardMessage",
    }
)
EDITING_METHODS = frozenset(
    {"editMessageText", "editMessageCaption", "editMessageMedia", "editMessageReplyMarkup"}
)
# sendChatAction is not a message: it is not counted by the flood limits; edits are.
RATE_LIMITED_METHODS = (SENDING_METHODS - {"sendChatAction"}) | EDITING_METHODS
# A bot may delete its own message in a private chat for 48 hours (Bot API, deleteMessage).
DELETE_WINDOW_SECONDS = 48 * 3600

CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
INVOICE_CURRENCIES = frozenset(
    {"EUR", "USD", "GBP", "CHF", "CAD", "AUD", "SEK", "NOK", "DKK", "PLN", "CZK", "JPY", "XTR"}
)
"""Currencies the sandbox takes in ``sendInvoice`` (a subset of Telegram's currencies.json,
https://core.telegram.org/bots/payments#supported-currencies; ``XTR``: Telegram Stars)."""
MAX_INVOICE_TOTAL = 1_000_000
"""The largest total the sandbox invoices, in the currency's smallest units (Telegram's
``max_amount`` is about US$10,000 in each currency)."""
_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")
_QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"


class BotApi:
    """Dispatches validated calls to handlers; one instance per :class:`Sandbox`."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sb = sandbox
        self.handlers: dict[str, Handler] = {
            "getMe": self.get_me,
            "getUpdates": self.get_updates,
            "setWebhook": self.set_webhook,
            "deleteWebhook": self.delete_webhook,
            "getWebhookInfo": self.get_webhook_info,
            "sendMessage": self.send_message,
            "editMessageText": self.edit_message_text,
            "editMessageReplyMarkup": self.edit_message_reply_markup,
            "editMessageCaption": self.edit_message_caption,
            "editMessageMedia": self.edit_message_media,
            "deleteMessage": self.delete_message,
            "deleteMessages": self.delete_messages,
            "answerCallbackQuery": self.answer_callback_query,
            "sendDocument": self.send_document,
            "sendPhoto": self.send_photo,
            "sendMediaGroup": self.send_media_group,
            "sendChatAction": self.send_chat_action,
            "sendInvoice": self.send_invoice,
            "answerPreCheckoutQuery": self.answer_pre_checkout_query,
            "setMyCommands": self.set_my_commands,
            "getMyCommands": self.get_my_commands,
            "deleteMyCommands": self.delete_my_commands,
            "setChatMenuButton": self.set_chat_menu_button,
            "getChatMenuButton": self.get_chat_menu_button,
            "setMyDescription": self._setter("description"),
            "getMyDescription": self._getter("description"),
            "setMyShortDescription": self._setter("short_description"),
            "getMyShortDescription": self._getter("short_description"),
            "setMyName": self._setter("name"),
            "getMyName": self._getter("name"),
            "getChat": self.get_chat,
            "getFile": self.get_file,
            "copyMessage": self.copy_message,
            "forwardMessage": self.forward_message,
            "close": lambda p, f: True,
            "logOut": lambda p, f: True,
        }

    async def dispatch(self, method: str, raw: Mapping[str, Any], files: Files) -> Any:
        """Validate ``raw`` against the table and run the handler; raises ``ApiError``."""
        params = self.sb.table.coerce_params(method, raw, files)
        handler = self.handlers.get(method)
        if handler is None:
            raise bad_request("method not supported by the sandbox")
        if method in SENDING_METHODS:
            self._check_can_send(method, params["chat_id"])
        elif method in EDITING_METHODS and params.get("chat_id") is not None:
            self._check_rate(method, params["chat_id"])
        result = handler(params, files)
        if asyncio.iscoroutine(result):
            result = await result
        return result

    # -- helpers ------------------------------------------------------------------------------

    def _user(self, chat_id: Any) -> SandboxUser:
        user = self.sb._users.get(chat_id) if isinstance(chat_id, int) else None
        if user is None:
            raise bad_request("chat not found")
        return user

    def _check_can_send(self, method: str, chat_id: Any) -> None:
        user = self._user(chat_id)
        if user.blocked:
            raise forbidden("bot was blocked by the user")
        self._check_rate(method, chat_id)

    def _check_rate(self, method: str, chat_id: Any) -> None:
        if self.sb.limiter is not None and method in RATE_LIMITED_METHODS:
            retry_after = self.sb.limiter.acquire(chat_id)
            if retry_after is not None:
                raise too_many_requests(retry_after)

    def _bot_message(self, user: SandboxUser, **fields: Any) -> MessageRecord:
        record = MessageRecord(
            chat_id=user.id,
            message_id=user._next_message_id(),
            date=self.sb.now(),
            from_bot=True,
            chat_json=user.chat_json,
            from_json=self.sb.bot_json,
            **fields,
        )
        user._messages[record.message_id] = record
        return record

    def _editable(self, params: Params) -> MessageRecord:
        if params.get("inline_message_id") is not None:
            raise bad_request("inline messages are not supported by the sandbox")
        if params.get("chat_id") is None or params.get("message_id") is None:
            raise bad_request("message identifier is not specified")
        user = self._user(params["chat_id"])
        message = user._messages.get(params["message_id"])
        if message is None:
            raise bad_request("message to edit not found")
        if not message.from_bot:
            raise bad_request("message can't be edited")
        return message

    @staticmethod
    def _split_markup(markup: JSON | None) -> tuple[JSON | None, JSON | None]:
        """(inline keyboard, reply keyboard) from a ``reply_markup`` parameter."""
        if markup is None:
            return None, None
        if "inline_keyboard" in markup:
            return markup, None
        return None, markup

    def _caption(self, params: Params) -> tuple[str | None, list[JSON]]:
        caption = params.get("caption")
        if caption is None:
            return None, []
        plain, entities = parse_text(
            caption, params.get("parse_mode"), params.get("caption_entities")
        )
        if len(plain) > MAX_CAPTION:
            raise bad_request("message caption is too long")
        return (plain or None), entities

    def _reply_to(self, user: SandboxUser, params: Params) -> int | None:
        reply = params.get("reply_parameters")
        message_id = reply.get("message_id") if reply else params.get("reply_to_message_id")
        if message_id is None:
            return None
        if message_id not in user._messages:
            allow = (reply or {}).get("allow_sending_without_reply") or params.get(
                "allow_sending_without_reply"
            )
            if not allow:
                raise bad_request("message to be replied not found")
            return None
        return int(message_id)

    def _emit_message(self, user: SandboxUser, record: MessageRecord, kind: str) -> None:
        file = record.document or record.photo
        self.sb._emit(
            SandboxEvent(
                who=self.sb.bot_first_name,
                kind=kind,
                chat_id=user.id,
                chat=user.first_name,
                text=record.body,
                buttons=tuple(tuple(row) for row in record.buttons),
                message_id=record.message_id,
                file_name=file.file_name if file else None,
            )
        )

    def _file(self, value: UploadedFile | str, kind: str) -> FileRecord:
        if isinstance(value, UploadedFile):
            record = self.sb._new_file(value.filename, value.content, value.mime_type)
            if kind == "photo":
                record.width, record.height = _image_size(value.content)
            return record
        known = self.sb.files.get(value.removesuffix("-s"))
        if known is not None:
            return known
        if re.match(r"^https?://", value):
            refusal = self.sb._unfetchable.get(value)
            if refusal is None and (urlsplit(value).hostname or "").endswith(".invalid"):
                # RFC 2606's reserved TLD never resolves: Telegram cannot download from it.
                refusal = "failed to get HTTP URL content"
            if refusal is not None:
                raise bad_request(refusal)
            # No network in the sandbox: remember the URL's file name, content unknown.
            name = value.rsplit("/", 1)[-1].split("?", 1)[0] or None
            record = self.sb._new_file(name, None, None)
            if kind == "photo":
                record.width, record.height = 800, 600
            return record
        raise bad_request("wrong file identifier/HTTP URL specified")

    # -- identity, updates, webhook ------------------------------------------------------------

    def get_me(self, p: Params, f: Files) -> JSON:
        return {
            **self.sb.bot_json,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def get_updates(self, p: Params, f: Files) -> list[JSON]:
        if self.sb.webhook.get("url"):
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        if "allowed_updates" in p:
            self.sb._allowed_updates = set(p["allowed_updates"]) or None
        limit = min(max(p.get("limit", 100), 1), 100)
        timeout = max(0, p.get("timeout", 0))
        offset = p.get("offset")
        deadline = time.monotonic() + timeout
        while True:
            updates = self.sb._fetch_updates(offset, limit)
            remaining = deadline - time.monotonic()
            if updates or remaining <= 0:
                return updates
            await self.sb._wait_for_update(remaining)

    def set_webhook(self, p: Params, f: Files) -> bool:
        self.sb.webhook = {
            "url": p["url"],
            "max_connections": p.get("max_connections", 40),
            "allowed_updates": p.get("allowed_updates"),
            "secret_token": p.get("secret_token"),
        }
        if p.get("drop_pending_updates"):
            self.sb._updates.clear()
        return True

    def delete_webhook(self, p: Params, f: Files) -> bool:
        self.sb.webhook = {}
        if p.get("drop_pending_updates"):
            self.sb._updates.clear()
        return True

    def get_webhook_info(self, p: Params, f: Files) -> JSON:
        info: JSON = {
            "url": self.sb.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self.sb._updates),
        }
        if self.sb.webhook.get("url"):
            info["max_connections"] = self.sb.webhook["max_connections"]
            if self.sb.webhook.get("allowed_updates"):
                info["allowed_updates"] = self.sb.webhook["allowed_updates"]
        return info

    # -- messages -----------------------------------------------------------------------------

    def send_message(self, p: Params, f: Files) -> JSON:
        user = self._user(p["chat_id"])
        text, entities = _message_text(p)
        inline, reply_keyboard = self._split_markup(p.get("reply_markup"))
        record = self._bot_message(
            user,
            text=text,
            entities=entities,
            reply_markup=inline,
            reply_keyboard=reply_keyboard,
            reply_to_message_id=self._reply_to(user, p),
        )
        self._emit_message(user, record, "bot_message")
        return record.to_json()

    def edit_message_text(self, p: Params, f: Files) -> JSON:
        message = self._editable(p)
        if message.text is None:
            raise bad_request("there is no text in the message to edit")
        text, entities = _message_text(p)
        markup = p.get("reply_markup")  # omitted => Telegram removes the inline keyboard
        _check_modified(message, text=text, entities=entities, reply_markup=markup)
        message.history.append(message.snapshot())
        message.text, message.entities, message.reply_markup = text, entities, markup
        return self._finish_edit(message)

    def edit_message_caption(self, p: Params, f: Files) -> JSON:
        message = self._editable(p)
        if message.document is None and message.photo is None:
            raise bad_request("there is no caption in the message to edit")
        caption, entities = self._caption(p)
        markup = p.get("reply_markup")
        _check_modified(message, caption=caption, caption_entities=entities, reply_markup=markup)
        message.history.append(message.snapshot())
        message.caption, message.caption_entities, message.reply_markup = (
            caption,
            entities,
            markup,
        )
        return self._finish_edit(message)

    def edit_message_media(self, p: Params, files: Files) -> JSON:
        message = self._editable(p)
        if message.document is None and message.photo is None:
            raise bad_request("there is no media in the message to edit")
        media = p["media"]
        kind = media["type"]
        if kind not in {"photo", "document"}:
            raise bad_request(f"media type {kind!r} is not supported by the sandbox")
        source: UploadedFile | str = media["media"]
        if isinstance(source, str) and source.startswith("attach://"):
            name = source[len("attach://") :]
            if name not in files:
                raise bad_request("wrong file identifier/HTTP URL specified")
            source = files[name]
        file = self._file(source, kind)
        caption, entities = self._caption(media)
        markup = p.get("reply_markup")
        message.history.append(message.snapshot())
        message.photo, message.document = (file, None) if kind == "photo" else (None, file)
        message.caption, message.caption_entities, message.reply_markup = (
            caption,
            entities,
            markup,
        )
        return self._finish_edit(message)

    def edit_message_reply_markup(self, p: Params, f: Files) -> JSON:
        message = self._editable(p)
        markup = p.get("reply_markup")
        _check_modified(message, reply_markup=markup)
        message.history.append(message.snapshot())
        message.reply_markup = markup
        return self._finish_edit(message)

    def _finish_edit(self, message: MessageRecord) -> JSON:
        message.edits += 1
        message.edit_date = self.sb.now()
        self._emit_message(self.sb._users[message.chat_id], message, "bot_edit")
        return message.to_json()

    def delete_message(self, p: Params, f: Files) -> bool:
        user = self._user(p["chat_id"])
        message = user._messages.get(p["message_id"])
        if message is not None and self._too_old_to_delete(message):
            raise bad_request("message can't be deleted for everyone")
        if not self._delete(user, p["message_id"]):
            raise bad_request("message to delete not found")
        return True

    def delete_messages(self, p: Params, f: Files) -> bool:
        user = self._user(p["chat_id"])
        ids = p["message_ids"]
        if not 1 <= len(ids) <= 100:
            raise bad_request("message_ids must contain 1-100 identifiers")
        for message_id in ids:
            # Messages that cannot be deleted are skipped, as the Bot API says.
            message = user._messages.get(message_id)
            if message is not None and not self._too_old_to_delete(message):
                self._delete(user, message_id)
        return True

    def _too_old_to_delete(self, message: MessageRecord) -> bool:
        return self.sb.now() - message.date >= DELETE_WINDOW_SECONDS

    def _delete(self, user: SandboxUser, message_id: int) -> bool:
        message = user._messages.pop(message_id, None)
        if message is None:
            return False
        message.deleted = True
        self.sb.deleted.append(message)
        self.sb._emit(
            SandboxEvent(
                who=self.sb.bot_first_name,
                kind="bot_delete",
                chat_id=user.id,
                chat=user.first_name,
                text=message.body,
                message_id=message_id,
            )
        )
        return True

    def answer_callback_query(self, p: Params, f: Files) -> bool:
        query = self.sb.callback_queries.get(p["callback_query_id"])
        if query is None or query.answer is not None:
            raise bad_request(_QUERY_INVALID)
        if self.sb.moment() - query.pressed_at > self.sb.callback_query_timeout:
            raise bad_request(_QUERY_INVALID)
        text = p.get("text")
        if text is not None and len(text) > MAX_CALLBACK_ANSWER:
            raise bad_request("MESSAGE_TOO_LONG")
        answer = CallbackAnswer(
            text=text or None,
            show_alert=bool(p.get("show_alert", False)),
            url=p.get("url"),
            cache_time=int(p.get("cache_time", 0)),
        )
        query.answer = answer
        user = self.sb._users[query.user_id]
        user.answers.append(answer)
        self.sb._emit(
            SandboxEvent(
                who=self.sb.bot_first_name,
                kind="bot_answer",
                chat_id=user.id,
                chat=user.first_name,
                text=answer.text,
                message_id=query.message_id,
                data=query.data,
                show_alert=answer.show_alert,
            )
        )
        return True

    def send_document(self, p: Params, f: Files) -> JSON:
        return self._send_file(p, "document")

    def send_photo(self, p: Params, f: Files) -> JSON:
        return self._send_file(p, "photo")

    def _send_file(self, p: Params, kind: str) -> JSON:
        user = self._user(p["chat_id"])
        file = self._file(p[kind], kind)
        caption, entities = self._caption(p)
        inline, reply_keyboard = self._split_markup(p.get("reply_markup"))
        record = self._bot_message(
            user,
            caption=caption,
            caption_entities=entities,
            reply_markup=inline,
            reply_keyboard=reply_keyboard,
            reply_to_message_id=self._reply_to(user, p),
            **{kind: file},
        )
        self._emit_message(user, record, f"bot_{kind}")
        return record.to_json()

    def send_media_group(self, p: Params, files: Files) -> list[JSON]:
        user = self._user(p["chat_id"])
        media = p["media"]
        if not 2 <= len(media) <= 10:
            raise bad_request("wrong number of media specified; must be 2-10")
        group_id = str(self.sb._next_id())
        out = []
        for item in media:
            kind = item["type"]
            if kind not in {"photo", "document"}:
                raise bad_request(f"media type {kind!r} is not supported by the sandbox")
            source: UploadedFile | str = item["media"]
            if isinstance(source, str) and source.startswith("attach://"):
                name = source[len("attach://") :]
                if name not in files:
                    raise bad_request("wrong file identifier/HTTP URL specified")
                source = files[name]
            caption, entities = self._caption(item)
            record = self._bot_message(
                user,
                caption=caption,
                caption_entities=entities,
                media_group_id=group_id,
                **{kind: self._file(source, kind)},
            )
            self._emit_message(user, record, f"bot_{kind}")
            out.append(record.to_json())
        return out

    # -- payments -----------------------------------------------------------------------------

    def send_invoice(self, p: Params, f: Files) -> JSON:
        """An invoice in the chat, under Telegram's rules (Bot API, sendInvoice): title 1-32
        characters, description 1-255, payload 1-128 bytes, a known currency, a provider token
        for real money (none for Stars, which take exactly one price), integer amounts in the
        smallest units whose total is positive."""
        user = self._user(p["chat_id"])
        if not 1 <= len(p["title"]) <= 32 or not 1 <= len(p["description"]) <= 255:
            raise bad_request("INVOICE_TITLE_OR_DESCRIPTION_INVALID")
        if not 1 <= len(p["payload"].encode("utf-8")) <= 128:
            raise bad_request("INVOICE_PAYLOAD_INVALID")
        currency = p["currency"]
        if currency not in INVOICE_CURRENCIES:
            raise bad_request("CURRENCY_INVALID")
        token = p.get("provider_token") or ""
        prices = p["prices"]
        if (currency == "XTR") == bool(token) or (currency == "XTR" and len(prices) != 1):
            raise bad_request("PAYMENT_PROVIDER_INVALID")
        amounts = [price.get("amount") for price in prices]
        if not prices or any(not isinstance(a, int) or isinstance(a, bool) for a in amounts):
            raise bad_request("CURRENCY_TOTAL_AMOUNT_INVALID")
        total = sum(amounts)
        if not 0 < total <= MAX_INVOICE_TOTAL:
            raise bad_request("CURRENCY_TOTAL_AMOUNT_INVALID")
        record = self._bot_message(
            user,
            invoice={
                "title": p["title"],
                "description": p["description"],
                "start_parameter": p.get("start_parameter") or "",
                "currency": currency,
                "total_amount": total,
                "sandbox": {"payload": p["payload"], "prices": prices},
            },
            reply_to_message_id=self._reply_to(user, p),
        )
        self._emit_message(user, record, "bot_invoice")
        return record.to_json()

    def answer_pre_checkout_query(self, p: Params, f: Files) -> bool:
        """The bot's answer to a confirmed payment: once, within 10 seconds (sandbox clock);
        a refusal must say why (``error_message``), Telegram shows it to the user."""
        from bot.sandbox.core import PRE_CHECKOUT_TIMEOUT

        query = self.sb.pre_checkout_queries.get(p["pre_checkout_query_id"])
        if query is None or query.answered:
            raise bad_request(_QUERY_INVALID)
        if self.sb.moment() - query.asked_at > PRE_CHECKOUT_TIMEOUT:
            raise bad_request(_QUERY_INVALID)
        if not p["ok"] and not (p.get("error_message") or "").strip():
            raise bad_request("ERROR_MESSAGE_EMPTY")
        query.answered, query.ok = True, bool(p["ok"])
        query.error_message = None if p["ok"] else p["error_message"]
        user = self.sb._users[query.user_id]
        self.sb._emit(
            SandboxEvent(
                who=self.sb.bot_first_name,
                kind="bot_checkout_answer",
                chat_id=user.id,
                chat=user.first_name,
                text=query.error_message,
                message_id=query.message_id,
            )
        )
        return True

    def send_chat_action(self, p: Params, f: Files) -> bool:
        user = self._user(p["chat_id"])
        if p["action"] not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        self.sb._emit(
            SandboxEvent(
                who=self.sb.bot_first_name,
                kind="bot_action",
                chat_id=user.id,
                chat=user.first_name,
                text=p["action"],
            )
        )
        return True

    def copy_message(self, p: Params, f: Files) -> JSON:
        record = self._copy(p, keep_caption=False)
        return {"message_id": record.message_id}

    def forward_message(self, p: Params, f: Files) -> JSON:
        record = self._copy(p, keep_caption=True)
        return record.to_json()

    def _copy(self, p: Params, *, keep_caption: bool) -> MessageRecord:
        target = self._user(p["chat_id"])
        source_user = self._user(p["from_chat_id"])
        source = source_user._messages.get(p["message_id"])
        if source is None:
            raise bad_request("message to copy not found")
        caption, entities = source.caption, source.caption_entities
        if not keep_caption and "caption" in p:
            caption, entities = self._caption(p)
        inline, reply_keyboard = (
            self._split_markup(p.get("reply_markup")) if not keep_caption else (None, None)
        )
        record = self._bot_message(
            target,
            text=source.text,
            entities=list(source.entities),
            caption=caption,
            caption_entities=list(entities),
            document=source.document,
            photo=source.photo,
            reply_markup=inline,
            reply_keyboard=reply_keyboard,
        )
        self._emit_message(target, record, "bot_message")
        return record

    # -- commands, menu, chat, files ----------------------------------------------------------

    def set_my_commands(self, p: Params, f: Files) -> bool:
        commands = p["commands"]
        if len(commands) > 100:
            raise bad_request("too many commands specified")
        for command in commands:
            if not _COMMAND_NAME.match(command["command"]):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(command["description"]) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        key = _commands_key(p)
        if commands:
            self.sb._commands[key] = [
                {"command": c["command"], "description": c["description"]} for c in commands
            ]
        else:
            self.sb._commands.pop(key, None)
        return True

    def get_my_commands(self, p: Params, f: Files) -> list[JSON]:
        return [dict(c) for c in self.sb._commands.get(_commands_key(p), [])]

    def delete_my_commands(self, p: Params, f: Files) -> bool:
        self.sb._commands.pop(_commands_key(p), None)
        return True

    def set_chat_menu_button(self, p: Params, f: Files) -> bool:
        chat_id = p.get("chat_id")
        if chat_id is not None:
            self._user(chat_id)
        self.sb.menu_buttons[chat_id] = p.get("menu_button") or {"type": "default"}
        return True

    def get_chat_menu_button(self, p: Params, f: Files) -> JSON:
        chat_id = p.get("chat_id")
        button = self.sb.menu_buttons.get(chat_id) or self.sb.menu_buttons.get(None)
        return dict(button or {"type": "commands"})

    def _setter(self, field: str) -> Handler:
        def handler(p: Params, f: Files) -> bool:
            self.sb.profile[(field, p.get("language_code") or "")] = p.get(field) or ""
            return True

        return handler

    def _getter(self, field: str) -> Handler:
        def handler(p: Params, f: Files) -> JSON:
            language = p.get("language_code") or ""
            value = self.sb.profile.get((field, language)) or self.sb.profile.get((field, ""))
            if field == "name":
                value = value or self.sb.bot_first_name
            return {field: value or ""}

        return handler

    def get_chat(self, p: Params, f: Files) -> JSON:
        user = self._user(p["chat_id"])
        return {
            **user.chat_json,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": True,
                "limited_gifts": True,
                "unique_gifts": True,
                "premium_subscription": True,
                "gifts_from_channels": True,
            },
        }

    def get_file(self, p: Params, f: Files) -> JSON:
        record = self.sb.files.get(p["file_id"].removesuffix("-s"))
        if record is None:
            raise bad_request("invalid file_id")
        return record.file_json()


def _message_text(p: Params) -> tuple[str, list[JSON]]:
    text, entities = parse_text(p["text"], p.get("parse_mode"), p.get("entities"))
    if not text:
        raise bad_request("message text is empty")
    if len(text) > MAX_TEXT:
        raise bad_request("message is too long")
    return text, entities


def _check_keyboard(markup: JSON | None) -> None:
    """Telegram refuses an inline keyboard of more than 100 buttons or 8 buttons in a row."""
    rows = (markup or {}).get("inline_keyboard")
    if not rows:
        return
    if sum(len(row) for row in rows) > MAX_KEYBOARD_BUTTONS or any(
        len(row) > MAX_ROW_BUTTONS for row in rows
    ):
        raise bad_request("reply markup is too long")


def _host(url: str) -> str:
    return url.split("://", 1)[1].split("/", 1)[0].split(":", 1)[0].lower()


def _check_modified(message: MessageRecord, **new: Any) -> None:
    current = message.snapshot()
    if all(_canonical(current[key]) == _canonical(value) for key, value in new.items()):
        raise bad_request(
            "message is not modified: specified new message content and reply markup are "
            "exactly the same as a current content and reply markup of the message"
        )


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _commands_key(p: Params) -> tuple[str, str]:
    scope = p.get("scope") or {"type": "default"}
    return _canonical(scope), p.get("language_code") or ""


def _image_size(content: bytes) -> tuple[int, int]:
    """Width and height of a PNG/JPEG/GIF (what Telegram reports in PhotoSize); 512x512 if the
    format is not recognised."""
    try:
        if content.startswith(b"\x89PNG\r\n\x1a\n"):
            width, height = struct.unpack(">II", content[16:24])
            return int(width), int(height)
        if content[:6] in (b"GIF87a", b"GIF89a"):
            width, height = struct.unpack("<HH", content[6:10])
            return int(width), int(height)
        if content.startswith(b"\xff\xd8"):
            i = 2
            while i + 9 < len(content):
                if content[i] != 0xFF:
                    break
                marker = content[i + 1]
                size = struct.unpack(">H", content[i + 2 : i + 4])[0]
                if marker in {0xC0, 0xC1, 0xC2}:
                    height, width = struct.unpack(">HH", content[i + 5 : i + 9])
                    return int(width), int(height)
                i += 2 + size
    except struct.error:
        pass
    return 512, 512
