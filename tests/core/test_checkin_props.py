"""Any order of ticks, answers, a stranger's click and takes (Hypothesis): each step at most once, the
question asked once, a stranger and someone who does not work the role always refused, a take only
after cover was sought, and the channel asked only after the backup."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.models import CheckIn, RotaCommand
from tests.conftest import make_database
from tests.core.test_checkin import MONDAY_9, CheckinDesk, console, seed, world

STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("wait"), st.integers(0, 12)),
        st.sampled_from([("here", 0), ("cover", 0), ("stranger", 0), ("take_dave", 0), ("take_erin", 0)]),
    ),
    max_size=12,
)


def test_any_interleaving_takes_each_step_at_most_once(tmp_path: Path) -> None:
    loop = asyncio.new_event_loop()
    db, _ = loop.run_until_complete(make_database("sqlite", tmp_path))
    loop.run_until_complete(seed(db))
    week = [0]

    async def one(steps: list[tuple[str, int]]) -> None:
        # each example a new Monday (09:00 London, GMT or BST): a new shift, a new check-in
        day = (MONDAY_9 + timedelta(weeks=week[0])).date()
        start = datetime.combine(day, time(9), ZoneInfo("Europe/London")).astimezone(UTC)
        week[0] += 1
        desk = CheckinDesk(desk="console")
        w = await world(db, start, desk=desk)
        await w.tick()
        assert [who for who, _ in desk.asked] == ["bob"]
        number = desk.asked[0][1]
        events: list[str] = []
        for verb, minutes in steps:
            if verb == "wait":
                await w.tick(minutes)
            elif verb in ("here", "cover"):
                ok, _ = await w.act(CheckIn(console("bob"), here=verb == "here", checkin_id=number))
                events.append(f"{verb}:{ok}")
            elif verb == "stranger":
                assert (await w.act(CheckIn(console("carol"), here=True, checkin_id=number)))[0] is False
            else:
                who = "dave" if verb == "take_dave" else "erin"
                ok, _ = await w.act(RotaCommand(console(who), f"take {number}"))
                assert not (ok and who == "erin")
                if ok:
                    assert w.told("cover") != [] or desk.announced != []  # cover was sought first
                    assert w.service.rota.on_duty("reference", w.clock.now) == ("dave",)
                    events.append("taken")
            backup = len(w.told("You are on circulation"))
            channel = len([t for t in desk.announced if "needs cover" in t])
            assert backup <= 1 and channel <= 1 and events.count("taken") <= 1
            assert channel <= backup  # the backup (always on duty here) is asked before the channel
        await w.tick(60)
        assert len(desk.asked) == 1
        assert len([t for t in desk.announced if "is covered:" in t]) == events.count("taken")

    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(STEPS)
    def check(steps: list[tuple[str, int]]) -> None:
        loop.run_until_complete(one(steps))

    try:
        check()
    finally:
        loop.run_until_complete(db.aclose())
        loop.close()
