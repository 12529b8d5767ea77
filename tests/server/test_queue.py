"""A burst of requests is queued, not refused; the request log says how long each waited."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from fireside.core.settings import ServerSettings

from .conftest import MakeServer

BURST = 64


def test_a_burst_of_64_is_served_and_the_log_shows_queue_time(make_server: MakeServer,
                                                               model_name: str) -> None:
    assert ServerSettings().max_queue >= BURST  # the default, not a setting made for the test
    server = make_server()
    url = server.base_url + "/chat/completions"

    def one(i: int) -> int:
        resp = httpx.post(url, timeout=300, json={
            "model": model_name, "max_tokens": 2, "temperature": 0,
            "messages": [{"role": "user", "content": f"Say {i}."}]})
        return resp.status_code

    with ThreadPoolExecutor(BURST) as pool:
        codes = list(pool.map(one, range(BURST)))
    assert codes == [200] * BURST  # before: the queue held 8, the rest got 429
    waits = [e.queue_s for e in server.log if e.path.endswith("/chat/completions")]  # type: ignore[attr-defined]
    assert len(waits) == BURST and all(w is not None and w >= 0 for w in waits)
    assert max(w or 0 for w in waits) > 0.05  # most of them really waited their turn
