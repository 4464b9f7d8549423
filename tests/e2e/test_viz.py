"""kedro-viz on the project: the static export (`kedro viz build`) opened in headless
Chromium with the network off, and the live server (`kedro viz run`, as `make viz`).

Both run in the session's trained project copy (conftest's ``trained_project``: the
`training` pipeline has run there with ``--env test``), so dataset previews have files
to show; ``build/`` and ``.viz/`` land in that temporary copy.
"""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.e2e.background import LOOPBACK, free_port, process_group, wait_for_http

pytestmark = pytest.mark.slow

KEDRO = str(Path(sys.executable).with_name("kedro"))
PIPELINES = {
    "data_processing",
    "eda_reporting",
    "modelling",
    "drift_monitoring",
    "drift_simulation",
}
# Which namespaces each registered pipeline shows (modelling is only reachable through
# `training`, which bundles it with data_processing; drift_monitoring needs a batch, so
# it is not in __default__: pipeline_registry.py).
NAMESPACES = {
    "__default__": {"data_processing", "eda_reporting", "drift_simulation"},
    "training": {"data_processing", "modelling"},
    "drift_monitoring": {"drift_monitoring"},
    "drift_simulation": {"drift_simulation"},
}
# Requests a viz page makes to the internet; everything else must be local.
OPTIONAL_REMOTE = ("fonts.googleapis.com", "fonts.gstatic.com")


@pytest.fixture(scope="module")
def viz_build(trained_project: Path) -> Path:
    """`kedro viz build --include-previews` in the trained project copy."""
    build = trained_project / "build"
    shutil.rmtree(build, ignore_errors=True)
    subprocess.run(
        [KEDRO, "viz", "build", "--include-previews"],
        cwd=trained_project,
        check=True,
        capture_output=True,
        timeout=300,
    )
    return build


