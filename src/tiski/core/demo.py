"""Demo data: Pohjolan Pyörä ja Ulkoilu Oy, a Finnish bike and outdoor shop with a repair service.

Everything is generated from a seeded random generator, so two loads give the same customers, cases and
conversations (timestamps are relative to the moment of loading: the last 60 days). First contacts go
through the real inbound pipeline, which identifies the customer and opens the case; the history after
that (replies already sent, notes, follow-ups) is written in bulk, without outbox rows, so nothing
historical is ever sent again.
"""

from __future__ import annotations

import contextlib
import random
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import models, transaction
from django.utils import timezone

from tiski.accounts.models import Partner, Team
from tiski.accounts.roles import ADMINISTRATOR, AGENT, PARTNER_AGENT, READ_ONLY, TEAM_LEAD
from tiski.accounts.services import agent_create, roles_ensure
from tiski.automation.demo import demo_rules_create
from tiski.cases.models import Case, CaseEvent, Category, Message, Note
from tiski.channels.interface import InboundMessage, Threading
from tiski.channels.models import Channel, ChannelKind
from tiski.channels.services import message_receive
from tiski.core.demo_records import demo_records_create
from tiski.core.demo_routing import demo_routing_ensure, demo_work_create
from tiski.customers.matching import match_keys_rebuild, suggestions_refresh
from tiski.customers.models import Customer, Identity, Organization
from tiski.customers.services import Handle
from tiski.knowledge.demo import demo_knowledge_create
from tiski.macros.demo import demo_macros_create
from tiski.notifications.models import Follow
from tiski.proactive.demo import demo_proactive_create
from tiski.reports.demo import demo_reports_create
from tiski.reports.facts import facts_rebuild
from tiski.routing.models import AgentState, Queue
from tiski.routing.subscribers import routing_intake_paused
from tiski.surveys.demo import demo_surveys_create

COMPANY = "Pohjolan Pyörä ja Ulkoilu Oy"
DOMAIN = "pohjolanpyora.example"
DEMO_PASSWORD = "tiski-demo"  # noqa: S105  (the published password of the invented demo users)
SEED = 2024
CUSTOMER_COUNT = 320
CASE_COUNT = 420
HISTORY_DAYS = 60
ANSSI_EMAIL = "anssi.laaksonen@example.com"
ANSSI_PHONE = "+358401234567"


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    role: str
    teams: tuple[str, ...]
    language: str = "fi"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


DEMO_USERS = (
    DemoUser("admin", "Antti", "Aalto", ADMINISTRATOR, ("Asiakaspalvelu",)),
    DemoUser("minna", "Minna", "Korhonen", TEAM_LEAD, ("Asiakaspalvelu", "Laskutus", "Huolto")),
    DemoUser("maija", "Maija", "Mäkinen", AGENT, ("Asiakaspalvelu",)),
    DemoUser("matti", "Matti", "Virtanen", AGENT, ("Asiakaspalvelu", "Huolto")),
    DemoUser("aino", "Aino", "Nieminen", AGENT, ("Asiakaspalvelu",), "en"),
    DemoUser("juha", "Juha", "Lehtonen", AGENT, ("Laskutus",)),
    DemoUser("emma", "Emma", "Lindqvist", AGENT, ("Laskutus", "Asiakaspalvelu")),
    DemoUser("pekka", "Pekka", "Heikkinen", AGENT, ("Huolto",)),
)

TEAMS = (
    ("Asiakaspalvelu", f"asiakaspalvelu@{DOMAIN}"),
    ("Laskutus", f"laskutus@{DOMAIN}"),
    ("Huolto", f"huolto@{DOMAIN}"),
)

# key: (English name, Finnish name, team)
CATEGORIES = {
    "orders": ("Orders", "Tilaukset", "Asiakaspalvelu"),
    "returns": ("Returns", "Palautukset", "Asiakaspalvelu"),
    "billing": ("Billing", "Laskutus", "Laskutus"),
    "repairs": ("Repairs", "Huolto", "Huolto"),
    "products": ("Product questions", "Tuotekysymykset", "Asiakaspalvelu"),
    "other": ("Other", "Muu", None),
}

# kind: (name, address, team, config)
CHANNELS: dict[str, tuple[str, str, str | None]] = {
    ChannelKind.WEBFORM: ("Web form", f"support@{DOMAIN}", "Asiakaspalvelu"),
    ChannelKind.EMAIL: ("Email", f"asiakaspalvelu@{DOMAIN}", "Asiakaspalvelu"),
    ChannelKind.CHAT: ("Web shop chat", "verkkokauppa", "Asiakaspalvelu"),
    ChannelKind.PHONE: ("Phone", "+35894242420", "Asiakaspalvelu"),
    ChannelKind.SMS: ("SMS", "+358504242420", "Asiakaspalvelu"),
    ChannelKind.WHATSAPP: ("WhatsApp", "+358504242421", "Asiakaspalvelu"),
    ChannelKind.MESSENGER: ("Messenger", "pohjolanpyora", "Asiakaspalvelu"),
    ChannelKind.INSTAGRAM: ("Instagram", "@pohjolanpyora", "Asiakaspalvelu"),
}
CHANNEL_CONFIG: dict[str, dict[str, object]] = {
    # The shop's widget asks who is writing; its page is Tiski's own /chat/demo/ (no other origins needed).
    ChannelKind.CHAT: {"prechat": {"enabled": True, "require_email": False}, "allowed_origins": []},
}
CHANNEL_WEIGHTS: dict[str, int] = {
    ChannelKind.EMAIL: 28,
    ChannelKind.WEBFORM: 20,
    ChannelKind.CHAT: 16,
    ChannelKind.PHONE: 12,
    ChannelKind.SMS: 8,
    ChannelKind.WHATSAPP: 7,
    ChannelKind.MESSENGER: 5,
    ChannelKind.INSTAGRAM: 4,
}
# How long the first answer takes on each channel, in minutes (low, high).
RESPONSE_MINUTES: dict[str, tuple[int, int]] = {
    ChannelKind.EMAIL: (40, 600),
    ChannelKind.WEBFORM: (40, 600),
    ChannelKind.CHAT: (1, 6),
    ChannelKind.PHONE: (4, 40),
    ChannelKind.SMS: (10, 120),
    ChannelKind.WHATSAPP: (10, 90),
    ChannelKind.MESSENGER: (15, 70),
    ChannelKind.INSTAGRAM: (20, 180),
}


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FINNISH_FIRST = _words(
    "Anna Aino Eeva Elina Emilia Hanna Heidi Helmi Johanna Katja Kaisa Laura Liisa Maria Noora Päivi "
    "Riikka Sanna Satu Tiina Venla Jussi Antti Eero Heikki Ilkka Janne Jari Kalle Lauri Markku Mikko Olli "
    "Pasi Petri Sami Teemu Timo Tuomas Ville Väinö"
)
FINNISH_LAST = _words(
    "Korhonen Virtanen Mäkinen Nieminen Mäkelä Hämäläinen Laine Heikkinen Koskinen Järvinen Lehtonen "
    "Lehtinen Saarinen Salminen Heinonen Niemi Heikkilä Kinnunen Salonen Turunen Salo Laitinen Tuominen "
    "Rantanen Karjalainen Jokinen Mattila Savolainen Lahtinen Ahonen Räsänen Kallio Leppänen Väisänen"
)
SWEDISH_FIRST = _words("Emil Oskar Johan Anders Linnea Ebba Sofia Matilda Henrik Ida")
SWEDISH_LAST = _words("Lindqvist Holmström Sundberg Nyström Grönroos Åberg Ekholm Wikström Forsman Backman")
ENGLISH_FIRST = _words("James Oliver Emily Sarah Daniel Grace Thomas Chloe Liam Hannah")
ENGLISH_LAST = _words("Smith Taylor Brown Wilson Evans Walker Clarke Wright Hughes Baker")
MAIL_DOMAINS = ("example.com", "example.net", "example.org")

