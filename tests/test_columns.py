"""The column registry is the one declaration: header index, UDF docs and layout are filters over it."""
from __future__ import annotations

import pytest

from tokkou import columns, layout as L, normalize, udfs


def test_every_name_of_every_column_finds_its_key():
    for c in columns.INPUTS + columns.OUTPUTS:
        for name in columns.names(c):
            assert normalize.header_key(name) == c.key, (c.key, name)
        if c.unit:
            assert normalize.header_key(c.header) == c.key  # 「事業費（円）」 as the template writes it


def test_a_synonym_added_to_the_registry_is_read_as_a_header(monkeypatch):
    import dataclasses
    cost = columns.BY_KEY["cost"]
    extra = dataclasses.replace(cost, synonyms=cost.synonyms + ("決算見込額",))
    # the header index is a filter over the registry: rebuilding it from a changed registry is enough
    monkeypatch.setattr(columns, "INPUTS", tuple(extra if c.key == "cost" else c for c in columns.INPUTS))
    index = {normalize._fold(n).lower(): c.key for c in columns.INPUTS + columns.OUTPUTS for n in columns.names(c)}
    assert index["決算見込額"] == "cost"


def test_udf_arguments_and_their_help_come_from_the_registry():
    assert udfs.LINE_ARGS == columns.udf_args("line")
    assert udfs.COORD_ARGS == columns.udf_args("coord")
    assert udfs.RATE_ARGS == columns.udf_args("rate")
    for k in udfs.LINE_ARGS:
        assert udfs.ARG_DOCS[k] == columns.BY_KEY[k].doc
    meta = {a["name"]: a for a in udfs.ELIGIBLE_AMOUNT.__xlfunc__["args"]}
    assert meta["cost"]["doc"] == columns.BY_KEY["cost"].doc


def test_flags_are_the_yes_no_columns():
    assert columns.flags() == ("national_subsidy", "cash_benefit", "new_construction", "pref_grant",
                               "study_coordinator", "in_strategy_plan")
    assert all(columns.BY_KEY[k].kind == "bool" for k in columns.flags())


@pytest.mark.parametrize("sheet, lay_cols", [("lines", L.LINE_COLUMNS), ("coord", L.get().coord_columns)])
def test_template_columns_are_the_registry_columns_of_that_sheet(sheet, lay_cols):
    in_layout = {c.key: c for c in lay_cols}
    declared = columns.on_sheet(sheet)
    assert declared
    for c in declared:
        assert c.key in in_layout, (sheet, c.key)
        assert in_layout[c.key].header == c.header and in_layout[c.key].fmt == c.fmt, (sheet, c.key)
    # every template column with an engine key is declared for that sheet in the registry
    keyed = {k for k in in_layout if k in columns.ALL}
    assert keyed == {c.key for c in declared}


def test_body_sheet_fields_are_the_registry_body_columns():
    assert {k for k, _ in L.BODY_FIELDS} == {c.key for c in columns.on_sheet("body")}
    for k, label in L.BODY_FIELDS:
        assert label == columns.ALL[k].ja
