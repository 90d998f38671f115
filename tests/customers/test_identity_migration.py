"""The data migration that makes SMS and WhatsApp numbers phone identities."""

from __future__ import annotations

import importlib
import logging

import pytest
from django.apps import apps

from tiski.customers.models import Customer, CustomerMatchKey, Identity

migration = importlib.import_module("tiski.customers.migrations.0005_fold_phone_identities")
pytestmark = pytest.mark.django_db


def test_sms_and_whatsapp_identities_become_phone_identities_without_losing_messages(receive, caplog):
    alone = Customer.objects.create(name="Alone")
    Identity.objects.create(customer=alone, kind="whatsapp", value="+358401111111")
    both = receive(email="both@example.com", name="Both").message
    customer = both.case.customer
    phone = Identity.objects.create(customer=customer, kind="phone", value="+358402222222")
    sms = Identity.objects.create(customer=customer, kind="sms", value="+358402222222")
    both.identity = sms
    both.save(update_fields=["identity"])
    owner = Customer.objects.create(name="Owner")
    Identity.objects.create(customer=owner, kind="phone", value="+358403333333")
    someone = Customer.objects.create(name="Someone")
    conflict = Identity.objects.create(customer=someone, kind="sms", value="+358403333333")

    with caplog.at_level(logging.WARNING, logger="tiski.customers.migrations"):
        migration.fold_phone_identities(apps, None)

    assert alone.identities.get().kind == "phone"
    assert list(customer.identities.filter(kind__in=["phone", "sms"]).values_list("pk", flat=True)) == [phone.pk]
    both.refresh_from_db()
    assert both.identity_id == phone.pk  # the message points at the identity that stays
    conflict.refresh_from_db()
    assert conflict.kind == "sms" and conflict.customer == someone  # left for an agent
    assert "+358403333333" in caplog.text and str(owner.pk) in caplog.text


def test_existing_customers_get_their_name_key_and_match_keys():
    customer = Customer.objects.create(name="Mäkinen, Maija")
    Identity.objects.create(customer=customer, kind="email", value="maija.makinen@firma.fi")
    migration.index_names(apps, None)
    customer.refresh_from_db()
    assert customer.name_key == "maija makinen"
    assert set(CustomerMatchKey.objects.filter(customer=customer).values_list("key", flat=True)) == {
        "n:maija",
        "n:makinen",
        "l:maija.makinen",
    }
