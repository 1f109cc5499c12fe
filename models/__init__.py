"""The domain: entities and the rules that act on them. Never imports telegram."""

from models.base import Base
from models.broadcast import Broadcast, BroadcastStatus
from models.collection_round import CollectionRound, DriverInvitation, RoundStop, StopStatus
from models.cycle import Cycle, CycleState, Offer
from models.cycle_event import CycleEvent
from models.event import Event, EventSeat
from models.member import Member
from models.network import DEFAULT_NETWORK_ID, Network, NetworkScoped
from models.order import Order, OrderLine, OrderStatus
from models.outbox import OutboxMessage, OutboxState
from models.pickup_point import PickupPoint
from models.price_change import PriceChange, PriceChangeStatus
from models.producer import Producer, Product
from models.send_pace import SendPace
from models.stock_update import StockUpdate, StockUpdateStatus

__all__ = [
    "DEFAULT_NETWORK_ID",
    "Base",
    "Broadcast",
    "BroadcastStatus",
    "CollectionRound",
    "Cycle",
    "CycleEvent",
    "CycleState",
    "DriverInvitation",
    "Event",
    "EventSeat",
    "Member",
    "Network",
    "NetworkScoped",
    "Offer",
    "Order",
    "OrderLine",
    "OrderStatus",
    "OutboxMessage",
    "OutboxState",
    "PickupPoint",
    "PriceChange",
    "PriceChangeStatus",
    "Producer",
    "Product",
    "RoundStop",
    "SendPace",
    "StockUpdate",
    "StockUpdateStatus",
    "StopStatus",
]
