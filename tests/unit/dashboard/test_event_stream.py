"""The event stream's schedule, on the real event loop and its clock."""

import asyncio
import concurrent.futures
import threading
import time

from shancheng.api.events import EventHub, event_stream


def _collect(seconds, *, flood):
    """Run a lifelines-like stream for ``seconds``: readings published from a thread every
    ``flood`` s (or none), and an alarm that the poll can find from 0.3 s on (as if another
    process had stored it then). Return (seconds from the alarm's being stored to its
    delivery, readings delivered): the poll's schedule, not the poll's own speed."""

    async def main():
        hub = EventHub()
        found: list[float] = []
        stop = threading.Event()

        async def poll():
            if not found and time.monotonic() >= stored_at:
                found.append(time.monotonic())
                return [("alarm", {"sensor_id": "S1"})]
            return []

        async def disconnected():
            return time.monotonic() - started > seconds

        def publisher():
            while not stop.is_set():
                hub.publish("reading", {"value": 1.0})
                time.sleep(flood)

        started = time.monotonic()
        stored_at = started + 0.3
        stream = event_stream(hub, frozenset({"reading"}), disconnected, poll=poll, poll_s=0.5)
        chunks = [await anext(stream)]  # the hub subscription exists from here
        thread = threading.Thread(target=publisher, daemon=True)
        if flood:
            thread.start()
        alarm_at = None
        try:
            async for chunk in stream:
                chunks.append(chunk)
                if chunk.startswith(b"event: alarm") and alarm_at is None:
                    alarm_at = time.monotonic()
        finally:
            stop.set()
        assert found, "the poll never ran after the alarm was stored"
        assert alarm_at is not None, "the poll's alarm never reached the stream"
        readings = sum(chunk.startswith(b"event: reading") for chunk in chunks)
        return alarm_at - stored_at, readings

    # a loop of its own in a thread of its own: a browser test before this one in the same
    # process may have left its (Playwright's) loop running in this thread
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(main())).result()


def test_a_poll_result_arrives_within_one_poll_period_on_a_quiet_hub():
    delay, readings = _collect(1.6, flood=0)
    assert readings == 0
    assert delay < 0.5 + 0.2


def test_readings_many_a_second_do_not_hold_back_the_poll():
    """Before, the poll ran only after ``poll_s`` without any hub event: a server taking
    readings every few milliseconds never showed the alarms raised by other processes."""
    delay, readings = _collect(1.6, flood=0.01)
    assert readings > 50  # the hub's events flowed all along
    assert delay < 0.5 + 0.2
