"""product names and descriptions in English

Optional: the catalog CSV's ``name_en`` and ``description_en`` columns, shown to English-speaking
members when present.

Revision ID: 3817acd59a69
Revises: 1a4b8d23e3b6
Create Date: 2026-12-06 10:14:26.860140
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3817acd59a69"
down_revision: str | Sequence[str] | None = "1a4b8d23e3b6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_en", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("description_en", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.drop_column("description_en")
        batch_op.drop_column("name_en")
