"""Field levers on the demo's capture (issue 17 item 3): which option makes the field render the
moving person in a novel view, one table row per lever.

    .venv/bin/python benchmarks/bench_field_levers.py --threads 1 --jobs 2   # every row: results/field_levers.json + _frames.png
    .venv/bin/python benchmarks/bench_field_levers.py --rows "paper's field" "people scene box" --threads 1
    .venv/bin/python benchmarks/bench_field_levers.py --add --rows "people focus, a time cell per frame" --threads 1   # one row more
    .venv/bin/python benchmarks/bench_field_levers.py --tiny                  # harness check, output under /tmp

Every row trains `humansync-small` on the same data folder: the demo's capture (`Demo().capture`,
the Panoptic-like dome) processed as the demo processes it (the improved calibration from the
motion files, halved frames), at the demo's run (`field_eval.demo_run`: half resolution, 1500
steps with the preset's schedule fitted to them by `method_configs.fit_schedule`, 1024 rays), and
is scored as the demo scores it (`field_eval.train_and_evaluate`: the last camera held out, its pose
and time test-time optimised with the field frozen, then PSNR, moving-region PSNR and SSIM, and the
same before test-time optimisation; training-view PSNR; s/step and training time; the training
videos' calibration errors at step 0 and at the end).

A row (`ROWS`, the one table to edit) is a name, dotted overrides of the trainer config, and
optionally its own step count or training downscale. Its overrides come last, after the shared
sizes and `--set` (options every row gets). A row's `steps` is its length beside the demo's 1500;
`--steps` (and `--tiny`) scale it with the base run. Rows run in their own processes, `--jobs` at
once, once per `--seeds` entry (default: one seed, so a difference of a few tenths of a dB between
rows is within retraining noise: `bench_nvs.py` measures that noise on the same capture).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import RESULTS_DIR, as_written, machine_info, resolve_device, synthetic_data_folder, write_results  # noqa: E402
import field_eval  # noqa: E402
from humansync_ns.method_configs import PEOPLE_FOCUS  # noqa: E402


@dataclass(frozen=True)
class Lever:
    """One row of the table: a field option to measure against the paper's field."""

    name: str
    overrides: dict[str, Any] = field(default_factory=dict)
    """Dotted overrides of the trainer config (`method_configs.set_dotted` paths)."""
    steps: Optional[int] = None
    """Training steps beside the demo's run length (scaled with `--steps`); None: the base run's."""
    downscale: Optional[int] = None
    """Train at 1/N resolution; None: the base run's (the demo's 2)."""


IMPORTANCE_SAMPLING = {"pipeline.datamanager.importance_sampling": True}
PER_FRAME_IMPORTANCE = {**IMPORTANCE_SAMPLING, "pipeline.datamanager.importance_weights": "frame",
                        "pipeline.datamanager.importance_floor": 0.1}
PEOPLE_SCENE_BOX = {"pipeline.datamanager.dataparser.scene_box_from": "people"}
STATIC_OUTSIDE = {"pipeline.model.dynamic_region": "scene_box"}
ROWS = (
    Lever("paper's field", {}),
    Lever("importance sampling per video", IMPORTANCE_SAMPLING),
    Lever("importance sampling per frame", PER_FRAME_IMPORTANCE),
    Lever("people scene box", PEOPLE_SCENE_BOX),
    Lever("people scene box, static outside", {**PEOPLE_SCENE_BOX, **STATIC_OUTSIDE}),
    Lever("people focus (the demo's)", PEOPLE_FOCUS),
    Lever("people focus, full resolution", PEOPLE_FOCUS, downscale=1),
    Lever("people focus, 3000 steps", PEOPLE_FOCUS, steps=3000),
    Lever("people focus, full resolution, 3000 steps", PEOPLE_FOCUS, steps=3000, downscale=1),
    Lever("people focus, a time cell per frame", {**PEOPLE_FOCUS, "pipeline.model.frames_per_time_cell": 1.0}),
    Lever("people focus, 64 proposal time cells", {**PEOPLE_FOCUS, "pipeline.model.proposal_time_resolution": 64}),
)
"""The levers, in table order; names are what `--rows` selects."""
ROWS_BY_NAME = {row.name: row for row in ROWS}
TARGETS = {"psnr": 28.0, "psnr_dynamic": 25.0}
"""Issue 17's targets for the held-out camera of the demo capture (dB)."""


def row_steps(row: Lever, args: argparse.Namespace) -> int:
    """The row's step count: its own, scaled by the base run's length over the demo's, or the base run's."""
    return args.steps if row.steps is None else max(1, round(row.steps * args.steps / args.demo_steps))


def row_overrides(row: Lever, args: argparse.Namespace) -> dict[str, Any]:
    """The shared sizes, then `--set`, then the row's own overrides and downscale."""
    own = {**row.overrides, **({} if row.downscale is None else {"pipeline.datamanager.dataparser.downscale_factor": row.downscale})}
    return {**field_eval.run_overrides(args), **field_eval.parse_overrides(args.overrides), **own}


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def worker(args: argparse.Namespace) -> dict:
    """Train and evaluate one row in this (fresh) process."""
    from common import humansync_trainer_config

    row = ROWS_BY_NAME[args.worker]
    steps, overrides = row_steps(row, args), row_overrides(row, args)
    output_dir = args.work_dir / "outputs" / f"{_slug(row.name)}_seed{args.seed}"
    config = humansync_trainer_config(args.data_dir, output_dir, device=args.device, steps=steps, overrides=overrides)
    eval_images = args.work_dir / "eval_images" / _slug(row.name) if args.seed == args.seeds[0] else None
    result = field_eval.train_and_evaluate(config, seed=args.seed, steps=steps, threads=args.threads, name=row.name, eval_images=eval_images)
    return {"row": row.name, "seed": args.seed, "overrides": overrides, "eval_images": None if eval_images is None else str(eval_images),
            "downscale": overrides["pipeline.datamanager.dataparser.downscale_factor"], **result}


