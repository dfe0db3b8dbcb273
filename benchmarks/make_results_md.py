"""Writes `docs/results.md` from the files in `benchmarks/results/`: every number of ours comes
from a results file; the paper's numbers are the constants below, transcribed from the seed paper
(`shared/seeds/000_…`, Tables 1-3), each with its table.

    .venv/bin/python benchmarks/make_results_md.py            # rewrites docs/results.md
    .venv/bin/python benchmarks/make_results_md.py --check    # exit 1 if docs/results.md is stale
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Optional

from common import paired_by_seed

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
OUTPUT = ROOT / "docs" / "results.md"

# ----- the paper's numbers (seed paper, CMU Panoptic Studio unless noted) -------------------------
PAPER_TABLE1_PANOPTIC_AVERAGE = {
    "init": {"rotation_deg": 5.46, "translation_cm": 25.1, "time_frames": 1.343},
    "refined": {"rotation_deg": 0.412, "translation_cm": 0.22, "time_frames": 0.028},
    "input_offset_frames": 30.64,
}
"""Table 1, "Average" row of Panoptic Studio (5 scenes)."""
PAPER_TABLE2_TENNIS = {
    # row: (rotation init, rotation refined, translation init cm, refined cm, time init frames, refined)
    "default": (5.293, 0.290, 25.827, 0.217, 0.467, 0.028),
    "smpl σ=0.01": (5.266, 0.285, 25.844, 0.296, 1.633, 0.027),
    "smpl σ=0.02": (5.307, 1.240, 25.825, 0.276, 0.533, 0.028),
    "smpl σ=0.05": (5.310, 0.357, 25.861, 0.277, 0.833, 0.029),
    "smpl σ=0.1": (5.241, 0.518, 25.383, 0.257, 2.100, 0.030),
    "smpl σ=0.2": (5.404, 0.934, 26.831, 0.217, 2.367, 0.024),
    "Eq. 15 (L2 on SMPL params)": (5.382, 0.656, 26.130, 0.261, 2.100, 0.030),
    "degraded appearance": (6.496, None, 32.374, None, 1.133, None),
    "mixed fps 24/30": (7.933, None, 38.58, None, 1.200, None),
}
"""Table 2 (TENNIS scene of Panoptic Studio), Init and Refine columns."""
PAPER_TABLE3_PANOPTIC_AVERAGE = {
    "syncnerf": {"psnr": 21.19, "ssim": 0.820, "lpips": 0.185},
    "ours_no_progressive": {"psnr": 19.66, "ssim": 0.582, "lpips": 0.445},
    "ours": {"psnr": 26.55, "ssim": 0.874, "lpips": 0.112},
    "oracle": {"psnr": 27.16, "ssim": 0.910, "lpips": 0.078},
}
"""Table 3, "Average" row of Panoptic Studio (5 scenes)."""

CAVEAT = (
    "**The data differ.** The paper measures on CMU Panoptic Studio, Mobile-Stage and EgoBody with "
    "real videos and a real monocular estimator; we cannot download those, so every number of ours "
    "is measured on synthetic captures (`humansync_ns.synthetic`: textured static scene, walking "
    "people, an estimator-noise model matched to `shared/notes/calibration-accuracy.md`), at much "
    "smaller sizes (CPU), on the machine named under each table. Compare trends and orders of "
    "magnitude, not digits."
)


def _load(name: str) -> Optional[dict]:
    path = RESULTS / name
    return json.loads(path.read_text()) if path.is_file() else None


def _f(value: Any, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return f"{value:.{digits}f}"
    return str(value)


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _machine(result: dict) -> str:
    m = result.get("machine", {})
    load = m.get("load_average_at_start")
    load_s = f", load average {load[0]:.1f} at start" if isinstance(load, list) and load else ""
    torch = f", torch {m['torch']}" if "torch" in m else ""
    cpu = m.get("cpu_model") or m.get("processor") or "?"
    return f"*Machine: {cpu}, {m.get('cpu_count', '?')} cores, device {m.get('device', 'cpu')}{torch}{load_s} (shared with other jobs).*"


def calibration_section(result: Optional[dict]) -> str:
    out = ["## 1. Calibration (Table 1 / Table 2 protocol)", ""]
    if result is None:
        return "\n".join(out + ["Not run yet: `.venv/bin/python benchmarks/bench_calibration.py`.", ""])
    seeds = result["settings"].get("seeds")
    out += [
        f"`benchmarks/bench_calibration.py` → `results/calibration.json`, `results/calibration.png`. Each row: "
        f"{seeds} synthetic capture(s) (default: 8 static cameras 3–5 m away, one walking person, 30 fps, ~10 s, "
        "default estimator noise), calibrated from the motion files only; errors after Sim(3) alignment "
        "(rotation °, translation as % of the mean camera distance and in cm, time in frames after "
        "removing the common offset). *paper variant* = `CalibrationConfig.paper()` (plain DTW, greedy "
        "Eq. 5, integer frames, Procrustes), *improved* = our default (robust cost, sub-frame, "
        "cycle-consistent, bearings). These are **initialisation** errors (the paper's *Init* columns); "
        "refined errors come from training (section 2).",
        "",
    ]
    rows = []
    for name, variants in result["accuracy"].items():
        paper_row = PAPER_TABLE2_TENNIS.get(name)
        paper_init = "–" if paper_row is None else f"{paper_row[0]:.2f}° · {paper_row[2]:.1f} cm · {paper_row[4]:.2f} fr"
        for variant in ("paper", "improved"):
            m = variants[variant]["mean"]
            rows.append([
                name if variant == "paper" else "",
                variant,
                _f(m["rotation_deg"], 3),
                _f(m["translation_pct"], 2),
                _f(100 * m["translation_m"], 1),
                _f(m["time_frames"], 3),
                paper_init if variant == "paper" else "",
            ])
    out.append(_table(["capture", "variant", "rotation (°)", "translation (%)", "translation (cm)", "time (frames)",
                       "paper Table 2 Init (TENNIS)"], rows))
    p1 = PAPER_TABLE1_PANOPTIC_AVERAGE
    out += [
        "",
        f"Paper, Table 1 Panoptic average: init {p1['init']['rotation_deg']}° · {p1['init']['translation_cm']} cm · "
        f"{p1['init']['time_frames']} frames; refined {p1['refined']['rotation_deg']}° · {p1['refined']['translation_cm']} cm · "
        f"{p1['refined']['time_frames']} frames. Translation in cm is not comparable across scenes "
        "(Panoptic's dome is ~5 m across; our cameras are 3–5 m from the centre).",
    ]
    check = result.get("appearance_check") or {}
    if check:
        out += ["", f"Degraded appearance (gamma {check['settings']['gamma_range']}, pixel noise σ = "
                    f"{check['settings']['image_noise_sigma']}): identical to the default row: "
                    f"**{_f(check['identical_to_default'])}**. `{check['why']}`, so appearance cannot change "
                    "the calibration here; the paper's degraded row differs because its estimator ran on the degraded "
                    "videos. What appearance changes is the radiance field (`bench_nvs.py --degraded`)."]
    if result.get("timing"):
        out += ["", "Run time of `calibrate()` (fastest of "
                f"{result['settings'].get('repeats')} runs; the machine is shared, load average per row):", ""]
        out.append(_table(["videos × frames", "improved (s)", "paper variant (s)", "load average"],
                          [[f"{r['videos']} × {r['frames']}", _f(r["improved_s"]), _f(r["paper_s"]), _f(r["load_average"], 1)]
                           for r in result["timing"]]))
    out += ["", _machine(result), ""]
    return "\n".join(out)


def calibration_scale_section(result: Optional[dict]) -> str:
    out = ["## 1b. Calibration of many videos (issue 19 §3)", ""]
    if result is None:
        return "\n".join(out + ["Not run yet: `.venv/bin/python benchmarks/bench_calibration.py --scale`.", ""])
    s, t = result["settings"], result.get("targets", {})
    out += [
        "`benchmarks/bench_calibration.py --scale` → `results/calibration_scale.json`, `results/calibration_scale.png`. "
        "Synthetic captures of N static cameras (30 fps, one walking person, default estimator noise), each calibrated "
        "from its motion files in a fresh process, as `humansync-calibrate` does, with "
        f"{s['workers']} threads (and, up to {s['scale_all_pairs_max']} videos, with one) and one BLAS thread; the fastest of "
        f"{s.get('scale_repeats', 1)} run(s) per row. *sparse* is the "
        "default (DTW on all pairs up to 25 videos; beyond that on a circulant graph of 8 pairs per video, plus 48 pairs "
        "per video refined around the offset the first solve predicts, without DTW); *all pairs* runs DTW on all "
        "N(N−1)/2 pairs. Seconds are those of `calibrate()`, CPU summed over its threads; peak RSS is the process's, "
        "the loaded motion files included. Errors: Table 1 protocol, *sparse / all pairs*. The machine is shared: "
        "where the load average exceeds its cores, wall time stretches and CPU time is the fairer measure.",
        "",
    ]
    by_key = {(r["videos"], r["frames"], r["variant"]): r for r in result["rows"]}
    rows = []
    for (videos, frames, variant), r in sorted(by_key.items()):
        if variant != "sparse":
            continue
        ref = by_key.get((videos, frames, "all-pairs"))

        def pair(key: str, digits: int) -> str:
            return _f(r[key], digits) + ("" if ref is None else f" / {_f(ref[key], digits)}")

        one = by_key.get((videos, frames, "sparse-1-thread"))
        rows.append([f"{videos} × {frames}", _f(r["seconds"], 1), _f(r["cpu_seconds"], 1), f"{r['peak_rss_mb']:.0f}",
                     "–" if one is None else f"{_f(one['seconds'], 1)} / {_f(one['cpu_seconds'], 1)}",
                     "–" if ref is None else _f(ref["seconds"], 1), pair("rotation_deg", 4), pair("translation_pct", 3),
                     pair("time_frames", 4), _f(r["load_average_before"], 1)])
    out.append(_table(["videos × frames", "wall (s)", "CPU (s)", "peak RSS (MB)", "1 thread: wall / CPU (s)", "all pairs: wall (s)",
                       "rotation (°)", "translation (%)", "time (frames)", "load average"], rows))
    if t.get("100_videos_seconds") is not None:
        out += ["", f"Target, 100 videos × 1800 frames in ≤ 10 s and ≤ 1 GB on 2 cores: {_f(t['100_videos_seconds'], 1)} s wall, "
                    f"{_f(t.get('100_videos_cpu_seconds'), 1)} s CPU ({s['workers']} threads; one thread: {_f(t.get('100_videos_one_thread_seconds'), 1)} s "
                    f"wall, {_f(t.get('100_videos_one_thread_cpu_seconds'), 1)} s CPU), {t['100_videos_peak_rss_mb']:.0f} MB. Wall within the target: "
                    f"**{_f(t['100_videos_under_10s_and_1gb'])}**; CPU time within 10 s (what one free core would take): "
                    f"**{_f(t.get('100_videos_under_10_cpu_seconds_and_1gb'))}**; not less accurate than all pairs: "
                    f"**{_f(t['100_videos_not_less_accurate_than_all_pairs'])}**."]
    out += ["", "![calibration cost against the number of videos](../benchmarks/results/calibration_scale.png)", "",
            _machine(result), ""]
    return "\n".join(out)


RIG_WORDS = {"dome": "a CMU-Panoptic-like dome", "stage": "a Mobile-Stage-like frontal arc", "ring": "an irregular ring"}


def nvs_section(result: Optional[dict], name: str, title: str, reference: Optional[dict] = None, command: str = "") -> str:
    """The NVS section of one `bench_nvs` results file, under `title`; `reference` (the main run of
    the same rig) lends its oracle to a variant run without one when both trained on the same capture
    with the same seeds. `command` runs the benchmark when the file is missing."""
    out = [title, ""]
    if result is None:
        return "\n".join(out + [
            f"Not run yet (no `results/{name}`): `.venv/bin/python benchmarks/bench_nvs.py{command} --threads 1 --jobs 2` "
            "(`--tiny` checks the harness in a few minutes).", ""])
    s, cap = result["settings"], result["capture"]["synth_config"]
    downscale = s.get("downscale", 1)  # results files before --downscale trained at full resolution
    overrides = ", ".join(f"`{key}={value}`" for key, value in s.get("set_overrides", {}).items())
    out += [
        f"`benchmarks/bench_nvs.py` → `results/{name}`, `results/{Path(name).stem}.png`. One synthetic capture: "
        f"{RIG_WORDS[cap.get('rig', 'ring')]} of {s['cameras']} cameras ({s['cameras'] - 1} training + 1 held out), "
        f"{s['width']}×{s['height']} px" + (f" trained at 1/{downscale} resolution" if downscale > 1 else "") + ", "
        f"{s['duration']} s, videos starting up to {cap['start_spread_s']:g} s apart; "
        f"{s['steps']} steps per variant at {s['rays']} rays/batch; held-out camera scored over the "
        f"training videos' common span after {s['tto_steps']} test-time optimisation steps (every "
        f"{s['eval_frame_stride']}th frame); torch threads per process: {s.get('threads') or 'torch default'}; "
        f"'ours' initialised with the {s.get('init', 'improved')} calibration"
        + (f"; every variant trained with torch seeds {s['seeds']}, numbers are means over them (± their spread, the "
           "sample standard deviation over seeds)" if len(s.get("seeds", [])) > 1 else "")
        + ("; the paper's field alone" if s.get("paper_field") else
           "; every variant with the demo's people focus (method_configs.PEOPLE_FOCUS)" if "paper_field" in s else "")
        + (f"; every variant with {overrides}" if overrides else "") + ".",
        "",
    ]
    rows = []
    for variant, entry in result["variants"].items():
        m, spread = entry["metrics"], entry.get("metrics_seed_std", {}) if len(entry.get("seeds", [])) > 1 else {}

        def cell(key: str, digits: int = 2) -> str:
            return _f(m.get(key), digits) + (f" ± {_f(spread[key], digits)}" if key in spread else "")

        paper = PAPER_TABLE3_PANOPTIC_AVERAGE.get(variant, {})
        lpips = _f(m.get("lpips"), 3) if "lpips" in m else "n/a"
        turns = [c["rotation_deg"] for c in entry.get("test_time_corrections", {}).values()]
        rows.append([entry["label"], cell("psnr"), cell("ssim", 3), lpips, cell("psnr_dynamic"),
                     cell("psnr_before_tto"), _f(sum(turns) / len(turns) if turns else None, 1),
                     _f(entry.get("train_view_psnr")),
                     f"{_f(paper.get('psnr'))} / {_f(paper.get('ssim'), 3)} / {_f(paper.get('lpips'), 3)}"])
    out.append(_table(["variant", "PSNR", "SSIM", "LPIPS", "PSNR moving region", "PSNR before TTO",
                       "TTO turned the held-out camera by (°)", "train-view PSNR", "paper PSNR / SSIM / LPIPS"], rows))
    out += ["", "PSNR moving region: PSNR over the pixels of each held-out frame that differ from that video's temporal "
            "median (the walking person; `pipeline.metrics.moving_pixel_masks`), where a time error can show; whole-frame "
            "PSNR is dominated by the static background. '–': not measured in this run (older results file). "
            "TTO turned the held-out camera by: the rotation of the correction test-time optimisation gave it. The "
            "held-out camera starts at its true pose in every variant but the 'ours' ones, so for the oracle and the "
            "Sync-NeRF-like rows that rotation is error traded for PSNR: the field, trained on the other cameras only, "
            "renders the held-out view best from a wrong pose."]
    lpips_state = {entry["lpips"] for entry in result["variants"].values()}
    out += ["", f"LPIPS: {', '.join(sorted(lpips_state))}."]
    out += _frames_image(Path(name).stem, "ground truth, then the oracle, Sync-NeRF-like, ours and ours w/o progressive "
                                          "training (those that ran) at the same held-out frames")
    comparison = result.get("comparison")
    if comparison:
        target = comparison.get("target_ours_within_1db_of_oracle")
        differences = [
            f"{what}: " + ", ".join(f"{other} {_difference(comparison, other, key)}" for other in _COMPARED
                                    if f"ours_minus_{other}_{key}" in comparison)
            for key, what in (("psnr", "whole frame"), ("psnr_dynamic", "moving region"))
            if any(f"ours_minus_{other}_{key}" in comparison for other in _COMPARED)
        ]
        out += ["", "Differences (ours − other, PSNR dB" + (", seed by seed, mean ± spread" if len(s.get("seeds", [])) > 1 else "")
                + "): " + "; ".join(differences)
                + ("." if target is None else f". Target ours within 1 dB of the oracle: **{_f(target)}**.")]
    rows = []
    for variant, entry in result["variants"].items():
        if not entry.get("refines_calibration"):
            continue
        init, ref = entry["calibration_init"], entry["calibration_refined"]
        rows.append([entry["label"],
                     f"{_f(init.get('rotation_error_deg'), 3)} → {_f(ref.get('rotation_error_deg'), 3)}",
                     f"{_f(100 * init['translation_error'] if 'translation_error' in init else None, 2)} → "
                     f"{_f(100 * ref['translation_error'] if 'translation_error' in ref else None, 2)}",
                     f"{_f(init.get('time_offset_error_frames'), 3)} → {_f(ref.get('time_offset_error_frames'), 3)}"])
    p1 = PAPER_TABLE1_PANOPTIC_AVERAGE
    rows.append(["paper, Table 1 Panoptic average (init → refined)",
                 f"{p1['init']['rotation_deg']} → {p1['refined']['rotation_deg']}",
                 f"{p1['init']['translation_cm']} → {p1['refined']['translation_cm']}",
                 f"{p1['init']['time_frames']} → {p1['refined']['time_frames']}"])
    out += ["", "Calibration of the training videos, init → after training (Sim(3)-aligned; targets: time ≤ 0.05 frame, rotation ≤ 0.3°):", ""]
    out.append(_table(["variant", "rotation (°)", "translation (cm)", "time (frames)"], rows))
    out += _against_reference_oracle(result, reference)
    out += ["", *issue_targets(result)]
    out += ["", _machine(result), ""]
    return "\n".join(out)


_COMPARED = ("oracle", "syncnerf", "ours_no_progressive")


def _frames_image(stem: str, rows: str) -> list[str]:
    """Lines embedding `results/<stem>_frames.png` (`field_eval.held_out_frames_sheet`) when the
    benchmark wrote one; `rows` says what its rows show."""
    if not (RESULTS / f"{stem}_frames.png").is_file():
        return []
    return ["", f"Held-out frames of the first seed's runs (`results/{stem}_frames.png`): {rows}; below them the same "
                "rows cropped to the moving region and magnified twice.", "",
            f"![held-out frames of {stem}](../benchmarks/results/{stem}_frames.png)"]


def _against_reference_oracle(result: dict, reference: Optional[tuple[str, dict]]) -> list[str]:
    """Lines comparing a run without an oracle (e.g. `--init paper`) with the oracle of `reference`
    (its file name and results), seed by seed, when both trained on the same capture with the same seeds."""
    v = result["variants"]
    if reference is None:
        return []
    reference_name, reference = reference
    if ("oracle" in v or "oracle" not in reference["variants"]
            or reference["capture"]["synth_config"] != result["capture"]["synth_config"]):
        return []
    parts, means = [], []
    for entry in v.values():
        difference = paired_by_seed(entry.get("per_seed", []), reference["variants"]["oracle"].get("per_seed", []), "psnr")
        if difference is not None:
            means.append(difference["mean"])
            spread = f" ± {difference['seed_std']:.2f}" if difference["seeds"] > 1 else ""
            parts.append(f"{entry['label']} {difference['mean']:+.2f}{spread} dB ({difference['seeds']} seeds)")
    if not parts:
        return []
    init = next(iter(v.values()))["calibration_init"]
    why = (" At this size the held-out PSNR barely registers a calibration error of that size: the field fits each "
           "training view from its wrong pose, and test-time optimisation re-places the held-out camera."
           if max(abs(m) for m in means) < 1.0 else "")
    return ["", f"Against the oracle of `{reference_name}` (same capture, seed by seed): {', '.join(parts)}, from a start "
                f"{init.get('rotation_error_deg', float('nan')):.1f}° and {100 * init.get('translation_error', float('nan')):.0f} cm off."
                + why]


def _difference(comparison: dict, other: str, key: str) -> str:
    """'+0.12' or, over several seeds, '+0.12 ± 0.30 (3 seeds)'."""
    text = f"{comparison[f'ours_minus_{other}_{key}']:+.2f}"
    seeds = comparison.get(f"ours_minus_{other}_{key}_seeds", 1)
    return text + (f" ± {comparison[f'ours_minus_{other}_{key}_seed_std']:.2f} ({seeds} seeds)" if seeds > 1 else "")


def measurably_better(comparison: dict, other: str, key: str = "psnr") -> bool:
    """Ours beats `other` by more than 0.1 dB and, over several seeds, by more than twice the
    standard error of the seed-by-seed difference (the noise of retraining)."""
    diff = comparison[f"ours_minus_{other}_{key}"]
    seeds = comparison.get(f"ours_minus_{other}_{key}_seeds", 1)
    noise = 2 * comparison[f"ours_minus_{other}_{key}_seed_std"] / seeds**0.5 if seeds > 1 else 0.0
    return diff > max(0.1, noise)


def issue_targets(result: dict) -> list[str]:
    """The issue's NVS and refinement targets, checked on this results file."""
    v = result["variants"]
    lines = ["Issue targets on this run:", ""]
    if "ours" in v:
        comparison = result.get("comparison", {})
        # the baselines' shortfall is judged where a time error shows: on the moving region (whole
        # frame in results files from before it was measured)
        region = "psnr_dynamic" if any(k.endswith("_psnr_dynamic") for k in comparison) else "psnr"
        where = "on the moving region" if region == "psnr_dynamic" else "over the whole frame"
        for other, what in (("oracle", "ours within 1 dB of the oracle (whole frame)"),
                            ("syncnerf", f"the Sync-NeRF-like baseline measurably worse than ours {where} (by > 0.1 dB and > 2 "
                                         "standard errors over seeds)"),
                            ("ours_no_progressive", f"\"w/o progressive training\" measurably worse than ours {where} (same test)")):
            if f"ours_minus_{other}_psnr" not in comparison:
                continue
            ok = comparison[f"ours_minus_{other}_psnr"] >= -1.0 if other == "oracle" else measurably_better(comparison, other, region)
            moving = f"; on the moving region {_difference(comparison, other, 'psnr_dynamic')} dB" if f"ours_minus_{other}_psnr_dynamic" in comparison else ""
            lines.append(f"- {what}: **{_f(ok)}** (ours − {other} = {_difference(comparison, other, 'psnr')} dB over the whole frame{moving})")
        refined, init = v["ours"]["calibration_refined"], v["ours"]["calibration_init"]
        for key, limit, what in (("time_offset_error_frames", 0.05, "time error ≤ 0.05 frame"), ("rotation_error_deg", 0.3, "rotation error ≤ 0.3°")):
            if key in refined:
                trend = "training reduced it" if refined[key] < 0.99 * init.get(key, float("inf")) else "training did not reduce it"
                lines.append(f"- refined {what}: **{_f(refined[key] <= limit)}** ({init.get(key, float('nan')):.3f} at init → "
                             f"{refined[key]:.3f}; {trend})")
    if len(lines) > 2 and any("**no**" in line for line in lines):
        lines += ["", "Why targets can fail on this run: " + " ".join(_nvs_size_reasons(result))]
    return lines


