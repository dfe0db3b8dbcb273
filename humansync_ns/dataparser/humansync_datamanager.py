"""Data manager for humansync-data: lazy frames, bounded memory, rays from a rotating frame subset.

nerfstudio's `VanillaDataManager` decodes every training image up front (as float32); at the
paper's scale that is hundreds of GB. This subclass keeps its interface (datasets, eval loaders,
`next_train` / `next_eval` / `next_eval_image`) but decodes frames on demand at the training
resolution into a byte-bounded `FrameCache` and draws each batch from a subset of frames that
rotates every `train_num_times_to_repeat_images` batches. Peak frame memory is at most
`cache_max_bytes` plus the current train and eval subsets, independent of the capture's length.

With several processes (`world_size > 1`, nerfstudio's DDP launcher) each rank trains on its own
share of the training frames with its own seed (`ray_sampling.rank_images` / `rank_seed`): the
ranks draw different rays, each decodes only its share, and the memory bound above holds per
process. Eval batches are drawn from every eval frame on each rank (with the rank's seed).

Rays carry `camera_indices`, `times` (the frames' normalised global times) and
`metadata["video_index"]` (num_rays, 1), all from the dataparser's cameras.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Literal, Optional, Tuple, Type, Union

import numpy as np
import torch
import torch.distributed as dist

from humansync_ns.dataparser.frame_cache import FrameCache, load_frame_uint8
from humansync_ns.dataparser.humansync_dataparser import HumanSyncDataParserConfig
from humansync_ns.dataparser.pixel_weights import frame_difference_weights, load_or_compute_background, load_or_compute_weights
from humansync_ns.dataparser.ray_sampling import PixelDistribution, RotatingSubset, rank_images, rank_seed, sample_rays
from nerfstudio.cameras.rays import RayBundle
from nerfstudio.configs.dataparser_configs import AnnotatedDataParserUnion
from nerfstudio.data.datamanagers.base_datamanager import DataManager, VanillaDataManager, VanillaDataManagerConfig
from nerfstudio.data.dataparsers.base_dataparser import DataparserOutputs
from nerfstudio.data.datasets.base_dataset import InputDataset
from nerfstudio.data.utils.dataloaders import FixedIndicesEvalDataloader, RandIndicesEvalDataloader
from nerfstudio.model_components.ray_generators import RayGenerator
from nerfstudio.utils.rich_utils import CONSOLE

FrameKey = Tuple[str, int, int]
"""(image path, width, height): a frame at one resolution."""


class HumanSyncDataset(InputDataset):
    """An `InputDataset` whose images come from a shared `FrameCache` (uint8, decoded on demand)."""

    def __init__(self, dataparser_outputs: DataparserOutputs, scale_factor: float = 1.0,
                 frame_cache: Optional[FrameCache] = None):
        super().__init__(dataparser_outputs, scale_factor)
        self.frame_cache = frame_cache if frame_cache is not None else FrameCache(1 << 30, load_frame_key)
        self._widths = self.cameras.width[:, 0].tolist()
        self._heights = self.cameras.height[:, 0].tolist()

    def frame_key(self, image_idx: int) -> FrameKey:
        return (str(self.image_filenames[image_idx]), int(self._widths[image_idx]), int(self._heights[image_idx]))

    def get_frame_uint8(self, image_idx: int) -> torch.Tensor:
        """(H, W, 3) uint8 at the camera's resolution."""
        return self.frame_cache.get(self.frame_key(image_idx))

    def get_numpy_image(self, image_idx: int) -> np.ndarray:
        return self.get_frame_uint8(image_idx).numpy()

    def get_data(self, image_idx: int, image_type: Literal["uint8", "float32"] = "float32") -> Dict:
        frame = self.get_frame_uint8(image_idx)
        image = frame if image_type == "uint8" else frame.float() / 255.0
        return {"image_idx": image_idx, "image": image}


def load_frame_key(key: FrameKey) -> torch.Tensor:
    path, width, height = key
    return load_frame_uint8(Path(path), width, height)


@dataclass
class _SplitSampling:
    """Sampling state of one split: the images this process draws from, its rotating subset (of
    positions in `images`), the subset's decoded frames and, with importance sampling, each video's
    pixel distribution (per-video weights) or background (per-frame weights)."""

    dataset: HumanSyncDataset
    images: List[int]
    subset: RotatingSubset
    ray_generator: RayGenerator
    video_distributions: Optional[Dict[int, PixelDistribution]] = None
    video_backgrounds: Optional[Dict[int, Optional[np.ndarray]]] = None
    frames: List[torch.Tensor] = field(default_factory=list)
    distributions: Optional[List[Optional[PixelDistribution]]] = None