ORGANIZATIONS = (
    ("Kaupunkipyörät Oy", "kaupunkipyorat.example"),
    ("Lapin Elämyssafarit Oy", "lapinsafarit.example"),
    ("Tampereen Lähetit Ky", "tampereenlahetit.example"),
    ("Nordic Trail Events Ab", "nordictrail.example"),
    ("Kiipeilyseura Otteet ry", "otteet.example"),
    ("Rakennus Hiltunen Oy", "hiltunen.example"),
    ("Koulutuskeskus Salpaus", "salpaus.example"),
    ("Hotelli Kaamos", "hotellikaamos.example"),
)

PRODUCTS = {
    "fi": (
        "Pohjola Trail 29 -maastopyörä",
        "Virta E5 -sähköpyörä",
        "Aalto 7 -kaupunkipyörä",
        "Merino 150 -paita",
        "Revontuli-kuoritakki",
        "Kaamos 2 -retkiteltta",
        "Tykky -10 -makuupussi",
        "Kivikko GTX -vaelluskengät",
        "Sarastus-pyöräilykypärä",
        "29 x 2.25 -nastarenkaat",
    ),
    "en": (
        "Pohjola Trail 29 mountain bike",
        "Virta E5 e-bike",
        "Aalto 7 city bike",
        "Merino 150 shirt",
        "Revontuli shell jacket",
        "Kaamos 2 tent",
        "Tykky -10 sleeping bag",
        "Kivikko GTX hiking boots",
        "Sarastus cycling helmet",
        "29 x 2.25 studded tyres",
    ),
}


@dataclass(frozen=True)
class Script:
    """One kind of conversation in one language. Texts may use {first}, {product}, {order} and {agent}."""

    subject: str
    inbound: str
    reply: str
    followup: str = ""
    closing: str = ""
    note: str = ""


@dataclass(frozen=True)
class Scenario:
    category: str
    fi: Script
    en: Script
    type: str = Case.Type.QUESTION
    priority: int = Case.Priority.NORMAL


