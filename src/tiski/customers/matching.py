"""Likely matches for a provisional customer: find candidates by index, score the evidence, store suggestions.

A contact from an unknown handle creates a provisional customer. Who it probably is comes from evidence
against existing customers, each worth points (summed, at most 100):

    name          the folded names are equal (70) or close by rapidfuzz (up to 65)
    profile_name  an Instagram or Messenger display name equal to a customer's name (70)
    email_local   the same local part at another domain ("anssi.asiakas@gmail.com" and "@firma.fi": 40–60)
    organization  the email domain is a known organisation's, and the candidate belongs to it (25)
    phone         the same number with one digit different or two adjacent digits swapped (45), or the same
                  national number under another country code (50)

Candidates are found by index only, never by reading all customers: words of the folded name and email
local parts through CustomerMatchKey, phone variants through the identity index, organisation members
through the organisation. Only candidates that are not erased, and are confirmed or older, are scored;
the best three from settings.TISKI_MATCH_MIN_SCORE are stored as open MatchSuggestion rows.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import phonenumbers
from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from rapidfuzz import fuzz

from tiski.customers.models import Customer, CustomerMatchKey, Identity, MatchSuggestion, Organization
from tiski.customers.normalize import fold_name

logger = logging.getLogger(__name__)

MAX_SUGGESTIONS = 3
MAX_CANDIDATES_PER_LOOKUP = 200
NAME_KEY = "n:"
LOCAL_PART_KEY = "l:"

# Addresses anyone can get: a shared domain says nothing about the organisation.
FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "outlook.fi",
        "hotmail.com",
        "hotmail.fi",
        "live.com",
        "live.fi",
        "msn.com",
        "yahoo.com",
        "yahoo.co.uk",
        "ymail.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        "gmx.com",
        "gmx.net",
        "gmx.de",
        "web.de",
        "mail.com",
        "proton.me",
        "protonmail.com",
        "pm.me",
        "tutanota.com",
        "zoho.com",
        "yandex.com",
        "yandex.ru",
        "mail.ru",
        "suomi24.fi",
        "luukku.com",
        "saunalahti.fi",
        "elisanet.fi",
        "kolumbus.fi",
        "netti.fi",
        "welho.com",
        "dnainternet.net",
        "pp.inet.fi",
        "anvia.fi",
        "koti.luukku.com",
    }
)

# Local parts of role addresses: shared by many organisations, no evidence of a person.
ROLE_LOCAL_PARTS = frozenset(
    {
        "info",
        "admin",
        "office",
        "contact",
        "sales",
        "support",
        "help",
        "hello",
        "mail",
        "noreply",
        "no-reply",
        "postmaster",
        "billing",
        "invoice",
        "invoices",
        "asiakaspalvelu",
        "myynti",
        "toimisto",
        "laskutus",
        "posti",
        "tilaukset",
        "orders",
        "webmaster",
        "kirjaamo",
        "reception",
    }
)

NAME_EXACT_POINTS = 70
NAME_MAX_FUZZY_POINTS = 65
NAME_MIN_SIMILARITY = 80
PROFILE_NAME_POINTS = 70
LOCAL_PART_POINTS = 40
LOCAL_PART_LONG_POINTS = 60  # 8 characters or more: "anssi.asiakas" is rarely someone else's
ORGANIZATION_POINTS = 25
PHONE_TYPO_POINTS = 45
PHONE_COUNTRY_POINTS = 50
SOCIAL_NETWORKS = {Identity.Kind.INSTAGRAM.value: "Instagram", Identity.Kind.MESSENGER.value: "Messenger"}


# --- Match keys -------------------------------------------------------------------------------------------


def local_part(address: str) -> str:
    """Return the local part of an email address that is evidence of a person, or "" for a role address."""
    local = address.rpartition("@")[0]
    if len(local) < 3 or local in ROLE_LOCAL_PARTS:
        return ""
    return local


def match_keys_for(*, name_key: str, emails: Iterable[str]) -> set[str]:
    """Return the match keys of a customer with folded name NAME_KEY and the email addresses EMAILS."""
    keys = {f"{NAME_KEY}{word}"[:100] for word in name_key.split() if len(word) >= 2}
    keys.update(f"{LOCAL_PART_KEY}{local}"[:100] for local in map(local_part, emails) if local)
    return keys


def match_keys_create(*, customer: Customer, emails: Iterable[str]) -> None:
    """Index a customer created just now (no keys yet) by its name and EMAILS."""
    keys = match_keys_for(name_key=customer.name_key, emails=emails)
    if keys:
        CustomerMatchKey.objects.bulk_create([CustomerMatchKey(customer=customer, key=key) for key in keys])


def match_keys_refresh(*, customer: Customer) -> None:
    """Bring CUSTOMER's match keys in step with its stored name key and email identities.

    Call after changing a customer's name or email identities (erasing a customer empties its name and
    identities, and so its keys).
    """
    emails = Identity.objects.filter(customer=customer, kind=Identity.Kind.EMAIL).values_list("value", flat=True)
    wanted = match_keys_for(name_key=customer.name_key, emails=emails)
    have = set(CustomerMatchKey.objects.filter(customer=customer).values_list("key", flat=True))
    if have - wanted:
        CustomerMatchKey.objects.filter(customer=customer, key__in=have - wanted).delete()
    if wanted - have:
        CustomerMatchKey.objects.bulk_create(
            [CustomerMatchKey(customer=customer, key=key) for key in wanted - have], ignore_conflicts=True
        )


def match_keys_rebuild(*, customer_ids: Sequence[int] | None = None, batch_size: int = 2000) -> int:
    """Fill name_key and the match keys of the given customers (all when None), as bulk loaders need; return
    how many customers were indexed. Customers created with bulk_create have neither."""
    customers = Customer.objects.order_by("pk")
    if customer_ids is not None:
        customers = customers.filter(pk__in=customer_ids)
    done = 0
    last = 0
    while True:
        batch = list(customers.filter(pk__gt=last).only("pk", "name", "name_key")[:batch_size])
        if not batch:
            return done
        last = batch[-1].pk
        emails: dict[int, list[str]] = defaultdict(list)
        for customer_id, value in Identity.objects.filter(
            customer_id__in=[c.pk for c in batch], kind=Identity.Kind.EMAIL
        ).values_list("customer_id", "value"):
            emails[customer_id].append(value)
        with transaction.atomic():
            stale = []
            for customer in batch:
                folded = fold_name(customer.name)
                if folded != customer.name_key:
                    customer.name_key = folded
                    stale.append(customer)
            Customer.objects.bulk_update(stale, ["name_key"])
            CustomerMatchKey.objects.filter(customer__in=batch).delete()
            CustomerMatchKey.objects.bulk_create(
                [
                    CustomerMatchKey(customer=customer, key=key)
                    for customer in batch
                    for key in match_keys_for(name_key=customer.name_key, emails=emails[customer.pk])
                ]
            )
        done += len(batch)


# --- Evidence ---------------------------------------------------------------------------------------------


@dataclass
class Evidence:
    kind: str
    detail: str
    points: int

    def as_reason(self) -> dict[str, object]:
        return {"kind": self.kind, "detail": self.detail, "points": self.points}


@dataclass
class Scored:
    candidate: Customer
    evidence: dict[str, Evidence] = field(default_factory=dict)

    def add(self, evidence: Evidence) -> None:
        """Keep the strongest evidence of each kind."""
        current = self.evidence.get(evidence.kind)
        if current is None or evidence.points > current.points:
            self.evidence[evidence.kind] = evidence

    @property
    def score(self) -> int:
        return min(100, sum(evidence.points for evidence in self.evidence.values()))

    def reasons(self) -> list[dict[str, object]]:
        ordered = sorted(self.evidence.values(), key=lambda evidence: -evidence.points)
        return [evidence.as_reason() for evidence in ordered]


def name_evidence(*, name: str, name_key: str, candidate: Customer, profile: str = "") -> Evidence | None:
    """Return the evidence that NAME (folded NAME_KEY) is CANDIDATE's name, or None.

    PROFILE is the network ("Instagram") when NAME is a social profile's display name.
    """
    if not name_key or not candidate.name_key:
        return None
    if name_key == candidate.name_key:
        if profile:
            detail = f"{profile} name {name} = {candidate.name}"
            return Evidence("profile_name", detail, PROFILE_NAME_POINTS)
        return Evidence("name", f"{name} = {candidate.name}", NAME_EXACT_POINTS)
    # token_sort_ratio: the same words in any order; WRatio, a little discounted: a name with a word more or
    # fewer (a middle name, a first name only).
    similarity = max(fuzz.token_sort_ratio(name_key, candidate.name_key), fuzz.WRatio(name_key, candidate.name_key) - 5)
    if similarity < NAME_MIN_SIMILARITY:
        return None
    points = min(NAME_MAX_FUZZY_POINTS, round((similarity - 70) / 30 * NAME_EXACT_POINTS))
    return Evidence("name", f"{name} ≈ {candidate.name} ({round(similarity)} %)", points)


def phone_variants(number: str) -> dict[str, str]:
    """Return the numbers that are probably NUMBER mistyped or under another country code, with why.

    One digit different, two adjacent digits swapped (the national number), or the same national number
    with another country code. NUMBER is E.164; so are the variants.
    """
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return {}
    country = str(parsed.country_code)
    national = number[1 + len(country) :]
    if not national.isdigit():
        return {}
    variants: dict[str, str] = {}
    for index, digit in enumerate(national):
        for other in "0123456789":
            if other != digit:
                variants[f"+{country}{national[:index]}{other}{national[index + 1 :]}"] = "one digit different"
    for index in range(len(national) - 1):
        if national[index] != national[index + 1]:
            swapped = national[:index] + national[index + 1] + national[index] + national[index + 2 :]
            variants[f"+{country}{swapped}"] = "two digits swapped"
    for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
        if str(code) != country:
            variants[f"+{code}{national}"] = "same number, other country code"
    variants.pop(number, None)
    return variants


# --- Suggestions ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Profile:
    """What the provisional customer offers as evidence."""

    customer: Customer
    emails: list[str]
    phones: list[str]
    social: str  # "Instagram" when the name came from an Instagram profile, else ""


def _profile(customer: Customer) -> _Profile:
    identities = list(Identity.objects.filter(customer=customer).values_list("kind", "value"))
    emails = [value for kind, value in identities if kind == Identity.Kind.EMAIL]
    phones = [value for kind, value in identities if kind == Identity.Kind.PHONE][:3]
    name_source = str(customer.field_sources.get("name", ""))
    social = ""
    for kind, _value in identities:
        if kind in SOCIAL_NETWORKS and name_source in ("", f"channel:{kind}"):
            social = SOCIAL_NETWORKS[kind]
    return _Profile(customer=customer, emails=emails, phones=phones, social=social)


def score_candidates(*, customer: Customer) -> list[Scored]:
    """Return the scored candidates for CUSTOMER, best first (every one, also below the threshold)."""
    profile = _profile(customer)
    found: dict[int, list[Evidence]] = defaultdict(list)
    candidate_ids: set[int] = set()

    keys = match_keys_for(name_key=customer.name_key, emails=profile.emails)
    if keys:
        rows = (
            CustomerMatchKey.objects.filter(key__in=keys)
            .exclude(customer_id=customer.pk)
            .values("customer_id")
            .annotate(hits=Count("key"))  # both columns are in the (key, customer) index: index-only
            .order_by("-hits", "-customer_id")[:MAX_CANDIDATES_PER_LOOKUP]
        )
        candidate_ids.update(row["customer_id"] for row in rows)

    local_parts = {local for local in map(local_part, profile.emails) if local}
    domains = {email.rpartition("@")[2] for email in profile.emails} - FREE_MAIL_DOMAINS
    organizations = {org.pk: org for org in Organization.objects.filter(domain__in=domains)} if domains else {}
    if organizations:
        members = Customer.objects.filter(organization_id__in=organizations).exclude(pk=customer.pk)
        candidate_ids.update(members.values_list("pk", flat=True)[:MAX_CANDIDATES_PER_LOOKUP])

    for number in profile.phones:
        variants = phone_variants(number)
        for owner_id, value in (
            Identity.objects.filter(kind=Identity.Kind.PHONE, value__in=list(variants))
            .exclude(customer_id=customer.pk)
            .values_list("customer_id", "value")[:MAX_CANDIDATES_PER_LOOKUP]
        ):
            why = variants[value]
            points = PHONE_COUNTRY_POINTS if why.startswith("same number") else PHONE_TYPO_POINTS
            found[owner_id].append(Evidence("phone", f"{number} ≈ {value} ({why})", points))
            candidate_ids.add(owner_id)

    if not candidate_ids:
        return []
    candidates = (
        Customer.objects.filter(pk__in=candidate_ids, erased_at__isnull=True)
        .filter(Q(provisional=False) | Q(created_at__lt=customer.created_at))
        .exclude(pk=customer.pk)
    )
    scored: dict[int, Scored] = {candidate.pk: Scored(candidate) for candidate in candidates}
    if not scored:
        return []
    emails_of: dict[int, list[str]] = defaultdict(list)
    if local_parts:
        for owner_id, value in Identity.objects.filter(
            customer_id__in=list(scored), kind=Identity.Kind.EMAIL
        ).values_list("customer_id", "value"):
            emails_of[owner_id].append(value)

    for candidate_id, entry in scored.items():
        candidate = entry.candidate
        evidence = name_evidence(
            name=customer.name, name_key=customer.name_key, candidate=candidate, profile=profile.social
        )
        if evidence is not None:
            entry.add(evidence)
        for address in emails_of.get(candidate_id, []):
            local = local_part(address)
            if local in local_parts and address not in profile.emails:
                mine = next(email for email in profile.emails if local_part(email) == local)
                points = LOCAL_PART_LONG_POINTS if len(local) >= 8 else LOCAL_PART_POINTS
                entry.add(Evidence("email_local", f"{mine} ≈ {address} (same name at another domain)", points))
        if candidate.organization_id in organizations:
            organization = organizations[candidate.organization_id]
            detail = f"{organization.domain} is the domain of {organization.name}"
            entry.add(Evidence("organization", detail, ORGANIZATION_POINTS))
        for evidence in found.get(candidate_id, []):
            entry.add(evidence)
    ranked = [entry for entry in scored.values() if entry.evidence]
    ranked.sort(key=lambda entry: (-entry.score, entry.candidate.pk))
    return ranked


@transaction.atomic
def suggestions_refresh(*, customer: Customer) -> list[MatchSuggestion]:
    """Score CUSTOMER against likely known customers and store the best as open suggestions; return them.

    Only a provisional customer gets suggestions: for others (and erased ones) the open suggestions are
    removed. A suggestion an agent rejected is never made again; an accepted one is gone with its customer.
    """
    locked = Customer.objects.select_for_update().filter(pk=customer.pk).first()
    if locked is None:
        return []
    open_suggestions = MatchSuggestion.objects.filter(customer=locked, status=MatchSuggestion.Status.OPEN)
    if not locked.provisional or locked.erased_at is not None:
        open_suggestions.delete()
        return []
    decided = set(
        MatchSuggestion.objects.filter(customer=locked)
        .exclude(status=MatchSuggestion.Status.OPEN)
        .values_list("candidate_id", flat=True)
    )
    minimum = settings.TISKI_MATCH_MIN_SCORE
    best = [
        entry
        for entry in score_candidates(customer=locked)
        if entry.score >= minimum and entry.candidate.pk not in decided
    ][:MAX_SUGGESTIONS]
    keep = {entry.candidate.pk for entry in best}
    open_suggestions.exclude(candidate_id__in=keep).delete()
    existing = {suggestion.candidate_id: suggestion for suggestion in open_suggestions.filter(candidate_id__in=keep)}
    for entry in best:
        suggestion = existing.get(entry.candidate.pk)
        if suggestion is None:
            MatchSuggestion.objects.create(
                customer=locked, candidate=entry.candidate, score=entry.score, reasons=entry.reasons()
            )
        elif suggestion.score != entry.score or suggestion.reasons != entry.reasons():
            suggestion.score = entry.score
            suggestion.reasons = entry.reasons()
            suggestion.save(update_fields=["score", "reasons"])
    if best:
        logger.debug("customer %s: %d suggestion(s), best %d %%", locked.pk, len(best), best[0].score)
    return list(
        MatchSuggestion.objects.filter(customer=locked, status=MatchSuggestion.Status.OPEN)
        .select_related("candidate")
        .order_by("-score", "pk")
    )