def _nvs_size_reasons(result: dict) -> list[str]:
    """What limits the NVS comparison on this run, with the numbers computed from its results file."""
    v, reasons = result["variants"], []
    moving = [e["metrics"]["psnr_dynamic"] for e in v.values() if "psnr_dynamic" in e["metrics"]]
    cap = (result.get("capture") or {}).get("synth_config")
    # the pixel-size arithmetic below uses the ring's distance and field-of-view ranges; dome and stage
    # cameras frame the walking area instead (synthetic/rig.py)
    ring = cap is not None and cap.get("rig", "ring") == "ring"
    if ring:
        reasons.append("the person covers a few per cent of each frame, so whole-frame PSNR is dominated by the static "
                       "background, which every variant with good poses learns alike.")
    if len(moving) > 1:
        reasons.append(f"On the moving region every variant scores {min(moving):.1f}–{max(moving):.1f} dB"
                       + (": the field renders the walking person poorly for all of them, so it cannot rank their timing."
                          if ring else "."))
    if ring:
        import math

        step_m = cap["walk_speed_mps"] / cap["fps"]
        pixel_m = [d * math.radians(f) / cap["width"] for d, f in zip(cap["camera_distance_m"], cap["horizontal_fov_deg"])]
        reasons.append(f"One frame of time error moves the person by {100 * step_m:.1f} cm ({cap['walk_speed_mps']:g} m/s at "
                       f"{cap['fps']:g} fps), while a pixel covers {100 * min(pixel_m):.1f}–{100 * max(pixel_m):.1f} cm at "
                       f"{cap['width']} px across ({cap['camera_distance_m'][0]:g}–{cap['camera_distance_m'][1]:g} m away, "
                       f"{cap['horizontal_fov_deg'][0]:g}–{cap['horizontal_fov_deg'][1]:g}° field of view): a time error "
                       f"under {min(pixel_m) / step_m:.1f} frames moves the person by less than a pixel.")
        sync = v.get("syncnerf")
        if sync and "oracle" in v and "psnr_dynamic" in sync["metrics"] and "psnr_dynamic" in v["oracle"]["metrics"]:
            frames = sync["calibration_refined"]["time_offset_error_frames"]
            gap = sync["metrics"]["psnr_dynamic"] - v["oracle"]["metrics"]["psnr_dynamic"]
            reasons.append(f"The Sync-NeRF-like variant ends {frames:.1f} frames off on average ({100 * frames * step_m:.0f} cm, "
                           f"{frames * step_m / max(pixel_m):.1f}–{frames * step_m / min(pixel_m):.1f} px), and its moving-region PSNR is "
                           f"{gap:+.2f} dB from the oracle's"
                           + (": a person misplaced by pixels scores about as well as one in the right place, because "
                              "neither is rendered sharply." if abs(gap) < 0.5 else "."))
    steps = result["settings"]["steps"]
    below = [e["train_view_psnr"] - e["metrics"]["psnr"] for e in v.values() if "train_view_psnr" in e]
    if below and min(below) > 0:
        reasons.append(f"After {steps} steps the held-out view scores {min(below):.1f}–{max(below):.1f} dB below the training "
                       "views (compare the train-view column): test-time optimisation of the held-out pose works on a field "
                       "that generalises poorly to new views.")
    spreads = [e["metrics_seed_std"]["psnr"] for e in v.values() if len(e.get("seeds", [])) > 1]
    paired = [c for k, c in (result.get("comparison") or {}).items() if k.endswith("_psnr_seed_std")]
    if spreads and paired:
        reasons.append(f"Retraining with another seed moves a variant's PSNR by {min(spreads):.2f}–{max(spreads):.2f} dB (standard "
                       f"deviation over seeds), and even the seed-by-seed differences between variants spread by "
                       f"{min(paired):.2f}–{max(paired):.2f} dB: at this size, differences of a few tenths of a dB are noise.")
    if result["settings"].get("init", "improved") == "improved":
        reasons.append("The calibrated initialisation is already within a fraction of a frame and about a degree, so there "
                       "is little for refinement or the progressive schedule to win over the no-progressive variant (the "
                       "paper's gap comes from a ~5° / 25 cm initialisation: `--init paper` tests that).")
    ours = v.get("ours")
    if ours and "translation_error" in ours["calibration_init"]:
        start, end = ours["calibration_init"]["translation_error"], ours["calibration_refined"]["translation_error"]
        if abs(end - start) <= 1e-3 * max(start, 1e-9):
            reasons.append("The translation column staying constant shows the pose refinement moved rotations but not "
                           "camera centres.")
    return reasons


