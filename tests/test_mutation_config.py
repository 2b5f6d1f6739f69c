"""`make mutation` copies the apps listed in setup.cfg's [mutmut] source_paths; an app Django loads
but mutmut does not copy stops every mutant's run at start-up (a new app was once left out)."""

import configparser
from pathlib import Path

from django.apps import apps

ROOT = Path(__file__).resolve().parents[1]


def test_mutmut_copies_every_app_of_the_project():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    copied = set(config["mutmut"]["source_paths"].split())
    ours = {app.name.split(".")[0] for app in apps.get_app_configs() if (ROOT / app.name.split(".")[0]).is_dir()}
    assert ours <= copied, f"add to setup.cfg [mutmut] source_paths: {sorted(ours - copied)}"
