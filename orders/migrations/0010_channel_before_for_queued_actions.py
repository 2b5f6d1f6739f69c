"""Cancels and refunds queued before verification used the channel's own figures carry the
figures they expected instead. For those that may have landed, derive the channel's figures before
the send from them, so they are still read back (not resent blind) after the upgrade."""

from decimal import Decimal

from django.db import migrations

OPEN = ("pending", "in_flight", "failed")


def _before(line: dict, kind: str) -> Decimal | None:
    if kind == "cancel" and "expect_canceled" in line:
        return Decimal(str(line["expect_canceled"])) - Decimal(str(line["qty"]))
    if kind == "refund" and "expect_refunded" in line:
        sent = sum(Decimal(str(line.get(name, "0"))) for name in ("amount", "tax", "shipping"))
        return Decimal(line["expect_refunded"]) - sent
    return None


def add_channel_before(apps, schema_editor):
    ChannelAction = apps.get_model("orders", "ChannelAction")
    queued = ChannelAction.objects.filter(kind__in=("cancel", "refund"), state__in=OPEN, account__channel="walmart",
                                          needs_verification=True)
    for action in queued.iterator():
        if "channel_before" in action.payload:
            continue
        before: dict[str, Decimal] = {}
        for line in action.payload.get("lines", []):
            figure = _before(line, action.kind)
            if figure is None:
                break
            number = line["line_number"]
            before[number] = min(before.get(number, figure), figure)
        else:
            action.payload["channel_before"] = {number: str(max(figure, Decimal("0"))) for number, figure in before.items()}
            action.save(update_fields=["payload"])


class Migration(migrations.Migration):
    dependencies = [("orders", "0009_merge_20261122_1448")]

    operations = [migrations.RunPython(add_channel_before, migrations.RunPython.noop)]