SCENARIOS = (
    Scenario(
        "orders",
        Script(
            "Missä tilaukseni on?",
            "Hei, tilasin {product} viime viikolla (tilaus {order}), mutta seurantakoodi ei näytä mitään. "
            "Milloin paketti on tulossa?",
            "Hei {first}, kiitos viestistä! Tarkistin tilauksen {order}: se lähti varastolta eilen ja on "
            "Postin mukaan perillä noutopisteessä huomenna. Seurantakoodi päivittyy yleensä illalla.",
            "Kiitos nopeasta vastauksesta, odottelen sitten.",
            "Ole hyvä! Kerro jos paketti viipyy, niin selvitämme asian.",
        ),
        Script(
            "Where is my order?",
            "Hi, I ordered the {product} last week (order {order}) but the tracking code shows nothing. "
            "When will it arrive?",
            "Hi {first}, thanks for getting in touch! Order {order} left our warehouse yesterday and should "
            "reach your pick-up point tomorrow. Tracking usually updates in the evening.",
            "Great, thanks for the quick answer.",
            "You're welcome! Let us know if the parcel is delayed and we'll look into it.",
        ),
    ),
    Scenario(
        "orders",
        Script(
            "Toimitusosoitteen muutos",
            "Hei! Voinko vielä vaihtaa tilauksen {order} toimitusosoitteen? Muutin juuri Tampereelle.",
            "Hei {first}! Tilaus {order} ei ole vielä lähtenyt, joten vaihdoin osoitteen. Saat uuden "
            "tilausvahvistuksen sähköpostiisi.",
            note="Osoite vaihdettu verkkokaupan hallinnassa, vahvistus lähetetty uudelleen.",
        ),
        Script(
            "Change of delivery address",
            "Hello! Can I still change the delivery address of order {order}? I just moved to Tampere.",
            "Hi {first}! Order {order} has not shipped yet, so I changed the address. You will receive a new "
            "order confirmation by email.",
            note="Address changed in the web shop admin, confirmation re-sent.",
        ),
    ),
    Scenario(
        "returns",
        Script(
            "Palautus: väärä koko",
            "Tilaamani {product} on liian pieni. Miten saan vaihdettua isompaan kokoon?",
            "Hei {first}, vaihto onnistuu helposti! Lähetin sähköpostiisi maksuttoman palautustarran. "
            "Lähetämme isomman koon heti, kun palautus on kirjautunut.",
            "Palautus lähti tänään.",
            "Kiitos! Uusi koko lähtee sinulle huomenna.",
        ),
        Script(
            "Return: wrong size",
            "The {product} I ordered is too small. How do I exchange it for a bigger size?",
            "Hi {first}, exchanging is easy! I've emailed you a free return label. We'll ship the bigger "
            "size as soon as the return is registered.",
            "The parcel is on its way back to you today.",
            "Thanks! The new size ships tomorrow.",
        ),
    ),
    Scenario(
        "returns",
        Script(
            "Reklamaatio: rikkinäinen vetoketju",
            "{product} on ollut käytössä kuukauden ja vetoketju hajosi. Kuuluuko tämä takuuseen?",
            "Hei {first}, ikävä kuulla! Vetoketju kuuluu takuuseen. Voit tuoda tuotteen myymäläämme tai "
            "lähettää sen palautustarralla, jonka lähetin sähköpostiisi. Korjaamme tai vaihdamme sen.",
            note="Takuuasia, ei tarvetta kuitille: tilaus löytyy asiakkaan historiasta.",
        ),
        Script(
            "Complaint: broken zip",
            "I've used the {product} for a month and the zip broke. Is this covered by the warranty?",
            "Hi {first}, sorry to hear that! The zip is covered by the warranty. Bring it to our store or "
            "send it with the return label I emailed you, and we'll repair or replace it.",
            note="Warranty case; no receipt needed, the order is in the customer's history.",
        ),
        type=Case.Type.COMPLAINT,
        priority=Case.Priority.HIGH,
    ),
    Scenario(
        "billing",
        Script(
            "Lasku maksettu kahdesti",
            "Huomasin, että tilauksen {order} lasku on veloitettu kortiltani kahteen kertaan. Voitteko "
            "palauttaa toisen veloituksen?",
            "Hei {first}, pahoittelut! Toinen veloitus oli maksupalvelun virhe. Palautimme summan kortillesi; "
            "se näkyy tililläsi 3–5 pankkipäivän kuluessa.",
            note="Tuplaveloitus maksupalvelussa, hyvitys tehty. Ilmoitettu maksupalvelulle.",
        ),
        Script(
            "Invoice charged twice",
            "My card was charged twice for order {order}. Could you refund the second charge?",
            "Hi {first}, apologies! The second charge was a payment provider error. We've refunded it; it "
            "shows on your account within 3–5 banking days.",
            note="Double charge at the payment provider, refunded. Provider informed.",
        ),
        priority=Case.Priority.HIGH,
    ),
    Scenario(
        "billing",
        Script(
            "Laskun eräpäivän siirto",
            "Hei, voisinko saada {product}-tilauksen laskulle kaksi viikkoa lisää maksuaikaa?",
            "Hei {first}, siirsin eräpäivää kahdella viikolla. Uusi lasku on sähköpostissasi.",
        ),
        Script(
            "Due date extension",
            "Hi, could I get two more weeks to pay the invoice for the {product}?",
            "Hi {first}, I've moved the due date by two weeks. The new invoice is in your email.",
        ),
    ),
    Scenario(
        "billing",
        Script(
            "Yrityslasku ja Y-tunnus",
            "Tarvitsemme tilauksesta {order} laskun yrityksen nimiin ja Y-tunnuksella. Onnistuuko?",
            "Hei {first}, onnistuu! Lähetin oikaistun laskun yrityksen tiedoilla. Voimme jatkossa lähettää "
            "laskut myös verkkolaskuna.",
            "Verkkolasku olisi meille paras. Välittäjätunnus on sama kuin aiemmin.",
            "Selvä, verkkolaskutus on nyt päällä teidän tilillänne.",
        ),
        Script(
            "Company invoice",
            "We need the invoice for order {order} in our company's name with our business ID. Is that possible?",
            "Hi {first}, of course! I've sent a corrected invoice with your company details. We can also send "
            "e-invoices from now on.",
            "An e-invoice would suit us best.",
            "Done, e-invoicing is now switched on for your account.",
        ),
    ),
    Scenario(
        "repairs",
        Script(
            "Huoltoaika pyörälle",
            "Haluaisin varata {product} -huollon. Vaihteet eivät vaihdu kunnolla ja jarrut kitisevät.",
            "Hei {first}! Varasin sinulle perushuollon ensi tiistaiksi klo 10. Huolto kestää noin kaksi "
            "päivää; saat tekstiviestin, kun pyörä on valmis.",
            "Sopii hyvin, tuon pyörän aamulla.",
            note="Perushuolto + jarrupalojen tarkistus. Varaosat hyllyssä.",
        ),
        Script(
            "Service booking for my bike",
            "I'd like to book a service for my {product}. The gears don't shift properly and the brakes squeak.",
            "Hi {first}! I've booked a basic service for next Tuesday at 10. It takes about two days; you'll "
            "get a text message when the bike is ready.",
            "Perfect, I'll bring it in the morning.",
            note="Basic service + brake pad check. Parts in stock.",
        ),
    ),
    Scenario(
        "repairs",
        Script(
            "Sähköpyörän akku ei lataudu",
            "{product} -akku ei lataudu enää täyteen, vaikka pyörä on vuoden vanha. Mitä voin tehdä?",
            "Hei {first}, tuo pyörä ja laturi huoltoon, niin testaamme akun. Jos kapasiteetti on alle "
            "takuurajan, vaihdamme akun takuuna.",
            "Toin pyörän tänään.",
            "Kiitos! Akku on testissä, odotamme valmistajan vastausta takuusta.",
            "Akku testattu: kapasiteetti 61 %. Takuupyyntö lähetetty valmistajalle, odotetaan vastausta.",
        ),
        Script(
            "E-bike battery does not charge",
            "The battery of my {product} no longer charges fully although the bike is only a year old.",
            "Hi {first}, bring the bike and the charger to our workshop and we'll test the battery. If its "
            "capacity is below the warranty limit, we replace it under warranty.",
            "I dropped the bike off today.",
            "Thanks! The battery is being tested; we're waiting for the manufacturer's warranty decision.",
            "Battery tested: 61 % capacity. Warranty claim sent to the manufacturer, waiting for an answer.",
        ),
        type=Case.Type.INCIDENT,
        priority=Case.Priority.HIGH,
    ),
    Scenario(
        "repairs",
        Script(
            "Onko pyöräni valmis?",
            "Hei, toin {product} huoltoon maanantaina. Onko se jo valmis?",
            "Hei {first}, pyöräsi on valmis ja noudettavissa myymälästä arkisin 10–18.",
        ),
        Script(
            "Is my bike ready?",
            "Hi, I brought my {product} in for service on Monday. Is it ready yet?",
            "Hi {first}, your bike is ready and can be picked up from the store on weekdays 10–18.",
        ),
    ),
    Scenario(
        "products",
        Script(
            "Kysymys tuotteesta",
            "Sopiiko {product} talvikäyttöön? Liikun paljon Lapissa.",
            "Hei {first}! Kyllä sopii: se on testattu −20 asteeseen. Lapin pakkasille suosittelen lisäksi "
            "kerrospukeutumista ja villasukkia.",
            "Kiitos vinkistä, tilaan sen.",
        ),
        Script(
            "Product question",
            "Is the {product} suitable for winter use? I spend a lot of time in Lapland.",
            "Hi {first}! Yes, it is tested down to −20 °C. For Lapland's frosts I also recommend layering "
            "and wool socks.",
            "Thanks for the tip, I'll order it.",
        ),
    ),
    Scenario(
        "products",
        Script(
            "Milloin tuote tulee varastoon?",
            "{product} on ollut pitkään loppu. Tiedättekö, milloin sitä saadaan lisää?",
            "Hei {first}, seuraava erä saapuu arviolta kahden viikon päästä. Voin laittaa sinulle "
            "ilmoituksen, kun tuote on taas tilattavissa.",
            "Kyllä kiitos, laittakaa ilmoitus.",
            "Ilmoitus on asetettu, saat sähköpostin heti kun tuote on varastossa.",
        ),
        Script(
            "When is the product back in stock?",
            "The {product} has been sold out for a long time. Do you know when you'll get more?",
            "Hi {first}, the next batch should arrive in about two weeks. I can notify you when it can be "
            "ordered again.",
            "Yes please, notify me.",
            "Done: you'll get an email as soon as it is back in stock.",
        ),
    ),
    Scenario(
        "other",
        Script(
            "Myymälän aukioloajat",
            "Hei, onko myymälänne auki loppiaisena?",
            "Hei {first}! Loppiaisena olemme kiinni, mutta verkkokauppa ja chat palvelevat. Muuten olemme "
            "auki arkisin 10–18 ja lauantaisin 10–16.",
        ),
        Script(
            "Store opening hours",
            "Hi, is your store open on Epiphany?",
            "Hi {first}! The store is closed on Epiphany, but the web shop and chat are open. Otherwise we're "
            "open on weekdays 10–18 and Saturdays 10–16.",
        ),
    ),
    Scenario(
        "other",
        Script(
            "Yhteistyöehdotus",
            "Järjestämme syksyllä maastopyöräilytapahtuman. Olisitteko kiinnostuneita yhteistyöstä?",
            "Hei {first}, kiitos ehdotuksesta! Välitin viestin markkinointitiimillemme; he ovat sinuun "
            "yhteydessä tällä viikolla.",
            note="Välitetty markkinointiin (Laura). Tapahtuma syyskuussa, n. 400 osallistujaa.",
        ),
        Script(
            "Partnership proposal",
            "We're organising a mountain-bike event in the autumn. Would you be interested in a partnership?",
            "Hi {first}, thanks for the proposal! I've passed it on to our marketing team; they'll contact you "
            "this week.",
            note="Forwarded to marketing (Laura). Event in September, about 400 participants.",
        ),
        type=Case.Type.TASK,
        priority=Case.Priority.LOW,
    ),
)

# Today's spike for the contact reasons: the invoicing run sent invoices with a due date already passed.
SPIKE_COUNT = 10
SPIKE_SCENARIO = Scenario(
    "billing",
    Script(
        "Laskun eräpäivä on jo mennyt?",
        "Laskun eräpäivä on jo mennyt? Sain tänään laskun tilauksesta {order} ({product}), ja sen eräpäivä oli "
        "viime viikolla. Onko lasku oikein, ja tuleeko siitä viivästysmaksu?",
        "Hei {first}, pahoittelut sekaannuksesta! Laskutusjärjestelmämme lähetti tämän päivän laskut väärällä "
        "eräpäivällä. Oikea eräpäivä on 14 päivän päästä, eikä viivästysmaksua tule. Sinun ei tarvitse tehdä "
        "mitään: korjattu lasku tulee sähköpostiisi.",
        "Selvä, kiitos tiedosta!",
        note="Tämän päivän laskutusajo käytti väärää eräpäivää. Korjattu ajo lähtee iltapäivällä.",
    ),
    Script(
        "Invoice due date already passed?",
        "Invoice due date already passed? I received an invoice for order {order} ({product}) today, and its due "
        "date was last week. Is the invoice correct, and will I be charged a late fee?",
        "Hi {first}, sorry for the confusion! Our invoicing system sent today's invoices with the wrong due date. "
        "The correct due date is 14 days from today and there is no late fee. You need not do anything: a "
        "corrected invoice is on its way to your email.",
        "OK, thanks for letting me know!",
        note="Today's invoicing run used a wrong due date. A corrected run goes out this afternoon.",
    ),
)

