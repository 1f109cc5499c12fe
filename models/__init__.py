"""The domain: entities and the rules that act on them. Never imports telegram."""

from models.base import Base
from models.broadcast import Broadcast, BroadcastDelivery, BroadcastStatus, DeliveryStatus
from models.cycle import Cycle, CycleState, Offer
from models.cycle_event import CycleEvent, CycleNotification
from models.member import Member
from models.order import Order, OrderLine, OrderStatus
from models.pickup_point import PickupPoint
from models.producer import Producer, Product
from models.stock_update import StockUpdate, StockUpdateStatus

__all__ = [
    "Base",
    "Broadcast",
    "BroadcastDelivery",
    "BroadcastStatus",
    "Cycle",
    "CycleEvent",
    "CycleNotification",
    "CycleState",
    "DeliveryStatus",
    "Member",
    "Offer",
    "Order",
    "OrderLine",
    "OrderStatus",
    "PickupPoint",
    "Producer",
    "Product",
    "StockUpdate",
    "StockUpdateStatus",
]
