"""The domain: entities and the rules that act on them. Never imports telegram."""

from models.base import Base
from models.broadcast import Broadcast, BroadcastStatus
from models.card_proposal import CardPart, CardProposal
from models.collection_round import CollectionRound, DriverInvitation, RoundStop, StopStatus
from models.cycle import Cycle, CycleState, Offer
from models.cycle_event import CycleEvent
from models.event import Event, EventSeat
from models.member import Member
from models.network import DEFAULT_NETWORK_ID, Network, NetworkScoped
from models.order import Order, OrderLine, OrderStatus
from models.outbox import OutboxMessage, OutboxState
from models.payment import Balance, BalanceMovement, Payment
from models.pickup_point import PickupPoint
from models.price_change import PriceChange, PriceChangeStatus
from models.producer import Producer, Product
from models.producer_account import Payout, Refund
from models.recipe import RecipeIngredient
from models.send_pace import SendPace
from models.stock_update import StockUpdate, StockUpdateStatus

__all__ = [
    "DEFAULT_NETWORK_ID",
    "Balance",
    "BalanceMovement",
    "Base",
    "Broadcast",
    "BroadcastStatus",
    "CardPart",
    "CardProposal",
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
    "Payment",
    "Payout",
    "PickupPoint",
    "PriceChange",
    "PriceChangeStatus",
    "Producer",
    "Product",
    "RecipeIngredient",
    "Refund",
    "RoundStop",
    "SendPace",
    "StockUpdate",
    "StockUpdateStatus",
    "StopStatus",
]
