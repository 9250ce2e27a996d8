"""The offline rehearsal and demo: the real bot, all its cogs, in simcord's simulated Discord.

Outside `bot/` on purpose: it imports simcord (the `rehearsal` extra), which the live bot never
loads. `python -m bot` imports it only when there is no token, or for `demo`.
"""

from rehearsal.server import CIRCLE_NAME, run_demo, run_rehearsal

__all__ = ["CIRCLE_NAME", "run_demo", "run_rehearsal"]
