"""The help desk's invoice tests use the invoice app's fixtures."""

from tests.bot.invoices.conftest import fake_tencent, follower  # noqa: F401
