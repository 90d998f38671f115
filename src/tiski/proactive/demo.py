"""The demo company's proactive service: the tyre hotel, service-contract renewals and the first icy evening.

The workshop stores customers' studded winter tyres over the summer (asset records with the measured tread
depth); a rule calls the customers whose stored tyres are worn out. Service contracts renewing within three
weeks get a message. Customers who asked about four-wheel drive are called when an "icy_evening" event
arrives through the API (none has yet: send one to see it work).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.db.models import OuterRef, Subquery

from tiski.cases.models import Case
from tiski.customers.models import Customer, ExternalRecord, Identity
from tiski.proactive.models import ProactiveHit, ProactiveRule
from tiski.proactive.services import proactive_rules_run
from tiski.routing.models import Queue, WorkItem

TREADS = (2.1, 6.4, 3.4, 5.8, 1.8, 7.0, "ei mitattu", 4.6, 3.9, 6.1)
TYRES = ("Nastarenkaat 29 × 2,25", "Nastarenkaat 27,5 × 2,4", "Nastarenkaat 700 × 40C", "Nastarenkaat 26 × 2,1")
FOUR_WHEEL = (
    "Nelivetoinen sähköfatbike talviajoon (neliveto)",
    "Kysyi nelivetoisista sähköpyöristä; työmatkat Kangasalta",
    "Four-wheel drive e-bikes for snowy trails",
    "Neliveto ja nastarenkaat, perhepyörä",
)


def demo_proactive_create(*, customers: list[Customer], now: datetime, seed: int = 8) -> int:
    """Write the demo's tyre-hotel records, interests and three rules, run the rules once; return the cases made."""
    rng = random.Random(seed)
    with_phone = [
        c for c in customers[1:] if c.identities.filter(kind=Identity.Kind.PHONE).exists() and not c.erased_at
    ]
    stored = now - timedelta(days=rng.randrange(150, 200))
    records = [
        ExternalRecord(
            kind=ExternalRecord.Kind.ASSET,
            source="workshop",
            external_id=f"RH-{n + 1:04d}",
            customer=customer,
            title=f"Rengashotelli: {TYRES[n % len(TYRES)]}",
            status="stored",
            date=stored.date(),
            attributes={
                "storage": "Rengashotelli",
                "shelf": f"{'ABC'[n % 3]}-{10 + n}",
                "tyre_tread_mm": tread,
                "studs_missing": rng.randrange(0, 30)
                if isinstance(tread, float) and tread < 4
                else rng.randrange(0, 4),
                "measured": stored.date().isoformat(),
            },
        )
        for n, (customer, tread) in enumerate(zip(with_phone[:10], TREADS, strict=False))
    ]
    ExternalRecord.objects.bulk_create(records)
    for customer, interests in zip(with_phone[12:16], FOUR_WHEEL, strict=False):
        Customer.objects.filter(pk=customer.pk).update(interests=interests)
    queue = Queue.objects.filter(name="General").first() or Queue.objects.filter(is_default=True).first()
    rules = [
        ProactiveRule(
            name="Talvirenkaat loppuun kuluneet",
            trigger=ProactiveRule.Trigger.THRESHOLD,
            record_kind=ExternalRecord.Kind.ASSET,
            record_statuses="stored",
            attribute="tyre_tread_mm",
            comparison=ProactiveRule.Comparison.LT,
            threshold=4,
            work_kind=ProactiveRule.WorkKind.CALL,
            queue=queue,
            priority=2,
            subject_template="Rengashotelli: talvirenkaat loppuun kuluneet ({value} mm) – {customer}",
            reason=(
                "Asiakkaan rengashotellissa säilytettävät nastarenkaat ovat loppuun kuluneet. Soita ennen "
                "kauden alkua: tarjoa uudet renkaat asennettuna, niin asiakas pääsee liukkaille turvallisesti."
            ),
        ),
        ProactiveRule(
            name="Huoltosopimus uusiutuu kolmen viikon kuluttua",
            trigger=ProactiveRule.Trigger.DATE,
            record_kind=ExternalRecord.Kind.CONTRACT,
            record_statuses="active",
            date_field=ProactiveRule.DateField.RENEWAL,
            days_ahead=21,
            work_kind=ProactiveRule.WorkKind.MESSAGE,
            queue=queue,
            priority=2,
            subject_template="Huoltosopimus uusiutuu {date}: {customer}",
            reason=(
                "Asiakkaan huoltosopimus uusiutuu kolmen viikon sisällä. Kerro, mitä sopimus sisältää ensi kaudella, "
                "ja kysy, sopiiko huollon ajankohta."
            ),
        ),
        ProactiveRule(
            name="Ensimmäinen liukas ilta: neliveto",
            trigger=ProactiveRule.Trigger.EVENT,
            event_name="icy_evening",
            interests="neliveto\nnelivetoinen\nnelivetoisista\nfour-wheel drive\nall-wheel drive",
            work_kind=ProactiveRule.WorkKind.CALL,
            queue=queue,
            priority=2,
            marketing=True,
            subject_template="Liukas ilta: nelivetopyörät – {customer}",
            reason=(
                "Ensimmäinen liukas ilta. Asiakas on kysynyt nelivetoisista pyöristä: kerro talven malleista "
                "ja varaa koeajo."
            ),
        ),
    ]
    for rule in rules:
        rule.full_clean()
        rule.save()
    made = proactive_rules_run(now=now)
    # The work waits since its case was opened (a moment later in the same transaction), as the demo's other work.
    cases = ProactiveHit.objects.filter(case__isnull=False).values_list("case_id", flat=True)
    WorkItem.objects.filter(case_id__in=cases).update(
        enqueued_at=Subquery(Case.objects.filter(pk=OuterRef("case_id")).values("created_at")[:1])
    )
    return made
