from urllib.parse import urlparse

from django.conf import settings
from django.db import migrations


def name_the_site(apps, schema_editor):
    """allauth writes links in e-mails with the Site's domain: make it Tranche's, not example.com."""
    site_model = apps.get_model("sites", "Site")
    domain = urlparse(settings.SITE_URL).netloc or "127.0.0.1:8000"
    site_model.objects.update_or_create(pk=settings.SITE_ID, defaults={"domain": domain, "name": "Tranche"})


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial"), ("sites", "0002_alter_domain_unique")]

    operations = [migrations.RunPython(name_the_site, migrations.RunPython.noop)]
