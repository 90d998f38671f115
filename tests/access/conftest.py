"""Access tests: the partner world (tests/access/partner_world.py) as the fixture ``world``."""

from tests.access.partner_world import world  # noqa: F401  (the fixture)
