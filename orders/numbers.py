from django.db.models import F

from .models import NumberSequence

STORE_ORDER = "store_order"
INVOICE = "invoice"
FIRST_NUMBER = {STORE_ORDER: 100000001, INVOICE: 200000001}


def allocate_number(*, sequence: str) -> str:
    """Next number of a sequence. The UPDATE row-locks the counter until commit, so concurrent
    transactions get distinct numbers; call it inside the transaction that uses the number."""
    bumped = NumberSequence.objects.filter(name=sequence).update(last_value=F("last_value") + 1)
    if not bumped:
        NumberSequence.objects.get_or_create(name=sequence, defaults={"last_value": FIRST_NUMBER[sequence] - 1})
        NumberSequence.objects.filter(name=sequence).update(last_value=F("last_value") + 1)
    return str(NumberSequence.objects.values_list("last_value", flat=True).get(name=sequence))
