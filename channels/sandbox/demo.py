"""The demo merchant's marketplaces for `make run`: orders of both channels in every status, sold
over the last two weeks, with readable products; some buyers asked to cancel, some returned what
they got. Made in the sandbox itself, so every channel action on them works; `seed_demo` imports them."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

from .common import utcnow

# (sku, name, unit price): the merchant sells the same catalogue on both channels.
CATALOGUE = [
    ("KT-TOAST-2S", "Hamilton Beach 2-Slice Toaster, Extra-Wide Slots, Silver", "24.99"),
    ("KT-KETTLE-17", "Electric Kettle 1.7 L, Stainless Steel", "29.95"),
    ("KT-DINNER-12", "Mainstays 12-Piece Stoneware Dinnerware Set, White", "34.88"),
    ("KT-KNIFE-8", "Chef's Knife 8 inch, German Steel", "39.00"),
    ("KT-PAN-10", "Non-Stick Frying Pan 10 inch", "19.97"),
    ("KT-MUG-16", "Insulated Travel Mug 16 oz, Black", "14.99"),
    ("KT-BOTTLE-24", "Steel Water Bottle 24 oz, Sage", "17.50"),
    ("KT-COFFEE-1LB", "Whole Bean Coffee, Medium Roast, 1 lb", "11.98"),
    ("HM-TOWEL-6", "Thick and Plush 6-Piece Bath Towel Set, Arctic White", "27.00"),
    ("HM-SHEET-Q", "Microfiber Sheet Set, Queen, Gray", "22.49"),
    ("HM-PILLOW-2", "Bed Pillows, Standard, Set of 2", "25.99"),
    ("HM-LAMP-DESK", "LED Desk Lamp with USB Port", "21.95"),
    ("HM-BAG-LAUNDRY", "Laundry Bag, Blue, Extra Large", "8.99"),
    ("HM-HANGER-30", "Velvet Hangers, 30 Pack", "18.97"),
    ("HM-CANDLE-3", "Scented Candles, Lavender, Set of 3", "15.49"),
    ("OF-NOTE-A5", "Hardcover Notebook A5, Dotted", "9.99"),
    ("OF-PEN-12", "Gel Pens, Black, 12 Pack", "7.49"),
    ("OF-STAND-PH", "Adjustable Phone Stand, Aluminium", "12.99"),
    ("OF-CABLE-C2", "USB-C Charging Cable 2 m, Braided", "10.99"),
    ("OF-MOUSE-WL", "Wireless Mouse, Silent Click", "16.99"),
    ("OD-MAT-YOGA", "Yoga Mat 6 mm, Purple", "23.99"),
    ("OD-HOSE-50", "Expandable Garden Hose 50 ft", "32.99"),
    ("OD-GLOVES-M", "Garden Gloves, Medium, 3 Pairs", "11.49"),
    ("OD-BOTTLE-BIKE", "Bike Water Bottle Cage", "6.99"),
    ("OD-TENT-2", "Two-Person Dome Tent", "59.00"),
    ("TY-BLOCKS-100", "Building Blocks, 100 Pieces", "19.99"),
    ("TY-PUZZLE-1000", "Jigsaw Puzzle 1000 Pieces, Mountain Lake", "14.49"),
    ("TY-BALL-SOCCER", "Soccer Ball, Size 5", "12.97"),
    ("PT-BED-M", "Pet Bed, Medium, Washable", "28.99"),
    ("PT-LEASH-6", "Dog Leash 6 ft, Reflective", "9.49"),
]

# What happens to a demo order after it is sold, and how often (weights per channel).
WALMART_STORIES = {"created": 14, "acknowledged": 18, "buyer_asked_to_cancel": 6, "single_unit_lines": 3,
                   "partially_shipped": 8, "shipped_and_canceled": 2, "shipped": 38, "returned": 7, "canceled": 2,
                   "late": 3, "near_automatic_cancel": 2}
AMAZON_STORIES = {"pending": 8, "unshipped": 27, "buyer_asked_to_cancel": 6, "partially_shipped": 8,
                  "shipped": 41, "canceled": 2, "unfulfillable": 3, "late": 3}
# Sold this long ago and still not shipped: past the ship-by date (Walmart: 2 days after the sale,
# Amazon: 3), or, on Walmart, close to its automatic cancellation 4 days after ship-by.
DAYS_AGO = {"late": (2.6, 3.4), "near_automatic_cancel": (5.2, 5.8)}
# No "Invoice Unconfirmed" story: only Orders v0 reports that status, and the demo account reads
# Orders 2026-01-01, where such an order is simply SHIPPED.
SOLD_WITHIN_DAYS = 14
NEW_WITHIN_HOURS = 36  # orders still waiting for the seller were sold recently
# Hours from sale to shipment: most within the ship-by date (2 days on Walmart, 3 on Amazon), a few after.
SHIPPED_WITHIN_HOURS, SHIPPED_LATE_HOURS, SHIPPED_LATE_SHARE = (3, 40), (50, 90), 0.03


def populate_demo(sandbox, *, orders: int = 300, seed: int = 7) -> Counter:
    """Sell `orders` orders (half on each channel) and play out their stories, each story at least
    once when there are orders enough; returns how many of each story. Repeatable for a seed."""
    rng = random.Random(seed)
    shipping = random.Random(seed + 1)  # its own draws: the stories stay those of the seed
    told: Counter = Counter()
    untold = {"walmart": list(WALMART_STORIES), "amazon": list(AMAZON_STORIES)}
    for n in range(orders):
        channel = "walmart" if n % 2 == 0 else "amazon"
        stories = WALMART_STORIES if channel == "walmart" else AMAZON_STORIES
        story = untold[channel].pop(0) if untold[channel] else rng.choices(list(stories), weights=list(stories.values()))[0]
        products = rng.sample(CATALOGUE, k=2 if "partially" in story or story == "shipped_and_canceled"
                              else rng.choice((1, 1, 1, 2, 3)))
        # single_unit_lines: acknowledged, not shipped yet; partially_shipped: the rest still to ship,
        # so sold recently (an older one would be late, and the demo's on-time rate not believable)
        waiting = story in ("created", "acknowledged", "buyer_asked_to_cancel", "pending", "unshipped", "single_unit_lines",
                            "partially_shipped")
        if story in DAYS_AGO:
            low, high = DAYS_AGO[story]
            hours = rng.uniform(low, high) * 24 + (24 if channel == "amazon" else 0)
        elif waiting:
            hours = rng.uniform(0.5, NEW_WITHIN_HOURS)
        else:
            hours = rng.uniform(NEW_WITHIN_HOURS, SOLD_WITHIN_DAYS * 24)
        sold = utcnow() - dt.timedelta(hours=hours)
        tell = _walmart_story if channel == "walmart" else _amazon_story
        late = shipping.random() < SHIPPED_LATE_SHARE
        shipped = min(sold + dt.timedelta(hours=shipping.uniform(*(SHIPPED_LATE_HOURS if late else SHIPPED_WITHIN_HOURS))),
                      utcnow())
        tell(sandbox.walmart if channel == "walmart" else sandbox.amazon, story, products, sold,
             qty=rng.choice((1, 1, 2)), shipped=shipped)
        told[(channel, story)] += 1
    return told


def _walmart_story(market, story: str, products: list, sold: dt.datetime, *, qty: int, shipped: dt.datetime) -> None:
    if story == "single_unit_lines":  # Walmart sends one SKU as single-unit lines
        [po] = market.create_orders(products=products[:1], qty=3, duplicate_lines=True, acknowledged=True,
                                    order_date=sold)
        return
    [po] = market.create_orders(products=products, qty=qty, order_date=sold, acknowledged=story != "created")
    # "late", "near_automatic_cancel": acknowledged, never shipped.
    if story == "buyer_asked_to_cancel":
        market.request_cancellation(po)
    elif story in ("partially_shipped", "shipped_and_canceled"):
        market.channel_ship(po, line_numbers=["1"], when=shipped)
        if story == "shipped_and_canceled":  # still Partially Shipped on Walmart
            market.channel_cancel(po, line_numbers=["2"])
    elif story in ("shipped", "returned"):
        market.channel_ship(po, when=shipped)
        if story == "returned":
            market.create_return(po)
    elif story == "canceled":
        market.channel_cancel(po)


DRIFT_DATED_BACK = dt.timedelta(days=1)  # when the imports' outage was


def drift_behind_our_back(market, *, shipped: str, canceled: str, at: dt.datetime | None = None) -> None:
    """Two Walmart orders changed on the channel while the back-office was not listening (an outage of
    its imports, `at`, a day ago by default): one shipped, one canceled on Walmart's site then, so the
    incremental import, reading what changed since its last run, never lists them again. A
    reconciliation finds them (Needs attention), and Resync mends them. Both must be sold before `at`."""
    at = at or utcnow() - DRIFT_DATED_BACK
    for po in (shipped, canceled):
        if market.orders[po].order_date > at:
            raise ValueError(f"{po} was sold after the outage it is to change in")
    market.channel_ship(shipped, tracking_number=f"1ZDRIFT{shipped[-6:]}", when=at)
    market.channel_cancel(canceled)
    with market.lock:
        for po in (shipped, canceled):
            market.orders[po].last_modified = at
        market.changed()


def _amazon_story(market, story: str, products: list, sold: dt.datetime, *, qty: int, shipped: dt.datetime) -> None:
    [order_id] = market.create_orders(products=products, qty=qty, purchase_date=sold, paid=story != "pending",
                                      buyer_cancel=story == "buyer_asked_to_cancel")
    if story == "partially_shipped":
        market.channel_ship(order_id, item_ids=[market.orders[order_id].items[0].item_id], when=shipped)
    elif story == "shipped":
        market.channel_ship(order_id, when=shipped)
    elif story == "canceled":
        market.channel_cancel(order_id)
    elif story == "unfulfillable":
        with market.lock:
            market.orders[order_id].status = "Unfulfillable"
