"""Frames per second of each `aios run` stage on a generated 720p clip: decode, inference,
render (+ encode). Inference uses the released architecture with random weights (no checkpoint
needed; the arithmetic per frame is the same as with trained weights).

    python3 bench/bench_run_stages.py --frames 30 --infer-frames 4 --batch-size 2
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch

from aios_core import AiOS
from aios_core.body.meshes import MeshMaker
from aios_core.inference.predict import predict_images
from aios_core.rendering.overlay import MeshOverlayRenderer
from aios_core.video import MediaReader, VideoWriter


def write_clip(path: Path, frames: int, width: int, height: int, fps: int) -> Path:
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(frames):
            image = np.roll(base, 8 * i, axis=1)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=30, help="clip length (decode, render)")
    parser.add_argument("--infer-frames", type=int, default=4, help="frames to infer")
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--people", type=int, default=3, help="meshes drawn per frame")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    device = torch.device(args.device)

    with tempfile.TemporaryDirectory() as folder:
        clip = write_clip(Path(folder) / "clip.mp4", args.frames, 1280, 720, 30)

        start = time.perf_counter()
        frames = [frame.rgb for frame in MediaReader(clip)]
        decode_fps = len(frames) / (time.perf_counter() - start)

        torch.manual_seed(0)
        model = AiOS().to(device).eval()
        batch = frames[: args.batch_size]
        predict_images(model, batch, threshold=0.0)  # warm-up
        start = time.perf_counter()
        done = 0
        while done < args.infer_frames:
            batch = frames[done : done + args.batch_size]
            results = predict_images(model, batch, threshold=0.0)
            done += len(batch)
        infer_fps = done / (time.perf_counter() - start)

        meshes = MeshMaker(model.body_model)
        people = results[0]
        keep = min(args.people, len(people))
        rows = {
            "betas": people.betas[:keep], "global_orient": people.global_orient[:keep],
            "body_pose": people.body_pose[:keep], "left_hand_pose": people.left_hand_pose[:keep],
            "right_hand_pose": people.right_hand_pose[:keep], "jaw_pose": people.jaw_pose[:keep],
            "expression": people.expression[:keep],
            # Random weights give arbitrary depths: place the people in front of the camera.
            "transl_m": np.array([[x, 0.0, 4.0] for x in np.linspace(-1, 1, keep)], np.float32),
        }
        vertices = meshes.vertices(rows)
        ids = np.arange(keep)
        start = time.perf_counter()
        with MeshOverlayRenderer() as renderer, VideoWriter(Path(folder) / "o.mp4", 30) as out:
            for rgb in frames:
                out.write(renderer.render(rgb, vertices, meshes.faces, ids, people.focal_px,
                                          people.principal_point_px))
        render_fps = len(frames) / (time.perf_counter() - start)

    record = {
        "clip": "1280x720 @30 fps, generated",
        "device": str(device),
        "threads": torch.get_num_threads(),
        "batch_size": args.batch_size,
        "people_rendered": keep,
        "decode_fps": decode_fps,
        "inference_fps": infer_fps,
        "render_encode_fps": render_fps,
        "weights": "random (released architecture)",
    }
    print(f"{'stage':<16} {'frames/s':>10}")
    for stage in ("decode", "inference", "render_encode"):
        print(f"{stage:<16} {record[stage + '_fps']:>10.2f}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"run_stages_{device.type}.json").write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
