"""one sending budget per bot, shared by the workers

A row per bot id (the number before the colon of its token): the next free instant to send, so
that every worker process on one PostgreSQL database keeps within Telegram's 30 messages a
second together (models/send_pace.py).

Revision ID: e2dfcc8d5edc
Revises: 466a5e4d256e
Create Date: 2026-12-08 01:05:47.598170
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "e2dfcc8d5edc"
down_revision: str | Sequence[str] | None = "466a5e4d256e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "send_pace",
        sa.Column("bot_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("next_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("bot_id", name=op.f("pk_send_pace")),
    )


def downgrade() -> None:
    op.drop_table("send_pace")
