"""A vision model's repo on the Hub: its projector is not offered as a model, comes with
whichever quant is picked (f16 preferred, as llama.cpp's -hf picks), lands beside it, and the
loaded model reads images through it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hardware.vision import write_vision_pair
from hub_server import HubFile, HubRepo, HubServer

from fireside.core.context import AppContext
from fireside.core.hub.catalog import repo_detail
from fireside.core.hub.common import HubConfig
from fireside.core.hub.download import download_verified
from fireside.core.hub.pull import pick
from fireside.core.inference.engine import Engine
from fireside.core.inference.types import LoadSettings

REPO = "fireside-test/Tiny-Vision-GGUF"


@pytest.fixture
def vision_repo(hub: HubServer, tmp_path: Path) -> Iterator[str]:
    model, projector = write_vision_pair(tmp_path / "served")
    hub.repos[REPO] = HubRepo(REPO, [
        HubFile("tiny-vision-Q8_0.gguf", source=model),
        HubFile("tiny-vision-F16.gguf", source=model),
        HubFile("mmproj-tiny-vision-Q8_0.gguf", source=projector),
        HubFile("mmproj-tiny-vision-f16.gguf", source=projector),
    ], card_data={"license": "apache-2.0"}, readme="# Tiny Vision\n")
    yield REPO
    del hub.repos[REPO]


def test_the_projector_comes_with_the_model(vision_repo: str, config: HubConfig,
                                            app_ctx: AppContext) -> None:
    detail = repo_detail(config, vision_repo, with_readme=False)
    assert sorted(c.name for c in detail.choices) == ["tiny-vision-F16.gguf",
                                                      "tiny-vision-Q8_0.gguf"]
    assert {c.projector for c in detail.choices} == {"mmproj-tiny-vision-f16.gguf"}
    assert not any(c.split for c in detail.choices)
    choice = pick(detail, "Q8_0")
    model, _ = download_verified(config, app_ctx.library, app_ctx.paths.downloads, vision_repo,
                                 [f.path for f in choice.files],
                                 sizes={f.path: f.size for f in choice.files},
                                 shas={f.path: f.sha256 for f in choice.files})
    assert [m.name for m in app_ctx.library.list()] == [model.name]  # one model, no mmproj
    listed = model.to_json()
    assert Path(listed["projector"]).name == "mmproj-tiny-vision-f16.gguf"
    assert Path(listed["projector"]).parent == model.path.parent
    engine = Engine()
    try:
        assert engine.load(model.path, LoadSettings(n_ctx=256, parallel=1)).projector
    finally:
        engine.unload()
    # removing the repo's last model takes its projector (and the folder) with it
    app_ctx.library.remove(model.name)
    assert not model.path.parent.exists()
