"""What differs between channels in the rules the back-office applies, as data: reason values,
carriers, request limits. The rest of the code asks here instead of branching on the channel."""

from dataclasses import dataclass

from .models import Channel


@dataclass(frozen=True)
class ChannelRules:
    acknowledges_orders: bool
    requires_tracking: bool
    cancel_reasons: tuple[str, ...]
    buyer_cancel_reason: str  # R-CM-4: what a cancel of a buyer-requested cancellation sends
    default_cancel_reason: str
    max_lines_per_cancel: int
    carriers: tuple[str, ...]
    # The shipping methods the channel takes (Walmart's methodCode enum); empty: any method's name.
    shipping_methods: tuple[str, ...] = ()
    refund_reasons: tuple[str, ...] = ()
    default_refund_reason: str = ""
    cancel_reason_by_key: tuple[tuple[str, str], ...] = ()
    # Cancels and refunds are accepted now and applied later (Amazon feeds); resending one is safe
    # (a canceled item stays canceled, an adjustment carries its own idempotency id), and the
    # order read back cannot show them yet, so they are resent rather than verified.
    async_changes: bool = False
    # The shortest sensible interval between two periodic imports: Amazon's order listing
    # (searchOrders) refills one call per ~180 s after its burst of 20 (channels.pacing).
    min_import_interval_seconds: int = 0
    # A shipped package is named by its tracking number on each line (Walmart's currentTrackingInfo
    # in a PARTIAL_UPDATE): two shipments of one line under one tracking number are one package there,
    # whose tracking cannot change for one of them alone. False: the channel names packages by our own
    # id (Amazon's packageReferenceId).
    packages_named_by_tracking: bool = False

    def cancel_reason(self, reason: str) -> str:
        """The channel's value for a reason given as the channel's own value or as a generic key."""
        if reason in self.cancel_reasons:
            return reason
        return dict(self.cancel_reason_by_key).get(reason, "")


WALMART_CARRIERS = (
    "UPS", "USPS", "FedEx", "DHL", "OnTrac", "DHL Ecommerce - US", "LS", "UDS", "UPSMI", "FDX", "PILOT", "ESTES",
    "SAIA", "FDS Express", "Seko Worldwide", "FEDEXSP", "RL Carriers", "China Post", "YunExpress", "GLS",
    "OSM Worldwide", "LSO", "Royal Mail", "Canada Post", "XPO Logistics", "Deutsche Post", "Airborne",
)

RULES = {
    Channel.WALMART: ChannelRules(
        acknowledges_orders=True,
        requires_tracking=True,
        cancel_reasons=(
            "SELLER_CANCEL_OUT_OF_STOCK",
            "SELLER_CANCEL_PRICING_ERROR",
            "SELLER_CANCEL_FRAUD_STOP_SHIPMENT",
            "SELLER_CANCEL_ADDRESS_NOT_SERVICEABLE",
            "CUSTOMER_REQUESTED_SELLER_TO_CANCEL",
        ),
        buyer_cancel_reason="CUSTOMER_REQUESTED_SELLER_TO_CANCEL",
        default_cancel_reason="SELLER_CANCEL_OUT_OF_STOCK",
        max_lines_per_cancel=100,
        carriers=WALMART_CARRIERS,
        shipping_methods=("Standard", "Express", "OneDay", "Freight", "WhiteGlove", "Value"),  # CONTRACTS.md §Walmart
        packages_named_by_tracking=True,
        refund_reasons=(
            "CustomerChangedMind", "DamagedItem", "DefectiveItem", "ItemNotAsAdvertised", "IncorrectItemReceived",
            "CancelledYetShipped", "ItemNotReceivedByCustomer", "IncorrectShippingPrice", "BillingError",
            "TaxExemptCustomer", "CustomerReceivedItemLate", "Customer returned item", "General adjustment",
            "Others",
        ),
        default_refund_reason="CustomerChangedMind",
        cancel_reason_by_key=(
            ("out_of_stock", "SELLER_CANCEL_OUT_OF_STOCK"),
            ("pricing_error", "SELLER_CANCEL_PRICING_ERROR"),
            ("fraud", "SELLER_CANCEL_FRAUD_STOP_SHIPMENT"),
            ("address_undeliverable", "SELLER_CANCEL_ADDRESS_NOT_SERVICEABLE"),
            ("buyer_requested", "CUSTOMER_REQUESTED_SELLER_TO_CANCEL"),
        ),
    ),
    Channel.AMAZON: ChannelRules(
        min_import_interval_seconds=180,
        acknowledges_orders=False,
        requires_tracking=True,
        cancel_reasons=(
            "NoInventory", "ShippingAddressUndeliverable", "CustomerExchange", "BuyerCanceled", "GeneralAdjustment",
            "CarrierCreditDecision", "RiskAssessmentInformationNotValid", "CarrierCoverageFailure",
            "CustomerReturn", "MerchandiseNotReceived",
        ),
        buyer_cancel_reason="BuyerCanceled",
        default_cancel_reason="NoInventory",
        max_lines_per_cancel=100,
        carriers=("UPS", "USPS", "FedEx", "DHL", "Amazon Shipping", "OnTrac", "Other"),
        refund_reasons=("CustomerReturn", "NoInventory", "GeneralAdjustment", "CouldNotShip", "PriceError", "Other"),
        async_changes=True,
        default_refund_reason="CustomerReturn",
        cancel_reason_by_key=(
            ("out_of_stock", "NoInventory"),
            ("pricing_error", "GeneralAdjustment"),
            ("fraud", "RiskAssessmentInformationNotValid"),
            ("address_undeliverable", "ShippingAddressUndeliverable"),
            ("buyer_requested", "BuyerCanceled"),
        ),
    ),
}


def rules_for(channel: str) -> ChannelRules:
    return RULES[Channel(channel)]
