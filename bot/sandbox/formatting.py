"""Text formatting as Telegram applies it: parse modes, entities, trimming.

:func:`parse_text` is what ``sendMessage``/``editMessageText``/captions go through: it turns the
text and ``parse_mode`` (``HTML``, ``MarkdownV2`` or legacy ``Markdown``) into the *plain* text
Telegram stores plus ``MessageEntity`` dicts (offsets in UTF-16 code units, as in the Bot API),
and raises ``ApiError`` 400 ``can't parse entities: ...`` with Telegram's wording for malformed
markup. Leading and trailing whitespace is trimmed as Telegram does.
"""

from __future__ import annotations

import re
from typing import Any

from bot.sandbox.errors import bad_request

Entity = dict[str, Any]

# HTML tag -> entity type (https://core.telegram.org/bots/api#html-style).
_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|([a-zA-Z]+));")
_TAG_NAME_RE = re.compile(r"[a-zA-Z][a-zA-Z0-9-]*")
_ATTR_RE = re.compile(
    r"""\s*([a-zA-Z][a-zA-Z0-9_-]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?"""
)
_COMMAND_RE = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![\w/])")
_MDV2_RESERVED = set("_*[]()~`>#+-=|{}.!")


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Bot API entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _cant_parse(detail: str) -> Exception:
    return bad_request(f"can't parse entities: {detail}")


def parse_text(
    text: str, parse_mode: str | None, entities: list[Entity] | None = None
) -> tuple[str, list[Entity]]:
    """Plain text and entities of ``text`` as Telegram would store them (whitespace trimmed)."""
    mode = (parse_mode or "").strip()
    if mode == "" or entities is not None:
        # Explicit entities take precedence over parse_mode, as in the Bot API.
        plain, ents = text, [dict(e) for e in (entities or [])]
    elif mode.lower() == "html":
        plain, ents = parse_html(text)
    elif mode.lower() == "markdownv2":
        plain, ents = parse_markdown_v2(text)
    elif mode.lower() == "markdown":
        plain, ents = parse_markdown(text)
    else:
        raise bad_request(f"unsupported parse_mode {parse_mode!r}")
    return _trim(plain, ents)