def levers_section(result: Optional[dict], nvs: Optional[dict] = None) -> str:
    """Section 2h from `field_levers.json`: a row per field option on the demo's capture; rows the run
    was asked for but did not finish are named, and `nvs` (Table 3's results) is pointed to when its
    variants trained with the demo's people focus."""
    out = ["## 2h. Field levers on the demo's capture (issue 17: a field that renders the moving person)", ""]
    if result is None:
        return "\n".join(out + ["Not run yet (no `results/field_levers.json`): `.venv/bin/python benchmarks/bench_field_levers.py "
                                "--threads 1 --jobs 2` (`--tiny` checks the harness in a few minutes).", ""])
    s, cap, targets = result["settings"], result["capture"]["synth_config"], result["targets"]
    overrides = ", ".join(f"`{key}={value}`" for key, value in s.get("set_overrides", {}).items())
    out += [
        f"`benchmarks/bench_field_levers.py` → `results/field_levers.json`. The demo's capture: {RIG_WORDS[cap['rig']]} of "
        f"{cap['num_cameras']} cameras (the last held out), {cap['width']}×{cap['height']} px, {cap['duration_s']:g} s, "
        f"calibrated from the motion files. Each row trains `humansync-small` ({s['steps']} steps unless the row says "
        f"otherwise, schedule fitted to its length, {s['rays']} rays/batch, 1/{s['downscale']} resolution unless the row "
        f"says otherwise) and scores the held-out camera after {s['tto_steps']} test-time optimisation steps (every "
        f"{s['eval_frame_stride']}th frame of the common span); torch threads per process: {s.get('threads') or 'torch default'}"
        + (f"; seeds {s['seeds']}, means ± spread over them" if len(s["seeds"]) > 1 else f"; one seed ({s['seeds'][0]})")
        + (f"; every row with {overrides}" if overrides else "") + ". The row's own overrides are in the results file.",
        "",
    ]
    rows = []
    for name, entry in result["rows"].items():
        m, spread = entry["metrics"], entry.get("metrics_seed_std", {}) if len(entry["seeds"]) > 1 else {}

        def cell(key: str, digits: int = 2) -> str:
            return _f(m.get(key), digits) + (f" ± {_f(spread[key], digits)}" if key in spread else "")

        init, refined = entry["calibration_init"], entry["calibration_refined"]
        width, height = entry["train_resolution"]
        rows.append([name, str(entry["steps"]), f"{width}×{height}", cell("psnr"), cell("psnr_dynamic"), cell("ssim", 3),
                     f"{_f(m.get('psnr_before_tto'))} / {_f(m.get('psnr_dynamic_before_tto'))}", _f(entry["train_view_psnr"]),
                     _f(entry["seconds_per_step"], 3), _f(entry["train_s"] / 60, 1),
                     f"{_f(init.get('rotation_error_deg'), 3)} → {_f(refined.get('rotation_error_deg'), 3)}",
                     f"{_f(init.get('time_offset_error_frames'), 3)} → {_f(refined.get('time_offset_error_frames'), 3)}"])
    out.append(_table(["row", "steps", "trained at", "PSNR", "PSNR moving region", "SSIM", "before TTO: PSNR / moving",
                       "train-view PSNR", "s/step", "train (min)", "rotation (°) init → end", "time (frames) init → end"], rows))
    met = [name for name, entry in result["rows"].items()
           if all(entry["metrics"].get(key, float("-inf")) >= target for key, target in targets.items())]
    out += ["", f"Targets on the held-out camera (issue 17): PSNR ≥ {targets['psnr']:g} dB and moving-region PSNR ≥ "
                f"{targets['psnr_dynamic']:g} dB; rows meeting both: **{', '.join(met) if met else 'none'}**. s/step and train "
                "time were measured with the other runs of `--jobs` sharing the machine (load average below)."]
    if len({tuple(entry["train_resolution"]) for entry in result["rows"].values()}) > 1:
        out += ["", "A row trained at another resolution is scored on the held-out frames at that resolution (the column "
                    "'trained at'): finer frames hold detail that coarser ones average away, so its PSNR is not comparable "
                    "one to one with the other rows'."]
    kept = [name for name, entry in result["rows"].items() if "machine" in entry]
    if kept:
        added = [name for name in result["rows"] if name not in kept]
        out += ["", f"Trained by the latest run (`--add`): {'; '.join(f'“{name}”' for name in added)}. The other rows come "
                    "from an earlier run of the same capture and settings, and keep that run's machine entry in the file; "
                    "the machine line below is the latest run's."]
    missing = [name for name in s.get("rows", []) if name not in result["rows"]]
    if missing:
        quoted = "; ".join(f"'{name}'" for name in missing)
        out += ["", f"Asked for but not finished in this run (stopped for machine time): {quoted}."]
    if nvs is not None and nvs["settings"].get("paper_field") is False:
        out += ["", "The demo's people focus on the same capture and run, with its refinement, is Table 3's 'ours' (section 2): "
                    "the same overrides and calibration, and its seed 0 run is trained as this table's rows are."]
    out += _frames_image("field_levers", "ground truth, then each row's render at the same held-out frames")
    out += ["", _machine(result), ""]
    return "\n".join(out)


