"""when the receipt of an order's latest confirmation was claimed for sending

Each confirmation clears it; the press that confirmed claims it just before sending the
receipt, or, when the process died between the confirmation and its receipt, the next press
does (models/ordering.py, ``claim_receipt``). Orders confirmed before this revision had their
receipt at confirmation.

Revision ID: 5b7e2c9d4a31
Revises: 3c41d7a0b9e2
Create Date: 2026-12-10 06:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from models.base import UTCDateTime

revision: str = "5b7e2c9d4a31"
down_revision: str | Sequence[str] | None = "3c41d7a0b9e2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("order") as batch:
        batch.add_column(sa.Column("receipt_sent_at", UTCDateTime(timezone=True), nullable=True))
    op.execute(
        sa.text('UPDATE "order" SET receipt_sent_at = confirmed_at WHERE confirmed_at IS NOT NULL')
    )


def downgrade() -> None:
    with op.batch_alter_table("order") as batch:
        batch.drop_column("receipt_sent_at")
