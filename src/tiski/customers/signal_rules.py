"""Traffic-light signals: the administrator's SignalRules evaluated in SQL for a page of customers at once.

A rule's ``conditions`` is a list of {"field", "op", "value"}; all must hold. The fields are the model fields
of the rule's subject (the customer, an open case of the customer, or an external record of the customer or
of the customer's organisation) or, for records, ``attributes.<key>`` (a key of the record's JSON
attributes). The operators:

    eq, ne, in, not_in                  equal to / one of the value (a list for in and not_in)
    lt, lte, gt, gte                    compare with a number or an ISO date ("2025-01-31")
    within_days (N)                     a date between today and today + N days
    overdue                             a date before today
    older_than_days (N)                 a date more than N days before today
    is_set, is_not_set                  has a value / is empty
    contains                            text containing the value, ignoring case

``signals_for()`` runs one query per enabled rule, whatever the number of customers, plus one for the rules.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, models
from django.db.models import F, JSONField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.expressions import Func
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, JSONObject
from django.utils import timezone
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from tiski.cases.models import Case
from tiski.customers.exceptions import SignalRuleInvalidError
from tiski.customers.models import Customer, ExternalRecord, SignalRule

logger = logging.getLogger(__name__)

Subject = SignalRule.Subject

OPS = (
    "eq",
    "ne",
    "in",
    "not_in",
    "lt",
    "lte",
    "gt",
    "gte",
    "within_days",
    "overdue",
    "older_than_days",
    "is_set",
    "is_not_set",
    "contains",
)
DAY_OPS = frozenset({"within_days", "overdue", "older_than_days"})
NO_VALUE_OPS = frozenset({"overdue", "is_set", "is_not_set"})
LIST_OPS = frozenset({"in", "not_in"})
ORDER_OPS = frozenset({"lt", "lte", "gt", "gte"})
MAX_DAYS = 36_500
ATTRIBUTES_PREFIX = "attributes."

# The fields a rule may test, per subject. Relations are compared by id.
SUBJECT_FIELDS: Mapping[str, tuple[type[models.Model], tuple[str, ...]]] = {
    Subject.CUSTOMER: (
        Customer,
        (
            "name",
            "language",
            "tier",
            "notes",
            "address",
            "interests",
            "provisional",
            "marketing_suppressed",
            "last_survey_score",
            "last_survey_negative",
            "last_survey_at",
            "organization",
            "created_at",
            "updated_at",
            "erased_at",
        ),
    ),
    Subject.OPEN_CASE: (
        Case,
        (
            "subject",
            "status",
            "priority",
            "type",
            "category",
            "owner",
            "team",
            "channel",
            "created_at",
            "updated_at",
            "first_response_at",
            "solved_at",
        ),
    ),
    Subject.RECORD: (
        ExternalRecord,
        (
            "kind",
            "source",
            "external_id",
            "title",
            "status",
            "date",
            "due_date",
            "renewal_date",
            "amount",
            "currency",
            "created_at",
            "updated_at",
        ),
    ),
}

_OPS_BY_TYPE: Mapping[str, frozenset[str]] = {
    "text": frozenset({"eq", "ne", "in", "not_in", "is_set", "is_not_set", "contains"}),
    "bool": frozenset({"eq", "ne"}),
    "number": frozenset({"eq", "ne", "in", "not_in", "lt", "lte", "gt", "gte", "is_set", "is_not_set"}),
    "relation": frozenset({"eq", "ne", "in", "not_in", "is_set", "is_not_set"}),
    "date": frozenset(
        {"eq", "ne", "lt", "lte", "gt", "gte", "within_days", "overdue", "older_than_days", "is_set", "is_not_set"}
    ),
    "attribute": frozenset(OPS),
}
_NUMBER = r"^\s*[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$"
_ISO_DAY = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"
_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class Signal:
    """One traffic light: the rule's label in the active language, its level and what it is about."""

    rule_id: int
    label: str
    level: str
    detail: str = ""
    case_id: int | None = None
    record_id: int | None = None


@dataclass(frozen=True)
class _Condition:
    field: str  # the lookup path: a field's attname, or the key path of an attribute
    op: str
    value: Any
    kind: str  # text, bool, number, relation, date, datetime or attribute
    keys: tuple[str, ...] = ()  # attribute key path


# --- validation ------------------------------------------------------------------------------------------------