SIGNATURE = {"fi": "\n\nYstävällisin terveisin\n{agent}\n" + COMPANY, "en": "\n\nBest regards\n{agent}\n" + COMPANY}
LONG_FORM = {ChannelKind.EMAIL, ChannelKind.WEBFORM}
# Contacts per hour of the day (local time), 0–23.
HOUR_WEIGHTS = (1, 1, 1, 1, 1, 2, 4, 7, 10, 12, 12, 11, 10, 11, 11, 10, 9, 9, 9, 9, 8, 6, 4, 2)


@dataclass
class DemoBase:
    """The company's configuration: teams, categories, channels, agents and routing queues."""

    teams: dict[str, Team] = field(default_factory=dict)
    categories: dict[str, Category] = field(default_factory=dict)
    channels: dict[str, Channel] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    queues: dict[str, Queue] = field(default_factory=dict)

    def agents_of(self, team: str | None) -> list[User]:
        """Return the demo users who work cases in TEAM (everyone but the administrator when None)."""
        return [
            self.users[u.username] for u in DEMO_USERS if u.role != ADMINISTRATOR and (team is None or team in u.teams)
        ]


# The outside company that runs the shop's chat and social channels, with its own agent; and a billing colleague
# who follows cases without working them. Not in DEMO_USERS: they take no part in the invented history.
PARTNER_NAME = "Chatly Oy"
PARTNER_CHANNELS = (ChannelKind.CHAT, ChannelKind.MESSENGER, ChannelKind.INSTAGRAM)
PARTNER_USER = DemoUser("chatly", "Sanna", "Salo", PARTNER_AGENT, (PARTNER_NAME,))
READ_ONLY_USER = DemoUser("billing", "Bea", "Berg", READ_ONLY, ("Laskutus",))


def _demo_user_ensure(base: DemoBase, demo_user: DemoUser, *, partner: Partner | None = None) -> None:
    """Create DEMO_USER where missing (administrators are superusers too) and note it in BASE."""
    user = User.objects.filter(username=demo_user.username).first()
    if user is None:
        user = agent_create(
            username=demo_user.username,
            password=DEMO_PASSWORD,
            role=demo_user.role,
            first_name=demo_user.first_name,
            last_name=demo_user.last_name,
            email=f"{demo_user.username}@{DOMAIN}",
            teams=[base.teams[t] for t in demo_user.teams],
            language=demo_user.language,
            partner=partner,
        )
        if demo_user.role == ADMINISTRATOR:
            user.is_superuser = True
            user.save(update_fields=["is_superuser"])
    base.users[demo_user.username] = user


def _partner_ensure(base: DemoBase) -> None:
    """Create the partner Chatly Oy, its team and agent, and the read-only billing user where missing."""
    partner, created = Partner.objects.get_or_create(name=PARTNER_NAME)
    if created:
        partner.channels.set([base.channels[kind] for kind in PARTNER_CHANNELS if kind in base.channels])
        if "chat" in base.queues:
            partner.queues.set([base.queues["chat"]])
    base.teams[PARTNER_NAME] = Team.objects.get_or_create(name=PARTNER_NAME, defaults={"partner": partner})[0]
    for demo_user in (PARTNER_USER, READ_ONLY_USER):
        _demo_user_ensure(base, demo_user, partner=partner if demo_user.role == PARTNER_AGENT else None)
    state, created = AgentState.objects.get_or_create(
        user=base.users[PARTNER_USER.username], defaults={"capacity": 3, "channel_kinds": list(PARTNER_CHANNELS)}
    )
    if created and "chat" in base.queues:
        state.queues.set([base.queues["chat"]])


@dataclass(frozen=True)
class DemoResult:
    created: bool
    customers: int
    cases: int
    messages: int
    seconds: float


@contextlib.contextmanager
def historical_timestamps(*model_classes: type[models.Model]) -> Iterator[None]:
    """Let bulk inserts keep the timestamps they are given instead of auto_now/auto_now_add's "now"."""
    saved: list[tuple[Any, bool, bool]] = []
    for model in model_classes:
        for f in model._meta.concrete_fields:
            if isinstance(f, models.DateField) and (f.auto_now or f.auto_now_add):
                saved.append((f, f.auto_now, f.auto_now_add))
                f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, auto_now, auto_now_add in saved:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


def demo_base_ensure() -> DemoBase:
    """Create the demo company's teams, categories, channels and users where missing; return them."""
    roles_ensure()
    base = DemoBase()
    for name, email in TEAMS:
        base.teams[name] = Team.objects.get_or_create(name=name, defaults={"email": email})[0]
    for position, (key, (name, name_fi, team)) in enumerate(CATEGORIES.items()):
        base.categories[key] = Category.objects.get_or_create(
            name=name,
            defaults={"name_fi": name_fi, "team": base.teams.get(team or ""), "position": position},
        )[0]
    for kind, (name, address, team) in CHANNELS.items():
        base.channels[kind] = Channel.objects.get_or_create(
            name=name,
            defaults={
                "kind": kind,
                "address": address,
                "team": base.teams.get(team or ""),
                "config": CHANNEL_CONFIG.get(kind, {}),
            },
        )[0]
    for demo_user in DEMO_USERS:
        _demo_user_ensure(base, demo_user)
    base.queues = demo_routing_ensure(categories=base.categories, users=base.users)
    _partner_ensure(base)
    return base


def demo_is_loaded() -> bool:
    """Return whether the demo's customers and cases are in the database already."""
    return Identity.objects.filter(kind=Identity.Kind.EMAIL, value=ANSSI_EMAIL).exists()


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def _phone(rng: random.Random) -> str:
    return f"+358{rng.choice(('40', '41', '44', '45', '50'))}{rng.randrange(1_000_000, 9_999_999)}"


def _customers_create(rng: random.Random, now: datetime) -> list[Customer]:
    """Bulk-create the customer register (as if imported from the web shop), with emails and phones."""
    orgs = [Organization(name=name, domain=domain) for name, domain in ORGANIZATIONS]
    Organization.objects.bulk_create(orgs)
    customers: list[Customer] = []
    handles: list[tuple[str, str | None, str]] = []
    used: set[str] = set()
    anssi = Customer(
        name="Anssi Laaksonen",
        language="fi",
        tier=Customer.Tier.GOLD,
        notes="Kanta-asiakas, polkee työmatkat ympäri vuoden. Pitää sinisestä.",
        created_at=now - timedelta(days=1900),
        updated_at=now - timedelta(days=30),
    )
    customers.append(anssi)
    handles.append((ANSSI_EMAIL, ANSSI_PHONE, "anssi.ulkoilee"))
    used.add(ANSSI_EMAIL)
    while len(customers) < CUSTOMER_COUNT:
        roll = rng.random()
        if roll < 0.78:
            first, last, language = rng.choice(FINNISH_FIRST), rng.choice(FINNISH_LAST), "fi"
        elif roll < 0.90:
            first, last, language = rng.choice(SWEDISH_FIRST), rng.choice(SWEDISH_LAST), rng.choice(("sv", "fi"))
        else:
            first, last, language = rng.choice(ENGLISH_FIRST), rng.choice(ENGLISH_LAST), "en"
        org = rng.choice(orgs) if rng.random() < 0.1 else None
        domain = org.domain if org else rng.choice(MAIL_DOMAINS)
        email = f"{_ascii(first)}.{_ascii(last)}@{domain}"
        if email in used:
            email = f"{_ascii(first)}.{_ascii(last)}{rng.randrange(2, 99)}@{domain}"
        if email in used:
            continue
        used.add(email)
        created = now - timedelta(days=rng.uniform(HISTORY_DAYS, 1500))
        customers.append(
            Customer(
                name=f"{first} {last}",
                organization=org,
                language=language,
                tier=rng.choices(Customer.Tier.values, weights=(70, 16, 10, 4))[0],
                created_at=created,
                updated_at=created,
            )
        )
        handles.append((email, _phone(rng) if rng.random() < 0.75 else None, ""))
    with historical_timestamps(Customer, Identity):
        Customer.objects.bulk_create(customers)
        identities: list[Identity] = []
        for customer, (email, phone, instagram) in zip(customers, handles, strict=True):
            created = customer.created_at
            identities.append(Identity(customer=customer, kind="email", value=email, verified=True, created_at=created))
            if phone:
                identities.append(Identity(customer=customer, kind="phone", value=phone, created_at=created))
            if instagram:
                identities.append(Identity(customer=customer, kind="instagram", value=instagram, created_at=created))
        Identity.objects.bulk_create(identities)
    return customers


