"""Remote-provider fixtures: the stand-in provider on loopback and a Remote pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from remote_provider import GRANTED_KEY, Faults, Provider

from fireside.core import context
from fireside.core.remote.providers import Provider as ProviderConfig
from fireside.core.remote.service import Remote


@pytest.fixture
def standin() -> Iterator[Provider]:
    provider = Provider(Faults()).start()
    yield provider
    provider.stop()


@pytest.fixture
def ctx() -> context.AppContext:
    return context.build()


@pytest.fixture
def remote(ctx: context.AppContext, standin: Provider) -> Remote:
    """``groq`` configured against the stand-in with the key it grants; short timeouts."""
    r = Remote(ctx.paths.config, ctx.paths.cache, ctx.settings.secrets, connect_timeout=2.0,
               read_timeout=1.0)
    r.store.save(ProviderConfig("groq", standin.base_url, "groq", {"X-Title": "Fireside"}),
                 GRANTED_KEY)
    return r