def _field_kind(field: models.Field[Any, Any]) -> str:
    if isinstance(field, models.ForeignKey):
        return "relation"
    if isinstance(field, models.BooleanField):
        return "bool"
    if isinstance(field, models.DateTimeField):
        return "datetime"
    if isinstance(field, models.DateField):
        return "date"
    if isinstance(field, models.IntegerField | models.DecimalField | models.FloatField):
        return "number"
    return "text"


def _model_field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field)
    return field


def _iso_day(value: Any) -> date | None:
    if isinstance(value, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _field_value(field: models.Field[Any, Any], kind: str, value: Any, where: str) -> Any:
    """Return VALUE converted for comparing with FIELD; raise SignalRuleInvalidError when it does not fit."""
    if kind == "bool":
        if not isinstance(value, bool):
            raise SignalRuleInvalidError(_("%(where)s: the value must be true or false.") % {"where": where})
        return value
    if kind in ("date", "datetime"):
        day = _iso_day(value)
        if day is None:
            raise SignalRuleInvalidError(
                _('%(where)s: the value must be a date written "YYYY-MM-DD".') % {"where": where}
            )
        return day
    if kind == "relation":
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise SignalRuleInvalidError(_("%(where)s: the value must be an id (a whole number).") % {"where": where})
        return value
    choices = {str(choice): choice for choice, _label in field.flatchoices} if field.choices else {}
    if kind == "number":
        if choices and isinstance(value, str):
            by_name = {str(label).lower(): choice for choice, label in field.flatchoices}
            if value.lower() in by_name:
                return by_name[value.lower()]
        if not _is_number(value):
            raise SignalRuleInvalidError(_("%(where)s: the value must be a number.") % {"where": where})
        if choices and str(value) not in choices:
            raise SignalRuleInvalidError(
                _("%(where)s: %(value)r is not one of %(choices)s.")
                % {"where": where, "value": value, "choices": ", ".join(choices)}
            )
        return Decimal(str(value)) if isinstance(field, models.DecimalField) else value
    if not isinstance(value, str):
        raise SignalRuleInvalidError(_("%(where)s: the value must be text.") % {"where": where})
    if choices and value not in choices:
        raise SignalRuleInvalidError(
            _("%(where)s: %(value)r is not one of %(choices)s.")
            % {"where": where, "value": value, "choices": ", ".join(choices)}
        )
    return value


def _attribute_value(op: str, value: Any, where: str) -> Any:
    if op == "contains":
        if not isinstance(value, str) or not value:
            raise SignalRuleInvalidError(_("%(where)s: contains needs a text value.") % {"where": where})
        return value
    if op in ORDER_OPS:
        if _is_number(value):
            return value
        if _iso_day(value) is not None:
            return value
        raise SignalRuleInvalidError(
            _('%(where)s: compare an attribute with a number or a date written "YYYY-MM-DD".') % {"where": where}
        )
    if not (isinstance(value, str | bool) or _is_number(value)):
        raise SignalRuleInvalidError(
            _("%(where)s: the value must be text, a number, or true or false.") % {"where": where}
        )
    return value


def _days(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_DAYS:
        raise SignalRuleInvalidError(
            _("%(where)s: the value must be a number of days (0 to %(max)d).") % {"where": where, "max": MAX_DAYS}
        )
    return value


def _parse_one(subject: str, index: int, condition: Any) -> _Condition:
    where = _("Condition %(number)d") % {"number": index + 1}
    if not isinstance(condition, dict):
        raise SignalRuleInvalidError(
            _('%(where)s must be an object such as {"field": "status", "op": "eq", "value": "open"}.')
            % {"where": where}
        )
    unknown_keys = set(condition) - {"field", "op", "value"}
    if unknown_keys:
        raise SignalRuleInvalidError(
            _('%(where)s: unknown key %(keys)s; a condition has "field", "op" and "value".')
            % {"where": where, "keys": ", ".join(sorted(map(repr, unknown_keys)))}
        )
    name, op = condition.get("field"), condition.get("op")
    model, allowed = SUBJECT_FIELDS[subject]
    if not isinstance(name, str) or not name:
        raise SignalRuleInvalidError(_('%(where)s: "field" is missing.') % {"where": where})
    if op not in OPS:
        raise SignalRuleInvalidError(
            _("%(where)s: unknown operator %(op)r; use one of %(ops)s.")
            % {"where": where, "op": op, "ops": ", ".join(OPS)}
        )
    where = _("Condition %(number)d (%(field)s %(op)s)") % {"number": index + 1, "field": name, "op": op}
    keys: tuple[str, ...] = ()
    field: models.Field[Any, Any] | None
    if name.startswith(ATTRIBUTES_PREFIX) and subject == Subject.RECORD:
        keys = tuple(name[len(ATTRIBUTES_PREFIX) :].split("."))
        if not all(_KEY.match(key) and "__" not in key for key in keys):
            raise SignalRuleInvalidError(
                _("%(where)s: an attribute key has letters, digits, - and _ only.") % {"where": where}
            )
        kind, field, lookup = "attribute", None, "attributes__" + "__".join(keys)
    elif name in allowed:
        field = _model_field(model, name)
        kind, lookup = _field_kind(field), field.attname
    else:
        fields = list(allowed) + (["attributes.<key>"] if subject == Subject.RECORD else [])
        raise SignalRuleInvalidError(
            _("%(where)s: unknown field %(field)r; use one of %(fields)s.")
            % {"where": where, "field": name, "fields": ", ".join(fields)}
        )
    ops = _OPS_BY_TYPE["date" if kind == "datetime" else kind]
    if op not in ops:
        raise SignalRuleInvalidError(
            _("%(where)s: %(op)s does not apply to this field; use one of %(ops)s.")
            % {"where": where, "op": op, "ops": ", ".join(o for o in OPS if o in ops)}
        )
    value = condition.get("value")
    if op in NO_VALUE_OPS:
        if value is not None:
            raise SignalRuleInvalidError(_("%(where)s: %(op)s takes no value.") % {"where": where, "op": op})
    elif "value" not in condition or value is None:
        raise SignalRuleInvalidError(_('%(where)s: "value" is missing.') % {"where": where})
    elif op in DAY_OPS:
        value = _days(value, where)
    elif op in LIST_OPS:
        if not isinstance(value, list) or not value:
            raise SignalRuleInvalidError(_("%(where)s: the value must be a non-empty list.") % {"where": where})
        if field is None:
            value = [_attribute_value("eq", item, where) for item in value]
            if len({"number" if _is_number(item) else type(item).__name__ for item in value}) > 1:
                raise SignalRuleInvalidError(_("%(where)s: the list must hold values of one type.") % {"where": where})
        else:
            value = [_field_value(field, kind, item, where) for item in value]
    elif field is None:
        value = _attribute_value(op, value, where)
    elif op == "contains":
        if not isinstance(value, str) or not value:
            raise SignalRuleInvalidError(_("%(where)s: contains needs a text value.") % {"where": where})
    else:
        value = _field_value(field, kind, value, where)
    return _Condition(field=lookup, op=op, value=value, kind=kind, keys=keys)


def _parse(subject: str, record_kind: str, conditions: Any) -> list[_Condition]:
    if subject not in SUBJECT_FIELDS:
        raise SignalRuleInvalidError(
            _("Unknown subject %(subject)r; use one of %(subjects)s.")
            % {"subject": subject, "subjects": ", ".join(SUBJECT_FIELDS)}
        )
    if record_kind and subject != Subject.RECORD:
        raise SignalRuleInvalidError(_("A record kind applies only to rules tested on external records."))
    if record_kind and record_kind not in ExternalRecord.Kind.values:
        raise SignalRuleInvalidError(
            _("Unknown record kind %(kind)r; use one of %(kinds)s.")
            % {"kind": record_kind, "kinds": ", ".join(ExternalRecord.Kind.values)}
        )
    if not isinstance(conditions, list):
        raise SignalRuleInvalidError(_("The conditions must be a list of objects (or [] for none)."))
    return [_parse_one(subject, index, condition) for index, condition in enumerate(conditions)]


def validate_conditions(*, subject: str, record_kind: str, conditions: Any) -> None:
    """Raise SignalRuleInvalidError saying what is wrong when the rule's conditions cannot be evaluated."""
    _parse(subject, record_kind, conditions)


# --- compiling to SQL ------------------------------------------------------------------------------------------


class _NumberOrNull(Func):
    """The text EXPRESSION as a number when it reads as one, else NULL: never a cast error on odd data."""

    output_field = models.FloatField()

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, tuple[Any, ...]]:  # type: ignore[override]
        sql, params = compiler.compile(self.source_expressions[0])
        if connection.vendor == "postgresql":
            template = "(CASE WHEN ({0}) ~ %s THEN ({0})::double precision END)"
        else:
            template = "(CASE WHEN ({0}) REGEXP %s THEN CAST(({0}) AS REAL) END)"
        return template.format(sql), (*params, _NUMBER, *params)


class _DayOrNull(Func):
    """The first ten characters of the text EXPRESSION when it starts with an ISO date, else NULL."""

    output_field = models.CharField()

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, tuple[Any, ...]]:  # type: ignore[override]
        sql, params = compiler.compile(self.source_expressions[0])
        operator = "~" if connection.vendor == "postgresql" else "REGEXP"
        return f"(CASE WHEN ({sql}) {operator} %s THEN SUBSTR(({sql}), 1, 10) END)", (*params, _ISO_DAY, *params)


