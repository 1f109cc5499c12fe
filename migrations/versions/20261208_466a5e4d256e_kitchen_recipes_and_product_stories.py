"""the kitchen's recipes, a product's story and recipe tip, and proposed card changes

``recipe_ingredient``: what one sale unit of a dish takes of each ingredient;
``product.story`` and ``product.tip``: shown on the card; ``card_proposal``: a photo, story or
tip a producer or an admin sent, shown as a preview until confirmed. Both tables belong to a
network, as every table does.

Revision ID: 466a5e4d256e
Revises: c57ed68ff75f
Create Date: 2026-12-08 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base


revision: str = "466a5e4d256e"
down_revision: str | Sequence[str] | None = "c57ed68ff75f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "card_proposal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column(
            "part",
            sa.Enum("photo", "story", "tip", name="cardpart", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("applied_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("dropped_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_card_proposal_member_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["network_id"], ["network.id"], name=op.f("fk_card_proposal_network_id_network")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["product.id"], name=op.f("fk_card_proposal_product_id_product")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_card_proposal")),
    )
    with op.batch_alter_table("card_proposal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_card_proposal_member_id"), ["member_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_card_proposal_network_id"), ["network_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_card_proposal_product_id"), ["product_id"], unique=False
        )

    op.create_table(
        "recipe_ingredient",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dish_id", sa.Integer(), nullable=False),
        sa.Column("ingredient_id", sa.Integer(), nullable=False),
        sa.Column("quantity", models.base.Quantity(), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "dish_id <> ingredient_id", name=op.f("ck_recipe_ingredient_not_its_own_ingredient")
        ),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_recipe_ingredient_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["dish_id"], ["product.id"], name=op.f("fk_recipe_ingredient_dish_id_product")
        ),
        sa.ForeignKeyConstraint(
            ["ingredient_id"],
            ["product.id"],
            name=op.f("fk_recipe_ingredient_ingredient_id_product"),
        ),
        sa.ForeignKeyConstraint(
            ["network_id"], ["network.id"], name=op.f("fk_recipe_ingredient_network_id_network")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recipe_ingredient")),
        sa.UniqueConstraint(
            "dish_id", "ingredient_id", name=op.f("uq_recipe_ingredient_dish_id_ingredient_id")
        ),
    )
    with op.batch_alter_table("recipe_ingredient", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recipe_ingredient_dish_id"), ["dish_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_recipe_ingredient_ingredient_id"), ["ingredient_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_recipe_ingredient_network_id"), ["network_id"], unique=False
        )

    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.add_column(sa.Column("story", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("tip", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.drop_column("tip")
        batch_op.drop_column("story")

    with op.batch_alter_table("recipe_ingredient", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recipe_ingredient_network_id"))
        batch_op.drop_index(batch_op.f("ix_recipe_ingredient_ingredient_id"))
        batch_op.drop_index(batch_op.f("ix_recipe_ingredient_dish_id"))

    op.drop_table("recipe_ingredient")
    with op.batch_alter_table("card_proposal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_card_proposal_product_id"))
        batch_op.drop_index(batch_op.f("ix_card_proposal_network_id"))
        batch_op.drop_index(batch_op.f("ix_card_proposal_member_id"))

    op.drop_table("card_proposal")