def training_section(result: Optional[dict]) -> str:
    out = ["## 3. Training throughput, memory, time to PSNR", ""]
    if result is None:
        return "\n".join(out + ["Not run yet: `.venv/bin/python benchmarks/bench_training.py`.", ""])
    s = result["settings"]
    cap = result["capture"]["synth_config"]
    out += [
        f"`benchmarks/bench_training.py` → `results/training.json`. Capture: {cap['num_cameras']} cameras, "
        f"{cap['width']}×{cap['height']} px, {cap['duration_s']} s, processed with `process_capture`; both methods read it "
        f"through the same data manager, {s['rays']} rays/batch; {s['warmup']} warm-up steps, then {s['steps']} timed steps, "
        f"one run each, each in its own process (peak RSS is that process's); torch threads per process: "
        f"{s.get('threads') or 'torch default'}.",
        "",
    ]
    rows = []
    for name, entry in result["throughput"].items():
        rows.append([name, _f(entry["rays_per_s"], 0), _f(entry["seconds_per_step"], 3), _f(entry["peak_rss_mb"], 0),
                     _f(entry.get("cuda_max_allocated_mb"), 0), f"{entry['num_parameters'] / 1e6:.2f} M"])
    out.append(_table(["method", "rays/s", "s/step", "peak RSS (MiB)", "CUDA max alloc. (MiB)", "parameters"], rows))
    comparison = result.get("comparison")
    if comparison:
        out += ["", f"humansync / nerfacto rays/s: **{comparison['humansync_over_nerfacto_rays_per_s']:.2f}×** "
                    f"(target ≥ 1: {_f(comparison['target_humansync_at_least_as_fast_per_ray'])})."]
    ttp = result.get("time_to_psnr")
    if ttp:
        reached = ", ".join(f"{t} dB: " + ("not reached" if v is None else f"{v['train_s']:.0f} s (step {v['step']})")
                            for t, v in ttp["time_to_psnr"].items())
        out += ["", f"humansync time to reach a mean PSNR on {len(ttp['views'])} training views (rendered at the refined "
                    f"poses and times; clock paused while measuring): {reached}. Final PSNR after {ttp['curve'][-1]['step']} "
                    f"steps: {ttp['final_psnr']:.2f} dB."]
    out += ["", _machine(result), ""]
    return "\n".join(out)


