"""Following a teacher's run: a short class code under which other sessions watch it, read only.

    classes = default_classes()
    share = classes.share(lambda: teacher_lab.run, owner="Ms Rivera")   # the teacher's side
    share.code                                                          # "K7Q2M"
    share = classes.get("k7q2m")                                        # a student's side
    FollowedRun(share.run())                                            # reads as the run

One run, many viewers: a follower reads the very snapshots the teacher's run published (immutable,
shared by reference); nothing is trained or captured per viewer. A `Share` asks the teacher's
session for its run each time, so a follower moves on with the teacher to the next run; when the
teacher's session ends (`ClassRegistry.end`) the code stops working and its followers keep the
last run they saw, stopped, to explore. No Streamlit here: `transformer.ui.classroom` draws it.
"""
from __future__ import annotations

import secrets
import threading
from typing import Callable

# No 0/O, 1/I/L: a code is read off a projector and typed by hand.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 5  # 31**5, about 29 million codes: not guessable by trying a few


def normalise_code(text) -> str | None:
    """A typed or linked code in its canonical form ("k7q2m " -> "K7Q2M"), or None when it
    cannot be one (wrong length or characters)."""
    code = str(text or "").strip().upper()
    if len(code) != CODE_LENGTH or any(c not in ALPHABET for c in code):
        return None
    return code


class Share:
    """What a class code points to: a session's current run, asked for at each read."""

    def __init__(self, code: str, current: Callable[[], object], owner: str = ""):
        self.code, self.owner = code, owner
        self._current = current
        self._last = None
        self.ended = False

    def run(self):
        """The teacher's run now; once the teacher's session has ended (or between runs, after
        a Reset), the last run it had."""
        if not self.ended:
            run = self._current()
            if run is not None:
                self._last = run
        return self._last


class ClassRegistry:
    """The server's class codes. Safe from any thread."""

    def __init__(self):
        self._lock = threading.Lock()
        self._shares: dict[str, Share] = {}

    def share(self, current: Callable[[], object], owner: str = "") -> Share:
        """A new code for the run `current()` returns."""
        with self._lock:
            while True:
                code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
                if code not in self._shares:
                    break
            share = self._shares[code] = Share(code, current, owner)
        return share

    def get(self, code) -> Share | None:
        code = normalise_code(code)
        with self._lock:
            return self._shares.get(code) if code else None

    def end(self, share: Share) -> None:
        """The teacher's session has ended: followers keep the last run; the code stops working."""
        share.run()  # remember the run as it is now
        share.ended = True
        with self._lock:
            if self._shares.get(share.code) is share:
                del self._shares[share.code]

    def __len__(self) -> int:
        with self._lock:
            return len(self._shares)


class FollowedRun:
    """Another session's run, read only: it reads as that run (status, progress, history,
    snapshots, model_copy, ...), and pause, step, resume and stop do nothing to it.

    `stop` only lets go (the follower's session ends or moves on); the run is the teacher's.
    """

    read_only = True

    def __init__(self, run, share: Share | None = None):
        self.followed = run
        self.share = share

    def __getattr__(self, name):
        return getattr(self.followed, name)

    @property
    def status(self) -> str:
        return self.followed.status

    def pause(self) -> None:
        pass

    def resume(self) -> None:
        pass

    def step_once(self) -> None:
        pass

    def stop(self, timeout: float | None = None) -> bool:
        return True

    def join(self, timeout: float | None = None) -> bool:
        return True


_CLASSES = ClassRegistry()


def default_classes() -> ClassRegistry:
    """The server's class codes."""
    return _CLASSES
