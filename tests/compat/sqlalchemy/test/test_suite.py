# SQLAlchemy's dialect compliance suite, exactly as the installed SQLAlchemy ships it.
from sqlalchemy.testing.suite import *  # noqa: F401,F403