@dataclass
class _History:
    """Rows written in bulk after the first contacts went through the pipeline."""

    messages: list[Message] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    events: list[CaseEvent] = field(default_factory=list)
    related: list[tuple[int, int]] = field(default_factory=list)

    def reply(self, *, case: Case, channel: Channel, agent: User, at: datetime, body: str) -> None:
        sent_at = at + timedelta(seconds=2)
        external_id = None
        if channel.kind in LONG_FORM:
            external_id = f"<demo-{len(self.messages)}-{case.pk}@{DOMAIN}>"
        self.messages.append(
            Message(
                case=case,
                channel=channel,
                direction=Message.Direction.OUT,
                author=Message.Author.AGENT,
                author_user=agent,
                sender_name=agent.get_full_name(),
                subject=case.subject,
                body_text=body,
                external_id=external_id,
                delivery_status=Message.Delivery.SENT,
                created_at=at,
                sent_at=sent_at,
            )
        )
        self.events.append(CaseEvent(case=case, kind=CaseEvent.Kind.REPLY_SENT, actor=agent, created_at=sent_at))

    def inbound(self, *, case: Case, channel: Channel, at: datetime, body: str) -> None:
        identity = case.customer.identities.first()
        self.messages.append(
            Message(
                case=case,
                channel=channel,
                direction=Message.Direction.IN,
                author=Message.Author.CUSTOMER,
                identity=identity,
                sender_name=case.customer.name,
                body_text=body,
                delivery_status=Message.Delivery.RECEIVED,
                created_at=at,
            )
        )  # the message is its own timeline entry, as in the pipeline: no separate event row

    def note(self, *, case: Case, agent: User, at: datetime, body: str) -> None:
        self.notes.append(Note(case=case, author=agent, body=body, created_at=at))
        self.events.append(CaseEvent(case=case, kind=CaseEvent.Kind.NOTE_ADDED, actor=agent, created_at=at))

    def status(self, *, case: Case, agent: User | None, at: datetime, old: str, new: str) -> None:
        self.events.append(
            CaseEvent(
                case=case,
                kind=CaseEvent.Kind.STATUS_CHANGED,
                actor=agent,
                data={"old": old, "new": new},
                created_at=at,
            )
        )

    def assign(self, *, case: Case, agent: User, at: datetime) -> None:
        self.events.append(
            CaseEvent(
                case=case,
                kind=CaseEvent.Kind.ASSIGNED,
                actor=agent,
                data={"old": None, "new": agent.get_full_name()},
                created_at=at,
            )
        )

    def write(self) -> None:
        with historical_timestamps(Message, Note, CaseEvent):
            Message.objects.bulk_create(self.messages, batch_size=500)
            Note.objects.bulk_create(self.notes, batch_size=500)
            CaseEvent.objects.bulk_create(self.events, batch_size=500)
        through = Case.related.through
        through.objects.bulk_create(
            [through(from_case_id=a, to_case_id=b) for a, b in self.related]
            + [through(from_case_id=b, to_case_id=a) for a, b in self.related]
        )


def _handles(kind: str, customer: Customer, rng: random.Random) -> list[Handle]:
    """Return the handles a contact on channel KIND carries for CUSTOMER."""
    identities = {i.kind: i.value for i in customer.identities.all()}
    email = identities.get("email", "")
    phone = identities.get("phone") or _phone(rng)
    if kind in (ChannelKind.EMAIL, ChannelKind.WEBFORM):
        return [Handle("email", email)]
    if kind == ChannelKind.CHAT:
        # The web shop's chat widget passes the logged-in customer's verified address: that identifies.
        return [Handle("email", email), Handle("chat", f"chat-{rng.getrandbits(48):012x}")]
    if kind == ChannelKind.PHONE:
        return [Handle("phone", phone)]
    if kind in (ChannelKind.SMS, ChannelKind.WHATSAPP):
        return [Handle("phone", phone), Handle(kind, phone)]
    if kind == ChannelKind.MESSENGER:
        return [Handle("messenger", identities.get("messenger") or str(rng.randrange(10**15, 10**16)))]
    handle = identities.get("instagram") or f"{_ascii(customer.name).replace(' ', '.')}{rng.randrange(10, 99)}"
    return [Handle("instagram", handle)]


def _receive(
    *, base: DemoBase, kind: str, customer: Customer, subject: str, body: str, rng: random.Random, category: Category
) -> Case:
    channel = base.channels[kind]
    receipt = message_receive(
        inbound=InboundMessage(
            channel=channel,
            handles=_handles(kind, customer, rng),
            body_text=body,
            subject=subject if kind in LONG_FORM else "",
            sender_name=customer.name,
            language=customer.language,
            category_id=category.pk if kind == ChannelKind.WEBFORM else None,
            threading=Threading.NEW_CASE,
            external_id=f"<demo-in-{rng.getrandbits(64):016x}@example.com>" if kind == ChannelKind.EMAIL else None,
        )
    )
    return receipt.case


def _status_for(age: timedelta, rng: random.Random) -> str:
    days = age.total_seconds() / 86400
    if days < 1:
        weights = (45, 30, 10, 5, 10, 0)
    elif days < 5:
        weights = (8, 30, 22, 10, 30, 0)
    elif days < 14:
        weights = (2, 12, 12, 8, 50, 16)
    else:
        weights = (0, 4, 3, 3, 25, 65)
    return rng.choices(Case.Status.values, weights=weights)[0]


def _when(now: datetime, rng: random.Random) -> datetime:
    """Return a contact time in the last HISTORY_DAYS days, mostly in daytime, more of them recently (but
    not so many more that every reason looks like a spike today beside the weeks before)."""
    days = HISTORY_DAYS * rng.random() ** 1.2
    moment = timezone.localtime(now - timedelta(days=days))
    hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
    moment = moment.replace(hour=hour, minute=rng.randrange(60), second=rng.randrange(60))
    return min(moment, now - timedelta(minutes=rng.randrange(3, 90)))


def _text(template: str, **values: str) -> str:
    return template.format(**values) if template else ""


@dataclass
class _Plan:
    at: datetime
    customer: Customer
    kind: str
    scenario: Scenario


def _cases_create(*, base: DemoBase, customers: list[Customer], rng: random.Random, now: datetime) -> _History:
    history = _History()
    anssi = customers[0]
    plans = []
    for _ in range(CASE_COUNT):
        kind = rng.choices(list(CHANNEL_WEIGHTS), weights=list(CHANNEL_WEIGHTS.values()))[0]
        plans.append(_Plan(_when(now, rng), rng.choice(customers[1:]), kind, rng.choice(SCENARIOS)))
    plans += _spike_plans(customers=customers, rng=rng, now=now)
    plans.sort(key=lambda plan: plan.at)
    # Anssi's journey is played between the other contacts, so case references follow time.
    journey = _anssi_journey(base=base, anssi=anssi, now=now, rng=rng, history=history)
    next_step = next(journey, None)
    for plan in plans:
        while next_step is not None and next_step <= plan.at:
            next_step = next(journey, None)
        _case_play(base=base, plan=plan, rng=rng, now=now, history=history)
    for _step in journey:
        pass
    return history