def signal_section(result: Optional[dict]) -> str:
    out = ["## 2j. Calibration signal of a trained field (why joint refinement falls short here)", ""]
    if result is None:
        return "\n".join(out + ["Not run yet: `.venv/bin/python benchmarks/bench_refinement_signal.py`.", ""])
    s, cap = result["settings"], result["synth_config"]
    out += [
        f"`benchmarks/bench_refinement_signal.py` → `results/refinement_signal.json`. `humansync-small` trained "
        f"{s['steps']} steps (schedule fitted to them) at the true calibration of a noise-free capture ({cap['num_cameras']} cameras, "
        f"{cap['width']}×{cap['height']} px, {cap['duration_s']} s at {cap['fps']:g} fps); then, field frozen, "
        f"{s['tto_steps']} steps of test-time optimisation (pose and time) of training videos {s['videos']} displaced by "
        f"{s['turn_deg']:g}° or pushed by {s['push_frames']:g} frames. What is left, per video (in the order listed):",
        "",
    ]
    rows = [[str(r["time_resolution"]), _f(r["time_cells_per_frame"]),
             " / ".join(_f(v["turned"]["rotation_left_deg"], 3) for v in r["per_video"]),
             " / ".join(_f(v["pushed"]["time_left_frames"], 3) for v in r["per_video"])] for r in result["results"]]
    out.append(_table(["time cells", "cells per frame", f"{s['turn_deg']:g}° turn: left (°)",
                       f"{s['push_frames']:g}-frame push: left (frames)"], rows))
    out += ["", _machine(result), ""]
    return "\n".join(out)


