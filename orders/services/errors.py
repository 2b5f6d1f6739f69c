class OrderActionRefused(Exception):
    """An action does not apply to an order. `reason` is short and shared by every order refused
    for the same cause (bulk summaries count by it); `detail` adds what is specific to this order."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)