def _spike_plans(*, customers: list[Customer], rng: random.Random, now: datetime) -> list[_Plan]:
    """Today's invoicing mistake: SPIKE_COUNT customers ask about an invoice whose due date has passed, over the
    last eight hours of today (since midnight, if that is later) until a few minutes ago, in Finnish and English."""
    midnight = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    start = max(midnight, now - timedelta(hours=8))
    end = max(start, now - timedelta(minutes=2))
    english = [c for c in customers[1:] if c.language == "en"]
    others = [c for c in customers[1:] if c.language != "en"]
    kinds = (ChannelKind.EMAIL, ChannelKind.EMAIL, ChannelKind.WEBFORM, ChannelKind.CHAT, ChannelKind.PHONE)
    return [
        _Plan(
            start + (end - start) * rng.random(),
            rng.choice(english if n % 4 == 3 else others),
            rng.choice(kinds),
            SPIKE_SCENARIO,
        )
        for n in range(SPIKE_COUNT)
    ]


def _case_play(*, base: DemoBase, plan: _Plan, rng: random.Random, now: datetime, history: _History) -> None:
    """Open one case through the pipeline and write its history up to NOW."""
    customer = plan.customer
    language = "en" if customer.language == "en" or (customer.language == "sv" and rng.random() < 0.4) else "fi"
    script = plan.scenario.fi if language == "fi" else plan.scenario.en
    category = base.categories[plan.scenario.category]
    product = rng.randrange(len(PRODUCTS[language]))  # one draw, as rng.choice made: the rest stays the same
    values = {
        "first": customer.name.split()[0],
        "product": PRODUCTS[language][product],
        "order": str(rng.randrange(100_000, 140_000)),
    }
    case = _receive(
        base=base,
        kind=plan.kind,
        customer=customer,
        subject=_text(script.subject, **values),
        body=_text(script.inbound, **values),
        rng=rng,
        category=category,
    )
    team_name = CATEGORIES[plan.scenario.category][2]
    agent = rng.choice(base.agents_of(team_name))
    values["agent"] = agent.get_full_name()
    channel = case.channel
    assert channel is not None
    status = _status_for(now - plan.at, rng)
    low, high = RESPONSE_MINUTES[plan.kind]
    t = plan.at
    fields: dict[str, Any] = {
        "category": category,
        "team": base.teams.get(team_name or "") or channel.team,
        "type": plan.scenario.type,
        "priority": plan.scenario.priority if rng.random() < 0.8 else rng.choice(Case.Priority.values),
        # One name per product whatever the language, so that its figures are not split by language.
        "product": PRODUCTS["en"][product] if "{product}" in script.subject + script.inbound else "",
    }
    last = t
    signature = SIGNATURE[language].format(agent=values["agent"]) if plan.kind in LONG_FORM else ""
    if status == Case.Status.NEW:
        fields.update(status=status, owner=agent if rng.random() < 0.2 else None)
    else:
        t = min(t + timedelta(minutes=rng.uniform(low, high)), now - timedelta(minutes=1))
        fields["owner"] = agent
        history.assign(case=case, agent=agent, at=t)
        answered = status != Case.Status.OPEN or rng.random() < 0.6
        if answered:
            history.reply(case=case, channel=channel, agent=agent, at=t, body=_text(script.reply, **values) + signature)
            history.status(case=case, agent=agent, at=t, old=Case.Status.NEW, new=Case.Status.OPEN)
            fields["first_response_at"] = t
            last = t
            if script.followup and status != Case.Status.PENDING:
                t = min(t + timedelta(minutes=rng.uniform(10, 600)), now - timedelta(seconds=30))
                history.inbound(case=case, channel=channel, at=t, body=_text(script.followup, **values))
                last = t
                if script.closing and status in (Case.Status.SOLVED, Case.Status.CLOSED, Case.Status.ON_HOLD):
                    t = min(t + timedelta(minutes=rng.uniform(low, high)), now)
                    history.reply(
                        case=case, channel=channel, agent=agent, at=t, body=_text(script.closing, **values) + signature
                    )
                    last = t
        if script.note and (status == Case.Status.ON_HOLD or rng.random() < 0.5):
            t = min(t + timedelta(minutes=rng.uniform(1, 30)), now)
            history.note(case=case, agent=agent, at=t, body=_text(script.note, **values))
            last = max(last, t)
        if status != Case.Status.OPEN:
            worked_to = Case.Status.SOLVED if status == Case.Status.CLOSED else status
            history.status(case=case, agent=agent, at=last, old=Case.Status.OPEN, new=worked_to)
        fields["status"] = status
        if status in (Case.Status.SOLVED, Case.Status.CLOSED):
            fields["solved_at"] = last
        if status == Case.Status.CLOSED:  # closed automatically four days after it was solved
            fields["closed_at"] = min(last + timedelta(days=4), now)
            last = fields["closed_at"]
            history.status(case=case, agent=None, at=last, old=Case.Status.SOLVED, new=status)
    Case.objects.filter(pk=case.pk).update(created_at=plan.at, updated_at=last, **fields)
    Message.objects.filter(case=case).update(created_at=plan.at)
    CaseEvent.objects.filter(case=case).update(created_at=plan.at)
    Customer.objects.filter(pk=case.customer_id, updated_at__lt=last).update(updated_at=last)


def _local(now: datetime, *, days_ago: int, hour: int, minute: int) -> datetime:
    """Return the local time HOUR:MINUTE DAYS_AGO days before NOW."""
    return timezone.localtime(now - timedelta(days=days_ago)).replace(hour=hour, minute=minute, second=0, microsecond=0)