def _compare(path: str, op: str, value: Any) -> Q:
    lookup = {"eq": "exact", "in": "in", "lt": "lt", "lte": "lte", "gt": "gt", "gte": "gte"}
    if op == "ne":
        return ~Q(**{path: value})
    if op == "not_in":
        return ~Q(**{f"{path}__in": value})
    return Q(**{f"{path}__{lookup[op]}": value})


def _day_window(op: str, value: Any, today: date) -> tuple[date | None, date | None]:
    """Return the (first, last) day a day operator accepts; None is open-ended."""
    if op == "within_days":
        return today, today + timedelta(days=value)
    if op == "overdue":
        return None, today - timedelta(days=1)
    return None, today - timedelta(days=value + 1)  # older_than_days


def _condition_q(condition: _Condition, alias: str, today: date) -> tuple[dict[str, Any], Q]:
    """Return (aliases to add, Q) testing CONDITION; ALIAS names an expression it needs."""
    op, value, path = condition.op, condition.value, condition.field
    if condition.kind == "attribute":
        # A plain text expression: KT itself would take the JSON key lookups, which parse the value as JSON.
        text = Cast(KT(path), output_field=models.TextField())
        if op in ("is_set", "is_not_set"):
            present = Q(**{f"{alias}__isnull": False}) & ~Q(**{alias: ""})
            return {alias: text}, present if op == "is_set" else ~present
        if op in DAY_OPS or (op in ORDER_OPS and isinstance(value, str)):
            day = _DayOrNull(text)
            if op in DAY_OPS:
                first, last = _day_window(op, value, today)
                q = Q(**{f"{alias}__isnull": False})
                if first is not None:
                    q &= Q(**{f"{alias}__gte": first.isoformat()})
                if last is not None:
                    q &= Q(**{f"{alias}__lte": last.isoformat()})
                return {alias: day}, q
            return {alias: day}, _compare(alias, op, value)
        if op == "contains":
            return {alias: text}, Q(**{f"{alias}__icontains": value})
        sample = value[0] if op in LIST_OPS else value
        if isinstance(sample, bool):
            return {}, _compare(path, op, value)
        if _is_number(sample):
            q = _compare(alias, op, [float(v) for v in value] if op in LIST_OPS else float(value))
            if op in ("ne", "not_in"):
                q |= Q(**{f"{alias}__isnull": True})  # a missing or non-numeric value differs too
            return {alias: _NumberOrNull(text)}, q
        q = _compare(alias, op, value)
        if op in ("ne", "not_in"):
            q |= Q(**{f"{alias}__isnull": True})
        return {alias: text}, q

    if condition.kind == "datetime":
        path = f"{path}__date"  # days in the active time zone
    if op in ("is_set", "is_not_set"):
        present = Q(**{f"{condition.field}__isnull": False})
        if condition.kind == "text":
            present &= ~Q(**{condition.field: ""})
        return {}, present if op == "is_set" else ~present
    if op in DAY_OPS:
        first, last = _day_window(op, value, today)
        q = Q(**{f"{path}__isnull": False})
        if first is not None:
            q &= Q(**{f"{path}__gte": first})
        if last is not None:
            q &= Q(**{f"{path}__lte": last})
        return {}, q
    if op == "contains":
        return {}, Q(**{f"{path}__icontains": value})
    return {}, _compare(path, op, value)


