"""What the sandbox remembers: chats, messages, files, callback queries, events.

These records are what a test reads through the driver (``alice.last_message.text``...). A
:class:`MessageRecord` is edited in place, so a reference always shows the message's *current*
state; earlier states are kept in :attr:`MessageRecord.history`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]


@dataclass(slots=True, eq=False)
class FileRecord:
    """A document or photo: what was uploaded (``content`` is None for a URL the sandbox
    could not fetch) and the identifiers Telegram would give it."""

    file_id: str
    file_unique_id: str
    file_name: str | None
    content: bytes | None
    mime_type: str | None = None
    width: int = 0
    height: int = 0

    @property
    def file_size(self) -> int:
        """Size in bytes (0 when the content is unknown)."""
        return len(self.content) if self.content is not None else 0

    @property
    def file_path(self) -> str:
        """The path ``getFile`` answers; downloads go to ``/file/bot<token>/<file_path>``."""
        suffix = ""
        if self.file_name and "." in self.file_name:
            suffix = "." + self.file_name.rsplit(".", 1)[1]
        return f"documents/{self.file_unique_id}{suffix}"

    def document_json(self) -> JSON:
        """Telegram ``Document`` object."""
        out: JSON = {"file_id": self.file_id, "file_unique_id": self.file_unique_id}
        if self.file_name:
            out["file_name"] = self.file_name
        if self.mime_type:
            out["mime_type"] = self.mime_type
        out["file_size"] = self.file_size
        return out

    def photo_json(self) -> list[JSON]:
        """Telegram ``Array of PhotoSize`` (a thumbnail and the full size, same bytes)."""
        thumb_w, thumb_h = _thumbnail_size(self.width, self.height)
        return [
            {
                "file_id": self.file_id + "-s",
                "file_unique_id": self.file_unique_id + "s",
                "width": thumb_w,
                "height": thumb_h,
                "file_size": self.file_size,
            },
            {
                "file_id": self.file_id,
                "file_unique_id": self.file_unique_id,
                "width": self.width,
                "height": self.height,
                "file_size": self.file_size,
            },
        ]

    def file_json(self) -> JSON:
        """Telegram ``File`` object (``getFile``)."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.file_size,
            "file_path": self.file_path,
        }


def _thumbnail_size(width: int, height: int) -> tuple[int, int]:
    if width <= 90 and height <= 90:
        return width, height
    scale = 90 / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


