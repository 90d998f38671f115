"""What `tiski demo` sets in the environment for its provider simulators, before the settings load.

No Django imports here: tiski.cli calls it before Django is set up, so that the worker process it starts
inherits the same addresses and secrets.
"""

from __future__ import annotations

import os

TWILIO_SID = "AC" + "d0" * 16
SECRETS = {  # environment variable → value: invented secrets of the simulated accounts, for the demo only
    "TISKI_DEMO_TWILIO_TOKEN": "demo-twilio-auth-token",
    "TISKI_DEMO_META_SECRET": "demo-meta-app-secret",
    "TISKI_DEMO_META_TOKEN": "demo-meta-access-token",
    "TISKI_DEMO_META_VERIFY": "demo-meta-verify-token",
}


def demo_environment(port: int) -> None:
    """Point the provider APIs at the simulators of a demo served on PORT (PORT + 20: Twilio, + 21: Meta) and
    set the simulated accounts' secrets."""
    os.environ["TISKI_SIMULATORS"] = "1"
    os.environ["TISKI_TWILIO_API_URL"] = f"http://127.0.0.1:{port + 20}"
    os.environ["TISKI_META_GRAPH_URL"] = f"http://127.0.0.1:{port + 21}/v21.0"
    for name, value in SECRETS.items():
        os.environ.setdefault(name, value)