def _compiled(conditions: Sequence[_Condition], today: date) -> tuple[dict[str, Any], Q]:
    aliases: dict[str, Any] = {}
    q = Q()
    for index, condition in enumerate(conditions):
        more, condition_q = _condition_q(condition, f"signal_c{index}", today)
        aliases.update(more)
        q &= condition_q
    return aliases, q


# --- evaluation ------------------------------------------------------------------------------------------------


def _label(rule: SignalRule) -> str:
    language = get_language() or ""
    return rule.label_fi if language.startswith("fi") and rule.label_fi else rule.label


def _day_field(conditions: Sequence[_Condition]) -> _Condition | None:
    """Return the condition whose date the signal's detail tells (renewal in 12 days), if any."""
    return next((c for c in conditions if c.op in DAY_OPS and c.kind in ("date", "datetime")), None)


def _as_day(value: Any) -> date | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if len(value) <= 10:
        return moment.date()
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, UTC)  # stored in UTC without an offset (SQLite)
    return timezone.localdate(moment)


def _day_phrase(condition: _Condition, day: date, today: date) -> str:
    field = str(_model_field(ExternalRecord, condition.field).verbose_name)
    delta = (day - today).days
    if delta == 0:
        return _("%(field)s today") % {"field": field}
    if delta > 0:
        return ngettext("%(field)s in %(days)d day", "%(field)s in %(days)d days", delta) % {
            "field": field,
            "days": delta,
        }
    return ngettext("%(field)s %(days)d day ago", "%(field)s %(days)d days ago", -delta) % {
        "field": field,
        "days": -delta,
    }


