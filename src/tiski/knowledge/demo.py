"""The demo company's knowledge base: what Pohjolan Pyörä ja Ulkoilu's agents answer again and again.

Most articles are published for everyone in Finnish and English (orders and delivery, returns and exchanges,
warranty, invoices and payment time, the customer account, the tyre hotel, service); a few are internal
procedures for agents, two are for partner shops, and some language versions are still drafts or in review.
Written through the services, so every article has its version history and is in the search index.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth.models import User

from tiski.cases.models import Category
from tiski.knowledge.models import Article, ArticleCategory, ArticleTranslation
from tiski.knowledge.services import article_create, translation_save, translation_transition

Status = ArticleTranslation.Status
V = Article.Visibility

# slug: (English name, Finnish name, English description, Finnish description)
KB_CATEGORIES = {
    "orders-delivery": (
        "Orders and delivery",
        "Tilaukset ja toimitus",
        "Delivery times, tracking, pick-up points",
        "Toimitusajat, seuranta, noutopisteet",
    ),
    "returns-exchanges": (
        "Returns and exchanges",
        "Palautukset ja vaihdot",
        "Return right, exchanges, refunds",
        "Palautusoikeus, vaihdot, hyvitykset",
    ),
    "warranty-repairs": (
        "Warranty and repairs",
        "Takuu ja huolto",
        "Warranty claims, servicing, spare parts",
        "Takuu, reklamaatiot, huolto, varaosat",
    ),
    "invoices-payment": (
        "Invoices and payment",
        "Laskut ja maksaminen",
        "Payment methods, invoices, due dates",
        "Maksutavat, laskut, eräpäivät",
    ),
    "account": (
        "Your account",
        "Asiakastili",
        "Login, personal data, newsletter",
        "Kirjautuminen, omat tiedot, uutiskirje",
    ),
    "tyre-hotel": (
        "Tyre hotel",
        "Rengashotelli",
        "Storing and changing bike tyres",
        "Pyörän renkaiden säilytys ja vaihto",
    ),
}


@dataclass(frozen=True)
class Text:
    title: str
    body: str  # HTML
    status: str = Status.PUBLISHED


@dataclass(frozen=True)
class DemoArticle:
    key: str
    category: str
    case_category: str  # key of tiski.core.demo.CATEGORIES
    tags: tuple[str, ...]
    fi: Text | None
    en: Text | None
    visibility: str = V.PUBLIC
    case_types: tuple[str, ...] = ("question",)
    edits: dict[str, Text] = field(default_factory=dict)  # a later save of a language version: history to diff


def _p(*paragraphs: str) -> str:
    return "".join(p if p.startswith("<") else f"<p>{p}</p>" for p in paragraphs)


def _ul(*items: str) -> str:
    return "<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"


ARTICLES: tuple[DemoArticle, ...] = (
    DemoArticle(
        "delivery-times",
        "orders-delivery",
        "orders",
        ("toimitus", "delivery"),
        Text(
            "Toimitusajat ja toimitustavat",
            _p(
                "Varastossa olevat tuotteet lähtevät 1–2 arkipäivässä. Toimitus kestää Postin noutopisteeseen tai "
                "pakettiautomaattiin yleensä 1–3 arkipäivää.",
                _ul(
                    "Noutopiste ja pakettiautomaatti: 5,90 €, yli 80 € tilauksissa maksutta",
                    "Kotiinkuljetus: 12,90 €",
                    "Polkupyörät toimitetaan kuljetusliikkeellä 3–5 arkipäivässä, 39 €",
                    "Nouto myymälästä Tampereelta: maksuton, valmis yleensä 2 tunnissa",
                ),
                "Tilausvahvistuksessa näet arvioidun toimituspäivän.",
            ),
        ),
        Text(
            "Delivery times and methods",
            _p(
                "Items in stock leave our warehouse within 1–2 working days. Delivery to a Posti pick-up point or "
                "parcel locker usually takes 1–3 working days.",
                _ul(
                    "Pick-up point and parcel locker: €5.90, free on orders over €80",
                    "Home delivery: €12.90",
                    "Bicycles are delivered by a haulier in 3–5 working days, €39",
                    "Collect from our Tampere store: free, usually ready within 2 hours",
                ),
                "Your order confirmation shows the estimated delivery date.",
            ),
        ),
    ),
    DemoArticle(
        "tracking",
        "orders-delivery",
        "orders",
        ("seuranta", "tracking"),
        Text(
            "Missä tilaukseni on? Paketin seuranta",
            _p(
                "Saat seurantakoodin sähköpostiisi, kun paketti lähtee varastolta. Koodi päivittyy Postin "
                "järjestelmään yleensä saman päivän iltana, joten seuranta voi näyttää tyhjää muutaman tunnin.",
                "Jos seuranta ei ole päivittynyt kahteen arkipäivään, ota yhteyttä ja kerro tilausnumerosi: "
                "selvitämme paketin kuljetusliikkeen kanssa.",
            ),
        ),
        Text(
            "Where is my order? Tracking your parcel",
            _p(
                "You receive a tracking code by email when the parcel leaves our warehouse. The code usually "
                "appears in Posti's system the same evening, so tracking may show nothing for a few hours.",
                "If tracking has not updated for two working days, contact us with your order number and we "
                "will trace the parcel with the carrier.",
            ),
        ),
        edits={
            "fi": Text(
                "Missä tilaukseni on? Paketin seuranta",
                _p(
                    "Saat seurantakoodin sähköpostiisi ja tekstiviestinä, kun paketti lähtee varastolta. Koodi "
                    "päivittyy Postin järjestelmään yleensä saman päivän iltana, joten seuranta voi näyttää "
                    "tyhjää muutaman tunnin.",
                    "Jos seuranta ei ole päivittynyt kahteen arkipäivään, ota yhteyttä ja kerro tilausnumerosi: "
                    "selvitämme paketin kuljetusliikkeen kanssa. Noutopisteessä paketti odottaa 14 päivää.",
                ),
            )
        },
    ),
    DemoArticle(
        "change-address",
        "orders-delivery",
        "orders",
        ("toimitusosoite", "address"),
        Text(
            "Toimitusosoitteen tai tilauksen muuttaminen",
            _p(
                "Voit muuttaa toimitusosoitetta tai tilauksen sisältöä niin kauan kuin tilaus ei ole lähtenyt "
                "varastolta. Ota yhteyttä mahdollisimman pian ja kerro tilausnumero.",
                "Kun tilaus on lähtenyt, osoitetta ei voi enää vaihtaa, mutta voit pyytää Postia ohjaamaan "
                "paketin toiseen noutopisteeseen OmaPostissa.",
            ),
        ),
        Text(
            "Changing the delivery address or an order",
            _p(
                "You can change the delivery address or the items of an order as long as it has not left our "
                "warehouse. Contact us as soon as possible with your order number.",
                "Once the order has shipped the address can no longer be changed, but you can ask Posti to "
                "redirect the parcel to another pick-up point in the OmaPosti app.",
            ),
        ),
    ),
    DemoArticle(
        "return-right",
        "returns-exchanges",
        "returns",
        ("palautus", "return"),
        Text(
            "Palautusoikeus ja tuotteen palauttaminen",
            _p(
                "Verkkokaupasta ostetuilla tuotteilla on 30 päivän palautusoikeus. Tuotteen tulee olla "
                "käyttämätön ja alkuperäispakkauksessaan.",
                "<h2>Näin palautat</h2>",
                "<ol><li>Tulosta palautuslomake tilausvahvistuksen linkistä tai pyydä palautustarra "
                "asiakaspalvelusta.</li><li>Pakkaa tuote huolellisesti.</li><li>Vie paketti mihin tahansa "
                "Postin toimipisteeseen. Palautus on maksuton.</li></ol>",
                "Hyvitämme summan 14 päivän kuluessa siitä, kun palautus on saapunut varastollemme.",
            ),
        ),
        Text(
            "Return right and how to return an item",
            _p(
                "Items bought in our web shop can be returned within 30 days. The item must be unused and in "
                "its original packaging.",
                "<h2>How to return</h2>",
                "<ol><li>Print the return form from the link in your order confirmation or ask customer "
                "service for a return label.</li><li>Pack the item carefully.</li><li>Take the parcel to any "
                "Posti outlet. Returns are free.</li></ol>",
                "We refund the amount within 14 days of the return reaching our warehouse.",
            ),
        ),
    ),
    DemoArticle(
        "exchange-size",
        "returns-exchanges",
        "returns",
        ("vaihto", "koko", "exchange", "size"),
        Text(
            "Koon tai värin vaihtaminen",
            _p(
                "Vaihto toiseen kokoon tai väriin on maksuton. Pyydä asiakaspalvelusta vaihtotarra ja kerro, "
                "minkä koon tai värin haluat. Lähetämme uuden tuotteen heti, kun palautus on kirjautunut "
                "Postin järjestelmään — sinun ei tarvitse odottaa, että paketti saapuu varastolle.",
                "Vaatteiden mittataulukot löydät tuotesivuilta. Merino-paidat ovat kapeita: valitse epävarmana "
                "isompi koko.",
            ),
        ),
        Text(
            "Exchanging for another size or colour",
            _p(
                "Exchanging an item for another size or colour is free. Ask customer service for an exchange "
                "label and tell us the size or colour you want. We ship the new item as soon as the return is "
                "registered in Posti's system — no need to wait for it to reach our warehouse.",
                "Size charts are on each product page. Merino shirts run small: if unsure, choose the bigger size.",
            ),
        ),
    ),
    DemoArticle(
        "refund-time",
        "returns-exchanges",
        "returns",
        ("hyvitys", "refund"),
        Text(
            "Milloin saan rahat takaisin?",
            _p(
                "Hyvitys tehdään samalle maksutavalle, jolla tilaus maksettiin, 14 päivän kuluessa palautuksen "
                "saapumisesta. Korttimaksun hyvitys näkyy tililläsi yleensä 3–5 pankkipäivässä.",
                "Laskulla maksetusta tilauksesta hyvitetään maksamatta oleva osuus laskulta; jo maksettu summa "
                "palautetaan tilillesi.",
            ),
        ),
        Text(
            "When do I get my money back?",
            _p(
                "We refund to the payment method used for the order, within 14 days of receiving the return. A "
                "card refund usually shows on your account within 3–5 banking days.",
                "For orders paid by invoice we credit the unpaid part of the invoice; anything already paid is "
                "refunded to your bank account.",
            ),
        ),
    ),
    DemoArticle(
        "warranty",
        "warranty-repairs",
        "returns",
        ("takuu", "reklamaatio", "warranty"),
        Text(
            "Takuu ja reklamaatio",
            _p(
                "Kaikilla tuotteilla on vähintään kahden vuoden takuu, polkupyörien rungoilla viisi vuotta. "
                "Takuu kattaa valmistus- ja materiaaliviat, ei normaalia kulumista (renkaat, jarrupalat, ketjut).",
                "Tee reklamaatio lähettämällä meille kuva viasta ja tilausnumero. Kuittia ei tarvita, jos tilaus "
                "on tehty verkkokaupassa tai kanta-asiakkaana. Korjaamme tai vaihdamme tuotteen, tai hyvitämme sen.",
            ),
        ),
        Text(
            "Warranty and complaints",
            _p(
                "All products carry at least a two-year warranty, bicycle frames five years. The warranty covers "
                "manufacturing and material defects, not normal wear (tyres, brake pads, chains).",
                "To make a claim, send us a photo of the defect and your order number. No receipt is needed for "
                "web-shop or loyalty-member purchases. We repair, replace or refund the product.",
            ),
        ),
        case_types=("complaint", "question"),
    ),
    DemoArticle(
        "zip-repair",
        "warranty-repairs",
        "returns",
        ("vetoketju", "takuu", "zip"),
        Text(
            "Rikkinäinen vetoketju takissa tai teltassa",
            _p(
                "Vetoketjun rikkoutuminen kahden vuoden sisällä ostosta kuuluu takuuseen. Tuo tuote myymäläämme "
                "tai lähetä se maksuttomalla palautustarralla. Korjaus kestää noin kaksi viikkoa; jos korjaus ei "
                "onnistu, vaihdamme tuotteen uuteen.",
                "Takuun jälkeen vetoketjun vaihto maksaa takeissa 35 € ja teltoissa 45 €.",
            ),
        ),
        Text(
            "Broken zip on a jacket or tent",
            _p(
                "A zip that breaks within two years of purchase is covered by the warranty. Bring the item to our "
                "store or send it with a free return label. The repair takes about two weeks; if it cannot be "
                "repaired, we replace the item.",
                "After the warranty a new zip costs €35 for jackets and €45 for tents.",
            ),
        ),
        case_types=("complaint",),
    ),
    DemoArticle(
        "service-booking",
        "warranty-repairs",
        "repairs",
        ("huolto", "service"),
        Text(
            "Pyörähuollon varaaminen ja hinnat",
            _p(
                "Varaa huolto verkkokaupan ajanvarauksesta, puhelimitse tai chatissa. Huolto kestää yleensä "
                "1–2 arkipäivää, ja saat tekstiviestin, kun pyörä on valmis.",
                _ul(
                    "Perushuolto (vaihteiden ja jarrujen säätö, ketjujen voitelu): 79 €",
                    "Täyshuolto (myös laakerit ja vaijerit): 149 €",
                    "Sähköpyörän huolto ja ohjelmistopäivitys: 119 €",
                ),
                "Osat veloitetaan erikseen. Uuden pyörän ensimmäinen säätöhuolto kuukauden sisällä on maksuton.",
            ),
        ),
        Text(
            "Booking a bike service and prices",
            _p(
                "Book a service online, by phone or in chat. A service usually takes 1–2 working days, and you "
                "get a text message when the bike is ready.",
                _ul(
                    "Basic service (gear and brake adjustment, chain lubrication): €79",
                    "Full service (also bearings and cables): €149",
                    "E-bike service and software update: €119",
                ),
                "Parts are charged separately. The first adjustment of a new bike within a month is free.",
            ),
        ),
        case_types=("question", "task"),
    ),
    DemoArticle(
        "ebike-battery",
        "warranty-repairs",
        "products",
        ("sähköpyörä", "akku", "e-bike", "battery"),
        Text(
            "Sähköpyörän akun lataus ja talvisäilytys",
            _p(
                "Lataa akku huoneenlämmössä. Pakkasella akun kantama lyhenee jopa kolmanneksen; säilytä akku "
                "sisällä ja kiinnitä se pyörään vasta ennen lähtöä.",
                "Talvisäilytykseen akku ladataan noin 60 %:iin ja tarkistetaan kahden kuukauden välein. Akulla "
                "on kahden vuoden takuu tai 500 latauskertaa.",
            ),
        ),
        Text(
            "Charging an e-bike battery and storing it over winter",
            _p(
                "Charge the battery at room temperature. In freezing weather the range can drop by a third; keep "
                "the battery indoors and attach it just before you ride.",
                "For winter storage charge the battery to about 60% and check it every two months. Batteries "
                "have a two-year or 500-charge warranty.",
            ),
        ),
    ),
    DemoArticle(
        "payment-methods",
        "invoices-payment",
        "billing",
        ("maksutavat", "payment"),
        Text(
            "Maksutavat",
            _p(
                "Verkkokaupassa voit maksaa verkkopankilla, MobilePaylla, kortilla (Visa, Mastercard) tai "
                "laskulla. Yli 500 € ostoksiin voit valita osamaksun 6–36 kuukaudelle.",
                "Yritysasiakkaat voivat maksaa laskulla 14 päivän maksuajalla tai verkkolaskuna.",
            ),
        ),
        Text(
            "Payment methods",
            _p(
                "In our web shop you can pay by online bank, MobilePay, card (Visa, Mastercard) or invoice. For "
                "purchases over €500 you can choose instalments over 6–36 months.",
                "Business customers can pay by invoice with 14 days' payment time, or by e-invoice.",
            ),
        ),
    ),
    DemoArticle(
        "invoice-due",
        "invoices-payment",
        "billing",
        ("lasku", "eräpäivä", "invoice"),
        Text(
            "Laskun maksuaika ja eräpäivän siirto",
            _p(
                "Laskun maksuaika on 14 päivää. Lasku lähetetään sähköpostiisi, kun tilaus lähtee varastolta.",
                "Voit siirtää eräpäivää kerran 14 päivällä maksutta ottamalla yhteyttä ennen eräpäivää. "
                "Myöhästyneestä maksusta lähetämme maksumuistutuksen (5 €).",
            ),
        ),
        Text(
            "Invoice payment time and moving the due date",
            _p(
                "Invoices are due in 14 days. The invoice is emailed to you when your order leaves our warehouse.",
                "You can move the due date once by 14 days free of charge if you contact us before it falls due. "
                "For late payments we send a reminder (€5).",
            ),
        ),
        edits={
            "en": Text(
                "Invoice payment time and moving the due date",
                _p(
                    "Invoices are due in 14 days. The invoice is emailed to you when your order leaves our "
                    "warehouse; you can also find it under Orders in your account.",
                    "You can move the due date once by 14 days free of charge if you contact us before it falls "
                    "due. For late payments we send a reminder (€5) and, after 30 days, a collection notice.",
                ),
            )
        },
    ),
    DemoArticle(
        "double-charge",
        "invoices-payment",
        "billing",
        ("veloitus", "kortti", "charge"),
        Text(
            "Korttiveloitus näkyy kahdesti",
            _p(
                "Kortillasi voi näkyä tilauksen jälkeen varaus ja veloitus. Varaus poistuu pankista riippuen "
                "3–7 päivässä eikä sitä veloiteta.",
                "Jos sama summa on todella veloitettu kahdesti, ota yhteyttä ja liitä kuvakaappaus tiliotteesta. "
                "Palautamme ylimääräisen veloituksen heti.",
            ),
        ),
        Text(
            "My card was charged twice",
            _p(
                "After an order your card may show both a reservation and the charge. The reservation disappears "
                "within 3–7 days depending on your bank and is never charged.",
                "If the same amount really was charged twice, contact us with a screenshot of your statement. We "
                "refund the extra charge at once.",
            ),
        ),
        case_types=("incident", "question"),
    ),
    DemoArticle(
        "company-invoice",
        "invoices-payment",
        "billing",
        ("yritys", "verkkolasku", "e-invoice"),
        Text(
            "Yrityslasku, Y-tunnus ja verkkolasku",
            _p(
                "Saat laskun yrityksen nimiin lisäämällä tilauksen yhteydessä yrityksen nimen ja Y-tunnuksen. "
                "Jo tehdystä tilauksesta voimme lähettää oikaistun laskun.",
                "Verkkolaskua varten tarvitsemme verkkolaskuosoitteen ja välittäjätunnuksen.",
            ),
        ),
        Text(
            "Company invoices, business ID and e-invoicing",
            _p(
                "To get the invoice in your company's name, add the company name and business ID when ordering. "
                "For an order already placed we can send a corrected invoice.",
                "For e-invoicing we need your e-invoice address and operator ID.",
            ),
        ),
    ),
    DemoArticle(
        "account-login",
        "account",
        "other",
        ("tili", "salasana", "account", "password"),
        Text(
            "En pääse kirjautumaan asiakastilille",
            _p(
                "Valitse kirjautumissivulla ”Unohtuiko salasana?” ja anna sähköpostiosoitteesi. Saat linkin "
                "uuden salasanan asettamiseen; linkki on voimassa tunnin.",
                "Jos viestiä ei kuulu, tarkista roskapostikansio. Tili lukittuu 15 minuutiksi viiden väärän "
                "yrityksen jälkeen.",
            ),
        ),
        Text(
            "I cannot log in to my account",
            _p(
                "On the login page choose “Forgot your password?” and enter your email address. You get a link to "
                "set a new password; it is valid for one hour.",
                "If no email arrives, check your spam folder. The account locks for 15 minutes after five wrong "
                "attempts.",
            ),
        ),
    ),
    DemoArticle(
        "newsletter",
        "account",
        "other",
        ("uutiskirje", "newsletter", "tietosuoja"),
        Text(
            "Uutiskirjeen tilaus ja omien tietojen poistaminen",
            _p(
                "Voit perua uutiskirjeen jokaisen viestin lopussa olevasta linkistä tai asiakastililtä.",
                "Voit pyytää kaikki sinusta tallennetut tiedot tai niiden poistamista asiakaspalvelusta. "
                "Kirjanpitolain vuoksi säilytämme ostotiedot kuusi vuotta.",
            ),
        ),
        Text(
            "Newsletter and deleting your personal data",
            _p(
                "Unsubscribe from the newsletter with the link at the end of every email or in your account.",
                "You can ask customer service for all data we hold about you, or for its erasure. Accounting law "
                "requires us to keep purchase records for six years.",
            ),
            status=Status.IN_REVIEW,
        ),
    ),
    DemoArticle(
        "tyre-hotel",
        "tyre-hotel",
        "repairs",
        ("rengashotelli", "nastarenkaat", "tyre-hotel"),
        Text(
            "Rengashotelli: pyörän talvirenkaiden säilytys",
            _p(
                "Säilytämme pyöräsi nasta- tai kesärenkaat kauden yli ja vaihdamme ne huollon yhteydessä. "
                "Säilytys maksaa 39 € kaudessa, vaihto ja tarkistus 25 €.",
                "Mittaamme urasyvyyden jokaisen vaihdon yhteydessä. Jos nastarenkaiden urasyvyys on alle 4 mm, "
                "soitamme ja tarjoamme uudet renkaat ennen talvea.",
            ),
        ),
        Text(
            "Tyre hotel: storing your bike's winter tyres",
            _p(
                "We store your bike's studded or summer tyres over the season and swap them during a service. "
                "Storage costs €39 per season, swapping and checking €25.",
                "We measure the tread depth at every swap. If studded tyres have less than 4 mm of tread left, we "
                "call you and offer new tyres before winter.",
            ),
        ),
        case_types=("question", "task"),
    ),
    DemoArticle(
        "tyre-swap-season",
        "tyre-hotel",
        "repairs",
        ("rengashotelli", "rengasvaihto", "tyre-swap"),
        Text(
            "Nastarenkaiden vaihtoaika ja ajanvaraus",
            _p(
                "Nastarenkaiden vaihtokausi alkaa lokakuussa. Varaa vaihtoaika ajoissa: ensimmäisinä "
                "pakkasaamuina jono on viikkoja.",
                "Rengashotellin asiakkaat voivat tuoda pyörän ilman ajanvarausta arkisin klo 8–10.",
            ),
        ),
        Text(
            "When to switch to studded tyres, and booking",
            _p(
                "The studded-tyre season starts in October. Book your swap early: after the first icy mornings "
                "the queue is weeks long.",
                "Tyre-hotel customers can bring their bike without a booking on weekdays 8–10 am.",
            ),
            status=Status.DRAFT,
        ),
    ),
    DemoArticle(
        "bike-size",
        "orders-delivery",
        "products",
        ("runkokoko", "frame-size"),
        Text(
            "Oikean runkokoon valinta",
            _p(
                "Runkokoko valitaan pituuden ja jalan sisämitan mukaan. Maastopyörissä 165–175 cm: M, 175–185 cm: "
                "L. Kaupunkipyörissä valitse koko, jolla ylettyy seisomaan jalat maassa satulan edessä.",
                "Voit koeajaa kaikki mallit Tampereen myymälässä. Verkosta ostetun pyörän voi vaihtaa toiseen "
                "kokoon, jos sillä ei ole ajettu ulkona.",
            ),
        ),
        Text(
            "Choosing the right frame size",
            _p(
                "Frame size depends on your height and inside-leg measurement. Mountain bikes: 165–175 cm M, "
                "175–185 cm L. For city bikes choose a size you can stand over with both feet on the ground.",
                "Test-ride every model at our Tampere store. A bike bought online can be exchanged for another "
                "size if it has not been ridden outdoors.",
            ),
        ),
    ),
    # Internal procedures for agents.
    DemoArticle(
        "internal-double-charge",
        "invoices-payment",
        "billing",
        ("sisäinen", "hyvitys", "maksupalvelu"),
        Text(
            "Ohje: tuplaveloituksen hyvittäminen",
            _p(
                "<ol><li>Tarkista maksupalvelun hallinnasta, onko kyse varauksesta vai kahdesta veloituksesta "
                "(tila ”captured”).</li><li>Hyvitä ylimääräinen veloitus maksupalvelussa: Maksut → Hyvitä. Alle "
                "200 € hyvitykset saa tehdä itse, isommat hyväksyy tiimin vetäjä.</li><li>Kirjaa tapaukseen "
                "sisäinen muistiinpano ja tagi <em>tuplaveloitus</em>.</li><li>Ilmoita maksupalvelulle "
                "tukiportaalissa, jos samana päivänä on useita tapauksia.</li></ol>",
            ),
        ),
        Text(
            "Procedure: refunding a double charge",
            _p(
                "<ol><li>Check in the payment provider's dashboard whether it is a reservation or two charges "
                "(state “captured”).</li><li>Refund the extra charge in the provider: Payments → Refund. Agents "
                "may refund up to €200; larger refunds are approved by a team lead.</li><li>Add an internal note "
                "and the tag <em>double-charge</em> to the case.</li><li>Report to the provider's support portal "
                "if several cases arrive the same day.</li></ol>",
            ),
        ),
        visibility=V.INTERNAL,
        case_types=("incident",),
    ),
    DemoArticle(
        "internal-due-date",
        "invoices-payment",
        "billing",
        ("sisäinen", "eräpäivä"),
        Text(
            "Ohje: eräpäivän siirto laskutusjärjestelmässä",
            _p(
                "Avaa lasku laskutusjärjestelmässä ja valitse Toiminnot → Siirrä eräpäivää. Ensimmäinen 14 päivän "
                "siirto on maksuton; toinen siirto vaatii tiimin vetäjän hyväksynnän.",
                "Jos lasku on jo perinnässä, eräpäivää ei voi siirtää: ohjaa asiakas perintätoimistolle ja lisää "
                "tapaukseen tagi <em>perintä</em>.",
            ),
        ),
        None,
        visibility=V.INTERNAL,
        case_types=("task",),
    ),
    DemoArticle(
        "internal-warranty-check",
        "warranty-repairs",
        "returns",
        ("sisäinen", "takuu", "warranty"),
        Text(
            "Ohje: takuuasian käsittely",
            _p(
                "Etsi tilaus asiakkaan 360°-näkymästä. Jos tilausta ei löydy, pyydä kuitti tai pankkitiedote. "
                "Pyydä kuva viasta ja lähetä palautustarra.",
                "Kirjaa tapaukseen tyyppi <em>reklamaatio</em>. Huolto päättää korjauksesta tai vaihdosta kahden "
                "arkipäivän kuluessa tuotteen saapumisesta.",
            ),
        ),
        Text(
            "Procedure: handling a warranty claim",
            _p(
                "Find the order in the customer's 360° view. If there is none, ask for a receipt or bank "
                "statement. Ask for a photo of the defect and send a return label.",
                "Set the case type to <em>complaint</em>. The workshop decides on repair or replacement within "
                "two working days of receiving the item.",
            ),
            status=Status.IN_REVIEW,
        ),
        visibility=V.INTERNAL,
        case_types=("complaint",),
    ),
    DemoArticle(
        "internal-escalation",
        "orders-delivery",
        "orders",
        ("sisäinen", "kadonnut-paketti", "lost-parcel"),
        Text(
            "Ohje: kadonneen paketin selvitys",
            _p(
                "Jos seuranta ei ole liikkunut viiteen arkipäivään, tee Postin yritysasiakasportaaliin "
                "selvityspyyntö. Kerro asiakkaalle, että selvitys kestää enintään 10 arkipäivää.",
                "Jos paketti on kadonnut, lähetä uusi tuote tai hyvitä tilaus asiakkaan valinnan mukaan. Älä "
                "odota Postin korvauspäätöstä.",
            ),
        ),
        Text(
            "Procedure: tracing a lost parcel",
            _p(
                "If tracking has not moved for five working days, file a trace request in Posti's business "
                "portal. Tell the customer the trace takes at most 10 working days.",
                "If the parcel is lost, send a new item or refund the order as the customer prefers. Do not wait "
                "for Posti's compensation decision.",
            ),
        ),
        visibility=V.INTERNAL,
        case_types=("incident",),
    ),
    # For partner shops (resellers and the service partners' workshops).
    DemoArticle(
        "partner-warranty",
        "warranty-repairs",
        "repairs",
        ("jälleenmyyjä", "partner", "takuu"),
        Text(
            "Jälleenmyyjille: takuukorjausten laskutus",
            _p(
                "Valtuutetut huoltokumppanit laskuttavat takuukorjaukset kuukausittain koontilaskulla. Liitä "
                "jokaiseen riviin tilausnumero ja vian kuvaus. Työ korvataan 60 €/h, osat ostohintaan.",
            ),
        ),
        Text(
            "For partners: invoicing warranty repairs",
            _p(
                "Authorised service partners invoice warranty repairs monthly on a summary invoice. Add the order "
                "number and a description of the fault to every line. Labour is paid at €60/h, parts at cost.",
            ),
        ),
        visibility=V.PARTNERS,
        case_types=("task",),
    ),
    DemoArticle(
        "partner-stock",
        "orders-delivery",
        "orders",
        ("jälleenmyyjä", "partner", "varasto"),
        Text(
            "Jälleenmyyjille: varastosaldot ja tilaaminen",
            _p(
                "Jälleenmyyjät näkevät varastosaldot kumppaniportaalissa. Ennen klo 12 tehdyt tilaukset lähtevät "
                "samana päivänä; pyörätilaukset toimitetaan lavalla 2–4 arkipäivässä.",
            ),
        ),
        None,
        visibility=V.PARTNERS,
    ),
)

DEMO_AUTHORS = ("maija", "matti", "aino", "juha", "emma", "pekka")
DEMO_REVIEWER = "minna"


def demo_knowledge_create(*, users: dict[str, User], case_categories: dict[str, Category]) -> int:
    """Write the demo's article categories and articles (once); return how many language versions were written."""
    if ArticleTranslation.objects.exists():
        return 0
    categories = {}
    for position, (slug, (name, name_fi, description, description_fi)) in enumerate(KB_CATEGORIES.items()):
        categories[slug] = ArticleCategory.objects.get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "name_fi": name_fi,
                "description": description,
                "description_fi": description_fi,
                "position": position,
            },
        )[0]
    reviewer = users[DEMO_REVIEWER]
    written = 0
    for n, spec in enumerate(ARTICLES):
        author = users[DEMO_AUTHORS[n % len(DEMO_AUTHORS)]]
        texts = [(lang, text) for lang, text in (("fi", spec.fi), ("en", spec.en)) if text is not None]
        first_language, first = texts[0]
        translation = article_create(
            actor=reviewer if spec.visibility != V.INTERNAL else author,
            language=first_language,
            title=first.title,
            body_html=first.body,
            category=categories[spec.category],
            visibility=spec.visibility,
            tags=spec.tags,
            case_categories=[case_categories[spec.case_category]] if spec.case_category in case_categories else [],
            case_types=spec.case_types,
        )
        article = translation.article
        for language, text in texts:
            version = translation_save(
                article=article, language=language, actor=author, title=text.title, body_html=text.body
            )
            version.author = author
            version.save(update_fields=["author"])
            if language in spec.edits:
                edit = spec.edits[language]
                version = translation_save(
                    article=article,
                    language=language,
                    actor=reviewer,
                    title=edit.title,
                    body_html=edit.body,
                    note="Päivitetty" if language == "fi" else "Updated",
                )
            if text.status in (Status.IN_REVIEW, Status.PUBLISHED):
                translation_transition(translation=version, status=Status.IN_REVIEW, actor=author)
            if text.status == Status.PUBLISHED:
                translation_transition(translation=version, status=Status.PUBLISHED, actor=reviewer)
            written += 1
    return written
