"""How good the suggestions are: recall@k on a labelled set built from the demo company's data.

The demo's conversations (``tiski.core.demo.SCENARIOS``, each in Finnish and English) are the customers'
questions; the demo's knowledge base (``tiski.knowledge.demo.ARTICLES``) holds the answers. Each question
that the knowledge base answers is labelled with the articles that answer it (either is a hit: "Invoice
charged twice" is answered by the public article on double charges and by the agents' internal procedure
for them). Questions the knowledge base does not answer (a product's winter use, opening hours, a
partnership proposal) are left out: they measure coverage, not ranking.

Every question is asked as a case would ask it — its subject and first message, with two different
products filled in, in its category and type — and twice more in other customers' words (PARAPHRASES):
(10 labelled scenarios × 2 languages × 4) = 80 cases. recall@k is the share of them with at least one
labelled article among the first k suggestions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tiski.cases.models import Category
from tiski.core import demo as core_demo
from tiski.knowledge import demo as kb_demo
from tiski.knowledge.models import ArticleTranslation
from tiski.knowledge.suggestions import CaseFacts, suggestions_for

# SCENARIOS index → the keys of the demo articles that answer it.
LABELS: Mapping[int, frozenset[str]] = {
    0: frozenset({"tracking", "delivery-times"}),  # Where is my order?
    1: frozenset({"change-address"}),  # Change of delivery address
    2: frozenset({"exchange-size", "return-right"}),  # Return: wrong size
    3: frozenset({"zip-repair", "warranty", "internal-warranty-check"}),  # Complaint: broken zip
    4: frozenset({"double-charge", "internal-double-charge"}),  # Invoice charged twice
    5: frozenset({"invoice-due", "internal-due-date"}),  # Due date extension
    6: frozenset({"company-invoice"}),  # Company invoice
    7: frozenset({"service-booking"}),  # Service booking for my bike
    8: frozenset({"ebike-battery"}),  # E-bike battery does not charge
    9: frozenset({"service-booking"}),  # Is my bike ready? (the service article says when and how)
}
PRODUCT_VARIANTS = 2

# The same questions as other customers put them: other words, no subject line, the odd typo. Written for this
# set (not copied from the articles), so that it measures more than the demo's own phrasing.
PARAPHRASES: Mapping[int, Mapping[str, tuple[str, ...]]] = {
    0: {
        "fi": ("paketti ei ole vieläkään tullut, missä se on menossa?", "Lähetyksen seuranta ei päivity"),
        "en": ("my parcel still hasn't arrived, where is it", "The shipment tracking isn't updating"),
    },
    1: {
        "fi": ("Kirjoitin väärän osoitteen tilaukseen, voiko sen korjata?", "Muutan ensi viikolla, uusi osoite"),
        "en": ("I typed the wrong address on my order, can you fix it?", "Moving next week, new shipping address"),
    },
    2: {
        "fi": ("Kengät ovat liian isot, haluan pienemmät", "Miten palautan tuotteen joka ei sopinut?"),
        "en": ("The shoes are too big, I want a smaller pair", "How do I send back an item that didn't fit?"),
    },
    3: {
        "fi": ("Takki rikkoutui kahden viikon käytössä, hyvitättekö?", "Saumat ratkesivat, onko takuuta"),
        "en": ("The jacket fell apart after two weeks, will you replace it?", "Seams came apart, any guarantee?"),
    },
    4: {
        "fi": ("Tililtäni veloitettiin sama summa kaksi kertaa", "tuplaveloitus kortilta"),
        "en": ("The same amount was taken from my account two times", "double payment on my card"),
    },
    5: {
        "fi": ("Voisinko maksaa laskun vasta ensi kuussa?", "Tarvitsen lisää aikaa laskun maksuun"),
        "en": ("Can I pay the bill next month instead?", "I need more time to pay my invoice"),
    },
    6: {
        "fi": ("Lasku pitäisi saada firmalle verkkolaskuna", "Yrityksen tiedot laskulle, Y-tunnus puuttuu"),
        "en": ("We need an e-invoice addressed to the firm", "Please add our VAT number to the invoice"),
    },
    7: {
        "fi": ("Jarrut ovat huonot, milloin pääsisi huoltoon?", "Pyörän vuosihuolto, onko aikoja vapaana?"),
        "en": ("My brakes are bad, when can you fix the bike?", "Annual bike maintenance, any free slots?"),
    },
    8: {
        "fi": ("Sähköpyörän akku tyhjenee nopeasti", "Laturi ei lataa akkua ollenkaan"),
        "en": ("The electric bike battery drains fast", "The charger doesn't charge the battery at all"),
    },
    9: {
        "fi": ("Milloin voin hakea pyörän huollosta?", "Onko huolto jo tehty pyörälleni?"),
        "en": ("When can I collect my bike from the workshop?", "Is the service on my bike done?"),
    },
}


@dataclass(frozen=True)
class Question:
    name: str  # e.g. "5-fi-1": scenario 5, Finnish, second product
    language: str
    subject: str
    text: str
    category: str  # a key of tiski.core.demo.CATEGORIES
    type: str
    expected: frozenset[str]


@dataclass(frozen=True)
class Evaluation:
    k: int
    questions: int
    hits: int
    misses: tuple[tuple[str, tuple[str, ...]], ...]  # (question's name, the keys suggested instead)

    @property
    def recall(self) -> float:
        return self.hits / self.questions if self.questions else 0.0


def questions() -> list[Question]:
    """Return the labelled questions (see the module's docstring)."""
    asked = []
    for index, expected in LABELS.items():
        scenario = core_demo.SCENARIOS[index]
        for language in ("fi", "en"):
            script = getattr(scenario, language)
            products = core_demo.PRODUCTS[language]
            for variant in range(PRODUCT_VARIANTS):
                product = products[(index * PRODUCT_VARIANTS + variant) % len(products)]
                values = {"product": product, "order": f"10{index}4{variant}7", "first": "", "agent": ""}
                asked.append(
                    Question(
                        name=f"{index}-{language}-{variant}",
                        language=language,
                        subject=script.subject,
                        text=script.inbound.format(**values),
                        category=scenario.category,
                        type=str(scenario.type),
                        expected=expected,
                    )
                )
            for n, text in enumerate(PARAPHRASES.get(index, {}).get(language, ())):
                asked.append(
                    Question(
                        name=f"{index}-{language}-p{n}",
                        language=language,
                        subject="",
                        text=text,
                        category=scenario.category,
                        type=str(scenario.type),
                        expected=expected,
                    )
                )
    return asked


def article_keys() -> dict[int, str]:
    """Return the demo article key of each stored article, found by the titles the demo gave it."""
    by_title: dict[str, str] = {}
    for spec in kb_demo.ARTICLES:
        for text in (spec.fi, spec.en, *spec.edits.values()):
            if text is not None:
                by_title[text.title] = spec.key
    keys: dict[int, str] = {}
    for article_id, title in ArticleTranslation.objects.values_list("article_id", "title"):
        if title in by_title:
            keys[article_id] = by_title[title]
    return keys


def recall_at(k: int = 3) -> Evaluation:
    """Ask every labelled question of the stored knowledge base (the demo's) and return recall@K."""
    keys = article_keys()
    categories = {
        key: Category.objects.filter(name=name).values_list("pk", flat=True).first()
        for key, (name, _fi, _team) in core_demo.CATEGORIES.items()
    }
    hits = 0
    misses = []
    asked = questions()
    for question in asked:
        facts = CaseFacts(
            text=f"{question.subject} {question.text}",
            language=question.language,
            category_id=categories.get(question.category),
            type=question.type,
        )
        got = [keys.get(s.article_id, "?") for s in suggestions_for(facts, limit=k)]
        if question.expected & set(got):
            hits += 1
        else:
            misses.append((question.name, tuple(got)))
    return Evaluation(k=k, questions=len(asked), hits=hits, misses=tuple(misses))