def _record_owner(depth: int) -> Q:
    customer: Any = OuterRef("pk")
    organization: Any = OuterRef("organization_id")
    for _level in range(depth - 1):
        customer, organization = OuterRef(customer), OuterRef(organization)
    return Q(customer_id=customer) | Q(organization_id=organization)


def _record_hits(
    rule: SignalRule, conditions: Sequence[_Condition], customer_ids: Collection[int], today: date
) -> _Hits:
    aliases, q = _compiled(conditions, today)
    day = _day_field(conditions)
    records = ExternalRecord.objects.all()
    if rule.record_kind:
        records = records.filter(kind=rule.record_kind)
    newest = [F("date").desc(nulls_last=True), F("pk").desc()]
    if rule.latest_only:
        latest = records.filter(_record_owner(2)).order_by(*newest).values("pk")[:1]
        matching = ExternalRecord.objects.filter(pk=Subquery(latest))
    else:
        matching = records.filter(_record_owner(1))
    matching = matching.alias(**aliases).filter(q)
    if day is not None and not rule.latest_only:
        matching = matching.order_by(F(day.field).asc(nulls_last=True), "pk")  # the soonest or most overdue
    else:
        matching = matching.order_by(*newest)
    found = matching.values(
        hit=JSONObject(id="pk", title="title", kind="kind", external_id="external_id", day=day.field if day else "date")
    )[:1]
    rows = _hit_rows(customer_ids, Subquery(found, output_field=JSONField()), rule)
    kinds = dict(ExternalRecord.Kind.choices)

    def signal(hit: dict[str, Any]) -> Signal:
        what = hit["title"] or f"{kinds.get(hit['kind'], hit['kind'])} {hit['external_id']}"
        detail = what
        when = _as_day(hit["day"]) if day is not None else None
        if day is not None and when is not None:
            detail = f"{what}: {_day_phrase(day, when, today)}"
        return Signal(rule.pk, _label(rule), rule.level, detail, record_id=hit["id"])

    return rows, signal


def _case_hits(rule: SignalRule, conditions: Sequence[_Condition], customer_ids: Collection[int], today: date) -> _Hits:
    aliases, q = _compiled(conditions, today)
    cases: QuerySet[Case] = (
        Case.objects.filter(customer_id=OuterRef("pk"), status__in=Case.OPEN_STATUSES)
        .alias(**aliases)
        .filter(q)
        .order_by("-updated_at", "-pk")
    )
    found = Subquery(cases.values(hit=JSONObject(id="pk", subject="subject"))[:1], output_field=JSONField())
    rows = _hit_rows(customer_ids, found, rule)

    def signal(hit: dict[str, Any]) -> Signal:
        detail = f"{Case(pk=hit['id']).reference} {hit['subject']}".strip()
        return Signal(rule.pk, _label(rule), rule.level, detail, case_id=hit["id"])

    return rows, signal


def _customer_hits(
    rule: SignalRule, conditions: Sequence[_Condition], customer_ids: Collection[int], today: date
) -> _Hits:
    aliases, q = _compiled(conditions, today)
    rows = (
        Customer.objects.filter(pk__in=customer_ids)
        .alias(**aliases)
        .filter(q)
        .annotate(hit=Value({}, output_field=JSONField()), rule=Value(rule.pk))
        .order_by()
        .values_list("pk", "hit", "rule")
    )
    return rows, lambda _hit: Signal(rule.pk, _label(rule), rule.level)


