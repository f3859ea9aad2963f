"""Windows of a first load, and the watermark a partly committed run may claim."""

from datetime import date, datetime, timedelta

from egov.sources.onestop.windows import Window, committed_watermark, plan_windows

DAY = timedelta(days=1)


def test_incremental_run_is_one_open_window_from_the_watermark():
    w = plan_windows(datetime(2025, 6, 1, 12), full_refresh=False, history_start=date(2021, 1, 1),
                     overlap=timedelta(hours=2), months=12, now=datetime(2025, 6, 2))
    assert w == [Window(0, datetime(2025, 6, 1, 10), None)]


def test_first_load_and_full_refresh_split_by_months():
    kwargs = dict(history_start=date(2021, 3, 15), overlap=DAY, months=12,
                  now=datetime(2023, 5, 1))
    first = plan_windows(None, full_refresh=False, **kwargs)
    assert [(w.start, w.end) for w in first] == [
        (datetime(2021, 3, 15), datetime(2022, 3, 1)),
        (datetime(2022, 3, 1), datetime(2023, 3, 1)),
        (datetime(2023, 3, 1), None),
    ]
    assert plan_windows(datetime(2023, 4, 1), full_refresh=True, **kwargs) == first
    assert len(plan_windows(None, full_refresh=False, **{**kwargs, "months": 1})) == 26


def rows(*spec):
    return [{"seq": s, "status": st, "window_to": end, "newest_update": newest}
            for s, st, end, newest in spec]


def test_watermark_covers_only_the_committed_prefix():
    jan, feb = datetime(2022, 1, 1), datetime(2023, 1, 1)
    all_done = rows((0, "committed", jan, datetime(2021, 12, 31, 9)),
                    (1, "committed", feb, datetime(2022, 12, 30)),
                    (2, "committed", None, datetime(2023, 4, 30, 23)))
    assert committed_watermark(all_done, 3) == datetime(2023, 4, 30, 23)
    hole = [r for r in all_done if r["seq"] != 1]
    assert committed_watermark(hole, 3) == datetime(2021, 12, 31, 9)  # not the window's end
    assert committed_watermark(all_done[1:], 3) is None
    failed = [dict(r, status="failed") if r["seq"] == 0 else r for r in all_done]
    assert committed_watermark(failed, 3) is None
    assert committed_watermark(rows((0, "committed", None, None)), 1) is None
