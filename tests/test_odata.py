"""OData literals, filter compilation and the local query checks, as pure functions."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from signtraker_mcp.errors import InvalidArgumentError
from signtraker_mcp.odata import (
    DateRange,
    OrderFilters,
    check_filter,
    check_orderby,
    check_select,
    compile_agent_filter,
    compile_order_filter,
    string_literal,
)


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        pytest.param("Austin", "'Austin'", id="plain"),
        pytest.param("O'Brien", "'O''Brien'", id="apostrophe"),
        pytest.param("''", "''''''", id="only-quotes"),
        pytest.param("Montréal", "'Montréal'", id="accent"),
    ],
)
def test_string_literal_escapes(value: str, literal: str) -> None:
    assert string_literal(value) == literal


def test_compile_order_filter_without_filters() -> None:
    assert compile_order_filter(OrderFilters(), None) is None


def test_compile_order_filter_raw_alone_is_unchanged() -> None:
    assert compile_order_filter(OrderFilters(), "Id eq 5 or Id eq 6") == "Id eq 5 or Id eq 6"


def test_compile_order_filter_wraps_raw_when_combined() -> None:
    compiled = compile_order_filter(OrderFilters(agent_id=7), "Id eq 5 or Id eq 6")
    assert compiled == "Agent/Id eq 7 and (Id eq 5 or Id eq 6)"


def test_compile_order_filter_date_bounds() -> None:
    offset = timezone(timedelta(hours=-6))
    ranges = {
        "Created": DateRange(date(2026, 3, 1), date(2026, 3, 31)),
        "DueDate": DateRange(None, datetime(2026, 4, 1, 17, 0, tzinfo=offset)),
    }
    compiled = compile_order_filter(OrderFilters(ranges=ranges), None)
    assert compiled == (
        "Created ge 2026-03-01T00:00:00Z and Created lt 2026-04-01T00:00:00Z and DueDate le 2026-04-01T23:00:00Z"
    )


def test_compile_order_filter_is_valid_odata() -> None:
    filters = OrderFilters(
        statuses=["Installed", "It's odd"],
        agent_name="Dana O'Brien",
        city="Coeur d'Alene",
        address="St. John's",
        ranges={"Created": DateRange(date(2026, 1, 1), None)},
    )
    compiled = compile_order_filter(filters, "OrderNumber gt 1")
    assert compiled is not None
    assert check_filter(compiled) == []


def test_date_range_inverted() -> None:
    assert DateRange(date(2026, 2, 1), date(2026, 1, 31)).is_inverted() is True
    assert DateRange(date(2026, 2, 1), date(2026, 2, 1)).is_inverted() is False


def test_compile_agent_filter_every_word() -> None:
    compiled = compile_agent_filter("Dana O'Brien", None)
    assert compiled == (
        "(contains(tolower(FirstName),'dana') or contains(tolower(LastName),'dana')) and "
        "(contains(tolower(FirstName),'o''brien') or contains(tolower(LastName),'o''brien'))"
    )


def test_check_filter_warns_on_unknown_field() -> None:
    warnings = check_filter("JobSite/Cty eq 'Austin' and Status eq 'Installed'")
    assert len(warnings) == 1
    assert "Did you mean 'JobSite/City'?" in warnings[0]


def test_check_filter_reports_position() -> None:
    with pytest.raises(InvalidArgumentError, match=r"position 11 \(\"'Installed\"\)"):
        check_filter("Status eq 'Installed")


def test_check_orderby_returns_paths() -> None:
    assert check_orderby("Created desc, JobSite/City asc,Id") == (["Created", "JobSite/City", "Id"], [])


def test_check_select_warns_on_unknown_field() -> None:
    assert "Did you mean 'Status'?" in check_select("Id,Statu")[0]


def test_check_orderby_reports_position() -> None:
    with pytest.raises(InvalidArgumentError, match=r"'downward' at position 17"):
        check_orderby("Id asc, Created downward")


def test_check_select_reports_position() -> None:
    with pytest.raises(InvalidArgumentError, match=r"at position 4 \('JobSite/City'\)"):
        check_select("Id,JobSite/City")


def test_check_filter_suggests_nested_field_for_bare_name() -> None:
    warnings = check_filter("City eq 'Austin'")
    assert "Did you mean 'JobSite/City'?" in warnings[0]


def test_check_select_gives_no_quoting_advice() -> None:
    assert "single quotes" not in check_select("Id,Foo")[0]