@dataclass
class HumanSyncDataManagerConfig(VanillaDataManagerConfig):
    """Lazy, memory-bounded data manager for humansync-data (frames decoded on demand)."""

    _target: Type = field(default_factory=lambda: HumanSyncDataManager)
    dataparser: AnnotatedDataParserUnion = field(default_factory=HumanSyncDataParserConfig)
    """The dataparser (humansync-data)."""
    train_num_images_to_sample_from: int = 64
    """Frames in the training subset that each batch's rays are drawn from."""
    train_num_times_to_repeat_images: int = 50
    """Batches drawn from one training subset before rotating to the next frames."""
    eval_num_images_to_sample_from: int = 8
    """Frames in the eval subset (next_eval)."""
    eval_num_times_to_repeat_images: int = 50
    """Batches drawn from one eval subset before rotating."""
    cache_max_bytes: int = 1 << 30
    """Upper bound of the decoded-frame cache in bytes (uint8 frames at the training resolution),
    per process."""
    loader_threads: int = 2
    """Threads decoding frames when a subset rotates."""
    importance_sampling: bool = False
    """Sample dynamic pixels more often (weights of `importance_weights`, cached next to the data)."""
    importance_weights: Literal["video", "frame"] = "video"
    """video: one weight map per video, high wherever the people ever are (temporal variance); frame:
    a map per frame, high where the people are in that frame (its difference to the video's
    background), so several times more rays land on them (pixel_weights.py)."""
    importance_num_frames: int = 24
    """Frames per video used to compute the weights (or the background)."""
    importance_gamma: float = 0.03
    """Temporal std (per-video weights) or difference to the background (per-frame weights), colours
    in [0, 1], at which a pixel counts as half dynamic."""
    importance_floor: float = 0.05
    """Weight of a fully static pixel (1 for a fully dynamic one)."""
    seed: int = 0
    """Seed of frame rotation and pixel sampling (rank 0's; the other ranks derive theirs from it)."""


