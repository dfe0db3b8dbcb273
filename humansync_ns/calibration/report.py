"""A short human-readable calibration report: three plots and a markdown page.

- `cost_matrix.png`: the pairwise alignment cost (Eq. 4's C), log colour scale.
- `offsets_timeline.png`: each video's span on the global timeline (`local + time_offset_s`),
  coloured by confidence.
- `top_view.png`: camera centres and viewing directions seen from above, with the people's paths
  (pelvis) as the reference video saw them.
- `report.md`: per-video table, warnings, excluded videos (with the check that failed), method,
  and the errors when truth is given.

matplotlib is imported inside the functions (Agg backend), so importing this module stays light.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from humansync_ns.calibration.calibration_io import Calibration
from humansync_ns.calibration.errors import CalibrationErrors
from humansync_ns.motion.format import MotionTrack
from humansync_ns.motion.joints import JOINT_INDEX


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_cost_matrix(calibration: Calibration, path: Path) -> Path:
    plt = _pyplot()
    names = calibration.pairwise_names
    cost = np.array(calibration.pairwise_cost, dtype=np.float64)
    off = ~np.eye(len(names), dtype=bool) & np.isfinite(cost) & (cost > 0)
    shown = np.where(off, np.log10(np.where(off, cost, 1.0)), np.nan)
    fig, ax = plt.subplots(figsize=(1.0 + 0.35 * len(names), 0.6 + 0.35 * len(names)))
    image = ax.imshow(shown, cmap="viridis")
    ax.set_xticks(range(len(names)), names, rotation=90, fontsize=7)
    ax.set_yticks(range(len(names)), names, fontsize=7)
    ax.set_title("pairwise alignment cost (log10; blank: unusable)", fontsize=9)
    fig.colorbar(image, ax=ax, shrink=0.8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_offsets_timeline(calibration: Calibration, path: Path) -> Path:
    plt = _pyplot()
    videos = calibration.videos
    fig, ax = plt.subplots(figsize=(8, 0.8 + 0.28 * len(videos)))
    cmap = plt.get_cmap("RdYlGn")
    for row, video in enumerate(videos):
        start = video.time_offset_s
        duration = video.num_frames / video.fps
        ax.barh(row, duration, left=start, color=cmap(video.confidence), edgecolor="black", linewidth=0.5)
        ax.text(start, row, f" {video.time_offset_s:+.3f} s", va="center", fontsize=7)
    ax.set_yticks(range(len(videos)), [v.name for v in videos], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("global time (s): local time + time_offset_s; colour = confidence (red 0, green 1)")
    ax.set_title(f"time offsets (reference {calibration.reference})", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _world_up(calibration: Calibration, people_world: Optional[np.ndarray]) -> np.ndarray:
    """Up direction: the people's mean pelvis→neck direction, else the cameras' mean −y axis."""
    if people_world is not None and np.isfinite(people_world).any():
        spine = people_world[..., JOINT_INDEX["neck"], :] - people_world[..., JOINT_INDEX["pelvis"], :]
        spine = spine[np.all(np.isfinite(spine), -1)]
        if len(spine):
            up = np.mean(spine / np.linalg.norm(spine, axis=-1, keepdims=True), axis=0)
            return up / np.linalg.norm(up)
    ups = [-v.camera_to_world_at(0)[:3, 1] for v in calibration.videos]
    up = np.mean(ups, axis=0)
    return up / np.linalg.norm(up)


def _reference_people(calibration: Calibration, tracks: Optional[list[MotionTrack]]) -> Optional[np.ndarray]:
    """(T, P, 24, 3) world joints as the reference video saw them (its frame is the world)."""
    if not tracks:
        return None
    from humansync_ns.body.canonical import global_joints

    reference = next((t for t in tracks if t.name == calibration.reference), None)
    if reference is None:
        return None
    joints = global_joints(reference)
    if reference.world_to_camera is not None:
        # Moving reference: the world is the estimator's own, which the joints are already in.
        return joints
    return joints @ calibration.video(reference.name).camera_to_world[:3, :3].T + calibration.video(reference.name).camera_to_world[:3, 3]


def plot_top_view(calibration: Calibration, path: Path, tracks: Optional[list[MotionTrack]] = None) -> Path:
    plt = _pyplot()
    people = _reference_people(calibration, tracks)
    up = _world_up(calibration, people)
    e1 = np.cross(up, [1.0, 0.0, 0.0]) if abs(up[0]) < 0.9 else np.cross(up, [0.0, 1.0, 0.0])
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(up, e1)
    basis = np.stack([e1, e2])
    fig, ax = plt.subplots(figsize=(6, 6))
    if people is not None:
        pelvis = people[..., JOINT_INDEX["pelvis"], :]
        for p in range(pelvis.shape[1]):
            xy = pelvis[:, p] @ basis.T
            ax.plot(xy[:, 0], xy[:, 1], "-", lw=1, alpha=0.8, label=f"person {p}")
    for video in calibration.videos:
        poses = video.camera_to_world if video.is_moving else video.camera_to_world[None]
        centres = poses[:, :3, 3] @ basis.T
        forward = poses[:, :3, 2] @ basis.T
        if video.is_moving:
            ax.plot(centres[:, 0], centres[:, 1], ":", color="gray", lw=1)
        ax.quiver(centres[-1:, 0], centres[-1:, 1], forward[-1:, 0], forward[-1:, 1], angles="xy", scale=6, width=0.004)
        ax.plot(centres[-1, 0], centres[-1, 1], "o", color="tab:red" if video.name == calibration.reference else "tab:blue", ms=5)
        ax.annotate(video.name, centres[-1], fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set_aspect("equal")
    ax.set_title("top view (metres): cameras (red: reference) and people's paths", fontsize=9)
    if people is not None:
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _markdown(calibration: Calibration, images: list[Path], errors: Optional[CalibrationErrors]) -> str:
    lines = ["# Calibration report", "", f"Reference video: **{calibration.reference}** (offset 0, world frame).", ""]
    lines += ["| video | fps | frames | time_offset_s | confidence | centre (m) | moving |", "|---|---|---|---|---|---|---|"]
    for v in calibration.videos:
        centre = ", ".join(f"{x:+.2f}" for x in v.camera_to_world_at(0)[:3, 3])
        lines.append(f"| {v.name} | {v.fps:g} | {v.num_frames} | {v.time_offset_s:+.4f} | {v.confidence:.2f} | {centre} | {v.is_moving} |")
    lines.append("")
    warned = [(v.name, w) for v in calibration.videos if v.observability is not None for w in v.observability.warnings]
    if warned:
        lines += ["## Warnings", ""] + [f"- **{name}**: {w}" for name, w in warned] + [""]
    if calibration.excluded:
        lines += ["## Excluded videos", ""] + [f"- **{e['name']}** ({e.get('check', '?')}): {e['reason']}" for e in calibration.excluded] + [""]
    if errors is not None:
        lines += [
            "## Errors against ground truth (Table 1 protocol)",
            "",
            f"Mean rotation {errors.mean_rotation_deg:.3f}°, translation {errors.mean_translation_m:.4f} m "
            f"({100 * errors.mean_translation_frac:.2f} % of the scene size {errors.scene_size_m:.2f} m), "
            f"time {errors.mean_time_frames:.3f} frames.",
            "",
        ]
    lines += ["## Method", "", "```", *(f"{k}: {v}" for k, v in calibration.method.items()), "```", ""]
    lines += [f"![{p.stem}]({p.name})" for p in images]
    return "\n".join(lines) + "\n"


def write_report(
    calibration: Calibration,
    output_dir: str | Path,
    tracks: Optional[list[MotionTrack]] = None,
    errors: Optional[CalibrationErrors] = None,
) -> Path:
    """Writes the PNGs and `report.md` into `output_dir`; returns the markdown path."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    images = []
    if calibration.pairwise_cost is not None and len(calibration.pairwise_names) > 1:
        images.append(plot_cost_matrix(calibration, output_dir / "cost_matrix.png"))
    images.append(plot_offsets_timeline(calibration, output_dir / "offsets_timeline.png"))
    images.append(plot_top_view(calibration, output_dir / "top_view.png", tracks))
    path = output_dir / "report.md"
    path.write_text(_markdown(calibration, images, errors))
    return path
