"""The humansync model: K-Planes refined jointly with per-video time offsets and poses (Sec. 3.3).

Wiring only: the field and proposal fields (``kplanes_field``), the Eq. 14 level weights and the
s0/s1 schedule (``level_weights``, ``schedule``), the components that own the calibration parameters
(``time_offsets``, ``video_pose_optimizer``) and the pure regularisers (``regularizers``).

Order of operations for a training ray bundle, and why:
1. look up each ray's video from its image index (``metadata["video_index"]``);
2. correct origin and direction with the video's (or moving frame's) pose correction;
3. add the video's learned time delta to ``ray_bundle.times``;
4. only then bind those times into the proposal fields' ``density_fn`` (the proposal sampler calls
   them with positions only), so the proposal samplers see the shifted times too.
Eval and viewer rays are rendered as given, with two exceptions. Rays of a camera that is a
training image at its dataparser pose (camera metadata ``TRAIN_IMAGE_INDEX``, e.g. the datasets
``ns-render dataset`` builds) get steps 2-3 too, so training views render at their refined pose and
time. Rays without times (nerfstudio 1.1.5's ``ns-render interpolate``) render normalised time 0.5,
the middle of the training videos' common time span (``UNTIMED_RENDER_TIME``).

Every regulariser that touches parameters is computed inside ``get_outputs`` (training only), so
under DistributedDataParallel its gradients reach parameters through the graph DDP traces from the
forward outputs (all-reduced like the photometric gradients) rather than through parameters the
reducer has already marked unused (e.g. proposal planes on steps where the proposal sampler runs
under ``no_grad``). The schedule is a pure function of the step, identical on every rank.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass, field
from typing import Dict, List, Literal, Optional, Tuple, Type

import numpy as np
import torch
from torch import Tensor
from torch.nn import Parameter

from nerfstudio.cameras.rays import RayBundle, RaySamples
from nerfstudio.configs.config_utils import to_immutable_dict
from nerfstudio.engine.callbacks import TrainingCallback, TrainingCallbackAttributes, TrainingCallbackLocation
from nerfstudio.field_components.field_heads import FieldHeadNames
from nerfstudio.field_components.spatial_distortions import SceneContraction
from nerfstudio.model_components.losses import MSELoss, distortion_loss, interlevel_loss
from nerfstudio.model_components.ray_samplers import ProposalNetworkSampler, UniformSampler
from nerfstudio.model_components.renderers import AccumulationRenderer, DepthRenderer, RGBRenderer
from nerfstudio.model_components.scene_colliders import NearFarCollider
from nerfstudio.models.base_model import Model, ModelConfig
from nerfstudio.utils import colormaps, misc

from humansync_ns.dataparser.humansync_dataparser import TRAIN_IMAGE_INDEX
from humansync_ns.dataparser.normalization import TimeNormalization
from humansync_ns.model import regularizers
from humansync_ns.model.calibration_state import calibration_log_callback
from humansync_ns.model.kplanes_field import DynamicRegion, HumanSyncDensityField, HumanSyncField, TimeToGrid
from humansync_ns.model.schedule import schedule_callback, schedule_state
from humansync_ns.model.time_offsets import TimeOffsets, TimeOffsetsConfig
from humansync_ns.model.unfreeze_scheduler import align_to_unfreeze_steps
from humansync_ns.model.video_pose_optimizer import VideoPoseOptimizer, VideoPoseOptimizerConfig

DEFAULT_LOSS_COEFFICIENTS: Dict[str, float] = {
    "rgb": 1.0,
    "interlevel": 1.0,
    "distortion": 0.001,
    "plane_tv": 0.0002,
    "plane_tv_proposal": 0.0002,
    "time_smoothness": 0.001,
    "time_smoothness_proposal": 0.00001,
    "l1_time_planes": 0.0001,
    "l1_time_planes_proposal": 0.0001,
    "camera_translation_l2": 0.01,
    "camera_rotation_l2": 0.001,
    "camera_smoothness": 1.0,
    "time_offset_l1": 0.0,
}
"""Every loss weight of the model; keys are exactly the keys of ``get_loss_dict``."""
UNTIMED_RENDER_TIME = 0.5
"""Normalised time of eval rays without times: the middle of the training videos' common span
(nerfstudio 1.1.5's ``ns-render interpolate`` passes none, and nothing else can tell the model which
frame of the path a camera is)."""


@dataclass
class HumanSyncModelConfig(ModelConfig):
    """K-Planes with coarse-to-fine level weights, learnable time offsets and per-video poses."""

    _target: Type = field(default_factory=lambda: HumanSyncModel)
    near_plane: float = 0.05
    """Distance along each ray where sampling starts (scene units)."""
    far_plane: float = 1000.0
    """Distance along each ray where sampling stops (scene units)."""
    spatial_distortion: Literal["contract", "aabb"] = "contract"
    """How space maps to the grids. contract: unbounded scene, all of space contracted into [-2, 2]
    with the scene box as the unit cube (real captures with backgrounds); aabb: only the scene box is
    represented, density 0 outside."""
    dynamic_region: DynamicRegion = "everywhere"
    """Where the scene may change over time. everywhere: the paper's K-Planes; scene_box: only inside
    the scene box, the rest is static (with the dataparser's scene_box_from people, the people's
    region; kplanes_field.py says why)."""
    background_color: Literal["random", "last_sample", "black", "white"] = "last_sample"
    """Colour behind the last sample."""
    grid_base_resolution: Tuple[int, int, int] = (48, 48, 48)
    """Spatial (x, y, z) resolution of the coarsest K-Planes level."""
    time_resolution: Optional[int] = None
    """Cells of the time axis of every space-time plane; None derives them from the capture (one
    cell per ``frames_per_time_cell`` frames of the normalised time range), so the same preset fits a
    clip of any length (the paper's 240 were for its clips)."""
    coarse_to_fine_time: bool = False
    """Coarse levels also get a coarse time axis (cells scale with the level's spatial multiplier),
    so the Eq. 14 schedule runs coarse-to-fine in time too, as BARF's does in space: early on the
    field is smooth in time and a video's time offset sees a wide basin (the paper: False)."""
    frames_per_time_cell: float = 1.0
    """Frames of the fastest video per time cell when ``time_resolution`` is None. Cells finer than a
    frame are each fitted to whichever frames land in them, and the time offsets' gradient becomes
    noise (benchmarks/results/refinement_signal.json)."""
    multiscale_res: Tuple[int, ...] = (1, 2, 4, 8)
    """Spatial resolution multipliers, one per level L (paper: L = 4 or 5, finest 384)."""
    grid_feature_dim: int = 32
    """Features per plane and level."""
    keep_coarsest_level: bool = True
    """Hold the coarsest level's Eq. 14 weight at 1 (Eq. 14 literally starts with every level at 0)."""
    coarse_to_fine_end_step: int = 100_000
    """Step where the Eq. 14 schedule reaches eta = 1 (paper: a third of training); 0 disables it."""
    pose_start_step: int = 2_000
    """s0: camera pose corrections are frozen before this step."""
    time_offset_delay: int = 18_000
    """s1: time offsets start learning at s0 + s1."""
    geo_feat_dim: int = 15
    """Features from the density MLP to the colour MLP."""
    hidden_dim: int = 64
    """Width of the density MLP."""
    num_layers: int = 2
    """Layers of the density MLP."""
    hidden_dim_color: int = 64
    """Width of the colour MLP."""
    num_layers_color: int = 3
    """Layers of the colour MLP."""
    appearance_embedding_dim: int = 16
    """Per-video appearance code size (exposure / colour differences between phones); 0 disables it."""
    sh_levels: int = 4
    """Spherical-harmonics levels of the view-direction encoding (4: degree 3, as K-Planes); 1 leaves
    colour independent of the view, so no camera can explain its pose error by a view-dependent colour."""
    num_proposal_samples_per_ray: Tuple[int, ...] = (256, 128)
    """Samples per ray for each proposal iteration."""
    num_nerf_samples_per_ray: int = 48
    """Samples per ray for the radiance field."""
    num_proposal_iterations: int = 2
    """Proposal iterations (one proposal field each)."""
    proposal_net_args_list: List[Dict] = field(
        default_factory=lambda: [
            {"num_components": 8, "resolution": (128, 128, 128), "hidden_dim": 64},
            {"num_components": 8, "resolution": (256, 256, 256), "hidden_dim": 64},
        ]
    )
    """Keyword arguments of each proposal field; "resolution" is spatial (x, y, z), time uses
    ``proposal_time_resolution``."""
    proposal_time_resolution: int = 25
    """Time resolution of the proposal fields."""
    proposal_update_every: int = 5
    """Update the proposal fields every n steps after the warm-up."""
    proposal_warmup: int = 5000
    """Steps over which the proposal update interval grows from 1 to ``proposal_update_every``."""
    use_proposal_weight_anneal: bool = True
    """Anneal the proposal weights before PDF sampling (mip-NeRF 360 Eq. 18)."""
    proposal_weights_anneal_slope: float = 10.0
    """Slope of the proposal weight annealing."""
    proposal_weights_anneal_max_num_iters: int = 1000
    """Steps of the proposal weight annealing."""
    use_single_jitter: bool = True
    """One jitter per ray in the samplers."""
    time_offsets: TimeOffsetsConfig = field(default_factory=TimeOffsetsConfig)
    """Learnable per-video time offsets."""
    camera_optimizer: VideoPoseOptimizerConfig = field(default_factory=VideoPoseOptimizerConfig)
    """Per-video (per-frame for moving cameras) pose corrections."""
    loss_coefficients: Dict[str, float] = to_immutable_dict(DEFAULT_LOSS_COEFFICIENTS)
    """Weight of every loss term (keys of ``DEFAULT_LOSS_COEFFICIENTS``; missing keys take the default)."""
    implementation: Literal["tcnn", "torch"] = "tcnn"
    """MLP / SH implementation: tcnn when installed (falls back to torch with a warning), or torch."""


def time_cells(time_normalization: Optional[Dict[str, float]], fps: Optional[Tensor], frames_per_cell: float) -> int:
    """Time cells for one cell per ``frames_per_cell`` frames of the fastest video over the field's
    time axis, which spans ``grid_span_s`` seconds (at least 2 cells)."""
    if time_normalization is None or fps is None or fps.numel() == 0:
        raise ValueError("humansync model: time_resolution=None needs the dataparser's time_normalization and fps metadata")
    if not frames_per_cell > 0:
        raise ValueError(f"frames_per_time_cell must be positive, got {frames_per_cell}")
    seconds = TimeNormalization.from_dict(time_normalization).grid_span_s
    return max(2, int(math.ceil(seconds * float(fps.max()) / frames_per_cell)))


def _detached_rays(ray_bundle: RayBundle) -> RayBundle:
    """The bundle with origins, directions and times cut from the autograd graph."""
    times = None if ray_bundle.times is None else ray_bundle.times.detach()
    return dataclasses.replace(ray_bundle, origins=ray_bundle.origins.detach(), directions=ray_bundle.directions.detach(), times=times)


def _attach_rays(ray_samples: RaySamples, ray_bundle: RayBundle) -> None:
    """Give the field's samples the bundle's differentiable origins, directions and times (their
    depths along the rays stay those the proposal sampler chose)."""
    frustums = ray_samples.frustums
    frustums.origins = ray_bundle.origins[..., None, :].expand_as(frustums.origins)
    frustums.directions = ray_bundle.directions[..., None, :].expand_as(frustums.directions)
    if ray_bundle.times is not None and ray_samples.times is not None:
        ray_samples.times = ray_bundle.times[..., None, :].expand_as(ray_samples.times)


def _metadata_tensor(metadata: Dict, key: str, num_images: int) -> Tensor:
    if key not in metadata:
        raise ValueError(f"humansync model: dataparser metadata lacks '{key}' (see docs/architecture.md)")
    value = torch.as_tensor(metadata[key]).reshape(-1).long()
    if value.shape[0] != num_images:
        raise ValueError(f"humansync model: metadata['{key}'] has {value.shape[0]} entries, expected {num_images}")
    return value


class HumanSyncModel(Model):
    """K-Planes dynamic radiance field refined jointly with the capture's calibration.

    Args:
        config: the model configuration.
        scene_box: the dataparser's scene box.
        num_train_data: number of training images (all frames of all training videos).
        metadata: the training dataparser outputs' metadata (docs/architecture.md contract).
    """

    config: HumanSyncModelConfig

    def populate_modules(self) -> None:
        super().populate_modules()
        unknown = set(self.config.loss_coefficients) - set(DEFAULT_LOSS_COEFFICIENTS)
        if unknown:
            known = sorted(DEFAULT_LOSS_COEFFICIENTS)
            raise ValueError(f"unknown loss_coefficients keys {sorted(unknown)}; known: {known}")
        self.loss_coefficients = {**DEFAULT_LOSS_COEFFICIENTS, **self.config.loss_coefficients}
        meta = self.kwargs.get("metadata") or {}
        self._populate_calibration(meta)
        distortion = SceneContraction(order=float("inf")) if self.config.spatial_distortion == "contract" else None
        self.field = HumanSyncField(
            self.scene_box.aabb,
            num_videos=self.num_videos,
            train_videos=self.train_videos,
            grid_resolution=self.config.grid_base_resolution,
            time_resolution=self.time_resolution,
            multiscale=self.config.multiscale_res,
            num_components=self.config.grid_feature_dim,
            geo_feat_dim=self.config.geo_feat_dim,
            hidden_dim=self.config.hidden_dim,
            num_layers=self.config.num_layers,
            hidden_dim_color=self.config.hidden_dim_color,
            num_layers_color=self.config.num_layers_color,
            appearance_embedding_dim=self.config.appearance_embedding_dim,
            sh_levels=self.config.sh_levels,
            spatial_distortion=distortion,
            dynamic_region=self.config.dynamic_region,
            coarse_to_fine_time=self.config.coarse_to_fine_time,
            time_to_grid=self.time_to_grid,
            implementation=self.config.implementation,
        )
        self.proposal_networks = self._build_proposal_networks(distortion)
        self._populate_sampling(initial_uniform=distortion is None)
        self.renderer_rgb = RGBRenderer(background_color=self.config.background_color)
        self.renderer_accumulation = AccumulationRenderer()
        self.renderer_depth = DepthRenderer(method="expected")
        self.rgb_loss = MSELoss()
        # torchmetrics' PSNR / SSIM need no downloads; LPIPS is added offline-safe by the pipeline.
        from torchmetrics.functional import structural_similarity_index_measure
        from torchmetrics.image import PeakSignalNoiseRatio

        self.psnr = PeakSignalNoiseRatio(data_range=1.0)
        self.ssim = structural_similarity_index_measure
        self.apply_schedule(0)

    def _populate_calibration(self, meta: Dict) -> None:
        """Image -> video map, the time-offset and pose components, and logging metadata."""
        n = self.num_train_data
        video_index = _metadata_tensor(meta, "video_index", n)
        frame_index = _metadata_tensor(meta, "frame_index", n)
        self.num_videos = int(meta.get("num_videos", int(video_index.max()) + 1))
        self.video_names: List[str] = list(meta.get("video_names", [f"video{v}" for v in range(self.num_videos)]))
        self.train_videos: List[int] = [int(v) for v in meta.get("train_videos", sorted(set(video_index.tolist())))]
        self.register_buffer("image_to_video", video_index, persistent=False)
        self.time_offsets = TimeOffsets(
            self.config.time_offsets,
            num_videos=self.num_videos,
            time_normalization=meta.get("time_normalization"),
            time_offset_init_s=meta.get("time_offset_init_s"),
            fps=meta.get("fps"),
        )
        self.camera_optimizer: VideoPoseOptimizer = self.config.camera_optimizer.setup(
            num_cameras=n,
            device="cpu",
            video_index=video_index.tolist(),
            frame_index=frame_index.tolist(),
            moving_videos=[int(v) for v in meta.get("moving_videos", [])],
            camera_rotations=meta.get("camera_rotations"),
        )
        self.time_to_grid = TimeToGrid()
        """Normalised time to the fields' time axis (docs/conventions.md)."""
        if meta.get("time_normalization") is not None:
            norm = TimeNormalization.from_dict(meta["time_normalization"])
            self.time_to_grid = TimeToGrid(norm.grid_scale, norm.grid_shift)
        fps = meta.get("fps")
        self.fps = None if fps is None else torch.as_tensor(fps, dtype=torch.float32).reshape(-1)
        self.ground_truth: Optional[Dict] = meta.get("ground_truth")
        self.time_resolution = self.config.time_resolution or time_cells(
            meta.get("time_normalization"), self.fps, self.config.frames_per_time_cell
        )

    def _build_proposal_networks(self, distortion: Optional[SceneContraction]) -> torch.nn.ModuleList:
        """One K-Planes proposal field per proposal iteration (the last args entry repeats)."""
        cfg = self.config
        if len(cfg.num_proposal_samples_per_ray) != cfg.num_proposal_iterations:
            raise ValueError(
                f"num_proposal_samples_per_ray has {len(cfg.num_proposal_samples_per_ray)} entries for "
                f"{cfg.num_proposal_iterations} proposal iterations"
            )
        networks = torch.nn.ModuleList()
        for i in range(cfg.num_proposal_iterations):
            args = dict(cfg.proposal_net_args_list[min(i, len(cfg.proposal_net_args_list) - 1)])
            spatial = tuple(args.pop("resolution", (64, 64, 64)))
            networks.append(
                HumanSyncDensityField(
                    self.scene_box.aabb,
                    resolution=(*spatial, cfg.proposal_time_resolution),
                    spatial_distortion=distortion,
                    dynamic_region=cfg.dynamic_region,
                    time_to_grid=self.time_to_grid,
                    implementation=cfg.implementation,
                    **args,
                )
            )
        return networks

    def _populate_sampling(self, initial_uniform: bool) -> None:
        cfg = self.config

        def update_schedule(step: int) -> float:
            interval = np.interp(step, [0, cfg.proposal_warmup], [0, cfg.proposal_update_every])
            return float(np.clip(interval, 1, cfg.proposal_update_every))

        self.proposal_sampler = ProposalNetworkSampler(
            num_nerf_samples_per_ray=cfg.num_nerf_samples_per_ray,
            num_proposal_samples_per_ray=cfg.num_proposal_samples_per_ray,
            num_proposal_network_iterations=cfg.num_proposal_iterations,
            single_jitter=cfg.use_single_jitter,
            update_sched=update_schedule,
            initial_sampler=UniformSampler(single_jitter=cfg.use_single_jitter) if initial_uniform else None,
        )
        self.collider = NearFarCollider(near_plane=cfg.near_plane, far_plane=cfg.far_plane)

    # ----- schedule -----
    def apply_schedule(self, step: int) -> None:
        """Set level weights and which calibration groups learn, for ``step`` (same on every rank)."""
        state = schedule_state(
            step,
            pose_start_step=self.config.pose_start_step,
            time_offset_delay=self.config.time_offset_delay,
            coarse_to_fine_end_step=self.config.coarse_to_fine_end_step,
            num_levels=len(self.config.multiscale_res),
            keep_coarsest_level=self.config.keep_coarsest_level,
        )
        self.field.set_level_weights(state.level_weights)
        self.camera_optimizer.trainable = state.poses_trainable
        self.time_offsets.trainable = state.time_offsets_trainable

    def update_to_step(self, step: int) -> None:
        """Restore the schedule of a checkpoint's step (called by nerfstudio when loading)."""
        self.apply_schedule(step)

    def get_training_callbacks(
        self, training_callback_attributes: TrainingCallbackAttributes
    ) -> List[TrainingCallback]:
        if training_callback_attributes.optimizers is not None:
            start = self.config.pose_start_step
            align_to_unfreeze_steps(
                training_callback_attributes.optimizers,
                {"camera_opt": start, "time_offsets": start + self.config.time_offset_delay},
            )
        callbacks = [schedule_callback(self.apply_schedule)]
        if self.config.use_proposal_weight_anneal:
            callbacks.append(schedule_callback(self._set_proposal_anneal))
        callbacks.append(
            TrainingCallback(
                where_to_run=[TrainingCallbackLocation.AFTER_TRAIN_ITERATION],
                update_every_num_iters=1,
                func=self.proposal_sampler.step_cb,
            )
        )
        if training_callback_attributes.trainer is not None:  # live calibration logging needs a writer
            callbacks.append(calibration_log_callback(self, training_callback_attributes))
        return callbacks

    def _set_proposal_anneal(self, step: int) -> None:
        # mip-NeRF 360 Eq. 18 (as nerfacto): sharpen the proposal weights progressively.
        frac = float(np.clip(step / self.config.proposal_weights_anneal_max_num_iters, 0, 1))
        slope = self.config.proposal_weights_anneal_slope
        self.proposal_sampler.set_anneal(slope * frac / ((slope - 1) * frac + 1))

    def get_param_groups(self) -> Dict[str, List[Parameter]]:
        groups: Dict[str, List[Parameter]] = {
            "proposal_networks": list(self.proposal_networks.parameters()),
            "fields": list(self.field.parameters()),
        }
        self.camera_optimizer.get_param_groups(param_groups=groups)
        self.time_offsets.get_param_groups(groups)
        return groups

    # ----- forward -----
    def _move_to_refined(self, ray_bundle: RayBundle, image_index: Tensor) -> Tensor:
        """Pose correction and time shift of rays of training images ``image_index`` (steps 1-3
        above); returns each ray's video."""
        video_index = self.image_to_video[image_index.long()]  # [R]
        self.camera_optimizer.apply_to_image_rays(ray_bundle, image_index)
        self.time_offsets.apply(ray_bundle, video_index)
        return video_index

    def _prepare_training_rays(self, ray_bundle: RayBundle) -> None:
        if ray_bundle.camera_indices is None:
            raise ValueError("humansync model: training rays need camera_indices")
        video_index = self._move_to_refined(ray_bundle, ray_bundle.camera_indices[..., 0])
        # The field reads the video from here for the per-video appearance code.
        ray_bundle.metadata = {**ray_bundle.metadata, "video_index": video_index[..., None]}

    def _prepare_eval_rays(self, ray_bundle: RayBundle) -> None:
        image_index = ray_bundle.metadata.get(TRAIN_IMAGE_INDEX)
        if image_index is not None:
            self._move_to_refined(ray_bundle, image_index[..., 0])
        # Eval / viewer rays use the mean appearance code, never a (maybe untrained) video's.
        ray_bundle.metadata = {k: v for k, v in ray_bundle.metadata.items() if k not in ("video_index", TRAIN_IMAGE_INDEX)}
        if ray_bundle.times is None:
            ray_bundle.times = torch.full_like(ray_bundle.origins[..., :1], UNTIMED_RENDER_TIME)

    def get_outputs(self, ray_bundle: RayBundle) -> Dict[str, Tensor | List]:
        if self.training:
            self._prepare_training_rays(ray_bundle)
        else:
            self._prepare_eval_rays(ray_bundle)
        # Step 4: bind the (shifted) times; the proposal sampler calls density_fn(positions) only.
        # The proposals sample along the corrected rays, but only the photometric loss may move the
        # calibration: the interlevel loss would otherwise pull poses and offsets, through the
        # proposal densities, toward wherever the proposals agree with the field.
        sampling_bundle = _detached_rays(ray_bundle) if self.training else ray_bundle
        density_fns = [functools.partial(net.density_fn, times=sampling_bundle.times) for net in self.proposal_networks]
        ray_samples, weights_list, ray_samples_list = self.proposal_sampler(sampling_bundle, density_fns=density_fns)
        if self.training:
            _attach_rays(ray_samples, ray_bundle)
        field_outputs = self.field(ray_samples)
        weights = ray_samples.get_weights(field_outputs[FieldHeadNames.DENSITY])
        weights_list.append(weights)
        ray_samples_list.append(ray_samples)
        outputs: Dict[str, Tensor | List] = {
            "rgb": self.renderer_rgb(rgb=field_outputs[FieldHeadNames.RGB], weights=weights),
            "accumulation": self.renderer_accumulation(weights=weights),
            "depth": self.renderer_depth(weights=weights, ray_samples=ray_samples),
        }
        for i in range(self.config.num_proposal_iterations):
            outputs[f"prop_depth_{i}"] = self.renderer_depth(weights=weights_list[i], ray_samples=ray_samples_list[i])
        if self.training:
            outputs["weights_list"] = weights_list
            outputs["ray_samples_list"] = ray_samples_list
            outputs.update(self._regularizer_terms())
        return outputs

    def _regularizer_terms(self) -> Dict[str, Tensor]:
        """Unweighted parameter regularisers and calibration priors (inside forward, see module doc)."""
        prop_space = [p for net in self.proposal_networks for p in net.spatial_planes()]
        prop_time = [p for net in self.proposal_networks for p in net.temporal_planes()]
        terms = {
            "plane_tv": regularizers.plane_tv(self.field.spatial_planes()),
            "time_smoothness": regularizers.time_smoothness(self.field.temporal_planes()),
            "l1_time_planes": regularizers.time_planes_l1(self.field.temporal_planes()),
        }
        if prop_space:
            terms["plane_tv_proposal"] = regularizers.plane_tv(prop_space)
            terms["time_smoothness_proposal"] = regularizers.time_smoothness(prop_time)
            terms["l1_time_planes_proposal"] = regularizers.time_planes_l1(prop_time)
        terms.update(self.camera_optimizer.prior_terms())
        terms.update(self.time_offsets.prior_terms())
        return {f"reg/{k}": v for k, v in terms.items() if self.loss_coefficients.get(k, 0.0) != 0.0}

    def get_metrics_dict(self, outputs, batch) -> Dict[str, Tensor]:
        gt_rgb = self.renderer_rgb.blend_background(batch["image"].to(self.device))
        metrics = {"psnr": self.psnr(outputs["rgb"], gt_rgb)}
        if self.training:
            metrics["distortion"] = distortion_loss(outputs["weights_list"], outputs["ray_samples_list"])
            self.camera_optimizer.get_metrics_dict(metrics)
            deltas_s = self.time_offsets.deltas_s()
            metrics["time_offset_delta_abs_max_s"] = deltas_s.abs().max()
        return metrics

    def get_loss_dict(self, outputs, batch, metrics_dict=None) -> Dict[str, Tensor]:
        pred_rgb, gt_rgb = self.renderer_rgb.blend_background_for_loss_computation(
            pred_image=outputs["rgb"],
            pred_accumulation=outputs["accumulation"],
            gt_image=batch["image"].to(self.device),
        )
        loss_dict = {"rgb": self.rgb_loss(gt_rgb, pred_rgb)}  # Eq. 13
        if self.training:
            loss_dict["interlevel"] = interlevel_loss(outputs["weights_list"], outputs["ray_samples_list"])
            if metrics_dict is not None and "distortion" in metrics_dict:
                loss_dict["distortion"] = metrics_dict["distortion"]
            else:
                loss_dict["distortion"] = distortion_loss(outputs["weights_list"], outputs["ray_samples_list"])
            loss_dict.update({k[len("reg/") :]: v for k, v in outputs.items() if k.startswith("reg/")})
        loss_dict = {k: v for k, v in loss_dict.items() if self.loss_coefficients[k] != 0.0}
        return misc.scale_dict(loss_dict, self.loss_coefficients)

    def get_image_metrics_and_images(
        self, outputs: Dict[str, Tensor], batch: Dict[str, Tensor]
    ) -> Tuple[Dict[str, float], Dict[str, Tensor]]:
        gt_rgb = self.renderer_rgb.blend_background(batch["image"].to(self.device))
        predicted_rgb = outputs["rgb"]
        images = {
            "img": torch.cat([gt_rgb, predicted_rgb], dim=1),
            "accumulation": colormaps.apply_colormap(outputs["accumulation"]),
            "depth": colormaps.apply_depth_colormap(outputs["depth"], accumulation=outputs["accumulation"]),
        }
        for i in range(self.config.num_proposal_iterations):
            images[f"prop_depth_{i}"] = colormaps.apply_depth_colormap(
                outputs[f"prop_depth_{i}"], accumulation=outputs["accumulation"]
            )
        gt = torch.moveaxis(gt_rgb, -1, 0)[None]  # [H, W, 3] -> [1, 3, H, W]
        pred = torch.moveaxis(predicted_rgb, -1, 0)[None]
        metrics = {"psnr": float(self.psnr(gt, pred).item()), "ssim": float(self.ssim(gt, pred))}  # type: ignore
        return metrics, images
