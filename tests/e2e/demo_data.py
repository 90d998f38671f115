"""Realistic console data for the screenshots: customers, cases on several channels, notes, replies."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth.models import User
from django.utils import timezone

from tiski.accounts.models import Team
from tiski.accounts.services import api_token_issue
from tiski.cases.models import Case, CaseEvent, Message, Note
from tiski.cases.services import case_update, message_reply, note_add
from tiski.channels.email.inbound import email_receive
from tiski.channels.interface import InboundAttachment, InboundMessage
from tiski.channels.models import Channel, ChannelKind
from tiski.channels.services import message_receive
from tiski.customers.models import Customer, CustomerEvent, ExternalRecord, MatchSuggestion, Organization, SourceSystem
from tiski.customers.services import Handle
from tiski.notifications.models import Follow, Notification

SUBJECTS = [
    ("Tilaus 48213 ei ole saapunut", "fi", "Liisa Laine", "liisa.laine@example.fi"),
    ("Wrong colour delivered", "en", "James Carter", "james.carter@example.com"),
    ("Laskulla kaksi kertaa sama tuote", "fi", "Pekka Nieminen", "pekka.nieminen@example.fi"),
    ("Can I change my delivery address?", "en", "Sofia Berg", "sofia.berg@example.se"),
    ("Palautus: kengät liian pienet", "fi", "Aino Heikkinen", "aino.heikkinen@example.fi"),
    ("Discount code not accepted at checkout", "en", "Oliver Smith", "oliver.smith@example.co.uk"),
    ("Lahjakortin saldo", "fi", "Juha Koskinen", "juha.koskinen@example.fi"),
    ("Invoice copy for accounting", "en", "Emma Johansson", "emma@nordicbuild.example"),
    ("Takuukorjaus: kahvinkeitin vuotaa", "fi", "Tiina Järvinen", "tiina.jarvinen@example.fi"),
    ("Order split into two parcels?", "en", "Lucas Meyer", "lucas.meyer@example.de"),
    ("Asiakastilin poistaminen", "fi", "Mikko Lehtonen", "mikko.lehtonen@example.fi"),
    ("Size exchange for winter jacket", "en", "Hanna Virta", "hanna.virta@example.fi"),
    ("Toimitusaika Ouluun", "fi", "Sanna Mäkelä", "sanna.makela@example.fi"),
    ("Payment failed but money was taken", "en", "Daniel Brown", "daniel.brown@example.com"),
    ("Tuote puuttui paketista", "fi", "Kalle Hämäläinen", "kalle.hamalainen@example.fi"),
]


@dataclass(frozen=True)
class Demo:
    main: Case
    administrator: User
    html_message: Message  # an email with formatted HTML: an inline (cid) image and a remote one
    split_message: Message  # the customer's follow-up that raises a new topic
    customer: Customer | None = None  # Liisa: records, signals, a long history (the 360° page)
    provisional_case: Case | None = None  # an SMS from an unknown number, with a suggested match
    organization: Organization | None = None


def _png(width: int, height: int) -> bytes:
    """Return a small PNG: a mock screenshot of a parcel-tracking page (header bar, text lines, a status pill)."""

    def pixel(x: int, y: int) -> bytes:
        if y < 22:
            return b"\x1f\x27\x33"  # header bar
        if 40 <= y < 70 and 16 <= x < 150:
            return b"\xfd\xf3\xdc" if not (44 <= y < 66 and 24 <= x < 142) else b"\xf0\xb4\x29"  # status pill
        if any(top <= y < top + 8 for top in (90, 110, 130)) and 16 <= x < width - 16 - (y % 60):
            return b"\xcf\xd4\xdc"  # text lines
        return b"\xff\xff\xff"

    rows = b"".join(b"\x00" + b"".join(pixel(x, y) for x in range(width)) for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


MAIN_TEXT = (
    "Hei,\n\ntilasin 2.11. talvitakin (tilaus 48213), mutta pakettia ei ole vieläkään kuulunut. "
    "Seurantakoodi näyttää, että paketti on ollut Vantaan terminaalissa jo viikon.\n\n"
    "Voitteko selvittää, missä paketti on? Tarvitsen takin ensi viikon matkalle.\n\nTerveisin\nLiisa Laine"
)
MAIN_HTML = (
    '<div style="font-family: Georgia, serif; font-size: 15px; color: #222">'
    "<p>Hei,</p><p>tilasin 2.11. <b>talvitakin (tilaus 48213)</b>, mutta pakettia ei ole vieläkään kuulunut. "
    "Seurantakoodi näyttää, että paketti on ollut Vantaan terminaalissa jo viikon:</p>"
    '<p><img src="cid:seuranta-48213@liisa.example" alt="Kuvakaappaus seurantasivusta" width="320"></p>'
    "<p>Voitteko selvittää, missä paketti on? Tarvitsen takin ensi viikon matkalle.</p>"
    '<p>Terveisin<br><b>Liisa Laine</b></p><p><img src="https://newsletter.example/track/open.gif?u=4411" '
    'alt="" width="1" height="1"><img src="https://cdn.liisa.example/allekirjoitus-logo.png" '
    'alt="Liisan allekirjoituslogo" width="120" height="32"></p></div>'
)
QUOTED = (
    "\n\n-----Alkuperäinen viesti-----\nLähettäjä: Kauppa.example <tilaukset@kauppa.example>\n"
    "Aihe: Tilausvahvistus 48213\n\n> Kiitos tilauksestasi! Toimitamme tilauksesi 2–4 arkipäivässä.\n"
    "> Talvitakki, koko M, musta · 189,00 €"
)
BROKEN_MAIL = (
    b"Subject: =?utf-8?q?Tilaus_48102_--_lasku?=\r\nMessage-ID: <q-48102@posti.example>\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\nHei, laskussa on virhe.\r\n"
)


def _receive(channel: Channel, *, email: str, name: str, subject: str, body: str, language: str, **extra):  # type: ignore[no-untyped-def]
    return message_receive(
        inbound=InboundMessage(
            channel=channel,
            handles=[Handle("email", email)],
            body_text=body,
            subject=subject,
            sender_name=name,
            language=language,
            **extra,
        )
    )


def _age(case: Case, minutes: int) -> None:
    at = timezone.now() - timedelta(minutes=minutes)
    Case.objects.filter(pk=case.pk).update(created_at=at, updated_at=at)
    Message.objects.filter(case=case).update(created_at=at)
    CaseEvent.objects.filter(case=case).update(created_at=at)


def demo_fill(*, agent: User, other_agent: User, team_lead: User, administrator: User) -> Demo:
    """Fill the database and return the case the screenshots open."""
    web = Channel.objects.get_or_create(kind=ChannelKind.WEBFORM, name="Contact form")[0]
    email = Channel.objects.create(kind=ChannelKind.EMAIL, name="asiakaspalvelu@kauppa.example")
    phone = Channel.objects.create(kind=ChannelKind.PHONE, name="Puhelinpalvelu")
    chat = Channel.objects.create(kind=ChannelKind.CHAT, name="Verkkokaupan chat")
    shop, billing = Team.objects.create(name="Verkkokauppa"), Team.objects.create(name="Laskutus")
    channels = [email, web, email, chat, web, email, phone, email, web, chat, email, web, email, email, web]
    owners = [
        None,
        agent,
        other_agent,
        None,
        agent,
        None,
        team_lead,
        other_agent,
        None,
        agent,
        None,
        None,
        agent,
        None,
        None,
    ]
    statuses = [
        "new",
        "open",
        "pending",
        "new",
        "open",
        "on_hold",
        "open",
        "pending",
        "new",
        "open",
        "solved",
        "new",
        "open",
        "new",
        "closed",
    ]
    priorities = [3, 2, 2, 2, 1, 2, 2, 2, 4, 2, 2, 2, 3, 4, 2]
    for i, (subject, language, name, address) in enumerate(SUBJECTS):
        body = "Hei, tilaukseni on myöhässä. Voitteko tarkistaa?" if language == "fi" else "Hello, could you help me?"
        case = _receive(channels[i], email=address, name=name, subject=subject, body=body, language=language).case
        Case.objects.filter(pk=case.pk).update(
            status=statuses[i],
            owner=owners[i],
            priority=priorities[i],
            team=billing if "ask" in subject.lower() or "nvoice" in subject or "ayment" in subject else shop,
        )
        _age(case, minutes=[3, 12, 38, 55, 95, 140, 200, 260, 330, 420, 600, 900, 1500, 2900, 4400][i])

    # The case the screenshots open: a Finnish customer on email, then phone, a note, replies.
    customer_name, address = "Liisa Laine", "liisa.laine@example.fi"
    earlier = _receive(
        email,
        email=address,
        name=customer_name,
        subject="Kanta-asiakasetujen voimassaolo",
        body="Milloin kanta-asiakasetuni vanhenevat?",
        language="fi",
    ).case
    Case.objects.filter(pk=earlier.pk).update(status=Case.Status.SOLVED)
    _age(earlier, minutes=60 * 24 * 40)
    receipt = _receive(
        email,
        email=address,
        name=customer_name,
        subject="Tilaus 48213: paketti ei ole saapunut",
        body=MAIN_TEXT,
        language="fi",
        body_html=MAIN_HTML,
        full_text=MAIN_TEXT + QUOTED,
        raw=b"From: Liisa Laine <liisa.laine@example.fi>\r\nSubject: Tilaus 48213\r\n\r\n" + MAIN_TEXT.encode(),
        attachments=[
            InboundAttachment(
                "seuranta-48213.png", "image/png", _png(320, 150), content_id="seuranta-48213@liisa.example"
            )
        ],
    )
    main = receipt.case
    customer = main.customer
    Customer.objects.filter(pk=customer.pk).update(
        tier=Customer.Tier.GOLD, notes="Kanta-asiakas vuodesta 2019. Toivoo yhteydenottoa mieluiten sähköpostilla."
    )
    customer.identities.create(kind="phone", value="+358401234567", verified=True)
    start = timezone.now() - timedelta(hours=26)
    Case.objects.filter(pk=main.pk).update(created_at=start, team=shop, priority=Case.Priority.HIGH)
    Message.objects.filter(pk=receipt.message.pk).update(created_at=start)
    CaseEvent.objects.filter(case=main).update(created_at=start)
    call = Message.objects.create(
        case=main,
        channel=phone,
        direction=Message.Direction.IN,
        author=Message.Author.CUSTOMER,
        sender_name=customer_name,
        body_text="Asiakas soitti: paketti on edelleen terminaalissa. "
        "Pyysi, että selvitämme asian kuljetusyhtiön kanssa.",
    )
    Message.objects.filter(pk=call.pk).update(created_at=start + timedelta(hours=2))
    note = note_add(
        case=main,
        actor=agent,
        body="Tarkistin Postin järjestelmästä: lähetys jumissa lajittelussa. Tein selvityspyynnön, viite PN-55120.",
    )
    Note.objects.filter(pk=note.pk).update(created_at=start + timedelta(hours=2, minutes=20))
    first = message_reply(
        case=main,
        actor=agent,
        body="Hei Liisa,\n\nkiitos soitostasi. Olemme tehneet kuljetusyhtiölle selvityspyynnön, ja palaamme asiaan "
        "viimeistään huomenna.\n\nYstävällisin terveisin\nMaija / Kauppa.example asiakaspalvelu",
    )
    Message.objects.filter(pk=first.pk).update(
        created_at=start + timedelta(hours=2, minutes=30), delivery_status=Message.Delivery.SENT
    )
    CaseEvent.objects.filter(case=main).exclude(kind=CaseEvent.Kind.CREATED).update(
        created_at=start + timedelta(hours=2, minutes=30)
    )
    customer_back = Message.objects.create(
        case=main,
        channel=email,
        direction=Message.Direction.IN,
        author=Message.Author.CUSTOMER,
        sender_name=customer_name,
        subject="Re: [TSK] Tilaus 48213: paketti ei ole saapunut",
        body_text="Kiitos! Jos paketti ei löydy, voitteko lähettää uuden takin kokoa M?\n\n"
        "Toinen asia: sain eilen laskun tilauksesta 48102, vaikka maksoin sen jo kortilla. Voitteko tarkistaa?",
    )
    Message.objects.filter(pk=customer_back.pk).update(created_at=timezone.now() - timedelta(hours=3))
    case_update(case=main, actor=team_lead, priority=Case.Priority.URGENT)
    CaseEvent.objects.filter(case=main, kind=CaseEvent.Kind.PRIORITY_CHANGED).update(
        created_at=timezone.now() - timedelta(hours=2)
    )
    message_reply(
        case=main,
        actor=agent,
        body="Hei Liisa,\n\npaketti löytyi lajittelukeskuksesta ja lähtee sinulle tänään. Jos se ei ole perillä "
        "perjantaina, lähetämme uuden takin veloituksetta.\n\nTerveisin\nMaija",
    )

    # Two mails the pipeline could not store, for the quarantine page.
    email_receive(raw=BROKEN_MAIL, mailbox=email, source="imap")
    email_receive(raw=b"\x00\x01 not a mail at all" * 40, mailbox=email, source="smtp")

    extra = _fill_360(customer=customer, main=main, team_lead=team_lead, admin=administrator)

    api_token_issue(user=agent, name="Tilausjärjestelmä", scopes=["cases:read", "cases:write"])
    old = api_token_issue(user=administrator, name="CRM sync (old)", scopes=["customers:read"])
    old.token.revoked_at = timezone.now() - timedelta(days=3)
    old.token.save(update_fields=["revoked_at"])
    api_token_issue(user=administrator, name="Raportointi", scopes=["reports:read"])
    return Demo(
        main=Case.objects.get(pk=main.pk),
        administrator=administrator,
        html_message=receipt.message,
        split_message=customer_back,
        customer=Customer.objects.get(pk=customer.pk),
        provisional_case=extra["provisional_case"],
        organization=extra["organization"],
    )


def _days(n: int) -> date:
    return timezone.localdate() + timedelta(days=n)


def _fill_360(*, customer: Customer, main: Case, team_lead: User, admin: User) -> dict[str, object]:
    """Give Liisa records and a profile, open a complaint for a B2B customer, and an SMS from an unknown number."""
    SourceSystem.objects.create(
        slug="shop", name="Verkkokauppa", url_template="https://shop.example/admin/{kind}/{external_id}"
    )
    SourceSystem.objects.create(slug="erp", name="ERP", url_template="https://erp.example/{kind}s/{external_id}")
    Customer.objects.filter(pk=customer.pk).update(
        address="Hämeenkatu 12 A 4\n33100 Tampere",
        interests="Talvivaatteet, retkeily; katsellut nelivetoisia sähköpyöriä",
        language="fi",
    )
    rows = [
        ("order", "shop", "48213", "Talvitakki Revontuli, M, musta", "shipped", -26, -2, None, "189.00", {}),
        ("order", "shop", "48102", "Merinovillapaita ja pipo", "delivered", -41, -37, None, "94.80", {}),
        ("order", "shop", "47720", "Vaelluskengät Kaamos GTX", "delivered", -120, -116, None, "159.00", {}),
        ("invoice", "erp", "900412", "Lasku tilauksesta 48102", "paid", -41, -27, None, "94.80", {}),
        ("invoice", "erp", "900518", "Lasku tilauksesta 48213", "open", -26, 2, None, "189.00", {}),
        ("contract", "erp", "KA-2019-114", "Kanta-asiakassopimus Gold", "active", -1900, None, 24, "0.00", {}),
        (
            "asset",
            "shop",
            "SN-77120",
            "Sähköpyörä Tunturi eMax 2023",
            "in_use",
            -400,
            None,
            None,
            None,
            {"condition": "hyvä", "serial": "TU-23-77120"},
        ),
        ("visit", "erp", "H-2211", "Syyshuolto: jarrut ja vaihteet säädetty", "done", -60, None, None, "89.00", {}),
        (
            "survey",
            "erp",
            "S-5520",
            "Palautekysely, tilaus 48102",
            "answered",
            -36,
            None,
            None,
            None,
            {"score": 2, "scale": 5, "comment": "Toimitus kesti liian kauan."},
        ),
    ]
    for kind, source, external_id, title, status, day, due, renewal, amount, attributes in rows:
        ExternalRecord.objects.create(
            kind=kind,
            source=source,
            external_id=external_id,
            customer=customer,
            title=title,
            status=status,
            date=_days(day),
            due_date=_days(due) if due is not None else None,
            renewal_date=_days(renewal) if renewal is not None else None,
            amount=Decimal(amount) if amount is not None else None,
            currency="EUR" if amount is not None else "",
            attributes=attributes,
        )
    CustomerEvent.objects.create(customer=customer, kind=CustomerEvent.Kind.LINKED, actor=team_lead, data={})

    # A company customer with a complaint open: "do not market", red light.
    nordic = Organization.objects.create(name="Nordic Build Oy", domain="nordicbuild.example")
    emma = Customer.objects.filter(identities__value="emma@nordicbuild.example").first()
    if emma is not None:
        Customer.objects.filter(pk=emma.pk).update(
            organization=nordic, tier=Customer.Tier.SILVER, marketing_suppressed=True
        )
        Case.objects.filter(customer=emma).update(type=Case.Type.COMPLAINT)
        ExternalRecord.objects.create(
            kind="contract",
            source="erp",
            external_id="YS-0042",
            organization=nordic,
            title="Yrityssopimus, työvaatteet",
            status="active",
            date=_days(-700),
            renewal_date=_days(45),
            amount=Decimal("12500.00"),
            currency="EUR",
        )
        ExternalRecord.objects.create(
            kind="invoice",
            source="erp",
            external_id="900233",
            customer=emma,
            title="Lasku 900233",
            status="in_collection",
            date=_days(-90),
            due_date=_days(-76),
            amount=Decimal("1240.00"),
            currency="EUR",
        )
    Customer.objects.filter(identities__value="oliver.smith@example.co.uk").update(tier=Customer.Tier.VIP)

    # An SMS from a number nobody knows, signed "Pekka Nieminen": a provisional customer and a suggestion.
    sms = Channel.objects.create(kind=ChannelKind.SMS, name="Tekstiviestit")
    receipt = message_receive(
        inbound=InboundMessage(
            channel=sms,
            handles=[Handle("sms", "+358 44 987 6543")],
            body_text="Hei, tässä Pekka Nieminen. Laskussa on edelleen sama tuote kahdesti, soitatteko?",
            sender_name="Pekka Nieminen",
        )
    )
    provisional = receipt.case.customer
    Customer.objects.filter(pk=provisional.pk).update(provisional=True)
    pekka = Customer.objects.filter(identities__value="pekka.nieminen@example.fi").first()
    if pekka is not None:
        MatchSuggestion.objects.get_or_create(
            customer=provisional,
            candidate=pekka,
            defaults={
                "score": 92,
                "reasons": [
                    {"kind": "name", "detail": "Pekka Nieminen = Pekka Nieminen", "points": 80},
                    {"kind": "phone", "detail": "+358449876543 is not known; same region", "points": 12},
                ],
            },
        )

    # Everyone but the unknown number is a known customer.
    Customer.objects.exclude(pk=provisional.pk).update(provisional=False)

    # The administrator (who takes the screenshots) follows Liisa and has notifications.
    Follow.objects.create(user=admin, customer=customer)
    texts = [
        ("contact", f"Liisa Laine wrote on {main.reference} (email)"),
        ("case_changed", f"Minna Korhonen set {main.reference} to Urgent"),
        ("contact", f"Pekka Nieminen wrote on {receipt.case.reference} (SMS)"),
    ]
    cases = (main, main, receipt.case)
    for minutes, (kind, text), case in zip((5, 90, 600), texts, cases, strict=True):
        note = Notification.objects.create(user=admin, kind=kind, case=case, customer=case.customer, text=text)
        Notification.objects.filter(pk=note.pk).update(created_at=timezone.now() - timedelta(minutes=minutes))
    Notification.objects.filter(user=admin, text__contains="Urgent").update(read_at=timezone.now())
    return {"provisional_case": receipt.case, "organization": nordic}
