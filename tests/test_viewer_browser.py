"""`aios view` in a real browser: Debian's chromium, headless, driven by Playwright.

The viewer runs as a subprocess on a generated results file; the test looks at screenshots:
each track's colour (the overlay's, `track_colour`) must appear where that person's mesh
projects through the viewer's start camera, move with the timeline, and vanish when the
track is switched off. Screenshots are kept under test-artifacts/ (git-ignored).
"""

from __future__ import annotations

import importlib.util
import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from aios_core.body.smplx_model import SmplxModel
from aios_core.rendering.overlay import track_colour
from aios_core.results.results_file import save_results
from aios_core.viewer.display_frame import START_VIEW_OFFSET_M
from tests.viewer_results import walking_people

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
VIEWPORT_WH = (1024, 576)
NUM_FRAMES = 20
# Track ids whose hues stay clear of the viewer's own colours (blue buttons, axes, the orange
# software-rendering notice).
TRACK_PATHS_M = {1: ((-0.8, -0.5, 6.0), (-1.4, -0.5, 6.0)),
                 7: ((0.8, -0.5, 6.0), (0.2, -0.5, 4.5))}
# swiftshader: WebGL in software, no GPU needed.
CHROMIUM_ARGS = ["--use-angle=swiftshader", "--use-gl=angle", "--enable-unsafe-swiftshader",
                 "--ignore-gpu-blocklist"]
HUE_TOLERANCE = 0.04
MIN_PIXELS = 150
SCENE_TIMEOUT_S = 180.0


