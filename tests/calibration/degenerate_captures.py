"""Generators of the inputs that fooled the calibration (issue 18 §1), built from the synthetic
capture generator: the same cameras, people and estimator noise as `simulate_capture`, with one
thing broken. Each function returns motion tracks; nothing is stored as a fixture file."""

from __future__ import annotations

import dataclasses
from typing import Callable, Optional

import numpy as np

from humansync_ns.motion.format import MotionTrack
from humansync_ns.synthetic.capture import SyntheticCapture, simulate_capture, stream_rng, visible_people
from humansync_ns.synthetic.config import SynthConfig
from humansync_ns.synthetic.estimator_noise import apply_estimator_noise, bodies_from_params, transform_bodies

_PER_PERSON_KEYS = ("valid", "joints", "global_orient", "body_pose", "transl")


def capture(**changes) -> SyntheticCapture:
    """A synthetic capture of motion files only (default estimator noise)."""
    return simulate_capture(SynthConfig(render_videos=False, **changes))


def filmed(capture: SyntheticCapture, warp: Callable[[np.ndarray], np.ndarray], hold_position: bool = False) -> list[MotionTrack]:
    """The capture's static cameras filming the people as they are at simulation time `warp(t)`
    instead of t (a still person: a constant; a replay: t mod period), with the capture's estimator
    noise; `hold_position` also keeps every pelvis at its first position (walking on the spot)."""
    tracks = []
    for index, video in enumerate(capture.videos):
        bodies = capture.people.evaluate(warp(video.frame_times_s))
        transl = np.broadcast_to(bodies.transl[:1], bodies.transl.shape) if hold_position else bodies.transl
        orient_c, transl_c = transform_bodies(bodies.global_orient, transl, video.world_to_camera_per_frame())
        valid = visible_people(bodies_from_params(orient_c, bodies.body_pose, capture.people.betas, transl_c), video.K, video.width, video.height)
        rng = stream_rng(capture.config.seed, 99, index)
        noisy = apply_estimator_noise(rng, capture.config, orient_c, bodies.body_pose, capture.people.betas, transl_c, video.frame_times_s)
        masked = {k: np.where(valid.reshape(valid.shape + (1,) * (getattr(noisy, k).ndim - 2)), getattr(noisy, k), np.nan)
                  for k in ("joints", "global_orient", "body_pose", "transl")}
        tracks.append(dataclasses.replace(capture.tracks[index], valid=valid, betas=noisy.betas, **masked))
    return tracks


def still(capture: SyntheticCapture) -> list[MotionTrack]:
    """Everyone frozen at one instant (the estimator noise still changes every frame)."""
    instant = np.mean([v.start_s for v in capture.videos]) + 2.0
    return filmed(capture, lambda t: np.full_like(t, instant))


def replayed(capture: SyntheticCapture, period_s: float = 1.0) -> list[MotionTrack]:
    """The same `period_s` of motion over and over (a periodic motion)."""
    start = max(v.start_s for v in capture.videos)
    return filmed(capture, lambda t: start + np.mod(t - start, period_s))


def on_the_spot(capture: SyntheticCapture) -> list[MotionTrack]:
    """People moving their bodies but staying where they started."""
    return filmed(capture, lambda t: t, hold_position=True)


def clipped(capture: SyntheticCapture, index: int, start_s: float, end_s: float) -> MotionTrack:
    """Video `index` cut to the frames it recorded between global times start_s and end_s (a shorter
    recording; its local time starts again at 0)."""
    track, truth = capture.tracks[index], capture.ground_truth.videos[index]
    global_times = track.times + truth.time_offset_s
    rows = (global_times >= start_s) & (global_times <= end_s)
    per_frame = {k: getattr(track, k)[rows] for k in _PER_PERSON_KEYS}
    return dataclasses.replace(track, **per_frame)


def swapped_people(track: MotionTrack, order: Optional[list[int]] = None) -> MotionTrack:
    """The track with its person indices permuted (reversed by default)."""
    order = list(range(track.num_people))[::-1] if order is None else order
    per_person = {k: getattr(track, k)[:, order] for k in _PER_PERSON_KEYS}
    return dataclasses.replace(track, betas=track.betas[order], **per_person)


def in_millimetres(track: MotionTrack) -> MotionTrack:
    """Joints and translations in millimetres instead of metres."""
    return dataclasses.replace(track, joints=track.joints * 1000.0, transl=track.transl * 1000.0)