def _anssi_journey(
    *, base: DemoBase, anssi: Customer, now: datetime, rng: random.Random, history: _History
) -> Iterator[datetime]:
    """Play Anssi's contacts from the reference journey: chat, callback, email with an SMS, Instagram mention.

    Yield the time of each contact before opening it, so the caller can interleave other contacts.
    """
    maija, matti, minna = base.users["maija"], base.users["matti"], base.users["minna"]
    orders, returns, products = base.categories["orders"], base.categories["returns"], base.categories["products"]
    chat_at = _local(now, days_ago=21, hour=18, minute=40)
    yield chat_at
    chat = _receive(
        base=base,
        kind=ChannelKind.CHAT,
        customer=anssi,
        subject="",
        body="Hei! Mikä koko Merino 150 -paidasta kannattaa ottaa, jos olen 182 cm ja 78 kg? Yleensä M tai L.",
        rng=rng,
        category=products,
    )
    chat.subject = "Merino 150 -paidan koko"
    chat_channel = base.channels[ChannelKind.CHAT]
    t = chat_at + timedelta(minutes=3)
    history.assign(case=chat, agent=maija, at=t)
    history.reply(
        case=chat,
        channel=chat_channel,
        agent=maija,
        at=t,
        body="Hei Anssi! Merino 150 on mitoitukseltaan normaali ja hieman vartalonmyötäinen. Mitoillasi M on "
        "sopiva; jos haluat väljemmän, ota L. Sininen M on varastossa, toimitus 1–2 arkipäivää.",
    )
    history.inbound(case=chat, channel=chat_channel, at=t + timedelta(minutes=2), body="Kiitos! Tilaan sinisen M:n.")
    history.reply(
        case=chat,
        channel=chat_channel,
        agent=maija,
        at=t + timedelta(minutes=3),
        body="Kiva kun löytyi sopiva! Mukavia lenkkejä!",
    )
    history.status(case=chat, agent=maija, at=t + timedelta(minutes=4), old="open", new="solved")
    solved = t + timedelta(minutes=4)
    Case.objects.filter(pk=chat.pk).update(
        subject=chat.subject,
        category=products,
        owner=maija,
        status=Case.Status.SOLVED,
        created_at=chat_at,
        updated_at=solved,
        first_response_at=t,
        solved_at=solved,
    )

    call_at = _local(now, days_ago=17, hour=10, minute=5)
    yield call_at
    callback = _receive(
        base=base,
        kind=ChannelKind.PHONE,
        customer=anssi,
        subject="",
        body="Takaisinsoittopyyntö (jono ruuhkautunut, odotus yli 10 min). Asiakkaan valitsema aihe: Palautukset. "
        "Soittajan numero +358 40 123 4567.",
        rng=rng,
        category=returns,
    )
    callback.subject = "Takaisinsoitto: väärän värinen paita"
    t = call_at + timedelta(minutes=6)
    history.assign(case=callback, agent=matti, at=t)
    history.note(
        case=callback,
        agent=matti,
        at=t + timedelta(minutes=4),
        body="Soitin takaisin 6 min kuluttua. Tilaus 118204: Merino 150 -paita tuli oranssina, vaikka Anssi tilasi "
        f"sinisen (ks. chat {chat.reference} Maijan kanssa). Lähetetään sininen M heti vaihtotuotteena, oranssi "
        "palautetaan maksuttomalla tarralla.",
    )
    history.reply(
        case=callback,
        channel=base.channels[ChannelKind.EMAIL],
        agent=matti,
        at=t + timedelta(minutes=6),
        body="Hei Anssi,\n\nkuten puhelimessa sovittiin, lähetimme sinulle sinisen Merino 150 -paidan (M) "
        "vaihtotuotteena. Oranssin paidan voit palauttaa liitteenä olevalla maksuttomalla palautustarralla.\n\n"
        "Pahoittelut sekaannuksesta!" + SIGNATURE["fi"].format(agent=matti.get_full_name()),
    )
    history.status(case=callback, agent=matti, at=t + timedelta(minutes=7), old="open", new="solved")
    history.related.append((callback.pk, chat.pk))
    solved = t + timedelta(minutes=7)
    history.status(case=callback, agent=None, at=solved + timedelta(days=4), old="solved", new="closed")
    Case.objects.filter(pk=callback.pk).update(
        subject=callback.subject,
        category=returns,
        type=Case.Type.COMPLAINT,
        priority=Case.Priority.HIGH,
        owner=matti,
        status=Case.Status.CLOSED,
        created_at=call_at,
        updated_at=solved + timedelta(days=4),
        first_response_at=t,
        solved_at=solved,
        closed_at=solved + timedelta(days=4),
    )

    mail_at = _local(now, days_ago=8, hour=7, minute=55)
    sms_at = _local(now, days_ago=6, hour=14, minute=10)
    yield mail_at
    email = _receive(
        base=base,
        kind=ChannelKind.EMAIL,
        customer=anssi,
        subject="Re: Syksyn uutuudet – kuoritakin mitoitus",
        body="Hei,\n\nsain uutiskirjeenne syksyn uutuuksista. Revontuli-kuoritakki kiinnostaa: onko se mitoitettu "
        "samoin kuin Merino-paita? Paidassa M oli juuri sopiva.\n\nTerveisin\nAnssi",
        rng=rng,
        category=orders,
    )
    t = mail_at + timedelta(hours=1, minutes=20)
    history.assign(case=email, agent=minna, at=t)
    history.reply(
        case=email,
        channel=base.channels[ChannelKind.EMAIL],
        agent=minna,
        at=t,
        body="Hei Anssi,\n\nRevontuli on mitoitettu väljemmin, jotta alle mahtuu välikerros. Merino-paidan M:n "
        "perusteella suosittelen sinulle takista kokoa M. Jos pyöräilet takin kanssa, Revontuli Pro on "
        "selästä pidempi ja istuu ajoasennossa paremmin." + SIGNATURE["fi"].format(agent=minna.get_full_name()),
    )
    history.inbound(
        case=email,
        channel=base.channels[ChannelKind.EMAIL],
        at=t + timedelta(hours=2),
        body="Kiitos, tilasin Revontuli Pron M-koossa!",
    )
    history.reply(
        case=email,
        channel=base.channels[ChannelKind.SMS],
        agent=minna,
        at=sms_at,
        body="Pohjolan Pyörä: tilauksesi 121377 (Revontuli Pro) on noudettavissa Postin automaatista "
        "Hervanta K-Market. Noutokoodi 4821.",
    )
    history.status(case=email, agent=minna, at=sms_at, old="open", new="solved")
    Case.objects.filter(pk=email.pk).update(
        category=orders,
        owner=minna,
        status=Case.Status.SOLVED,
        created_at=mail_at,
        updated_at=sms_at,
        first_response_at=t,
        solved_at=sms_at,
    )

    mention_at = now - timedelta(hours=2, minutes=10)
    yield mention_at
    mention = _receive(
        base=base,
        kind=ChannelKind.INSTAGRAM,
        customer=anssi,
        subject="",
        body="Uusi kuoritakki testissä Pyynikillä 🚴‍♂️ Istuu täydellisesti, kiitos @pohjolanpyora! #pyöräily",
        rng=rng,
        category=products,
    )
    Case.objects.filter(pk=mention.pk).update(
        subject="Instagram-maininta: Anssi kiittää kuoritakista", created_at=mention_at, updated_at=mention_at
    )
    for case, at in ((chat, chat_at), (callback, call_at), (email, mail_at), (mention, mention_at)):
        Message.objects.filter(case=case).update(created_at=at)
        CaseEvent.objects.filter(case=case).update(created_at=at)


def _follows_create(*, base: DemoBase, anssi: Customer) -> None:
    """Minna follows Anssi, the reference customer; Maija follows the open cases she owns of gold customers."""
    minna, maija = base.users["minna"], base.users["maija"]
    Follow.objects.create(user=minna, customer=anssi)
    for case in Case.objects.filter(owner=maija, customer__tier=Customer.Tier.GOLD, status__in=Case.OPEN_STATUSES)[:3]:
        Follow.objects.create(user=maija, case=case)


def _callbacks_create(*, customers: list[Customer], now: datetime) -> None:
    """Two callback requests waiting: one a caller left in the queue just now, one for tomorrow morning."""
    from tiski.channels.voice.callbacks import callback_request

    callers = [c for c in customers[1:] if c.identities.filter(kind=Identity.Kind.PHONE).exists()][:2]
    topics = ["Tilauksen toimitusaika", "Laskun eräpäivän siirto"]
    tomorrow = timezone.localtime(now).replace(hour=9, minute=0, second=0, microsecond=0) + timedelta(days=1)
    for n, customer in enumerate(callers):
        number = customer.identities.filter(kind=Identity.Kind.PHONE).values_list("value", flat=True).first()
        callback_request(
            customer=customer,
            number=str(number),
            source="keypress" if n == 0 else "widget",
            topic=topics[n],
            window_start=tomorrow if n else None,
            window_end=tomorrow + timedelta(hours=2) if n else None,
        )