def _missing(message: str) -> None:
    """Skip on a developer's machine; in CI (CI=true) the browser test must run, so fail."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        _missing("Debian's chromium is not installed (apt-get install chromium; ./install.sh)")
    for module in ("playwright", "viser"):
        if importlib.util.find_spec(module) is None:
            _missing(f"{module} is not installed (pip install -e '.[dev,view]'; ./install.sh)")
    return path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ViewerProcess:
    """`aios view` as a subprocess; ``url`` once it says where it serves."""

    def __init__(self, args: list[str]):
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "aios_cli", "view", *args], env=env, cwd=ROOT,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stderr:
            self.lines.put(line.rstrip("\n"))

    def wait_for_url(self, timeout_s: float = 120.0) -> str:
        deadline = time.monotonic() + timeout_s
        seen = []
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1.0)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            seen.append(line)
            match = re.search(r"viewer at (http://\S+)", line)
            if match:
                return match.group(1)
        raise AssertionError(f"aios view did not start: {seen}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _projected_boxes(results, smplx_dir: Path, position: int) -> dict[int, np.ndarray]:
    """Screen-pixel (x0, y0, x1, y1) of each person's mesh at ``position`` through the
    viewer's start camera (three.js look-at camera, vertical field of view)."""
    rows = np.flatnonzero(results.detections["frame_index"] == position)
    first = np.flatnonzero(results.detections["frame_index"] == 0)
    det = results.detections
    body = SmplxModel(smplx_dir)
    with torch.no_grad():
        out = body(*(torch.as_tensor(det[key][rows]) for key in (
            "global_orient", "body_pose", "left_hand_pose", "right_hand_pose", "jaw_pose",
            "betas", "expression")))
    vertices = out.vertices.numpy() + det["transl_m"][rows, None]
    eye = START_VIEW_OFFSET_M
    forward = det["transl_m"][first].mean(axis=0) - eye
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, [0.0, -1.0, 0.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    width, height = VIEWPORT_WH
    tan_half = results.image_size_wh[1] / 2 / results.focal_px[1]
    boxes = {}
    for track_id, points in zip(det["track_id"][rows], vertices, strict=True):
        relative = points - eye
        depth = relative @ forward
        x_ndc = (relative @ right) / depth / (tan_half * width / height)
        y_ndc = (relative @ up) / depth / tan_half
        x_px, y_px = (x_ndc + 1) / 2 * width, (1 - y_ndc) / 2 * height
        boxes[int(track_id)] = np.array([x_px.min(), y_px.min(), x_px.max(), y_px.max()])
    return boxes


def _track_masks(png: bytes) -> dict[int, np.ndarray]:
    """Per track, the screenshot's pixels of that track's hue (saturated, not dark)."""
    bgr = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    hsv = cv2.cvtColor(bgr, cv2.COLOR_BGR2HSV_FULL).astype(np.float64) / 255.0
    coloured = (hsv[..., 1] > 0.2) & (hsv[..., 2] > 0.2)
    masks = {}
    for track_id in TRACK_PATHS_M:
        red, green, blue = track_colour(track_id)
        hue = cv2.cvtColor(np.uint8([[[blue * 255, green * 255, red * 255]]]),
                           cv2.COLOR_BGR2HSV_FULL)[0, 0, 0] / 255.0
        distance = np.abs((hsv[..., 0] - hue + 0.5) % 1.0 - 0.5)
        masks[track_id] = coloured & (distance < HUE_TOLERANCE)
    return masks


def _inside_fraction(mask: np.ndarray, box: np.ndarray, pad_px: float = 12.0) -> float:
    ys, xs = np.nonzero(mask)
    inside = ((xs >= box[0] - pad_px) & (xs <= box[2] + pad_px)
              & (ys >= box[1] - pad_px) & (ys <= box[3] + pad_px))
    return float(inside.mean()) if len(xs) else 0.0


def _centroid(mask: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(mask)
    return np.array([xs.mean(), ys.mean()])


def _box_centre(box: np.ndarray) -> np.ndarray:
    return np.array([box[0] + box[2], box[1] + box[3]]) / 2


def _hide_notifications(page) -> None:
    """Hide viser's "software WebGL" notice: it covers part of the picture."""
    page.add_style_tag(content=".mantine-Notification-root { display: none !important; }")


def _screenshot_until(page, condition, what: str, timeout_s: float = SCENE_TIMEOUT_S):
    """Screenshots until ``condition(masks)`` holds; returns (png, masks)."""
    deadline = time.monotonic() + timeout_s
    while True:
        png = page.screenshot(timeout=timeout_s * 1000)
        masks = _track_masks(png)
        if condition(masks):
            return png, masks
        if time.monotonic() > deadline:
            counts = {t: int(m.sum()) for t, m in masks.items()}
            raise AssertionError(f"timed out waiting for {what}; track pixels {counts}")
        time.sleep(0.5)


def _keep(png: bytes, name: str, tmp_path: Path) -> None:
    (tmp_path / name).write_bytes(png)
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(tmp_path / name, ARTIFACTS / name)


def test_viewer_shows_moves_and_hides_tracks_in_chromium(smplx_model_dir, tmp_path):
    chromium = _chromium()
    from playwright.sync_api import sync_playwright

    results = walking_people(NUM_FRAMES, TRACK_PATHS_M)
    results_path = save_results(results, tmp_path / "walk.aios.npz")
    first_boxes = _projected_boxes(results, smplx_model_dir, 0)
    last_boxes = _projected_boxes(results, smplx_model_dir, NUM_FRAMES - 1)
    viewer = ViewerProcess([str(results_path), "--smplx-dir", str(smplx_model_dir),
                            "--port", str(_free_port())])
    try:
        url = viewer.wait_for_url()
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, headless=True,
                                                 args=CHROMIUM_ARGS)
            width, height = VIEWPORT_WH
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(url)
            page.get_by_role("slider").wait_for(timeout=SCENE_TIMEOUT_S * 1000)
            _hide_notifications(page)

            def both_in_place(masks, boxes=first_boxes):
                return all(masks[t].sum() >= MIN_PIXELS
                           and _inside_fraction(masks[t], boxes[t]) > 0.9 for t in boxes)

            png, masks = _screenshot_until(page, both_in_place, "both people at frame 0")
            _keep(png, "viewer_frame0.png", tmp_path)

            # The timeline: the slider's End key jumps to the last frame.
            page.get_by_role("slider").focus()
            page.keyboard.press("End")
            png_last, masks_last = _screenshot_until(
                page, lambda m: both_in_place(m, last_boxes), "both people at the last frame")
            _keep(png_last, "viewer_last_frame.png", tmp_path)
            for track_id in TRACK_PATHS_M:  # each colour moved as its mesh did
                moved_px = _centroid(masks_last[track_id]) - _centroid(masks[track_id])
                expected_px = _box_centre(last_boxes[track_id]) - _box_centre(first_boxes[track_id])
                assert np.linalg.norm(expected_px) > 40
                assert np.linalg.norm(moved_px - expected_px) < 0.3 * np.linalg.norm(expected_px)

            # Switching track 7 off removes its colour; track 1 stays.
            page.get_by_role("checkbox", name=re.compile(r"track 7\b")).click()
            png_off, masks_off = _screenshot_until(
                page, lambda m: m[7].sum() < 10, "track 7 to disappear")
            _keep(png_off, "viewer_track7_off.png", tmp_path)
            assert masks_off[1].sum() >= MIN_PIXELS
            assert _inside_fraction(masks_off[1], last_boxes[1]) > 0.9
            browser.close()
    finally:
        viewer.stop()
