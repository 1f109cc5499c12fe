"""a per-person maximum per product, and members an admin blocked

``product.max_per_person``: the most one member may order of it in a cycle (null: no limit but
the stock), held in the same conditional update as the stock reservation.
``member.blocked_at``: when an admin blocked the member from ordering (null: they may order).

Revision ID: c57ed68ff75f
Revises: 7716cecedbdc
Create Date: 2026-12-02 01:02:10.690914
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "c57ed68ff75f"
down_revision: str | Sequence[str] | None = "7716cecedbdc"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("blocked_at", models.base.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.add_column(sa.Column("max_per_person", models.base.Quantity(), nullable=True))
        batch_op.create_check_constraint("max_per_person_positive", "max_per_person > 0")


def downgrade() -> None:
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.drop_constraint("max_per_person_positive", type_="check")
        batch_op.drop_column("max_per_person")
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.drop_column("blocked_at")