COMPARABLE_SETTINGS = ("steps", "rays", "downscale", "tto_steps", "eval_frame_stride", "seeds", "threads", "set_overrides")
"""What a kept row must share with the new ones (`--add`), beside the capture."""


def kept_rows(earlier: dict, results: dict, redone: list[str]) -> dict[str, Any]:
    """`--add`: the earlier results file's rows that this run does not train, each with the machine
    entry of its own run; SystemExit when the capture or the run settings differ."""
    if earlier["capture"]["synth_config"] != as_written(results["capture"]["synth_config"]):
        raise SystemExit(f"--add: {earlier.get('settings', {}).get('output')} was run on another capture; run every row")
    differ = [k for k in COMPARABLE_SETTINGS if earlier["settings"].get(k) != as_written(results["settings"].get(k))]
    if differ:
        raise SystemExit(f"--add: the earlier rows were run with other settings ({', '.join(differ)}); run every row")
    return {name: {"machine": earlier["machine"], **entry} for name, entry in earlier["rows"].items() if name not in redone}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="minimal sizes (a 6-camera dome), to check the harness")
    parser.add_argument("--rows", nargs="+", choices=list(ROWS_BY_NAME), default=[row.name for row in ROWS], metavar="ROW",
                        help=f"rows to run, by name: {', '.join(repr(r.name) for r in ROWS)} (default: all)")
    parser.add_argument("--add", action="store_true",
                        help="keep the rows of the existing --output file that this run does not train (same capture and "
                             "run settings, else it stops), so one row can be added or redone without training the table again")
    field_eval.add_size_arguments(parser)
    field_eval.add_run_arguments(parser, list(ROWS_BY_NAME))
    args = parser.parse_args(argv)
    from humansync_ns.tools.demo import Demo

    demo = field_eval.demo_run()
    args.demo_steps = demo["steps"]
    args.rig = Demo().capture.rig
    field_eval.fill_sizes(args, {**(field_eval.TINY_RUN if args.tiny else {**demo, "cameras": Demo().capture.num_cameras}), "seeds": [0]})
    field_eval.checked_overrides(parser, args)
    args.work_dir = args.work_dir or Path("/tmp/humansync_bench_field_levers" + ("_tiny" if args.tiny else ""))
    # --tiny only checks the harness: its numbers mean nothing, so they stay out of results/
    args.output = args.output or (args.work_dir if args.tiny else RESULTS_DIR) / ("field_levers" + ("_tiny" if args.tiny else "") + ".json")
    args.device = resolve_device(args.device)
    return args


def main() -> None:
    args = parse_args()
    if args.worker is not None:
        print(json.dumps(worker(args)))
        return
    start = time.perf_counter()
    rows = [ROWS_BY_NAME[name] for name in args.rows]
    downscales = [args.downscale if row.downscale is None else row.downscale for row in rows]
    data = synthetic_data_folder(args.work_dir / "capture", field_eval.capture_changes(args, args.rig), calibration="improved",
                                 num_downscales=max(field_eval.num_downscales_for(d) for d in downscales))
    import torch  # noqa: F401  (machine_info records its version)

    results: dict = {
        "benchmark": "field levers on the demo capture (issue 17 item 3)",
        "machine": machine_info(args.device),
        "settings": field_eval.recorded_settings(args),
        "capture": {"synth_config": data["synth_config"], "held_out": "last video (dataparser default)",
                    "calibration": "improved (calibrate() on the motion files)", "process_s": data["process_s"]},
        "targets": TARGETS,
    }
    if args.add and args.output.exists():
        results["rows"] = kept_rows(json.loads(args.output.read_text()), results, args.rows)
    field_eval.train_all(__file__, args, args.rows, lambda name: data["data_dir"], results, "rows")
    results["rows"] = {row.name: results["rows"][row.name] for row in ROWS if row.name in results["rows"]}  # table order
    results["benchmark_seconds"] = time.perf_counter() - start
    write_results(args.output, results)
    shown = [(name, Path(entry["eval_images"])) for name, entry in results["rows"].items() if Path(entry["eval_images"]).is_dir()]
    for name in results["rows"].keys() - {name for name, _ in shown}:
        print(f"{name}: its eval images are gone from {results['rows'][name]['eval_images']}; left out of the frames sheet")
    frames = field_eval.held_out_frames_sheet(shown, args.output.with_name(f"{args.output.stem}_frames.png"))
    print(f"{'row':24s} {'steps':>6s} {'1/N':>4s} {'PSNR':>6s} {'moving':>7s} {'train':>6s} {'s/step':>7s}")
    for name, entry in results["rows"].items():
        m = entry["metrics"]
        print(f"{name:24s} {entry['steps']:6d} {entry['downscale']:4d} {m['psnr']:6.2f} {m.get('psnr_dynamic', float('nan')):7.2f} "
              f"{entry['train_view_psnr']:6.2f} {entry['seconds_per_step']:7.3f}")
    print(f"wrote {args.output} and {frames} ({results['benchmark_seconds']:.0f} s)")


if __name__ == "__main__":
    main()