def _trim(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    stripped = text.strip()
    if stripped == text:
        return text, [e for e in entities if e.get("length", 0) > 0]
    shift = utf16_len(text[: len(text) - len(text.lstrip())])
    total = utf16_len(stripped)
    out = []
    for entity in entities:
        start = max(0, entity["offset"] - shift)
        end = min(total, entity["offset"] + entity["length"] - shift)
        if end > start:
            out.append({**entity, "offset": start, "length": end - start})
    return stripped, out


def command_entities(text: str) -> list[Entity]:
    """``bot_command`` entities Telegram adds to a user's text (``/start``, ``/start@bot``)."""
    out = []
    for match in _COMMAND_RE.finditer(text):
        out.append(
            {
                "type": "bot_command",
                "offset": utf16_len(text[: match.start()]),
                "length": utf16_len(match.group()),
            }
        )
    return out


# -- HTML -------------------------------------------------------------------------------------


def _unescape(fragment: str) -> str:
    def repl(match: re.Match[str]) -> str:
        dec, hexa, name = match.groups()
        if dec or hexa:
            code = int(dec) if dec else int(hexa, 16)
            return chr(code) if 0 < code <= 0x10FFFF else match.group()
        # Only four named entities are supported; others stay as written (tdlib does so too).
        return _NAMED_ENTITIES.get(name, match.group())

    return _ENTITY_RE.sub(repl, fragment)


def parse_html(source: str) -> tuple[str, list[Entity]]:
    """Parse Telegram HTML; raises ``ApiError`` 400 ``can't parse entities: ...``."""
    parts: list[str] = []
    length = 0  # UTF-16 length of the plain text so far
    stack: list[tuple[str, int, dict[str, str]]] = []  # (tag, start offset, attributes)
    entities: list[Entity] = []
    i = 0
    n = len(source)
    while i < n:
        lt = source.find("<", i)
        chunk = source[i : lt if lt != -1 else n]
        if chunk:
            plain = _unescape(chunk)
            parts.append(plain)
            length += utf16_len(plain)
        if lt == -1:
            break
        gt = source.find(">", lt)
        if gt == -1:
            raise _cant_parse(f"Unclosed start tag at byte offset {_byte_offset(source, lt)}")
        inner = source[lt + 1 : gt]
        if inner.startswith("/"):
            name = inner[1:].strip().lower()
            if not stack:
                raise _cant_parse(f"Unexpected end tag at byte offset {_byte_offset(source, lt)}")
            tag, start, attrs = stack.pop()
            if name and name != tag:
                raise _cant_parse(
                    f"Unmatched end tag at byte offset {_byte_offset(source, lt)}, "
                    f'expected "</{tag}>", found "</{name}>"'
                )
            entity = _html_entity(tag, start, length - start, attrs, entities)
            if entity is not None:
                entities.append(entity)
        else:
            match = _TAG_NAME_RE.match(inner)
            name = match.group().lower() if match else ""
            if name not in _HTML_TAGS:
                raise _cant_parse(
                    f'Unsupported start tag "{name}" at byte offset {_byte_offset(source, lt)}'
                )
            attrs = {
                m.group(1).lower(): _unescape(m.group(2) or m.group(3) or m.group(4) or "")
                for m in _ATTR_RE.finditer(inner, match.end() if match else 0)
            }
            if name == "span" and attrs.get("class") != "tg-spoiler":
                raise _cant_parse('Tag "span" must have class "tg-spoiler"')
            stack.append((name, length, attrs))
        i = gt + 1
    if stack:
        raise _cant_parse(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(parts), entities


def _html_entity(
    tag: str, offset: int, length: int, attrs: dict[str, str], done: list[Entity]
) -> Entity | None:
    if length <= 0:
        return None
    kind = _HTML_TAGS[tag]
    entity: Entity = {"type": kind, "offset": offset, "length": length}
    if tag == "a":
        href = attrs.get("href", "")
        if not href:
            return None  # a link without target is plain text for Telegram
        entity["url"] = href
    elif tag == "tg-emoji":
        entity["custom_emoji_id"] = attrs.get("emoji-id", "")
    elif tag == "blockquote" and "expandable" in attrs:
        entity["type"] = "expandable_blockquote"
    elif tag == "code":
        language = attrs.get("class", "")
        # <pre><code class="language-x"> is one pre entity with a language.
        if language.startswith("language-"):
            entity["language"] = language[len("language-") :]
    elif tag == "pre":
        for inner in done:
            if (
                inner["type"] == "code"
                and "language" in inner
                and inner["offset"] == offset
                and inner["length"] == length
            ):
                done.remove(inner)
                entity["language"] = inner["language"]
                break
    return entity


# -- MarkdownV2 -------------------------------------------------------------------------------

_MDV2_MARKERS = (("||", "spoiler"), ("__", "underline"), ("*", "bold"), ("_", "italic"))


def parse_markdown_v2(source: str) -> tuple[str, list[Entity]]:
    """Parse MarkdownV2; unescaped reserved characters raise Telegram's error."""
    parts: list[str] = []
    length = 0
    stack: list[tuple[str, str, int, int]] = []  # (marker, type, offset, source index)
    entities: list[Entity] = []
    i = 0
    n = len(source)

    def emit(text: str) -> None:
        nonlocal length
        parts.append(text)
        length += utf16_len(text)

    while i < n:
        ch = source[i]
        if ch == "\\":
            if i + 1 < n:
                emit(source[i + 1])
                i += 2
                continue
            raise _cant_parse(
                "Character '\\' is reserved and must be escaped with the preceding '\\'"
            )
        if ch == "`":
            fence = "```" if source.startswith("```", i) else "`"
            end = source.find(fence, i + len(fence))
            if end == -1:
                raise _cant_parse(
                    f"Can't find end of {'Pre' if fence == '```' else 'Code'} entity at byte "
                    f"offset {_byte_offset(source, i)}"
                )
            body = source[i + len(fence) : end]
            language = None
            if fence == "```" and "\n" in body:
                first, rest = body.split("\n", 1)
                if first and " " not in first:
                    language, body = first, rest
            body = re.sub(r"\\([`\\])", r"\1", body)
            start = length
            emit(body)
            entity: Entity = {
                "type": "pre" if fence == "```" else "code",
                "offset": start,
                "length": length - start,
            }
            if language:
                entity["language"] = language
            if entity["length"]:
                entities.append(entity)
            i = end + len(fence)
            continue
        if ch == "[":
            stack.append(("[", "text_link", length, i))
            i += 1
            continue
        if ch == "]" and stack and stack[-1][0] == "[":
            _, _, start, _ = stack.pop()
            if not source.startswith("(", i + 1):
                raise _cant_parse(
                    "Character ']' is reserved and must be escaped with the preceding '\\'"
                )
            end = source.find(")", i + 2)
            if end == -1:
                raise _cant_parse(
                    f"Can't find end of a URL at byte offset {_byte_offset(source, i)}"
                )
            url = re.sub(r"\\([)\\])", r"\1", source[i + 2 : end])
            if length > start:
                entities.append(
                    {"type": "text_link", "offset": start, "length": length - start, "url": url}
                )
            i = end + 1
            continue
        marker = next((m for m, _ in _MDV2_MARKERS if source.startswith(m, i)), None)
        if marker is not None:
            kind = dict(_MDV2_MARKERS)[marker]
            if stack and stack[-1][0] == marker:
                _, kind, start, _ = stack.pop()
                if length > start:
                    entities.append({"type": kind, "offset": start, "length": length - start})
            else:
                stack.append((marker, kind, length, i))
            i += len(marker)
            continue
        if ch == ">" and (i == 0 or source[i - 1] == "\n"):
            # Block quotation line marker: not part of the text.
            i += 1
            continue
        if ch in _MDV2_RESERVED:
            raise _cant_parse(
                f"Character '{ch}' is reserved and must be escaped with the preceding '\\'"
            )
        emit(ch)
        i += 1
    if stack:
        marker, kind, _, index = stack[-1]
        raise _cant_parse(
            f"Can't find end of {kind.replace('_', ' ').title().replace(' ', '')} entity at byte "
            f"offset {_byte_offset(source, index)}"
        )
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(parts), entities


def _unterminated(source: str, index: int) -> Exception:
    offset = _byte_offset(source, index)
    return _cant_parse(f"Can't find end of the entity starting at byte offset {offset}")


# -- legacy Markdown --------------------------------------------------------------------------


def parse_markdown(source: str) -> tuple[str, list[Entity]]:
    """Parse legacy Markdown (``*bold*``, ``_italic_``, `` `code` ``, ``[text](url)``)."""
    parts: list[str] = []
    length = 0
    entities: list[Entity] = []
    i = 0
    n = len(source)
    simple = {"*": "bold", "_": "italic"}
    while i < n:
        ch = source[i]
        if ch in simple or ch == "`":
            fence = "```" if source.startswith("```", i) else ch
            end = source.find(fence, i + len(fence))
            if end == -1:
                raise _unterminated(source, i)
            body = source[i + len(fence) : end]
            kind = simple.get(ch, "pre" if fence == "```" else "code")
            if body:
                entities.append({"type": kind, "offset": length, "length": utf16_len(body)})
            parts.append(body)
            length += utf16_len(body)
            i = end + len(fence)
            continue
        if ch == "[":
            close = source.find("](", i)
            end = source.find(")", close + 2) if close != -1 else -1
            if close == -1 or end == -1:
                raise _unterminated(source, i)
            body = source[i + 1 : close]
            entities.append(
                {
                    "type": "text_link",
                    "offset": length,
                    "length": utf16_len(body),
                    "url": source[close + 2 : end],
                }
            )
            parts.append(body)
            length += utf16_len(body)
            i = end + 1
            continue
        parts.append(ch)
        length += utf16_len(ch)
        i += 1
    return "".join(parts), entities
