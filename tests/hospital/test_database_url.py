"""Connection strings that name every node of the database cluster (libpq multi-host), so that
an app server finds the new primary after a failover without a change of configuration."""

import pytest

from hospital.settings.base import database_config


def test_a_url_naming_every_node_reaches_libpq_as_host_and_port_lists():
    # when
    config = database_config(
        "postgres://bcma:secret@db1.internal:5432,db2.internal:5433/bcma"
        "?target_session_attrs=read-write&connect_timeout=3"
    )

    # then
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["USER"], config["PASSWORD"], config["NAME"]) == ("bcma", "secret", "bcma")
    assert config["HOST"] == "db1.internal,db2.internal"
    assert config["PORT"] == "5432,5433"
    assert config["OPTIONS"]["target_session_attrs"] == "read-write"
    assert config["OPTIONS"]["connect_timeout"] == 3


def test_nodes_without_ports_use_the_default_port():
    # when
    config = database_config("postgresql://bcma@db1,db2,db3/bcma?target_session_attrs=read-write")

    # then
    assert config["HOST"] == "db1,db2,db3"
    assert config["PORT"] == ""


def test_a_single_host_url_is_parsed_as_before():
    # when
    config = database_config("postgres://bcma:pw@db.internal:6432/bcma", conn_max_age=600)

    # then
    assert (config["HOST"], config["PORT"]) == ("db.internal", 6432)
    assert config["CONN_MAX_AGE"] == 600


def test_a_node_list_with_a_hole_is_refused():
    with pytest.raises(ValueError, match="host"):
        database_config("postgres://bcma@db1,,db2/bcma")