REFINEMENT_RUNS = {
    "refinement": ("## 2i. Joint refinement on the dense rig: Init → Refine (the paper's Table 1)", ""),
    "refinement_levers": ("## 2k. Refinement levers from the paper-like start (issue 20)",
                          " --scenarios lr_x5 no_absorbers coarse_to_fine_time --output benchmarks/results/refinement_levers.json"),
    "refinement_long": ("## 2l. Twice as long from the paper-like start (issue 20)",
                        " --steps 3000 --scenarios paper_like_paper_schedule lr_x5 --output benchmarks/results/refinement_long.json"),
}
"""`bench_refinement.py`'s results files: its stem → the section's title and the command's extra arguments."""


def refinement_section(result: Optional[dict], stem: str = "refinement") -> str:
    """Section 2i from `refinement.json` (Init → Refine on the dense rig beside the paper's Table 1),
    2k from `refinement_levers.json` and 2l from `refinement_long.json` (the same table for the levers'
    scenarios and for runs twice as long)."""
    title, extra = REFINEMENT_RUNS[stem]
    out = [title, ""]
    if result is None:
        return "\n".join(out + [f"Not run yet: `.venv/bin/python benchmarks/bench_refinement.py --threads 1 --jobs 2{extra}`.", ""])
    s, cap, radius = result["settings"], result["capture"]["synth_config"], result["rig_radius_m"]
    out += [
        f"`benchmarks/bench_refinement.py{extra}` → `results/{stem}.json`, `results/{stem}.png`. The demo's capture "
        f"({cap['num_cameras']}-camera {cap['rig']}, {cap['width']}×{cap['height']} px trained at 1/{s['downscale']}, "
        f"{cap['duration_s']:g} s, videos up to {cap['start_spread_s']:g} s apart, last camera held out) and run "
        f"(`humansync-small` with the demo's field options, {s['steps']} steps with its progressive schedule fitted to "
        f"them, time offsets free), from {len(result['scenarios'])} starts. Errors of the training videos against the ground truth, "
        f"Sim(3)-aligned; translation also as a percentage of the rig radius ({radius:.2f} m); time in frames after "
        "removing the common offset. Start → end:",
        "",
    ]
    rows = []
    for name, entry in result["scenarios"].items():
        a, b = entry["summary"]["init"], entry["summary"]["refined"]
        drift = entry["summary"]["max_drift"]
        rows.append([f"{name}: {result['descriptions'][name]}", f"{_f(a['rotation_deg'], 3)} → {_f(b['rotation_deg'], 3)}",
                     f"{_f(100 * a['translation_m'], 2)} → {_f(100 * b['translation_m'], 2)}",
                     f"{_f(100 * a['translation_frac'], 2)} → {_f(100 * b['translation_frac'], 2)}",
                     f"{_f(a['time_frames'], 3)} → {_f(b['time_frames'], 3)}",
                     f"{_f(drift['rotation_deg'], 3)} / {_f(drift['time_frames'], 3)}",
                     _f(entry["metrics"].get("psnr_dynamic")), f"{entry['train_s'] / 60:.1f}"])
    paper = result["paper_table1_panoptic_average"]
    rows.append(["paper, Table 1 Panoptic average", f"{paper['init']['rotation_deg']} → {paper['refined']['rotation_deg']}",
                 f"{paper['init']['translation_cm']} → {paper['refined']['translation_cm']}", "–",
                 f"{paper['init']['time_frames']} → {paper['refined']['time_frames']}", "–", "–", "–"])
    out.append(_table(["start", "rotation (°)", "translation (cm)", "translation (% of rig radius)", "time (frames)",
                       "largest growth of one video's error: rotation (°) / time (frames)", "held-out PSNR moving region",
                       "train (min)"], rows))
    out += ["", f"![errors over training](../benchmarks/results/{stem}.png)", "", "Issue 20's targets on this run:", ""]
    targets = result["targets"]
    for name, verdict in ((n, e["verdicts"]) for n, e in result["scenarios"].items() if e["verdicts"]):
        if "rotation" in verdict:  # the paper-like start's targets (bench_refinement.verdicts)
            t = targets["paper_like"]
            out.append(f"- {name}, from the paper-like start: rotation ≤ {t['rotation_deg']:g}°: **{'yes' if verdict['rotation'] else 'no'}**, "
                       f"translation ≤ {100 * t['translation_frac']:g} % of the rig radius: **{'yes' if verdict['translation'] else 'no'}**, "
                       f"time ≤ {t['time_frames']:g} frame: **{'yes' if verdict['time'] else 'no'}**")
        else:
            t = targets["improved"]
            out.append(f"- from our calibration, rotation error down by ≥ {100 * t['rotation_drop']:g} %: "
                       f"**{'yes' if verdict['rotation_drop'] else 'no'}**; no video's rotation up by more than "
                       f"{t['rotation_drift_deg']:g}°: **{'yes' if verdict['no_rotation_drift'] else 'no'}**; no video's time up by "
                       f"more than {t['time_drift_frames']:g} frame: **{'yes' if verdict['no_time_drift'] else 'no'}**")
    out += ["", _machine(result), ""]
    return "\n".join(out)


