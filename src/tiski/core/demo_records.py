"""The demo company's other systems: web-shop orders, ERP invoices and contracts, the workshop's bikes and visits.

Written in bulk, as an import from those systems would, so the 360° view has something to show: Anssi's
orders from the reference journey, late orders, an invoice in collection, contracts up for renewal and
unhappy survey answers for the signals.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal

from tiski.customers.models import Customer, ExternalRecord, Organization, SourceSystem

SOURCES = (
    ("webshop", "Verkkokauppa", "https://kauppa.pohjolanpyora.example/admin/orders/{external_id}"),
    ("erp", "Netvisor ERP", "https://erp.pohjolanpyora.example/{kind}/{external_id}"),
    ("workshop", "Huoltojärjestelmä", "https://huolto.pohjolanpyora.example/{kind}/{external_id}"),
    ("surveys", "Palautekysely", ""),
)

PRODUCTS = (
    ("Merino 150 -paita", Decimal("69.90")),
    ("Revontuli-kuoritakki", Decimal("249.00")),
    ("Kypärä Aero MIPS", Decimal("129.00")),
    ("Nastarenkaat 29 × 2,25 (2 kpl)", Decimal("139.80")),
    ("Pyöräilyhanskat Talvi", Decimal("44.90")),
    ("Ketjuöljy ja puhdistussetti", Decimal("24.90")),
    ("Valosarja 1200 lm", Decimal("89.00")),
    ("Retkiteltta Kaamos 2", Decimal("329.00")),
    ("Makuupussi Lapinkulta -15", Decimal("219.00")),
    ("Sähköpyörän akku 625 Wh", Decimal("749.00")),
)
BIKES = (
    "Tunturi e-Gravel 2023",
    "Helkama Jopo 24",
    "Cube Reaction Hybrid",
    "Trek FX 3 Disc",
    "Merida eOne-Sixty",
    "Scott Sub Cross eRide",
)
VISITS = ("Perushuolto", "Talvihuolto ja nastarenkaat", "Jarrujen säätö", "Akun tarkistus")
CONDITIONS = ("erinomainen", "hyvä", "tyydyttävä", "huono")


def _day(now: datetime, days_ago: float) -> date:
    return (now - timedelta(days=days_ago)).date()


def _anssi_records(anssi: Customer, now: datetime) -> list[ExternalRecord]:
    return [
        ExternalRecord(
            kind="order",
            source="webshop",
            external_id="118204",
            customer=anssi,
            title="Merino 150 -paita, M, sininen",
            status="delivered",
            date=_day(now, 20),
            due_date=_day(now, 17),
            amount=Decimal("69.90"),
            currency="EUR",
            attributes={"items": 1, "note": "Toimitettiin väärä väri (musta), vaihdettu tilauksella 118377"},
        ),
        ExternalRecord(
            kind="order",
            source="webshop",
            external_id="118377",
            customer=anssi,
            title="Vaihtotoimitus: Merino 150 -paita, M, sininen",
            status="delivered",
            date=_day(now, 14),
            due_date=_day(now, 12),
            amount=Decimal("0.00"),
            currency="EUR",
            attributes={"replaces": "118204"},
        ),
        ExternalRecord(
            kind="order",
            source="webshop",
            external_id="121377",
            customer=anssi,
            title="Revontuli Pro -kuoritakki, M",
            status="delivered",
            date=_day(now, 6),
            due_date=_day(now, 2),
            amount=Decimal("289.00"),
            currency="EUR",
            attributes={"delivery": "Posti, Hervanta K-Market"},
        ),
        ExternalRecord(
            kind="invoice",
            source="erp",
            external_id="5004211",
            customer=anssi,
            title="Lasku tilauksesta 121377",
            status="paid",
            date=_day(now, 6),
            due_date=_day(now, -8),
            amount=Decimal("289.00"),
            currency="EUR",
        ),
        ExternalRecord(
            kind="asset",
            source="workshop",
            external_id="B-20931",
            customer=anssi,
            title="Tunturi e-Gravel 2023 (työmatkapyörä)",
            status="in_use",
            date=_day(now, 560),
            attributes={"condition": "hyvä", "odometer_km": 8420, "chain_wear_percent": 0.5},
        ),
        ExternalRecord(
            kind="contract",
            source="erp",
            external_id="HS-7731",
            customer=anssi,
            title="Huoltosopimus Plus",
            status="active",
            date=_day(now, 340),
            due_date=_day(now, -25),
            renewal_date=_day(now, -25),
            amount=Decimal("149.00"),
            currency="EUR",
            attributes={"includes": "2 huoltoa vuodessa"},
        ),
        ExternalRecord(
            kind="visit",
            source="workshop",
            external_id="H-44120",
            customer=anssi,
            title="Kevään perushuolto, ketju ja jarrupalat vaihdettu",
            status="done",
            date=_day(now, 200),
            amount=Decimal("0.00"),
            currency="EUR",
            attributes={"technician": "Juha"},
        ),
        ExternalRecord(
            kind="survey",
            source="surveys",
            external_id="S-anssi-1",
            customer=anssi,
            title="Asiakastyytyväisyys, huoltokäynti",
            status="answered",
            date=_day(now, 198),
            attributes={"score": 5, "scale": 5, "comment": "Nopea ja ystävällinen palvelu."},
        ),
    ]


def _customer_records(customer: Customer, rng: random.Random, now: datetime, seq: list[int]) -> list[ExternalRecord]:
    records: list[ExternalRecord] = []

    def next_id() -> int:
        seq[0] += 1
        return seq[0]

    for _ in range(rng.choices((0, 1, 2, 3, 5), weights=(30, 30, 20, 12, 8))[0]):
        ordered = rng.uniform(1, 400)
        product, price = rng.choice(PRODUCTS)
        late = ordered < 20 and rng.random() < 0.25
        status = "processing" if late or ordered < 3 else rng.choices(("delivered", "returned"), weights=(92, 8))[0]
        number = next_id()
        records.append(
            ExternalRecord(
                kind="order",
                source="webshop",
                external_id=str(100000 + number),
                customer=customer,
                title=product,
                status=status,
                date=_day(now, ordered),
                due_date=_day(now, ordered - (3 if not late else 2)),
                amount=price,
                currency="EUR",
            )
        )
        if status != "returned":
            invoice_status = "paid" if ordered > 45 else rng.choices(("paid", "open"), weights=(70, 30))[0]
            if ordered > 60 and rng.random() < 0.04:
                invoice_status = "in_collection"
            records.append(
                ExternalRecord(
                    kind="invoice",
                    source="erp",
                    external_id=f"5{number:06d}",
                    customer=customer,
                    title=f"Lasku tilauksesta {100000 + number}",
                    status=invoice_status,
                    date=_day(now, ordered),
                    due_date=_day(now, ordered - 14),
                    amount=price,
                    currency="EUR",
                )
            )
    if rng.random() < 0.3:
        bought = rng.uniform(30, 1500)
        records.append(
            ExternalRecord(
                kind="asset",
                source="workshop",
                external_id=f"B-{next_id():05d}",
                customer=customer,
                title=rng.choice(BIKES),
                status="in_use",
                date=_day(now, bought),
                attributes={
                    "condition": rng.choices(CONDITIONS, weights=(20, 50, 22, 8))[0],
                    "odometer_km": rng.randrange(100, 12000),
                },
            )
        )
        if rng.random() < 0.6:
            records.append(
                ExternalRecord(
                    kind="visit",
                    source="workshop",
                    external_id=f"H-{next_id():05d}",
                    customer=customer,
                    title=rng.choice(
                        ("Perushuolto", "Talvihuolto ja nastarenkaat", "Jarrujen säätö", "Akun tarkistus")
                    ),
                    status="done",
                    date=_day(now, rng.uniform(5, min(bought, 365))),
                    amount=Decimal(rng.choice(("59.00", "89.00", "129.00"))),
                    currency="EUR",
                )
            )
    if rng.random() < 0.08:
        records.append(
            ExternalRecord(
                kind="contract",
                source="erp",
                external_id=f"HS-{next_id():05d}",
                customer=customer,
                title="Huoltosopimus",
                status="active",
                date=_day(now, rng.uniform(100, 700)),
                renewal_date=_day(now, -rng.uniform(-200, 200)),
                amount=Decimal("99.00"),
                currency="EUR",
            )
        )
    if rng.random() < 0.2:
        score = rng.choices((1, 2, 3, 4, 5), weights=(6, 8, 14, 32, 40))[0]
        records.append(
            ExternalRecord(
                kind="survey",
                source="surveys",
                external_id=f"S-{next_id():06d}",
                customer=customer,
                title="Asiakastyytyväisyys",
                status="answered",
                date=_day(now, rng.uniform(2, 300)),
                attributes={"score": score, "scale": 5},
            )
        )
    return records


def _organization_records(org: Organization, rng: random.Random, now: datetime) -> list[ExternalRecord]:
    return [
        ExternalRecord(
            kind="contract",
            source="erp",
            external_id=f"YS-{org.pk:04d}",
            organization=org,
            title="Työsuhdepyöräsopimus ja kalustohuolto",
            status="active",
            date=_day(now, rng.uniform(200, 900)),
            renewal_date=_day(now, -rng.uniform(10, 300)),
            amount=Decimal(rng.choice(("4800.00", "12500.00", "23000.00"))),
            currency="EUR",
            attributes={"bikes": rng.randrange(8, 120)},
        )
    ]


def demo_records_create(*, customers: list[Customer], rng: random.Random, now: datetime) -> int:
    """Write the demo's source systems and external records; return how many records were written."""
    for slug, name, template in SOURCES:
        SourceSystem.objects.update_or_create(slug=slug, defaults={"name": name, "url_template": template})
    anssi, others = customers[0], customers[1:]
    records = _anssi_records(anssi, now)
    seq = [0]
    for customer in others:
        records += _customer_records(customer, rng, now, seq)
    for org in Organization.objects.order_by("pk"):
        records += _organization_records(org, rng, now)
    ExternalRecord.objects.bulk_create(records, batch_size=1000)
    Customer.objects.filter(pk=anssi.pk).update(
        address="Insinöörinkatu 41 B 12\n33720 Tampere",
        interests="Katsellut täysjousitettuja sähkömaastopyöriä; talvipyöräily",
        field_sources={"address": "import:erp", "name": "import:webshop", "interests": "agent"},
    )
    return len(records)
