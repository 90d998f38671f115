"""The default survey settings (off), the low-score automation rule and the "Negative last survey" signal."""

from django.db import migrations


def create(apps, schema_editor):
    from tiski.surveys.defaults import defaults_create

    defaults_create(
        apps.get_model("surveys", "SurveySettings"),
        apps.get_model("automation", "Rule"),
        apps.get_model("customers", "SignalRule"),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0001_initial"),
        ("automation", "0002_survey_events"),
        ("customers", "0006_survey_events"),
    ]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