def other_section(data: Optional[dict], synth: Optional[dict]) -> str:
    out = ["## 4. Data path and synthetic captures", ""]
    if data is not None:
        t, c = data["targets"], data["capture"]
        out.append(f"- `bench_data.py` (`results/data.json`): {c['videos']} videos × {c['frames_per_video']} frames at "
                   f"{c['width']}×{c['height']}: peak RSS {t['peak_rss_mb']:.0f} MiB (target < {t['peak_rss_target_mb']}), "
                   f"data loading {t['data_s_per_1024_rays'] * 1000:.1f} ms per 1024 rays "
                   f"({100 * t['data_fraction_of_cpu_step']:.1f} % of a CPU training step).")
    if synth is not None:
        out.append(f"- `bench_synth.py` (`results/synth.json`): the default capture ({synth['videos']} videos, {synth['frames']} "
                   f"frames) generated in {synth['generate_capture_s']:.1f} s (target < {synth['target_s']:.0f} s).")
    return "\n".join(out + [""])


MAIN_NVS = {
    "nvs.json": ("## 2. Novel-view synthesis and refined calibration (Table 3 protocol)", ""),
    "nvs_sparse.json": ("## 2b. Where the method stops working: the sparse ring (Table 3 protocol)", " --rig ring"),
}
"""The two main `bench_nvs` runs: the default rig (the dome, since issue 17; older `nvs.json` files hold
a 10-camera ring) and the sparse ring; any other `nvs_*.json` is a variant run of one of them."""


