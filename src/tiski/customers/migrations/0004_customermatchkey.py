import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("customers", "0003_defaults"),
    ]

    operations = [
        migrations.CreateModel(
            name="CustomerMatchKey",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key", models.CharField(max_length=100)),
                (
                    "customer",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="match_keys",
                        to="customers.customer",
                    ),
                ),
            ],
            options={
                "verbose_name": "match key",
                "verbose_name_plural": "match keys",
                "indexes": [models.Index(fields=["key", "customer"], name="customermatchkey_key")],
                "constraints": [models.UniqueConstraint(fields=("customer", "key"), name="customermatchkey_unique")],
            },
        ),
    ]
