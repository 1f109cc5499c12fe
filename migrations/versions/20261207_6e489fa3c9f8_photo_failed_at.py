"""a product's photo that Telegram could not fetch is remembered

``product.photo_failed_at``: when Telegram refused the photo URL; the card is shown as text
without trying again until an import gives another photo.

Revision ID: 6e489fa3c9f8
Revises: d9ec83802bc6
Create Date: 2026-12-07 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "6e489fa3c9f8"
down_revision: str | Sequence[str] | None = "d9ec83802bc6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("photo_failed_at", models.base.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.drop_column("photo_failed_at")
