"""Rule ids (R-CM-7 …) stay in code and tests: nothing an operator reads names them (issue 10 §5)."""

import re
from pathlib import Path

from django.apps import apps
from django.conf import settings

RULE_ID = re.compile(r"\bR-[A-Z]+-\d")


def test_no_rule_ids_in_templates():
    for folder in settings.TEMPLATES[0]["DIRS"]:
        for template in Path(folder).rglob("*.html"):
            assert not RULE_ID.search(template.read_text()), template


def test_no_rule_ids_in_model_labels_and_help_texts():
    for model in apps.get_models():
        for field in model._meta.get_fields():
            for text in (getattr(field, "help_text", ""), getattr(field, "verbose_name", "")):
                assert not RULE_ID.search(str(text)), f"{model.__name__}.{field.name}: {text}"