def nvs_sections() -> list[str]:
    """Section 2 (default rig), 2b (sparse ring) and one section per variant run (`--degraded`,
    `--init paper`, `--paper-scale`, `--rig stage`), which borrows the oracle of the main run that
    trained on its capture."""
    main = {name: _load(name) for name in MAIN_NVS}
    parts = [nvs_section(result, name, MAIN_NVS[name][0], command=MAIN_NVS[name][1]) for name, result in main.items()]
    variants = [path for path in sorted(RESULTS.glob("nvs_*.json")) if path.name not in MAIN_NVS]
    for letter, path in zip("cdefg", variants):
        result = json.loads(path.read_text())
        reference = next(((name, r) for name, r in main.items()
                          if r is not None and r["capture"]["synth_config"] == result["capture"]["synth_config"]), None)
        title = f"## 2{letter}. Variant run `{path.stem}`: Novel-view synthesis and refined calibration (Table 3 protocol)"
        parts.append(nvs_section(result, path.name, title, reference=reference))
    return parts


def render() -> str:
    parts = [
        "# Results: our numbers beside the paper's",
        "",
        "Generated by `benchmarks/make_results_md.py` from `benchmarks/results/*.json`; do not edit by hand. "
        "How to reproduce each file: `benchmarks/README.md`.",
        "",
        CAVEAT,
        "",
        calibration_section(_load("calibration.json")),
        calibration_scale_section(_load("calibration_scale.json")),
        *nvs_sections(),
        levers_section(_load("field_levers.json"), _load("nvs.json")),
        refinement_section(_load("refinement.json")),
        signal_section(_load("refinement_signal.json")),
        refinement_section(_load("refinement_levers.json"), "refinement_levers"),
        refinement_section(_load("refinement_long.json"), "refinement_long"),
    ]
    parts += [training_section(_load("training.json")), other_section(_load("data.json"), _load("synth.json"))]
    return "\n".join(parts).rstrip() + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail if docs/results.md differs from the results files")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    text = render()
    if args.check:
        current = args.output.read_text() if args.output.is_file() else ""
        if current != text:
            print(f"{args.output} is stale: run benchmarks/make_results_md.py", file=sys.stderr)
            sys.exit(1)
        print(f"{args.output} is up to date")
        return
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
