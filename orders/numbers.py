from django.db.models import F

from .models import NumberSequence

STORE_ORDER = "store_order"
INVOICE = "invoice"
FIRST_NUMBER = {STORE_ORDER: 100000001, INVOICE: 200000001}


def allocate_numbers(*, sequence: str, count: int) -> list[str]:
    """The next `count` numbers of a sequence, gapless. The UPDATE row-locks the counter until
    commit (step 4 of the lock order, orders.locks), so concurrent transactions get distinct
    numbers; call it inside the transaction that uses them, after its orders are locked."""
    if count <= 0:
        return []
    bumped = NumberSequence.objects.filter(name=sequence).update(last_value=F("last_value") + count)
    if not bumped:
        NumberSequence.objects.get_or_create(name=sequence, defaults={"last_value": FIRST_NUMBER[sequence] - 1})
        NumberSequence.objects.filter(name=sequence).update(last_value=F("last_value") + count)
    last = NumberSequence.objects.values_list("last_value", flat=True).get(name=sequence)
    return [str(number) for number in range(last - count + 1, last + 1)]


def allocate_number(*, sequence: str) -> str:
    return allocate_numbers(sequence=sequence, count=1)[0]
