"""Issue 9 §1, fencing (R-REL-2): the claim is checked again right before a change goes on the wire,
after the client's pacing wait. A worker held back by the channel's limit past the moment its
action was taken over sends nothing: the refund reaches the channel once, from the new owner."""

import threading
import time

import pytest

from channels.pacing import reset_shared_buckets
from channels.registry import client_for
from creditmemos.models import CreditMemo
from creditmemos.services import credit_memo_create, credit_memo_defaults
from orders import outbox
from orders.models import ChannelAction
from tests.creditmemos.test_exactly_once import shipped_walmart_order
from tests.helpers import drain_actions, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
PACED_FOR = 1.5  # seconds the refund waits for its token: under the pacing's longest sleep (2 s)


def test_r_rel_2_a_worker_that_lost_its_claim_while_paced_sends_nothing(sandbox, wm_account, settings):
    order, channel = shipped_walmart_order(sandbox, wm_account, qty=2)
    memo = credit_memo_create(order_id=order.pk, memo=credit_memo_defaults(order_id=order.pk))
    action = memo.channel_actions.get()
    settings.CHANNEL_PACING = True
    reset_shared_buckets()
    client_for(wm_account).pacer.throttled("refund", retry_after=PACED_FOR)  # Walmart's 429 to another refund

    outcome = []
    paced = threading.Thread(target=lambda: outcome.append(outbox.process_action(action_id=action.pk)))
    started = time.monotonic()
    paced.start()
    wait_for(lambda: ChannelAction.objects.filter(pk=action.pk, state=ChannelAction.State.IN_FLIGHT).exists(),
             what="the worker's claim")
    time.sleep(0.3)  # it has checked its claim and sleeps for the refund's token
    # Its lease ends (the worker stalled) and the sweep hands the action to another worker.
    ChannelAction.objects.filter(pk=action.pk).update(lease_expires_at=outbox.timezone.now())
    assert outbox.recover_expired_leases() == 1
    paced.join(timeout=10)

    assert time.monotonic() - started >= PACED_FOR - 0.2  # it did wait for the token
    assert [o.state for o in outcome] == [outbox.STALE]
    assert sandbox.requests.all(method="POST", path="/refund$") == []  # backed off, not sent
    settings.CHANNEL_PACING = False
    drain_actions()

    assert len(sandbox.requests.all(method="POST", path="/refund$")) == 1
    assert len(channel.lines[0].refunds) == 1
    memo.refresh_from_db()
    assert memo.state == CreditMemo.State.DONE
