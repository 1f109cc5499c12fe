"""split_html: long HTML texts cut into messages Telegram accepts."""

from __future__ import annotations

import re

from bot.sandbox.formatting import parse_text
from handlers.pages import page_of, split_html


def _balanced(message: str) -> bool:
    stack: list[str] = []
    for closing, name in re.findall(r"<(/?)([a-z-]+)[^>]*>", message):
        if not closing:
            stack.append(name)
        elif not stack or stack.pop() != name:
            return False
    return not stack


def test_short_text_is_one_message_and_empty_is_none() -> None:
    assert split_html(["<b>a</b>", "b"]) == ["<b>a</b>\nb"]
    assert split_html([]) == []


def test_cut_at_line_boundaries_under_the_limit() -> None:
    lines = [f"• <b>Produit {n}</b> — 3,20 € &amp; plus" for n in range(400)]
    messages = split_html(lines, limit=1000)
    assert len(messages) > 1
    assert all(len(m) <= 1000 for m in messages)
    assert "\n".join(messages).split("\n") == lines  # nothing lost, no line cut
    for message in messages:
        parse_text(message, "HTML", None)  # each one parses on its own


def test_a_tag_spanning_lines_is_closed_and_reopened() -> None:
    lines = ["<i>" + "mot " * 50, *("mot " * 50 for _ in range(40)), "fin</i>"]
    messages = split_html(lines, limit=500)
    assert len(messages) > 1
    for message in messages:
        assert len(message) <= 500
        assert _balanced(message), message
        assert message.startswith("<i>")
        assert message.endswith("</i>")
        parse_text(message, "HTML", None)


def test_one_line_longer_than_the_limit_is_cut_outside_entities() -> None:
    line = "<b>" + "&amp;é" * 600 + "</b>"
    messages = split_html([line], limit=256)
    assert all(len(m) <= 256 and _balanced(m) for m in messages)
    for message in messages:
        assert not re.search(r"&[a-z]*$|^[a-z]*;", re.sub(r"</?b>", "", message))
        parse_text(message, "HTML", None)
    assert "".join(re.sub(r"</?b>", "", m) for m in messages) == "&amp;é" * 600


def test_page_of_holds_the_page_to_the_pages_there_are() -> None:
    assert page_of(list(range(25)), 9, 10) == ([20, 21, 22, 23, 24], 2, 3)
    assert page_of([], 0, 10) == ([], 0, 1)
