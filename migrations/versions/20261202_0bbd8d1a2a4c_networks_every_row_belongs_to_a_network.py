"""Networks: every row belongs to a network; an existing database becomes the default one.

Revision ID: 0bbd8d1a2a4c
Revises: d57ac8634814
Create Date: 2026-12-02 01:03:09.743384

The ``network`` table gets one row, ``default`` (id 1, its name and bot token from the
deployment's settings), and every table a ``network_id`` pointing at it: what the database held
is that network's, nothing lost. The names that were unique across the database (a member's
Telegram id, a cycle's opening, slugs and SKUs, the outbox's keys) become unique per network.
The column is filled through a server default, dropped afterwards so that no row is ever added
to a network by accident.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0bbd8d1a2a4c"
down_revision: str | Sequence[str] | None = "d57ac8634814"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (
    "broadcast",
    "collection_round",
    "cycle",
    "cycle_event",
    "driver_invitation",
    "event",
    "event_seat",
    "member",
    "offer",
    "order",
    "order_line",
    "outbox_message",
    "pickup_point",
    "price_change",
    "producer",
    "product",
    "round_stop",
    "stock_update",
)
# table: (columns unique across the database before, the same unique per network after)
UNIQUE = {
    "cycle": ("opens_at",),
    "member": ("telegram_id",),
    "outbox_message": ("topic", "kind", "telegram_id", "part"),
    "pickup_point": ("slug",),
    "producer": ("slug",),
    "product": ("sku",),
}


def _unique_name(table: str, columns: Sequence[str]) -> str:
    return f"uq_{table}_{'_'.join(columns)}"


def upgrade() -> None:
    network = op.create_table(
        "network",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("bot_token", sa.String(length=200), nullable=True),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_network")),
        sa.UniqueConstraint("slug", name=op.f("uq_network_slug")),
    )
    # The first row of a new table: id 1 on both databases, the sequence left consistent.
    op.bulk_insert(
        network, [{"slug": "default", "settings": {}, "created_at": models.base.utcnow()}]
    )
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("network_id", sa.Integer(), nullable=False, server_default="1")
            )
            before = UNIQUE.get(table)
            if before:
                batch_op.drop_constraint(_unique_name(table, before), type_="unique")
                batch_op.create_unique_constraint(
                    _unique_name(table, ("network_id", *before)), ["network_id", *before]
                )
            batch_op.create_index(f"ix_{table}_network_id", ["network_id"], unique=False)
            batch_op.create_foreign_key(
                f"fk_{table}_network_id_network", "network", ["network_id"], ["id"]
            )
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column("network_id", server_default=None)


def downgrade() -> None:
    bind = op.get_bind()
    others = bind.execute(sa.text("SELECT count(*) FROM network WHERE id <> 1")).scalar()
    if others:
        raise RuntimeError("several networks: a single-network schema cannot hold them")
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f"fk_{table}_network_id_network", type_="foreignkey")
            batch_op.drop_index(f"ix_{table}_network_id")
            before = UNIQUE.get(table)
            if before:
                batch_op.drop_constraint(
                    _unique_name(table, ("network_id", *before)), type_="unique"
                )
                batch_op.create_unique_constraint(_unique_name(table, before), list(before))
            batch_op.drop_column("network_id")
    op.drop_table("network")