class HumanSyncDataManager(VanillaDataManager[HumanSyncDataset]):
    """`VanillaDataManager` with lazy frames and rotating subsets (see module docstring)."""

    config: HumanSyncDataManagerConfig
    train_dataset: HumanSyncDataset
    eval_dataset: HumanSyncDataset

    def __init__(self, config: HumanSyncDataManagerConfig, device: Union[torch.device, str] = "cpu",
                 test_mode: Literal["test", "val", "inference"] = "val", world_size: int = 1, local_rank: int = 0,
                 **kwargs):
        # VanillaDataManager.__init__ is not called: after the same setup as below it compares the
        # resolution of camera 0 with every other camera through Cameras.__getitem__ (34 s for 8,700
        # frames) only to choose a collate function, which this manager never uses.
        self.config = config
        self.device = device
        self.world_size = world_size
        self.local_rank = local_rank
        # local_rank counts the processes of one machine; the shard and seed need the global rank.
        self.rank = dist.get_rank() if dist.is_available() and dist.is_initialized() else local_rank
        self.sampler = None
        self.test_mode = test_mode
        self.test_split = "test" if test_mode in ["test", "inference"] else "val"
        self.dataparser_config = config.dataparser
        if config.data is not None:
            config.dataparser.data = Path(config.data)
        else:
            config.data = config.dataparser.data
        self.dataparser = self.dataparser_config.setup()
        self.includes_time = self.dataparser.includes_time
        self.frame_cache = FrameCache(config.cache_max_bytes, load_frame_key)
        self.seed = rank_seed(config.seed, self.rank)
        """This process's seed (`config.seed` on rank 0)."""
        self._generator = torch.Generator().manual_seed(self.seed)
        self.train_dataparser_outputs = self.dataparser.get_dataparser_outputs(split="train")
        self.train_dataset = self.create_train_dataset()
        self.eval_dataset = self.create_eval_dataset()
        self.exclude_batch_keys_from_device = list(self.train_dataset.exclude_batch_keys_from_device)
        DataManager.__init__(self)  # nn.Module init, then setup_train / setup_eval unless inference

    def create_train_dataset(self) -> HumanSyncDataset:
        return HumanSyncDataset(self.train_dataparser_outputs, self.config.camera_res_scale_factor, self.frame_cache)

    def create_eval_dataset(self) -> HumanSyncDataset:
        outputs = self.dataparser.get_dataparser_outputs(split=self.test_split)
        return HumanSyncDataset(outputs, self.config.camera_res_scale_factor, self.frame_cache)

    def _subset_size(self, dataset: HumanSyncDataset, num_images: int, requested: int, share: float) -> int:
        """Caps a subset of `num_images` at `share` of the cache so rotation never holds more than
        the cache allows."""
        frame_bytes = int((dataset.cameras.width * dataset.cameras.height).max()) * 3
        cap = max(1, int(self.config.cache_max_bytes * share) // frame_bytes)
        size = num_images if requested <= 0 else min(requested, num_images)
        if size > cap:
            CONSOLE.print(f"[yellow]humansync-data: subset of {size} frames exceeds {share:.0%} of cache_max_bytes; using {cap}")
        return min(size, cap)

    def setup_train(self):
        config = self.config
        try:
            images = rank_images(len(self.train_dataset), self.world_size, self.rank)
        except ValueError as err:
            raise ValueError(f"humansync-data {config.dataparser.data}: training frames: {err}") from err
        size = self._subset_size(self.train_dataset, len(images), config.train_num_images_to_sample_from, 0.5)
        self.train_ray_generator = RayGenerator(self.train_dataset.cameras.to(self.device))
        self.train_sampling = _SplitSampling(
            self.train_dataset, images, RotatingSubset(len(images), size, config.train_num_times_to_repeat_images, self.seed),
            self.train_ray_generator,
        )
        if config.importance_sampling and config.importance_weights == "video":
            self.train_sampling.video_distributions = self._build_distributions(self.train_dataset)
        elif config.importance_sampling and config.importance_weights == "frame":
            self.train_sampling.video_backgrounds = self._build_backgrounds(self.train_dataset)

    def setup_eval(self):
        config = self.config
        size = self._subset_size(self.eval_dataset, len(self.eval_dataset), config.eval_num_images_to_sample_from, 0.25)
        self.eval_ray_generator = RayGenerator(self.eval_dataset.cameras.to(self.device))
        self.eval_sampling = _SplitSampling(
            self.eval_dataset, list(range(len(self.eval_dataset))),
            RotatingSubset(len(self.eval_dataset), size, config.eval_num_times_to_repeat_images, self.seed + 1),
            self.eval_ray_generator,
        )
        self.fixed_indices_eval_dataloader = FixedIndicesEvalDataloader(input_dataset=self.eval_dataset, device=self.device)
        self.eval_dataloader = RandIndicesEvalDataloader(input_dataset=self.eval_dataset, device=self.device)

    def _video_frame_keys(self, dataset: HumanSyncDataset) -> Dict[int, List[FrameKey]]:
        """Each video's frame keys in time order."""
        video_index = dataset.metadata["video_index"].numpy()
        return {v: [dataset.frame_key(int(i)) for i in np.flatnonzero(video_index == v)] for v in np.unique(video_index).tolist()}

    @property
    def _data_root(self) -> Path:
        data_root = Path(self.config.dataparser.data)
        return data_root.parent if data_root.suffix == ".json" else data_root

    def _build_distributions(self, dataset: HumanSyncDataset) -> Dict[int, PixelDistribution]:
        """One pixel distribution per video of `dataset` (weights cached on disk next to the data)."""
        metadata, config = dataset.metadata, self.config
        return {
            v: PixelDistribution(load_or_compute_weights(
                self._data_root, metadata["video_names"][v], keys[0][1], keys[0][2], v in metadata["moving_videos"], keys,
                load_frame_key, config.importance_num_frames, config.importance_gamma, config.importance_floor,
            ))
            for v, keys in self._video_frame_keys(dataset).items()
        }

    def _build_backgrounds(self, dataset: HumanSyncDataset) -> Dict[int, Optional[np.ndarray]]:
        """Each video's background (None for a moving camera), cached on disk next to the data."""
        metadata = dataset.metadata
        return {
            v: load_or_compute_background(
                self._data_root, metadata["video_names"][v], keys[0][1], keys[0][2], v in metadata["moving_videos"], keys,
                load_frame_key, self.config.importance_num_frames,
            )
            for v, keys in self._video_frame_keys(dataset).items()
        }

    def _frame_distributions(self, sampling: "_SplitSampling", videos: List[int]) -> List[Optional[PixelDistribution]]:
        """Per-frame distributions of the subset's frames (uniform where a video has no background)."""
        assert sampling.video_backgrounds is not None
        config = self.config
        return [
            None if background is None else PixelDistribution(
                frame_difference_weights(frame.numpy(), background, config.importance_gamma, config.importance_floor)
            )
            for frame, background in zip(sampling.frames, (sampling.video_backgrounds[v] for v in videos))
        ]

    def _next_batch(self, sampling: "_SplitSampling", num_rays: int) -> Tuple[RayBundle, Dict]:
        positions, changed = sampling.subset.next()
        indices = [sampling.images[p] for p in positions]
        if changed:
            dataset = sampling.dataset
            sampling.frames = self.frame_cache.get_many([dataset.frame_key(i) for i in indices], self.config.loader_threads)
            videos = dataset.metadata["video_index"][indices].tolist()
            if sampling.video_distributions is not None:
                sampling.distributions = [sampling.video_distributions[v] for v in videos]
            elif sampling.video_backgrounds is not None:
                sampling.distributions = self._frame_distributions(sampling, videos)
        ray_indices, rgb = sample_rays(sampling.frames, indices, num_rays, self._generator, sampling.distributions)
        ray_bundle = sampling.ray_generator(ray_indices.to(self.device))
        return ray_bundle, {"image": rgb.to(self.device), "indices": ray_indices}

    def next_train(self, step: int) -> Tuple[RayBundle, Dict]:
        self.train_count += 1
        return self._next_batch(self.train_sampling, self.config.train_num_rays_per_batch)

    def next_eval(self, step: int) -> Tuple[RayBundle, Dict]:
        self.eval_count += 1
        return self._next_batch(self.eval_sampling, self.config.eval_num_rays_per_batch)

    def get_train_rays_per_batch(self) -> int:
        return self.config.train_num_rays_per_batch

    def get_eval_rays_per_batch(self) -> int:
        return self.config.eval_num_rays_per_batch
