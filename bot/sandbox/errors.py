"""The error a Bot API method answers, shaped like Telegram's error responses."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """Raised inside the sandbox core; becomes ``{"ok": false, "error_code", "description"}``.

    ``description`` is the full text Telegram sends, e.g. ``"Bad Request: chat not found"``.
    ``parameters`` carries ``ResponseParameters`` (``retry_after``, ``migrate_to_chat_id``).
    """

    def __init__(
        self, status: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> dict[str, Any]:
        """The JSON body Telegram answers with for this error."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(detail: str) -> ApiError:
    """HTTP 400 ``Bad Request: <detail>``."""
    return ApiError(400, f"Bad Request: {detail}")


def forbidden(detail: str) -> ApiError:
    """HTTP 403 ``Forbidden: <detail>``."""
    return ApiError(403, f"Forbidden: {detail}")


def too_many_requests(retry_after: int) -> ApiError:
    """HTTP 429 with ``parameters.retry_after`` so clients (PTB: ``RetryAfter``) back off."""
    return ApiError(
        429,
        f"Too Many Requests: retry after {retry_after}",
        {"retry_after": retry_after},
    )


NOT_FOUND = ApiError(404, "Not Found")