@pytest.fixture(scope="module")
def viz_site(viz_build: Path):
    """The build folder on a tiny loopback HTTP server (file:// cannot fetch its API)."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(viz_build))
    server = http.server.ThreadingHTTPServer((LOOPBACK, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{LOOPBACK}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _api(build: Path, *parts: str) -> dict:
    return json.loads(build.joinpath("api", *parts).read_text())


def _namespaces(graph: dict) -> set[str]:
    return {n["name"] for n in graph["nodes"] if n["type"] == "modularPipeline"}


def test_build_has_every_pipeline_and_a_layer_on_every_dataset(viz_build):
    main = _api(viz_build, "main")
    pipeline_ids = {p["id"] for p in main["pipelines"]}
    assert PIPELINES | set(NAMESPACES) <= pipeline_ids
    for pipeline_id in pipeline_ids:
        graph = _api(viz_build, "pipelines", pipeline_id)
        datasets = [n for n in graph["nodes"] if n["type"] == "data"]
        assert datasets, pipeline_id
        no_layer = sorted(n["name"] for n in datasets if not n["layer"])
        assert not no_layer, f"{pipeline_id}: datasets without a layer {no_layer}"
    for pipeline_id, expected in NAMESPACES.items():
        assert _namespaces(_api(viz_build, "pipelines", pipeline_id)) == expected
    assert set().union(*NAMESPACES.values()) == PIPELINES


def test_build_shows_the_mlflow_datasets_with_previews(viz_build):
    graph = _api(viz_build, "pipelines", "training")
    by_name = {n["name"]: n for n in graph["nodes"] if n["type"] == "data"}
    types = {name: node["dataset_type"] for name, node in by_name.items()}
    assert types["rpt_candidate_metrics"].endswith("MlflowMetricsHistoryDataset")
    assert types["rpt_confusion_matrix"].endswith("MlflowMatplotlibDataset")
    assert types["rpt_model_comparison"].endswith("MlflowHTMLDataset")
    plot = _api(viz_build, "nodes", by_name["rpt_confusion_matrix"]["id"])
    assert plot["preview_type"] == "ImagePreview"
    assert plot["preview"]  # the PNG, base64
    table = _api(viz_build, "nodes", by_name["prm_students"]["id"])
    assert table["preview_type"] == "TablePreview"


def test_layers_can_be_drawn_in_every_pipeline(viz_build):
    """kedro-viz drops its layer bands when the catalog's layers form a cycle (a node
    reading a later layer and writing an earlier one)."""
    for pipeline in _api(viz_build, "main")["pipelines"]:
        graph = _api(viz_build, "pipelines", pipeline["id"])
        assert graph["layers"], f"{pipeline['id']}: layers form a cycle"


def _open(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector(".pipeline-node", timeout=30_000)
    hints = page.locator(".feature-hints__close")  # the first-visit tour
    if hints.count():
        hints.first.click()
    page.wait_for_timeout(800)  # the graph's zoom-to-fit animation, for the screenshots


@pytest.mark.browser
def test_static_build_draws_the_pipelines_offline(viz_site, offline_page, tmp_path):
    page = offline_page
    # kedro-viz remembers the last pipeline in localStorage and may apply it over the
    # URL's pid once its data arrives; every visit here starts from a clean slate.
    page.add_init_script("window.localStorage.clear()")
    seen = {}
    for pipeline_id in NAMESPACES:
        _open(page, f"{viz_site}/?pid={pipeline_id}")
        labels = page.locator(".pipeline-node--modularPipeline").all_text_contents()
        seen[pipeline_id] = {label.strip() for label in labels}
        page.screenshot(path=tmp_path / f"viz_{pipeline_id}.png")
    assert seen == NAMESPACES

    # expanded: the nodes inside each namespace are drawn
    _open(page, f"{viz_site}/?pid=__default__&expandAllPipelines=true")
    tasks = page.locator(".pipeline-node--task").all_text_contents()
    drawn = {t.strip().lower().replace(" ", "_") for t in tasks}
    assert {"check_raw_structure", "render_html_report", "simulate_drift"} <= drawn
    page.screenshot(path=tmp_path / "viz_default_expanded.png")

    # a kedro-mlflow plot: its type and the PNG preview in the metadata panel
    _open(page, f"{viz_site}/?pid=training")
    page.locator(".pipeline-node--data", has_text="rpt_confusion_matrix").click()
    metadata = page.locator(".pipeline-metadata")
    metadata.wait_for(state="visible")
    assert "MlflowMatplotlibDataset" in metadata.inner_text()
    preview = page.locator("img.pipeline-metadata__plot-image")
    preview.wait_for(state="visible")
    assert preview.get_attribute("src").startswith("data:image/png;base64,")
    assert preview.evaluate("img => img.naturalWidth") > 100  # noqa: PLR2004
    page.screenshot(path=tmp_path / "viz_preview.png")

    remote = [u for u in page.blocked if not any(h in u for h in OPTIONAL_REMOTE)]
    assert not remote, f"the page wanted the network: {remote}"


def test_viz_run_answers_on_loopback(trained_project, tmp_path):
    """`kedro viz run` (what `make viz` starts), stopped with its whole process group."""
    port = free_port(below=49152)  # kedro-viz refuses higher ports
    command = [KEDRO, "viz", "run", "--host", LOOPBACK, "--port", str(port)]
    command += ["--no-browser", "--env", "test"]
    log = tmp_path / "viz.log"
    with process_group(command, log, cwd=trained_project) as process:
        main = json.loads(
            wait_for_http(f"http://{LOOPBACK}:{port}/api/main", process, log, 120)
        )
        assert _namespaces(main) == NAMESPACES["__default__"]
        page = wait_for_http(f"http://{LOOPBACK}:{port}/", process, log, 10)
        assert b"<html" in page.lower()
    with pytest.raises(OSError):  # nothing left listening
        socket.create_connection((LOOPBACK, port), timeout=1).close()
