"""The benchmarks work: each runs at tiny sizes and produces its rows, and the correctness
checks inside them hold (every post of a burst delivered once, in order). No timing is
asserted: figures at these sizes mean nothing."""

from __future__ import annotations

import pytest

from bench import __main__ as cli
from bench.burst import burst, check_delivery, one_service_burst
from bench.common import Result, Row, percentile, render_table
from bench.growth import growth
from bench.interactions import FLOWS, TRIP_TARGETS, interaction_cost, one_run
from bench.memory import memory
from bench.services import NOW, RecordingThread, Sent
from bench.startup import startup
from bench.storage import storage
from bot.services.anonymous import AnonPost


def assert_rows(result: Result, benchmark: str, count: int) -> None:
    rows = [row for row in result.rows if row.benchmark.startswith(benchmark)]
    assert len(rows) == count, render_table(result.rows)
    for row in rows:
        assert row.measure and row.ours and row.baseline and row.ratio and row.target
    assert result.notes


async def test_interaction_cost_compares_with_the_bare_bot() -> None:
    result = await interaction_cost(runs=1, posts=2, prompts=2, joins=2)
    assert_rows(result, "Interaction", 8 * len(FLOWS))
    compared = [row for row in result.rows if "without simcord's idle waits" in row.measure]
    assert len(compared) == len(FLOWS)
    assert all(row.target.startswith("≤ 1.25") for row in compared)
    assert "database round trips" in result.notes[0]


async def test_database_round_trips_stay_within_their_budget() -> None:
    """One read when the form opens, one unit to accept a post, one to claim it for sending,
    one to record it posted; two for /prompt next and two for a join (one per click)."""
    samples = await one_run(bare=False, posts=5, prompts=3, joins=3)
    trips = {key: sample.db_round_trips for key, sample in samples.items()}
    assert trips.keys() == TRIP_TARGETS.keys()
    for key, budget in TRIP_TARGETS.items():
        # Every flow reads or stores something: none counted would mean the count missed them.
        assert 0 < trips[key] <= budget, trips


async def test_service_burst_delivers_every_post_once_in_order() -> None:
    acknowledged, delivered = await one_service_burst(200)
    assert len(acknowledged) == 200
    assert all(0 < seconds <= delivered for seconds in acknowledged)


async def test_burst_rows() -> None:
    result = await burst(runs=1, posts=20, simcord_runs=1, simcord_posts=6)
    assert_rows(result, "Burst", 6)
    assert any(row.ours.startswith("20 of 20 in ") for row in result.rows)


def test_delivery_check_catches_lost_doubled_and_reordered_posts() -> None:
    def post(n: int) -> AnonPost:
        return AnonPost(
            id=n,
            token=f"t{n}",
            circle_id=1,
            label=f"L{n}",
            label_key=b"k",
            status="posted",
            text=None,
            content_note=None,
            reply_to_message_id=None,
            quote_link=None,
            message_id=None,
            review_message_id=None,
            created_at=NOW,
            deliver_at=None,
            decided_at=None,
        )

    stored = [post(1), post(2)]

    def thread(*numbers: int) -> RecordingThread:
        return RecordingThread(1, [Sent(n, f"t{n}", f"Anonymous · L{n}") for n in numbers])

    check_delivery(thread(1, 2), stored, 2)
    for wrong in (thread(1), thread(1, 1), thread(2, 1)):
        with pytest.raises(AssertionError):
            check_delivery(wrong, stored, 2)


async def test_storage_rows() -> None:
    result = await storage(runs=1, posts=20, queries=20)
    assert_rows(result, "Storage", 2)
    assert result.rows[0].target.startswith("≥ 0.5")


async def test_growth_rows_and_query_plans() -> None:
    result = await growth(sizes=(50, 200), runs=1, count=3)
    assert_rows(result, "Growth", 4)
    plans = [note for note in result.notes if note.startswith("  ")]
    assert any(line.strip().startswith("posts_by: SEARCH") for line in plans), plans
    assert len(plans) == 11


async def test_memory_rows() -> None:
    result = await memory(runs=1, circles=2, members=6)
    assert_rows(result, "Memory", 6)
    assert result.rows[3].target.startswith("≤ 50 MB")


def test_cli_prints_the_machine_and_one_table(capsys: pytest.CaptureFixture[str]) -> None:
    cli.main(["--quick", "--only", "storage"])
    out = capsys.readouterr().out
    assert out.startswith("Machine: ")
    tables = [line for line in out.splitlines() if line.startswith("| Benchmark |")]
    assert len(tables) == 1
    assert "| Storage |" in out


def test_table_and_percentiles() -> None:
    table = render_table([Row("B", "m", "1 ms")])
    assert table.splitlines()[2] == "| B | m | 1 ms | — | — | — |"
    values = [float(n) for n in range(1, 101)]
    assert percentile(values, 0.5) == 50
    assert percentile(values, 0.99) == 99
    assert percentile([3.0], 0.99) == 3.0


async def test_startup_row_compares_with_the_bare_bot() -> None:
    result = await startup(runs=1, posts=50, memberships=20, circles=4)
    assert_rows(result, "Start-up", 1)
    assert result.rows[0].target.startswith("≤ +1.00 s")
