# conftest.py: loads SQLAlchemy's own pytest plugin (sqlalchemy.testing.plugin.pytestplugin,
# as the installed python3-sqlalchemy ships it), the way third-party dialects run
# sqlalchemy.testing.suite. Used by tests/compat/run-sqlalchemy-suite.sh only.
import pytest

pytest.register_assert_rewrite("sqlalchemy.testing.assertions")

from sqlalchemy.testing.plugin.pytestplugin import *  # noqa: E402,F401,F403
