"""Python's cyclic garbage collector, paused while the lab starts.

Start-up makes a few hundred thousand objects that live as long as the app (Textual's
classes, its stylesheet, the widgets); the collector went over them again and again before
the first frame and freed next to nothing: about an eighth of that frame's CPU.
``lstm-lab`` pauses it before it imports the app, and the app resumes it once its first
frame is painted (the first collection then runs after that frame, once).
"""

from __future__ import annotations

import gc

_paused = False


def pause() -> None:
    """Turn the collector off for start-up (nothing to do when it is off already)."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume() -> None:
    """Turn the collector back on, if `pause` turned it off."""
    global _paused
    if _paused:
        _paused = False
        gc.enable()
