"""Synthetic-capture generation time: the default capture (8 cameras, ~10 s at 30 fps, 160×120).

    .venv/bin/python benchmarks/bench_synth.py               # writes benchmarks/results/synth.json
    .venv/bin/python benchmarks/bench_synth.py --num-people 3 --moving-camera

Times `simulate_capture` (in memory, what the calibration tests call) and `generate_capture`
(simulate + motion files + render + H.264 encode), the issue's target being under 60 s on this
2-core machine. The machine is shared with other jobs, so the load average is recorded with the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from humansync_ns.synthetic.capture import generate_capture, simulate_capture
from humansync_ns.synthetic.config import SynthConfig

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS_DIR, machine_info, write_results  # noqa: E402

RESULTS = RESULTS_DIR / "synth.json"


def _machine() -> dict:
    return {**machine_info(), "load_average_1m_before": os.getloadavg()[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--num-people", type=int, default=1)
    parser.add_argument("--moving-camera", action="store_true")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    config = SynthConfig(num_people=args.num_people, moving_camera=args.moving_camera)
    machine = _machine()

    simulate_capture(config)  # warm imports and caches
    start = time.perf_counter()
    capture = simulate_capture(config)
    simulate_s = time.perf_counter() - start

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        out = generate_capture(config, Path(tmp) / "capture")
        generate_s = time.perf_counter() - start
        video_bytes = sum(p.stat().st_size for p in (out / "videos").glob("*.mp4"))

    frames = sum(v.num_frames for v in capture.videos)
    result = {
        "benchmark": "humansync-synth default capture",
        "machine": {**machine, "load_average_1m_after": os.getloadavg()[0]},
        "config": {"num_cameras": config.num_cameras, "num_people": config.num_people, "moving_camera": config.moving_camera, "duration_s": config.duration_s, "fps": config.fps},
        "resolution": [config.width, config.height],
        "videos": len(capture.videos),
        "frames": frames,
        "simulate_capture_s": round(simulate_s, 3),
        "generate_capture_s": round(generate_s, 2),
        "frames_per_second": round(frames / generate_s, 1),
        "video_megabytes": round(video_bytes / 1e6, 2),
        "target_s": 60.0,
        "within_target": generate_s < 60.0,
    }
    write_results(args.output, result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
