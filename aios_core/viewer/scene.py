"""The viser scene and controls of `aios view`: people, camera, floor, timeline, tracks.

Drawing happens on one thread (``_draw_loop``) that always draws the newest frame asked for,
so dragging the timeline or playing fast skips frames instead of queueing them.
"""

from __future__ import annotations

import logging
import threading
import time

import numpy as np
import viser

from aios_core.rendering.overlay import track_colour
from aios_core.results.results_file import RunResults
from aios_core.viewer.display_frame import (
    DisplayFrame,
    Intrinsics,
    boxes_cam,
    keypoints_cam,
    start_view,
)
from aios_core.viewer.mesh_cache import ChunkedMeshes, FramePeople
from aios_core.viewer.timeline import Timeline
from aios_core.viewer.video_frames import VideoFrames

log = logging.getLogger(__name__)

SPEEDS = ("0.25x", "0.5x", "1x", "2x", "4x")
FRUSTUM_SCALE_M = 0.2
FRUSTUM_THICKNESS_PX = 2.0
KEYPOINT_SIZE_M = 0.02
BOX_THICKNESS_PX = 2.0


def track_rgb(track_id: int) -> tuple[int, int, int]:
    """The track's colour in the overlay video (`aios run --render`), as 0-255 integers."""
    red, green, blue = (track_colour(track_id) * 255).round().astype(int)
    return int(red), int(green), int(blue)


def track_label(track) -> str:
    return f"track {track.track_id} ({track.first_frame}-{track.last_frame})"


