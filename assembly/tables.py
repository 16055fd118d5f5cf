"""Every package's tables, imported so that metadata (and Alembic) sees them all."""

from bot import models as bot_models  # noqa: F401
from escalation import health as escalation_health  # noqa: F401
from escalation import models as escalation_models  # noqa: F401
from escalation import phone_models  # noqa: F401
from helpline import (
    audit,  # noqa: F401
    configcache,  # noqa: F401
    ratelimit,  # noqa: F401
)
from helpline.db import Base
from registers import models as registers_models  # noqa: F401
from triage import auth as triage_auth  # noqa: F401
from triage import login_backoff as triage_login_backoff  # noqa: F401
from triage import models as triage_models  # noqa: F401
from triage import recovery as triage_recovery  # noqa: F401

metadata = Base.metadata
