from tests.bot.reports.conftest import (  # noqa: F401 - shared fixtures
    agent,
    agent_api,
    supervisor,
    supervisor_api,
    wechat_backend,
)