@dataclass(slots=True, eq=False)
class MessageRecord:
    """One message in a private chat, sent by the bot (``from_bot``) or by the user.

    Read by tests: :attr:`text`, :attr:`caption`, :attr:`buttons`, :attr:`button_data`,
    :attr:`document`, :attr:`photo`, :attr:`edits`, :attr:`message_id`, :attr:`history`.
    """

    chat_id: int
    message_id: int
    date: int
    from_bot: bool
    chat_json: JSON
    from_json: JSON
    text: str | None = None
    entities: list[JSON] = field(default_factory=list)
    caption: str | None = None
    caption_entities: list[JSON] = field(default_factory=list)
    reply_markup: JSON | None = None
    """The inline keyboard (``InlineKeyboardMarkup``) attached to the message, if any."""
    reply_keyboard: JSON | None = None
    """A ``ReplyKeyboardMarkup``/``ReplyKeyboardRemove``/``ForceReply`` sent with it."""
    document: FileRecord | None = None
    photo: FileRecord | None = None
    contact: JSON | None = None
    """A shared ``Contact`` (phone_number, first_name, user_id), sent by a user."""
    invoice: JSON | None = None
    """An ``Invoice`` the bot sent (``sendInvoice``), with the ``payload`` and ``prices`` it
    gave kept beside Telegram's fields under ``"sandbox"`` (Telegram shows them to nobody)."""
    successful_payment: JSON | None = None
    """The ``SuccessfulPayment`` of a service message, once the user paid an invoice."""
    reply_to_message_id: int | None = None
    media_group_id: str | None = None
    edits: int = 0
    """How many times the message was edited (text, caption or keyboard)."""
    edit_date: int | None = None
    history: list[JSON] = field(default_factory=list)
    """Earlier states, oldest first: ``{"text", "caption", "reply_markup"}``."""
    deleted: bool = False

    @property
    def body(self) -> str | None:
        """The text, or the caption of a document/photo."""
        return self.text if self.text is not None else self.caption

    @property
    def buttons(self) -> list[list[str]]:
        """Visible texts of the inline keyboard, row by row (``[]`` without keyboard)."""
        if not self.reply_markup:
            return []
        return [[b["text"] for b in row] for row in self.reply_markup["inline_keyboard"]]

    @property
    def button_data(self) -> list[list[str | None]]:
        """Same shape as :attr:`buttons`: each button's ``callback_data`` (or ``url``...)."""
        if not self.reply_markup:
            return []
        return [[_button_target(b) for b in row] for row in self.reply_markup["inline_keyboard"]]

    @property
    def keyboard(self) -> list[list[str]]:
        """Visible texts of a reply keyboard sent with this message (``[]`` if none)."""
        if not self.reply_keyboard or "keyboard" not in self.reply_keyboard:
            return []
        return [
            [b if isinstance(b, str) else b["text"] for b in row]
            for row in self.reply_keyboard["keyboard"]
        ]

    def snapshot(self) -> JSON:
        """The editable part of the message, as stored in :attr:`history`."""
        return {
            "text": self.text,
            "entities": list(self.entities),
            "caption": self.caption,
            "caption_entities": list(self.caption_entities),
            "reply_markup": self.reply_markup,
        }

    def to_json(self) -> JSON:
        """The Telegram ``Message`` object."""
        out: JSON = {
            "message_id": self.message_id,
            "from": self.from_json,
            "chat": self.chat_json,
            "date": self.date,
        }
        if self.edit_date is not None:
            out["edit_date"] = self.edit_date
        if self.media_group_id is not None:
            out["media_group_id"] = self.media_group_id
        if self.text is not None:
            out["text"] = self.text
            if self.entities:
                out["entities"] = self.entities
        if self.document is not None:
            out["document"] = self.document.document_json()
        if self.photo is not None:
            out["photo"] = self.photo.photo_json()
        if self.caption is not None:
            out["caption"] = self.caption
            if self.caption_entities:
                out["caption_entities"] = self.caption_entities
        if self.contact is not None:
            out["contact"] = self.contact
        if self.invoice is not None:
            out["invoice"] = {k: v for k, v in self.invoice.items() if k != "sandbox"}
        if self.successful_payment is not None:
            out["successful_payment"] = self.successful_payment
        if self.reply_markup is not None:
            out["reply_markup"] = self.reply_markup
        return out

    def __repr__(self) -> str:
        who = "bot" if self.from_bot else "user"
        return (
            f"<MessageRecord {who} chat={self.chat_id} id={self.message_id} "
            f"body={self.body!r} buttons={self.buttons!r} edits={self.edits}>"
        )


def _button_target(button: JSON) -> str | None:
    for key in ("callback_data", "url", "switch_inline_query", "switch_inline_query_current_chat"):
        if key in button:
            return str(button[key])
    for key in ("web_app", "login_url"):
        if key in button:
            return str(button[key].get("url"))
    return None


@dataclass(slots=True)
class CallbackAnswer:
    """What the bot answered to a button press (``answerCallbackQuery``)."""

    text: str | None
    show_alert: bool = False
    url: str | None = None
    cache_time: int = 0


@dataclass(slots=True, eq=False)
class CallbackQueryRecord:
    """A button press and, once the bot answered it, the answer."""

    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str
    answer: CallbackAnswer | None = None
    pressed_at: float = 0.0
    """When the person pressed, on the sandbox's clock (unix seconds)."""


@dataclass(slots=True, eq=False)
class PreCheckoutRecord:
    """A payment a user confirmed (``pre_checkout_query``) and, once the bot answered it
    (``answerPreCheckoutQuery``), the answer: ``ok`` and ``error_message``."""

    id: str
    user_id: int
    message_id: int
    currency: str
    total_amount: int
    invoice_payload: str
    asked_at: float = 0.0
    """When the user confirmed, on the sandbox's clock (unix seconds)."""
    answered: bool = False
    ok: bool = False
    error_message: str | None = None


@dataclass(slots=True, frozen=True)
class SandboxEvent:
    """Something that happened in a chat, for ``sandbox.on_event`` listeners.

    ``kind`` is one of: ``user_text``, ``user_edit``, ``document``, ``photo``, ``press``
    (``data`` = callback_data), ``bot_message``, ``bot_document``, ``bot_photo``, ``bot_edit``,
    ``bot_delete``, ``bot_answer`` (callback answer; ``text`` may be None), ``bot_action``
    (chat action such as ``typing`` in ``text``). ``who`` is the speaker: the user's first name
    or the bot's; ``chat`` is the first name of the person whose private chat it is.
    """

    who: str
    kind: str
    chat_id: int
    chat: str
    text: str | None = None
    buttons: tuple[tuple[str, ...], ...] = ()
    message_id: int | None = None
    data: str | None = None
    file_name: str | None = None
    show_alert: bool = False