def demo_load(*, seed: int = SEED) -> DemoResult:
    """Load the demo company once: a second call finds it loaded and returns created=False.

    Runs in one transaction; nothing is queued for sending (historical replies are stored as sent).
    """
    from django_tasks_db.models import DBTaskResult

    started = time.monotonic()
    with transaction.atomic():
        base = demo_base_ensure()
        if demo_is_loaded():
            return DemoResult(False, Customer.objects.count(), Case.objects.count(), Message.objects.count(), 0.0)
        rng = random.Random(seed)
        now = timezone.now()
        customers = _customers_create(rng, now)
        with routing_intake_paused():  # the history would contradict what routing did; work is made after it
            history = _cases_create(base=base, customers=customers, rng=rng, now=now)
        history.write()
        with historical_timestamps(CaseEvent):
            demo_work_create(now=now)
        _callbacks_create(customers=customers, now=now)
        demo_records_create(customers=customers, rng=rng, now=now)
        demo_proactive_create(customers=customers, now=now)  # the tyre hotel, renewals, the icy evening
        _follows_create(base=base, anssi=customers[0])
        demo_macros_create(users=base.users)
        demo_knowledge_create(users=base.users, case_categories=base.categories)  # articles in Finnish and English
        demo_rules_create()  # after the history: the rules act on what arrives while the demo runs
        demo_surveys_create(now=now)  # answered surveys; the low scores' follow-up tasks by the default rule
        demo_reports_create(base=base, customers=customers, rng=rng, now=now)  # the history the reports count
        match_keys_rebuild()
        for provisional in Customer.objects.filter(provisional=True):
            suggestions_refresh(customer=provisional)
        # Subscribers to "message received" (auto-replies, routing) must not act on invented history.
        DBTaskResult.objects.filter(enqueued_at__gte=now).delete()
        facts_rebuild()  # the history was written in bulk, past the facts' change tracking
    return DemoResult(
        True,
        Customer.objects.count(),
        Case.objects.count(),
        Message.objects.count(),
        time.monotonic() - started,
    )


@dataclass(frozen=True)
class SeedResult:
    customers: int
    cases: int
    messages: int
    seconds: float


def cases_seed(*, count: int, seed: int = SEED, batch_size: int = 2000, days: int = 365) -> SeedResult:
    """Bulk-create COUNT realistic cases (with customers, identities and messages) for performance testing.

    Bypasses the pipeline for speed: rows are written with bulk inserts in batches of BATCH_SIZE cases,
    spread over the last DAYS days, about one new customer per four cases. Nothing is queued for sending.
    """
    started = time.monotonic()
    with transaction.atomic():
        base = demo_base_ensure()
    rng = random.Random(seed)
    now = timezone.now()
    agents = {team: base.agents_of(team) for team in (None, *dict(TEAMS))}
    kinds = list(CHANNEL_WEIGHTS)
    weights = list(CHANNEL_WEIGHTS.values())
    first_id = (Customer.objects.aggregate(models.Max("pk"))["pk__max"] or 0) + 1
    customers_made = messages_made = 0
    customer_pool: list[Customer] = []
    done = 0
    while done < count:
        size = min(batch_size, count - done)
        with transaction.atomic(), historical_timestamps(Customer, Identity, Case, Message, CaseEvent):
            fresh = _seed_customers(rng=rng, now=now, n=max(size // 4, 1), first_id=first_id + customers_made)
            customers_made += len(fresh)
            customer_pool.extend(fresh)
            cases, scripts = [], []
            for _ in range(size):
                scenario = rng.choice(SCENARIOS)
                customer = rng.choice(customer_pool)
                language = "en" if customer.language == "en" else "fi"
                kind = rng.choices(kinds, weights=weights)[0]
                created = now - timedelta(days=days * rng.random() ** 1.3, minutes=rng.randrange(1, 600))
                status = _status_for(now - created, rng)
                team_name = CATEGORIES[scenario.category][2]
                owner = None if status == Case.Status.NEW and rng.random() < 0.8 else rng.choice(agents[team_name])
                script = scenario.fi if language == "fi" else scenario.en
                values = {
                    "first": customer.name.split()[0],
                    "product": rng.choice(PRODUCTS[language]),
                    "order": str(rng.randrange(100_000, 400_000)),
                }
                responded = created + timedelta(minutes=rng.uniform(*RESPONSE_MINUTES[kind]))
                answered = status != Case.Status.NEW and responded < now
                finished = status in (Case.Status.SOLVED, Case.Status.CLOSED)
                solved_at = min(responded + timedelta(hours=rng.uniform(0.1, 48)), now) if finished else None
                closed_at = min(solved_at + timedelta(days=4), now) if solved_at and status == "closed" else None
                cases.append(
                    Case(
                        subject=_text(script.subject, **values),
                        status=status,
                        priority=scenario.priority,
                        type=scenario.type,
                        category=base.categories[scenario.category],
                        customer=customer,
                        owner=owner,
                        team=base.teams.get(team_name or ""),
                        channel=base.channels[kind],
                        created_at=created,
                        updated_at=closed_at or solved_at or (responded if answered else created),
                        first_response_at=responded if answered else None,
                        solved_at=solved_at,
                        closed_at=closed_at,
                    )
                )
                scripts.append((script, values, answered, responded))
            Case.objects.bulk_create(cases)
            messages: list[Message] = []
            events: list[CaseEvent] = []
            for case, (script, values, answered, responded) in zip(cases, scripts, strict=True):
                channel = case.channel
                assert channel is not None
                events.append(CaseEvent(case=case, kind=CaseEvent.Kind.CREATED, created_at=case.created_at))
                messages.append(
                    Message(
                        case=case,
                        channel=channel,
                        direction=Message.Direction.IN,
                        author=Message.Author.CUSTOMER,
                        sender_name=case.customer.name,
                        subject=case.subject,
                        body_text=_text(script.inbound, **values),
                        created_at=case.created_at,
                    )
                )
                if answered:
                    owner = case.owner
                    messages.append(
                        Message(
                            case=case,
                            channel=channel,
                            direction=Message.Direction.OUT,
                            author=Message.Author.AGENT,
                            author_user=owner,
                            sender_name=owner.get_full_name() if owner else "",
                            subject=case.subject,
                            body_text=_text(script.reply, **values),
                            delivery_status=Message.Delivery.SENT,
                            created_at=responded,
                            sent_at=responded,
                        )
                    )
                    if script.followup and rng.random() < 0.5:
                        messages.append(
                            Message(
                                case=case,
                                channel=channel,
                                direction=Message.Direction.IN,
                                author=Message.Author.CUSTOMER,
                                sender_name=case.customer.name,
                                body_text=_text(script.followup, **values),
                                created_at=min(responded + timedelta(minutes=rng.uniform(5, 300)), now),
                            )
                        )
            Message.objects.bulk_create(messages, batch_size=1000)
            CaseEvent.objects.bulk_create(events, batch_size=1000)
            messages_made += len(messages)
        if len(customer_pool) > 20_000:
            del customer_pool[: len(customer_pool) // 2]
        done += size
    return SeedResult(customers_made, count, messages_made, time.monotonic() - started)


def _seed_customers(*, rng: random.Random, now: datetime, n: int, first_id: int) -> list[Customer]:
    customers: list[Customer] = []
    for _ in range(n):
        if rng.random() < 0.85:
            first, last, language = rng.choice(FINNISH_FIRST), rng.choice(FINNISH_LAST), "fi"
        else:
            first, last, language = rng.choice(ENGLISH_FIRST), rng.choice(ENGLISH_LAST), "en"
        created = now - timedelta(days=rng.uniform(1, 2000))
        customers.append(
            Customer(
                name=f"{first} {last}",
                language=language,
                tier=rng.choices(Customer.Tier.values, weights=(70, 16, 10, 4))[0],
                created_at=created,
                updated_at=created,
            )
        )
    Customer.objects.bulk_create(customers)
    identities = []
    for number, customer in enumerate(customers, start=first_id):
        first, last = (_ascii(part) for part in customer.name.split(maxsplit=1))
        email = f"{first}.{last}.{number}@{MAIL_DOMAINS[number % 3]}"
        identities.append(Identity(customer=customer, kind="email", value=email, created_at=customer.created_at))
        if number % 2:
            identities.append(
                Identity(customer=customer, kind="phone", value=f"+35850{number:07d}", created_at=customer.created_at)
            )
    Identity.objects.bulk_create(identities, batch_size=1000)
    return customers
