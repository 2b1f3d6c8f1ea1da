"""The proof that alerts stay silent in a healthy homelab and fire on their own faults.

`world` builds a healthy homelab's series from the model and the rendered objects, `faults` holds
each alert's fault, `promtool` writes both as a `promtool test rules` file and runs it. Every alert
the rules render must have a fault (`missing_faults`); tests/monitoring/test_alert_proof.py runs the
proof on the example and on variants.
"""

from tests.support.alert_proof.faults import FAULTS, Fault, Firing, Scene
from tests.support.alert_proof.promtool import Outcome, missing_faults, run
from tests.support.alert_proof.world import World, build_world

__all__ = ["FAULTS", "Fault", "Firing", "Outcome", "Scene", "World", "build_world", "missing_faults", "run"]
