"""A change to a product's card a producer or an admin proposed, waiting for their tap."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime, enum_values
from models.member import Member
from models.network import NetworkScoped
from models.producer import Product


class CardPart(enum.StrEnum):
    """What a proposal changes on the card."""

    PHOTO = "photo"
    STORY = "story"
    TIP = "tip"


class CardProposal(NetworkScoped, Base):
    """A photo (its Telegram file id), a story or a recipe tip for a product, shown to its
    author as a preview; it becomes the product's once confirmed (``applied_at``), and is
    forgotten when cancelled or replaced (``dropped_at``)."""

    __tablename__ = "card_proposal"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    part: Mapped[CardPart] = mapped_column(
        Enum(CardPart, native_enum=False, length=16, values_callable=enum_values)
    )
    value: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    dropped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    product: Mapped[Product] = relationship()
    member: Mapped[Member] = relationship()
