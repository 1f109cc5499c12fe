"""The kitchen's recipes: what one sale unit of a dish takes of the producers' products."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, Quantity
from models.network import NetworkScoped
from models.producer import Product


class RecipeIngredient(NetworkScoped, Base):
    """One ingredient of a dish: ``quantity`` of the ingredient's sale units per sale unit of
    the dish (1 L of soup = 0,4 kg of carrots: ``quantity`` 0.4 on the carrots sold by the kg)."""

    __tablename__ = "recipe_ingredient"
    __table_args__ = (
        UniqueConstraint("dish_id", "ingredient_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("dish_id <> ingredient_id", name="not_its_own_ingredient"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dish_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    ingredient_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity())

    dish: Mapped[Product] = relationship(foreign_keys=[dish_id])
    ingredient: Mapped[Product] = relationship(foreign_keys=[ingredient_id])
