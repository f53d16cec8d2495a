"""The event stream's schedule, on the real event loop and its clock."""

import asyncio
import concurrent.futures
import threading
import time

from shancheng.api.events import EventHub, event_stream


def _collect(seconds, *, flood):
    """Run a lifelines-like stream for ``seconds``: readings published from a thread every
    ``flood`` s (or none), and a poll that finds one alarm on its first call after 0.3 s.
    Return (seconds from the alarm's appearance to its delivery, readings delivered)."""

    async def main():
        hub = EventHub()
        appeared: list[float] = []
        stop = threading.Event()

        async def poll():
            if not appeared and time.monotonic() - started >= 0.3:
                appeared.append(time.monotonic())
                return [("alarm", {"sensor_id": "S1"})]
            return []

        async def disconnected():
            return time.monotonic() - started > seconds

        def publisher():
            while not stop.is_set():
                hub.publish("reading", {"value": 1.0})
                time.sleep(flood)

        started = time.monotonic()
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
        assert appeared, "the poll never ran"
        assert alarm_at is not None, "the poll's alarm never reached the stream"
        readings = sum(chunk.startswith(b"event: reading") for chunk in chunks)
        return alarm_at - appeared[0], readings

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
