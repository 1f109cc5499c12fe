"""the network's catalog version, which every change to its catalog draws anew

A number in the network's row that each write to a product, producer, cycle, recipe or offered
quantity replaces in the same transaction, so that every worker knows, from the statement that
reads the member, whether what it holds of the week's catalog in memory is still true
(models/catalog_cache.py).

Revision ID: 3c41d7a0b9e2
Revises: e2dfcc8d5edc
Create Date: 2026-12-09 06:00:00.000000
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3c41d7a0b9e2"
down_revision: str | Sequence[str] | None = "e2dfcc8d5edc"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("network") as batch:
        batch.add_column(
            sa.Column("catalog_version", sa.BigInteger(), nullable=False, server_default="1")
        )
    # A number no process can have seen for this database (see models.network).
    op.execute(
        sa.text("UPDATE network SET catalog_version = :version").bindparams(
            version=random.getrandbits(62) + 1
        )
    )
    with op.batch_alter_table("network") as batch:
        batch.alter_column("catalog_version", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("network") as batch:
        batch.drop_column("catalog_version")
