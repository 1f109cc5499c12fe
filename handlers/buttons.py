"""One way to answer a button: :func:`button` gives the ``CallbackQueryHandler`` of a route.

Every press goes through the same steps, in this order:

1. an admin route refuses anyone else (an alert, in their language);
2. the data is unpacked into the route's typed instance; forged or malformed data is answered as
   a stale button;
3. a route that carries its cycle (``cycle=True``) checks that this cycle is the open one; a
   button from a closed or an earlier week is answered politely;
4. the query is answered, with no text — before any domain work, so a slow transaction never
   ends in Telegram's "query is too old" (an answer comes once per press);
5. the callback runs with the instance (and the open cycle).

After an interruption (a restart, a crash, a deploy) Telegram delivers the presses people made
while the bot was away, possibly minutes late, on views that may no longer be true. A callback
query carries no press time, so the rule is by update id: a press whose update was already
waiting when the application started (:class:`handlers.context.Backlog`, counted from
``getWebhookInfo`` at start-up) is not acted on when its route changes something (``current``
is given: add, confirm, empty…). It is answered "this button is from before an interruption"
(a short pop-up while Telegram still takes one) and ``current`` shows the view as it is now with
that notice above it. Presses made after start-up, and pending presses of routes that only show
something, are served as usual.

Because the query is already answered, a callback reports what happened in the message it
shows (a notice above the view) or, when there is no view to redraw, with
:func:`handlers.common.tell`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar, overload

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler

from handlers import admin_only
from handlers.callback_data import CallbackData, CallbackDataError
from handlers.common import answer_stale, cut_popup, escape
from handlers.context import DesserteContext
from handlers.i18n import _
from models import Cycle
from models.cycles import open_cycle

D = TypeVar("D", bound=CallbackData)


async def cycle_of_button(update: Update, context: DesserteContext, cycle_id: int) -> Cycle | None:
    """The open cycle when a button belongs to it; otherwise a polite answer and None."""
    cycle = await open_cycle(context.session)
    if cycle is not None and cycle.id == cycle_id:
        return cycle
    query = update.callback_query
    if query is not None:
        if cycle is None:
            await query.answer(
                _("Les commandes sont fermées : ce bouton ne peut plus rien changer."),
                show_alert=True,
            )
        else:
            await query.answer(
                _("Ce bouton date d’une semaine précédente. Voici le catalogue de cette semaine."),
                show_alert=True,
            )
    return None


def interrupted_notice() -> str:
    """What a press from before an interruption is told (plain text: a pop-up and, escaped,
    the notice above the current view)."""
    return _(
        "⏸ Ce bouton date d’avant une interruption du service : je n’en ai rien fait. "
        "Voici ce qui est à jour."
    )


async def _answer_interrupted(update: Update) -> str:
    """Answer a press from before an interruption; the notice (HTML) for the current view."""
    query = update.callback_query
    assert query is not None
    notice = interrupted_notice()
    with contextlib.suppress(BadRequest):  # a press that waited too long: the view says it
        await query.answer(cut_popup(notice))
    return escape(notice)


@overload
def button(
    route: type[CallbackData],
    callback: Callable[[Update, DesserteContext], Awaitable[Any]],
    *,
    admin: bool = False,
    refused: object = None,
    current: Callable[..., Awaitable[Any]] | None = None,
) -> CallbackQueryHandler[Any, Any]: ...


@overload
def button(
    route: type[D],
    callback: Callable[[Update, DesserteContext, D, Cycle], Awaitable[Any]],
    *,
    cycle: Literal[True],
    admin: bool = False,
    refused: object = None,
    current: Callable[..., Awaitable[Any]] | None = None,
) -> CallbackQueryHandler[Any, Any]: ...


@overload
def button(
    route: type[D],
    callback: Callable[[Update, DesserteContext, D], Awaitable[Any]],
    *,
    cycle: Literal[False] = False,
    admin: bool = False,
    refused: object = None,
    current: Callable[..., Awaitable[Any]] | None = None,
) -> CallbackQueryHandler[Any, Any]: ...


def button(
    route: type[D],
    callback: Callable[..., Awaitable[Any]],
    *,
    cycle: bool = False,
    admin: bool = False,
    refused: object = None,
    current: Callable[..., Awaitable[Any]] | None = None,
) -> CallbackQueryHandler[Any, Any]:
    """The handler of ``route``'s buttons: it answers the press first, then calls
    ``callback(update, context, data)`` — ``callback(update, context, data, cycle)`` with
    ``cycle=True``, for a route whose first field is ``cycle_id``; a route without fields
    carries nothing, so its callback is ``callback(update, context)``, as for a command.

    ``admin``: only admins may press it. ``refused``: what the handler returns when the press
    is refused (a conversation's state, e.g. ``ConversationHandler.END``). The refusals are
    pop-ups (:func:`cut_popup`); the callback says what happened in the message it shows.
    ``current``: for a route that changes something, what a press from before an interruption
    shows instead of acting — called with the callback's arguments and ``notice=`` (HTML) to
    put above the view as it is now (see the module docstring).
    """
    if cycle and route.fields[:1] != (("cycle_id", int),):
        raise TypeError(f"{route.__name__}: cycle=True needs a first field cycle_id: int")

    async def answer_button(update: Update, context: DesserteContext) -> Any:
        query = update.callback_query
        assert query is not None  # CallbackQueryHandler only passes button presses
        if admin and not context.is_admin:
            await query.answer(cut_popup(admin_only.refusal()), show_alert=True)
            return refused
        try:
            data = route.unpack(query.data)
        except CallbackDataError:
            await answer_stale(update)
            return refused
        args: tuple[Any, ...] = (data,) if route.fields else ()
        if cycle:
            pressed_in = await cycle_of_button(update, context, data.cycle_id)  # type: ignore[attr-defined]
            if pressed_in is None:
                return refused
            args = (data, pressed_in)
        if current is not None and context.services.backlog.was_pending(update.update_id):
            notice = await _answer_interrupted(update)
            await current(update, context, *args, notice=notice)
            return refused
        await query.answer()
        return await callback(update, context, *args)

    answer_button.__doc__ = callback.__doc__
    answer_button.__qualname__ = answer_button.__name__ = getattr(callback, "__name__", "button")
    return CallbackQueryHandler(answer_button, pattern=route.pattern)
