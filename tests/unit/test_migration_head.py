"""The schema head swflow checks at every command is the head Alembic itself finds."""

from __future__ import annotations

from alembic.script import ScriptDirectory

from swflow.db.engine import HEAD, _alembic_config


def test_head_read_from_the_scripts_is_alembics_head() -> None:
    scripts = ScriptDirectory.from_config(_alembic_config("sqlite://"))
    assert scripts.get_heads() == [HEAD]
