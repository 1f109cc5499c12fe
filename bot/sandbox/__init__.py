"""desserte's sandbox: a local Telegram Bot API for tests, ``desserte demo``/``console`` and
benchmarks.

Typical in-process use (no sockets)::

    from bot.sandbox import Sandbox

    sandbox = Sandbox()                      # Sandbox(strict_limits=True) to enforce flood limits
    app = sandbox.builder().build()          # or ApplicationBuilder().token("123:SANDBOX")
                                             #   .request(sandbox.request())
                                             #   .get_updates_request(sandbox.request()).build()
    app.add_handler(...)
    async with app:                          # initialize: getMe
        sandbox.attach(app)                  # updates go straight to app.process_update
        alice = sandbox.user("Alice", language="fr")
        await alice.send("/start")           # returns once the handlers ran
        await alice.press("Légumes")
        assert "Légumes" in alice.last_message.text

Over HTTP (real httpx path)::

    url = await sandbox.serve_http()         # http://127.0.0.1:<port>
    app = ApplicationBuilder().token("123:SANDBOX").base_url(f"{url}/bot")
          .base_file_url(f"{url}/file/bot").build()
    ...  # start_polling; await alice.send("/start", wait=True)
    await sandbox.stop_http()

Calls are validated against the official Bot API description (``bot_api_table.json``, Bot API
10.1, MIT — see ``LICENSE.bot-api``).
"""

from bot.sandbox.core import (
    BOT_FIRST_NAME,
    BOT_ID,
    BOT_USERNAME,
    DEFAULT_TOKEN,
    ApiResponse,
    Sandbox,
    SandboxStats,
)
from bot.sandbox.driver import SandboxUser
from bot.sandbox.errors import ApiError
from bot.sandbox.limits import Fault, FaultInjector, RateLimits
from bot.sandbox.state import (
    CallbackAnswer,
    CallbackQueryRecord,
    FileRecord,
    MessageRecord,
    SandboxEvent,
)
from bot.sandbox.table import ApiTable, UploadedFile, load_table
from bot.sandbox.transport import SandboxRequest

__all__ = [
    "BOT_FIRST_NAME",
    "BOT_ID",
    "BOT_USERNAME",
    "DEFAULT_TOKEN",
    "ApiError",
    "ApiResponse",
    "ApiTable",
    "CallbackAnswer",
    "CallbackQueryRecord",
    "Fault",
    "FaultInjector",
    "FileRecord",
    "MessageRecord",
    "RateLimits",
    "Sandbox",
    "SandboxEvent",
    "SandboxRequest",
    "SandboxStats",
    "SandboxUser",
    "UploadedFile",
    "load_table",
]