class ViewerScene:
    """Builds the scene and controls on ``server`` and keeps them in step with the timeline."""

    def __init__(self, server: viser.ViserServer, results: RunResults, timeline: Timeline,
                 meshes: ChunkedMeshes, video: VideoFrames | None = None):
        self.server = server
        self.results = results
        self.timeline = timeline
        self.meshes = meshes
        self.video = video
        self.display = DisplayFrame.of(results, timeline.num_frames)
        self.intrinsics = Intrinsics.of(results, timeline.num_frames)
        self._people: dict[tuple[int, int], viser.MeshHandle] = {}
        self._overlays: dict[str, viser.SceneNodeHandle] = {}  # keypoints, boxes when shown
        self._wanted: int | None = None
        self._wake = threading.Condition()
        self._stopped = threading.Event()
        self._playing = False
        self._build_scene()
        self._build_controls()
        self._threads = [threading.Thread(target=loop, daemon=True, name=name)
                         for loop, name in ((self._draw_loop, "aios-view-draw"),
                                            (self._play_loop, "aios-view-play"))]
        for thread in self._threads:
            thread.start()
        self.show(0)

    # ------------------------------------------------------------------ set-up

    def _build_scene(self) -> None:
        scene = self.server.scene
        scene.set_up_direction(self.display.up_direction)
        if self.display.has_floor:
            centre, size = self._floor_extent()
            self.floor = scene.add_grid("/floor", width=size, height=size, plane="xz",
                                        position=(centre[0], 0.0, centre[1]), cell_size=0.5)
            scene.add_frame("/world_frame", axes_length=0.5, axes_radius=0.01)
        else:
            scene.add_frame("/camera_frame", axes_length=0.3, axes_radius=0.008)
        self.frustum = scene.add_camera_frustum(
            "/camera", fov=self.intrinsics.vertical_fov_rad(0),
            aspect=self.intrinsics.aspect(0), scale=FRUSTUM_SCALE_M, color=(60, 60, 60),
            thickness=FRUSTUM_THICKNESS_PX, thickness_units="screen",
            format="jpeg", wxyz=self.display.camera_wxyz(0),
            position=self.display.camera_position[0],
        )
        path = np.asarray(self.display.camera_position, np.float32)  # (F, 3)
        if self.display.has_floor and len(path) > 1 and np.ptp(path, axis=0).max() > 0.01:
            # A camera that walks: its whole path, the frustum rides along it.
            scene.add_line_segments(
                "/camera_path", np.stack([path[:-1], path[1:]], axis=1),
                np.full((len(path) - 1, 2, 3), 60, np.uint8),
                thickness=FRUSTUM_THICKNESS_PX, thickness_units="screen",
            )
        first = next((k for k in range(self.timeline.num_frames)
                      if len(self.timeline.rows(k))), 0)
        view = start_view(self.display, self.intrinsics, first, self._people_centre(first))
        camera = self.server.initial_camera
        camera.position = tuple(view.position)
        camera.look_at = tuple(view.look_at)
        camera.up = tuple(view.up)
        camera.fov = view.vertical_fov_rad

    def _floor_extent(self) -> tuple[np.ndarray, float]:
        world = self.results.world
        points = np.concatenate([np.asarray(world.transl_m)[:, [0, 2]],
                                 np.asarray(world.camera_position_m)[:, [0, 2]]])
        centre = (points.min(axis=0) + points.max(axis=0)) / 2
        span = float(np.ptp(points, axis=0).max()) if len(points) else 0.0
        return centre, max(6.0, 2 * np.ceil(span / 2 + 2))

    def _people_centre(self, position: int) -> np.ndarray | None:
        rows = self.timeline.rows(position)
        if not len(rows):
            return None
        origins = self.results.detections["transl_m"][rows].astype(np.float64)
        return self.display.to_display(position, origins).mean(axis=0)

    def _build_controls(self) -> None:
        gui = self.server.gui
        gui.configure_theme(control_width="medium", show_share_button=False)
        last = max(self.timeline.num_frames - 1, 1)
        with gui.add_folder("Playback"):
            self.slider = gui.add_slider("Frame", min=0, max=last, step=1, initial_value=0,
                                         disabled=self.timeline.num_frames < 2)
            self.play_button = gui.add_button("Play", icon=viser.Icon.PLAYER_PLAY)
            self.step_buttons = gui.add_button_group("Step", ("previous", "next"))
            self.speed = gui.add_dropdown("Speed", SPEEDS, initial_value="1x")
            self.info = gui.add_markdown("")
        with gui.add_folder("Show"):
            self.show_video = gui.add_checkbox("Video frame", self.video is not None,
                                               disabled=self.video is None)
            self.show_keypoints = gui.add_checkbox("Keypoints", False)
            self.show_boxes = gui.add_checkbox("Boxes", False)
            if self.display.has_floor:
                self.show_floor = gui.add_checkbox("Floor", True)
                self.show_floor.on_update(lambda _: self._set_floor_visible())
        with gui.add_folder("Tracks"):
            self.track_toggles = {
                track.track_id: gui.add_checkbox(track_label(track), True,
                                                 hint=f"{track.num_frames} frames with this person")
                for track in self.timeline.tracks
            }
        self.slider.on_update(lambda _: self.show(int(self.slider.value)))
        self.play_button.on_click(lambda _: self.set_playing(not self._playing))
        self.step_buttons.on_click(lambda event: self.step(-1 if event.target.value == "previous"
                                                           else 1))
        for toggle in (self.show_video, self.show_keypoints, self.show_boxes,
                       *self.track_toggles.values()):
            toggle.on_update(lambda _: self.show(int(self.slider.value)))

    def _set_floor_visible(self) -> None:
        self.floor.visible = self.show_floor.value

    # ------------------------------------------------------------------ timeline

    def show(self, position: int) -> None:
        """Ask for timeline ``position`` to be drawn (the draw thread does it)."""
        with self._wake:
            self._wanted = int(np.clip(position, 0, self.timeline.num_frames - 1))
            self._wake.notify()

    def step(self, frames: int) -> None:
        self.set_playing(False)
        self.slider.value = int(np.clip(self.slider.value + frames, 0,
                                        self.timeline.num_frames - 1))

    def set_playing(self, playing: bool) -> None:
        self._playing = playing and self.timeline.num_frames > 1
        self.play_button.label = "Pause" if self._playing else "Play"
        self.play_button.icon = viser.Icon.PLAYER_PAUSE if self._playing else viser.Icon.PLAYER_PLAY

    def close(self) -> None:
        self._stopped.set()
        with self._wake:
            self._wake.notify()
        for thread in self._threads:
            thread.join(timeout=5)

    def _play_loop(self) -> None:
        """While playing, move the slider with the clock (frame rate x speed); the user moving
        the slider or changing the speed restarts the clock from there."""
        clock_s, start, last, speed = time.monotonic(), 0, -1, ""
        while not self._stopped.wait(1 / 60):
            current = int(self.slider.value)
            if not self._playing or current != last or self.speed.value != speed:
                clock_s, start, last, speed = time.monotonic(), current, current, self.speed.value
                continue
            rate = self.timeline.fps * float(speed.rstrip("x"))
            position = start + int((time.monotonic() - clock_s) * rate)
            if position >= self.timeline.num_frames:  # loop
                clock_s, start, position = time.monotonic(), 0, 0
            if position != current:
                self.slider.value = position
            last = position

    def _draw_loop(self) -> None:
        while True:
            with self._wake:
                while self._wanted is None and not self._stopped.is_set():
                    self._wake.wait()
                if self._stopped.is_set():
                    return
                position, self._wanted = self._wanted, None
            try:
                self._draw(position)
            except Exception as error:  # keep serving: the next frame may draw fine
                log.error("aios view: cannot draw frame %d (%s: %s)", position,
                          type(error).__name__, error)
                continue
            if self._playing:
                self.meshes.prefetch(position + self.meshes.chunk_frames)

    # ------------------------------------------------------------------ drawing

    def _draw(self, position: int) -> None:
        people = self.meshes.frame(position)
        image = None
        if self.video is not None and self.show_video.value:
            image = self.video.frame(int(self.timeline.frame_indices[position]),
                                     float(self.timeline.timestamps_s[position]))
        with self.server.atomic():
            self._draw_people(position, people)
            self._draw_camera(position, image)
            self._draw_keypoints_and_boxes(position, people)
            self.info.content = (
                f"input frame **{self.timeline.frame_indices[position]}** · "
                f"{self.timeline.timestamps_s[position]:.2f} s · {len(people.rows)} people · "
                f"{self.display.name} frame"
            )

    def _visible(self, people: FramePeople) -> np.ndarray:
        toggles = self.track_toggles
        return np.array([toggles[int(t)].value if int(t) in toggles else True
                         for t in people.track_ids], dtype=bool)

    def _draw_people(self, position: int, people: FramePeople) -> None:
        visible = self._visible(people)
        shown: set[tuple[int, int]] = set()
        for track_id, vertices_cam, show in zip(people.track_ids, people.vertices_m, visible,
                                                strict=True):
            if not show:
                continue
            key = (int(track_id), sum(1 for k in shown if k[0] == int(track_id)))
            shown.add(key)
            vertices = self.display.to_display(position, vertices_cam)
            handle = self._people.get(key)
            if handle is None:
                self._people[key] = self.server.scene.add_mesh_simple(
                    f"/people/track_{key[0]}" + (f"_{key[1]}" if key[1] else ""),
                    vertices, self.meshes.faces.astype(np.uint32), color=track_rgb(key[0]),
                    side="double", cast_shadow=False, receive_shadow=False,
                )
            else:
                handle.vertices = vertices
                handle.visible = True
        for key, handle in self._people.items():
            if key not in shown and handle.visible:
                handle.visible = False

    def _draw_camera(self, position: int, image: np.ndarray | None) -> None:
        self.frustum.wxyz = self.display.camera_wxyz(position)
        self.frustum.position = self.display.camera_position[position]
        self.frustum.fov = self.intrinsics.vertical_fov_rad(position)
        self.frustum.aspect = self.intrinsics.aspect(position)
        self.frustum.image = image

    def _draw_keypoints_and_boxes(self, position: int, people: FramePeople) -> None:
        rows = people.rows[self._visible(people)]
        colours = np.array([track_rgb(int(t)) for t in
                            self.results.detections["track_id"][rows]], np.uint8).reshape(-1, 3)
        scene = self.server.scene
        if self.show_keypoints.value and len(rows):
            points = keypoints_cam(self.results, rows, self.intrinsics, position)  # (N, K, 3)
            self._overlays["keypoints"] = scene.add_point_cloud(
                "/keypoints", self.display.to_display(position, points).reshape(-1, 3),
                np.repeat(colours, points.shape[1], axis=0), point_size=KEYPOINT_SIZE_M,
                point_shape="circle",
            )
        else:
            self._hide_overlay("keypoints")
        if self.show_boxes.value and len(rows):
            edges = boxes_cam(self.results, rows, self.intrinsics, position)  # (N, E, 2, 3)
            self._overlays["boxes"] = scene.add_line_segments(
                "/boxes", self.display.to_display(position, edges).reshape(-1, 2, 3),
                np.repeat(colours, edges.shape[1], axis=0)[:, None].repeat(2, axis=1),
                thickness=BOX_THICKNESS_PX, thickness_units="screen",
            )
        else:
            self._hide_overlay("boxes")

    def _hide_overlay(self, name: str) -> None:
        handle = self._overlays.pop(name, None)
        if handle is not None:
            handle.remove()
