"""one sending budget per bot, shared by the workers; a broadcast's prompt kept in its draft

A row per bot id (the number before the colon of its token): the next free instant to send, so
that every worker process on one PostgreSQL database keeps within Telegram's 30 messages a
second together (models/send_pace.py). A broadcast being composed is a draft row from its first
step (``prompt_message_id``: the message asking for its text), so any worker takes the text.

Revision ID: e2dfcc8d5edc
Revises: 0bbd8d1a2a4c
Create Date: 2026-12-08 01:05:47.598170
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "e2dfcc8d5edc"
down_revision: str | Sequence[str] | None = "0bbd8d1a2a4c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "send_pace",
        sa.Column("bot_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("next_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("bot_id", name=op.f("pk_send_pace")),
    )
    with op.batch_alter_table("broadcast") as batch:
        batch.add_column(sa.Column("prompt_message_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("broadcast") as batch:
        batch.drop_column("prompt_message_id")
    op.drop_table("send_pace")
