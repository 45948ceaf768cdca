"""``CONFSYNC_JOIN_URL_HOSTS`` in Terraform (issue 13, M3): the sync function gets it from
``var.join_url_hosts``, and a plan with write-back on and no hosts stops before anything is
deployed (the function itself would refuse to start)."""

from __future__ import annotations

from .hcl import function_calls, module_environment, one, root


def test_sync_gets_the_hosts_from_their_variable() -> None:
    plain, _ = module_environment(function_calls()["sync"])
    assert plain["CONFSYNC_JOIN_URL_HOSTS"] == '${join(",", var.join_url_hosts)}'
    for other in ("intake", "channels"):
        assert "CONFSYNC_JOIN_URL_HOSTS" not in module_environment(function_calls()[other])[0]


def test_host_names_only() -> None:
    variable = root().labelled("variable")["join_url_hosts"]
    assert variable["default"] == []
    [validation] = variable["validation"]
    assert "regex(" in validation["condition"]


def test_write_back_without_hosts_stops_the_plan() -> None:
    checks = one(root().resources("terraform_data")["join_url_hosts"], "lifecycle")
    [condition] = [check["condition"] for check in checks["precondition"]]
    assert "var.sync_settings.write_back" in condition
    assert "length(var.join_url_hosts) > 0" in condition
