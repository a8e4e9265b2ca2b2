from django.db import migrations, models


def disputes_before_inquiries(apps, schema_editor):  # type: ignore[no-untyped-def]
    """Every dispute stored before inquiries were told apart was applied as one that took the money."""
    apps.get_model("payments", "Dispute").objects.update(funds_withdrawn=True)


class Migration(migrations.Migration):

    dependencies = [
        ("payments", "0003_warrant_exercise"),
    ]

    operations = [
        migrations.AddField(
            model_name="dispute",
            name="funds_withdrawn",
            field=models.BooleanField(default=False),
        ),
        migrations.RunPython(disputes_before_inquiries, migrations.RunPython.noop),
    ]
