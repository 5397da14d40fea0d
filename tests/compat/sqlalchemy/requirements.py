# requirements.py: what PostgreSQL 15 supports, for SQLAlchemy's test plugin
# ([sqla_testing] requirement_cls). SuiteRequirements closes every optional feature; this
# opens the ones PostgreSQL has, after upstream's test/requirements.py for postgresql, so the
# compliance suite (and test_pooled.py) exercise them. Used by run-sqlalchemy-suite.sh only.
from sqlalchemy.testing import exclusions
from sqlalchemy.testing.requirements import SuiteRequirements

_OPEN = """
table_ddl_if_exists index_ddl_if_exists table_value_constructor deferrable_fks
boolean_col_expressions nullsordering standalone_binds intersect except_ window_functions
ctes ctes_with_update_delete ctes_on_dml tuple_in views cross_schema_fk_reflection
foreign_key_constraint_name_reflection implicit_default_schema reflects_pk_names
reflect_tables_no_columns comment_reflection foreign_key_constraint_option_reflection_ondelete
fk_constraint_option_reflection_ondelete_restrict fk_constraint_option_reflection_ondelete_noaction
foreign_key_constraint_option_reflection_onupdate fk_constraint_option_reflection_onupdate_restrict
has_temp_table index_reflects_included_columns
indexes_with_expressions check_constraint_reflection unicode_ddl
datetime_timezone time_timezone timestamp_microseconds datetime_historic date_historic
autocommit isolation_level json_type precision_numerics_enotation_small
precision_numerics_enotation_large precision_numerics_many_significant_digits
precision_numerics_retains_significant_digits infinity_floats savepoints
two_phase_transactions update_from delete_from mod_operator_as_percent_sign
percent_schema_names order_by_label_with_expression computed_columns
computed_columns_stored computed_columns_default_persisted
computed_columns_reflect_persisted supports_distinct_on identity_columns
identity_columns_standard regexp_match regexp_replace fetch_first fetch_ties
fetch_no_order_by fetch_offset_with_options fetch_expression
""".split()


def _open(self):
    return exclusions.open()


class Requirements(SuiteRequirements):
    def get_isolation_levels(self, config):
        supported = ["SERIALIZABLE", "READ COMMITTED", "REPEATABLE READ", "AUTOCOMMIT"]
        if config.db.dialect.driver == "psycopg2":
            supported.append("READ UNCOMMITTED")  # asyncpg refuses it
        return {"default": "READ COMMITTED", "supported": supported}

    @property
    def async_dialect(self):
        return exclusions.only_if(
            lambda config: config.db.dialect.is_async, "not an async dialect"
        )


for _name in _OPEN:
    setattr(Requirements, _name, property(_open))