def _hit_rows(customer_ids: Collection[int], found: Subquery[Any], rule: SignalRule) -> QuerySet[Any, Any]:
    """Return (customer id, hit, rule id) rows: HIT is the first matching case or record as a JSON object, or
    None (filtering on it here would make the database evaluate the subquery twice)."""
    return (
        Customer.objects.filter(pk__in=customer_ids)
        .annotate(hit=found, rule=Value(rule.pk))
        .order_by()
        .values_list("pk", "hit", "rule")
    )


# A rule's rows (customer id, hit, rule id) and how to turn a hit into the signal shown.
_Hits = tuple[QuerySet[Any, Any], Callable[[dict[str, Any]], Signal]]


_EVALUATORS = {Subject.CUSTOMER: _customer_hits, Subject.OPEN_CASE: _case_hits, Subject.RECORD: _record_hits}


def signal_rules_enabled() -> list[SignalRule]:
    """Return the enabled rules in their order (one small query)."""
    return list(SignalRule.objects.filter(enabled=True).order_by("position", "pk"))


def signals_for(*, customer_ids: Collection[int], today: date | None = None) -> dict[int, list[Signal]]:
    """Return the signals of each customer in CUSTOMER_IDS (every id is a key), in the rules' order.

    Run one statement for all the rules and customers together (the rules' queries as UNION ALL). A rule
    whose conditions are invalid (changed outside the admin) is skipped and logged, never an error for the
    page showing the signals.
    """
    ids = list(dict.fromkeys(customer_ids))
    result: dict[int, list[Signal]] = {customer_id: [] for customer_id in ids}
    if not ids:
        return result
    today = today or timezone.localdate()
    statement = _statement(signal_rules_enabled(), len(ids), today)
    if statement is None:
        return result
    sentinels = dict(zip(_sentinels(len(ids)), ids, strict=True))
    params = [sentinels.get(param, param) if type(param) is int else param for param in statement.params]
    found: dict[tuple[int, int], dict[str, Any]] = {}
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, params)
        for customer_id, hit, rule_id in cursor.fetchall():
            if hit is not None:
                found[(rule_id, customer_id)] = json.loads(hit) if isinstance(hit, str | bytes) else hit
    for rule_id, signal in statement.signal_of.items():  # in the rules' order
        for customer_id in ids:
            if (rule_id, customer_id) in found:
                result[customer_id].append(signal(found[(rule_id, customer_id)]))
    return result


@dataclass(frozen=True)
class _Statement:
    sql: str
    params: tuple[Any, ...]
    signal_of: dict[int, Callable[[dict[str, Any]], Signal]]


_statements: dict[tuple[Any, ...], _Statement | None] = {}


def _sentinels(count: int) -> list[int]:
    """Stand-ins for the customer ids in a cached statement (no real id or condition value is this)."""
    return [-7_000_000_001 - n for n in range(count)]


def _statement(rules: Sequence[SignalRule], count: int, today: date) -> _Statement | None:
    """Return every rule's query as one UNION ALL statement for COUNT customer ids (as sentinels).

    Building and compiling the querysets costs more than running them, so the statement is kept per rule
    set, number of ids and day; a changed rule changes the key.
    """
    key = (
        count,
        today,
        connection.vendor,
        tuple((r.pk, r.subject, r.record_kind, r.latest_only, r.level, json.dumps(r.conditions)) for r in rules),
    )
    if key in _statements:
        return _statements[key]
    ids = _sentinels(count)
    queries: list[QuerySet[Any, Any]] = []
    signal_of: dict[int, Callable[[dict[str, Any]], Signal]] = {}
    for rule in rules:
        try:
            conditions = _parse(rule.subject, rule.record_kind, rule.conditions)
        except SignalRuleInvalidError as exc:
            logger.warning("Signal rule %s (%s) is skipped: %s", rule.pk, rule.label, exc)
            continue
        rows, signal_of[rule.pk] = _EVALUATORS[Subject(rule.subject)](rule, conditions, ids, today)
        queries.append(rows)
    statement = None
    if queries:
        # All rules in one statement: one round trip to the database whatever the number of rules.
        sql, params = queries[0].union(*queries[1:], all=True).query.sql_with_params()
        statement = _Statement(sql, tuple(params), signal_of)
    if len(_statements) > 256:
        _statements.clear()
    _statements[key] = statement
    return statement


def signals_for_customer(*, customer_id: int, today: date | None = None) -> list[Signal]:
    """Return the signals of one customer."""
    return signals_for(customer_ids=[customer_id], today=today)[customer_id]


__all__ = [
    "OPS",
    "Signal",
    "signal_rules_enabled",
    "signals_for",
    "signals_for_customer",
    "validate_conditions",
]
