"""Following a teacher's run: the same snapshots, read only, no run per follower."""
import time
from dataclasses import replace

import pytest

from transformer.config import ModelConfig
from transformer.runs.follow import ALPHABET, CODE_LENGTH, ClassRegistry, FollowedRun, default_classes, normalise_code
from transformer.runs.limiter import RunLimiter
from transformer.runs.live import LiveRun
from transformer.tasks import get_task
from transformer.training import TrainConfig
from transformer.ui.session import SessionLab

TINY = ModelConfig(arch="decoder", d_model=16, n_heads=2, n_layers=1, d_ff=32, pos_encoding="learned")
TRAIN = TrainConfig(steps=100_000, batch_size=8, eval_every=10, eval_size=16, device="cpu", warmup=2, threads=1)


def wait_for(condition, what, timeout=90.0):
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)


@pytest.fixture
def limiter():
    return RunLimiter(2)


@pytest.fixture
def labs():
    made = []

    def make():
        made.append(SessionLab())
        return made[-1]

    yield make
    for lab in made:
        lab.close()


def teacher_run(lab, limiter, seed=0):
    run = LiveRun(get_task("reverse", length=4), TINY, replace(TRAIN, seed=seed), limiter=limiter,
                  snapshot_every=5, snapshot_min_s=0, snapshot_budget=0)
    lab.set_run(run.start())
    return run


def test_codes_are_short_unambiguous_and_read_forgivingly():
    classes = ClassRegistry()
    share = classes.share(lambda: None)
    assert len(share.code) == CODE_LENGTH and set(share.code) <= set(ALPHABET)
    assert not set("01OIL") & set(ALPHABET)
    assert classes.get(f"  {share.code.lower()} ") is share
    for bad in ("", "ABC", share.code + "X", "<b>x</b>", None, "O0O0O"):
        assert normalise_code(bad) is None and classes.get(bad) is None


def test_followers_see_the_teachers_snapshots_and_never_start_a_run(labs, limiter):
    teacher = labs()
    run = teacher_run(teacher, limiter)
    share = teacher.share_run("Ms Rivera")
    students = [labs() for _ in range(5)]
    for student in students:
        student.follow(default_classes().get(share.code))
    wait_for(lambda: len(run.snapshots) >= 3, "a few snapshots")
    for student in students:
        seen = student.run
        assert isinstance(seen, FollowedRun) and seen.followed is run
        mine, theirs = seen.snapshots, run.snapshots
        assert all(a is b for a, b in zip(mine, theirs))  # the very objects: nothing copied, nothing captured
        current = student.current_model()
        assert current.task is run.task and current.step == mine[-1].step
    assert limiter.active == 1  # the teacher's run; not one per follower
    # Read only: a follower's Pause and Stop do nothing to the teacher's run.
    students[0].run.pause()
    students[0].run.stop()
    time.sleep(0.2)
    assert run.status == "training"
    students[1].close()  # a student's tab closes
    assert run.status == "training"


def test_followers_move_on_with_the_teacher_and_keep_the_last_snapshot_when_the_teacher_leaves(labs, limiter):
    teacher, student = labs(), labs()
    first = teacher_run(teacher, limiter)
    share = teacher.share_run()
    student.follow(share)
    wait_for(lambda: len(first.snapshots) >= 2, "snapshots of the first run")
    old_id = student.run_id
    second = teacher_run(teacher, limiter, seed=1)  # the teacher presses Train again
    assert student.run.followed is second and student.run_id != old_id
    wait_for(lambda: len(second.snapshots) >= 2, "snapshots of the second run")
    teacher.close()  # the teacher's tab closes: their run stops
    assert share.ended and default_classes().get(share.code) is None
    kept = student.run
    assert kept.followed is second and kept.status == "stopped"
    assert kept.latest() is not None and student.current_model().step == kept.latest().step


def test_a_follower_who_trains_a_run_of_their_own_stops_following(labs, limiter):
    teacher, student = labs(), labs()
    teacher_run(teacher, limiter)
    student.follow(teacher.share_run())
    own = teacher_run(student, limiter, seed=3)
    assert student.following is None and student.run is own
