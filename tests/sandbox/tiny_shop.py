"""A tiny PTB shop bot used by the sandbox tests (start menu, categories, basket, upload)."""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

CATEGORIES = {"veg": "Légumes", "fruit": "Fruits", "egg": "Œufs"}


def menu() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(label, callback_data=f"cat:{key}")]
            for key, label in CATEGORIES.items()
        ]
        + [[InlineKeyboardButton("Site", url="https://example.org")]]
    )


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_user is not None
    assert update.message is not None
    payload = " ".join(context.args or [])
    greeting = "Bonjour" if update.effective_user.language_code == "fr" else "Hello"
    text = f"<b>{greeting}</b> {update.effective_user.first_name}"
    if payload:
        text += f" (via {payload})"
    await update.message.reply_text(text, parse_mode="HTML", reply_markup=menu())


async def category(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    assert query.data is not None
    key = query.data.split(":", 1)[1]
    if key not in CATEGORIES:
        await query.answer("Catégorie inconnue", show_alert=True)
        return
    await query.answer(f"{CATEGORIES[key]} !")
    back = InlineKeyboardMarkup([[InlineKeyboardButton("« Retour", callback_data="back")]])
    await query.edit_message_text(f"Rayon {CATEGORIES[key]}", reply_markup=back)


async def back(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer()
    await query.edit_message_text("Menu", reply_markup=menu())


async def upload(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None
    assert update.message.document is not None
    file = await update.message.document.get_file()
    content = bytes(await file.download_as_bytearray())
    await update.message.reply_text(f"Reçu {update.message.document.file_name}: {len(content)} o")


async def echo_edit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.edited_message is not None
    await update.edited_message.reply_text(f"Modifié: {update.edited_message.text}")


def add_handlers(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(category, pattern=r"^cat:"))
    app.add_handler(CallbackQueryHandler(back, pattern=r"^back$"))
    app.add_handler(MessageHandler(filters.Document.ALL, upload))
    app.add_handler(MessageHandler(filters.UpdateType.EDITED_MESSAGE & filters.TEXT, echo_edit))
