"""The audit log itself: recording, the append-only rule at every layer, retention and flush."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.test import RequestFactory
from django.utils import timezone

from tiski.audit import triggers
from tiski.audit.context import current_request
from tiski.audit.exceptions import AuditImmutableError
from tiski.audit.models import AuditEntry
from tiski.audit.services import audit_prune, audit_record
from tiski.customers.models import Customer


def _entry(**kwargs: object) -> AuditEntry:
    return audit_record(action=str(kwargs.pop("action", "test.thing")), actor=None, **kwargs)  # type: ignore[arg-type]


@pytest.mark.django_db
def test_record_copies_actor_target_and_request(agent):
    customer = Customer.objects.create(name="Liisa Lahtinen")
    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.7", HTTP_USER_AGENT="x" * 500, HTTP_X_REQUEST_ID="r-1")
    entry = audit_record(
        action="customer.merge", actor=agent, target=customer, detail={"when": timezone.now()}, request=request
    )
    entry.refresh_from_db()
    assert (entry.actor, entry.actor_label, entry.action) == (agent, "maija", "customer.merge")
    assert (entry.target_type.model, entry.target_id, entry.target_label) == (
        "customer",
        str(customer.pk),
        str(customer),
    )
    assert entry.ip == "192.0.2.7"
    assert len(entry.user_agent) == 300
    assert entry.request_id == "r-1"
    assert isinstance(entry.detail["when"], str)


@pytest.mark.django_db
def test_record_without_request_reads_the_current_request_and_its_user(agent):
    request = RequestFactory().get("/", REMOTE_ADDR="198.51.100.4")
    request.user = agent
    token = current_request.set(request)
    try:
        entry = audit_record(action="report.export", actor=None, target_label="cases.csv")
    finally:
        current_request.reset(token)
    assert (entry.actor, entry.ip, entry.target_label) == (agent, "198.51.100.4", "cases.csv")
    outside = audit_record(action="report.export", actor=None)
    assert (outside.actor, outside.ip) == (None, "")


@pytest.mark.django_db
def test_model_and_queryset_refuse_change_and_delete():
    entry = _entry()
    entry.action = "test.other"
    with pytest.raises(AuditImmutableError):
        entry.save()
    with pytest.raises(AuditImmutableError):
        entry.delete()
    with pytest.raises(AuditImmutableError):
        AuditEntry.objects.all().delete()
    with pytest.raises(AuditImmutableError):
        AuditEntry.objects.update(action="test.other")
    assert AuditEntry.objects.get(pk=entry.pk).action == "test.thing"


@pytest.mark.django_db
def test_database_triggers_refuse_raw_update_and_delete():
    assert triggers.installed(connection)
    entry = _entry()
    for sql in (
        "UPDATE audit_auditentry SET action = 'forged' WHERE id = %s",
        "UPDATE audit_auditentry SET ip = '10.0.0.1' WHERE id = %s",
        "DELETE FROM audit_auditentry WHERE id = %s",
    ):
        with pytest.raises((IntegrityError, DatabaseError)), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [entry.pk])
    assert AuditEntry.objects.get(pk=entry.pk).action == "test.thing"


@pytest.mark.django_db
def test_deleting_the_actor_keeps_the_entry_and_its_label(agent):
    entry = audit_record(action="auth.logout", actor=agent)
    User.objects.filter(pk=agent.pk).delete()
    entry.refresh_from_db()
    assert (entry.actor, entry.actor_label, entry.action) == (None, "maija", "auth.logout")


@pytest.mark.django_db
def test_prune_deletes_only_entries_past_retention(settings):
    settings.TISKI_AUDIT_RETENTION_DAYS = 30
    now = timezone.now()
    old = AuditEntry.objects.create(action="test.old", at=now - timedelta(days=31))
    new = AuditEntry.objects.create(action="test.new", at=now - timedelta(days=29))
    assert audit_prune(now=now) == 1
    assert list(AuditEntry.objects.filter(action__startswith="test.").values_list("pk", flat=True)) == [new.pk]
    assert not AuditEntry.objects.filter(pk=old.pk).exists()


@pytest.mark.django_db
def test_audit_prune_command_uses_the_setting_and_the_gate_closes_again(settings):
    settings.TISKI_AUDIT_RETENTION_DAYS = 0
    _entry()
    out = io.StringIO()
    call_command("audit_prune", stdout=out)
    assert "Deleted" in out.getvalue()
    assert not AuditEntry.objects.exists()
    _entry()
    with pytest.raises((IntegrityError, DatabaseError)), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditentry")
    assert AuditEntry.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_flush_empties_the_audit_table_for_transactional_tests():
    before = _entry()
    call_command("flush", interactive=False, verbosity=0)
    assert not AuditEntry.objects.filter(action=before.action).exists()
    assert triggers.installed(connection)
    entry = _entry()
    with pytest.raises((IntegrityError, DatabaseError)), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditentry WHERE id = %s", [entry.pk])
