"""HumanSyncDataManager: rays carry the right time, video and colour; memory stays bounded; the
held-out video feeds eval only; importance sampling favours dynamic pixels; DDP ranks train on
their own shares of the frames."""

import re

import numpy as np
import pytest
import torch
from PIL import Image

from humansync_ns.dataparser.humansync_datamanager import HumanSyncDataManagerConfig
from humansync_ns.dataparser.humansync_dataparser import HumanSyncDataParserConfig
from humansync_ns.dataparser.pixel_weights import background_path, weights_path


def _manager(data, **overrides):
    config = HumanSyncDataManagerConfig(dataparser=HumanSyncDataParserConfig(data=data), **overrides)
    return config.setup(device="cpu", test_mode="val")


def test_train_rays_match_cameras_and_pixels(procedural_capture):
    data, _ = procedural_capture
    manager = _manager(data, train_num_rays_per_batch=256, train_num_images_to_sample_from=5)
    dataset = manager.train_dataset
    for step in range(3):
        rays, batch = manager.next_train(step)
        cams, rows, cols = batch["indices"].unbind(-1)
        assert torch.equal(rays.camera_indices[:, 0], cams)
        assert torch.equal(rays.times[:, 0], dataset.cameras.times[cams, 0])
        assert torch.equal(rays.metadata["video_index"][:, 0], dataset.metadata["video_index"][cams])
        assert len(set(cams.tolist())) <= 5
        for n in range(0, 256, 37):  # colours come from the right pixel of the right file
            image = np.asarray(Image.open(dataset.image_filenames[cams[n]]).convert("RGB"))
            expected = image[rows[n], cols[n]] / 255.0
            np.testing.assert_allclose(batch["image"][n].numpy(), expected, atol=1e-6)
    assert 3 not in rays.metadata["video_index"].unique().tolist()


def test_eval_uses_only_the_held_out_video(procedural_capture):
    data, _ = procedural_capture
    manager = _manager(data, eval_num_rays_per_batch=128)
    rays, batch = manager.next_eval(0)
    assert rays.metadata["video_index"].unique().tolist() == [3]
    camera, batch = manager.next_eval_image(0)
    assert camera.metadata["video_index"].item() == 3
    assert batch["image"].shape == (camera.height.item(), camera.width.item(), 3)
    assert batch["image"].dtype == torch.float32 and 0 <= batch["image"].min() and batch["image"].max() <= 1
    assert len(manager.fixed_indices_eval_dataloader) == len(manager.eval_dataset)


def test_rotation_visits_every_frame_and_cache_stays_bounded(procedural_capture):
    data, _ = procedural_capture
    frame_bytes = 32 * 24 * 3
    manager = _manager(data, train_num_rays_per_batch=64, train_num_images_to_sample_from=4,
                       train_num_times_to_repeat_images=2, cache_max_bytes=10 * frame_bytes)
    seen = set()
    for step in range(2 * len(manager.train_dataset) // 4 + 2):
        _, batch = manager.next_train(step)
        seen.update(batch["indices"][:, 0].tolist())
        assert manager.frame_cache.bytes_used <= 10 * frame_bytes
    assert seen == set(range(len(manager.train_dataset)))
    assert manager.frame_cache.stats.peak_bytes <= 10 * frame_bytes
    assert manager.frame_cache.stats.evictions > 0


def test_subset_is_capped_by_the_cache(procedural_capture):
    data, _ = procedural_capture
    manager = _manager(data, train_num_images_to_sample_from=30, cache_max_bytes=8 * 32 * 24 * 3)
    assert manager.train_sampling.subset.size == 4  # half of an 8-frame cache


def _dynamic_mask(dataset, video_rows):
    frames = np.stack([dataset.get_numpy_image(int(i)) for i in video_rows])
    return np.any(frames != frames[:1], axis=(0, 3))


def test_importance_sampling_prefers_dynamic_pixels(procedural_capture):
    data, _ = procedural_capture
    fractions = {}
    for importance in (False, True):
        manager = _manager(data, train_num_rays_per_batch=2048, train_num_images_to_sample_from=9,
                           importance_sampling=importance, importance_floor=0.05)
        dataset = manager.train_dataset
        video_index = dataset.metadata["video_index"].numpy()
        masks = {v: _dynamic_mask(dataset, np.flatnonzero(video_index == v)) for v in np.unique(video_index)}
        hits = total = 0
        for step in range(4):
            _, batch = manager.next_train(step)
            cams, rows, cols = batch["indices"].unbind(-1)
            for c, r, q in zip(cams.tolist(), rows.tolist(), cols.tolist()):
                hits += masks[video_index[c]][r, q]
                total += 1
        fractions[importance] = hits / total
    assert fractions[True] > 2 * fractions[False], fractions
    assert weights_path(data, "cam00", 32, 24).is_file(), "weights are cached next to the data"


def test_each_rank_draws_from_its_own_share_of_frames_with_its_own_seed(procedural_capture):
    """Under DDP (nerfstudio passes world_size and local_rank) rank r trains on frames r, r + 2, ...:
    the ranks' rays differ, each decodes only its share, and rank 0 keeps the configured seed."""
    data, _ = procedural_capture
    config = HumanSyncDataManagerConfig(dataparser=HumanSyncDataParserConfig(data=data), train_num_rays_per_batch=256,
                                        train_num_images_to_sample_from=6, train_num_times_to_repeat_images=1, seed=5)
    managers = [config.setup(device="cpu", test_mode="val", world_size=2, local_rank=rank) for rank in (0, 1)]
    assert managers[0].seed == 5 and managers[1].seed not in (5, 6)  # 6: rank 0's eval stream
    num_images = len(managers[0].train_dataset)
    for rank, manager in enumerate(managers):
        share = list(range(rank, num_images, 2))
        seen = set()
        for step in range(4):
            rays, batch = manager.next_train(step)
            cams, rows, cols = batch["indices"].unbind(-1)
            seen.update(cams.tolist())
            assert torch.equal(rays.camera_indices[:, 0], cams)
        assert seen == set(share), rank
        dataset = manager.train_dataset
        decoded = {i for i in range(num_images) if dataset.frame_key(i) in manager.frame_cache}
        assert decoded == set(share), rank
        image = np.asarray(Image.open(dataset.image_filenames[cams[0]]).convert("RGB"))
        np.testing.assert_allclose(batch["image"][0].numpy(), image[rows[0], cols[0]] / 255.0, atol=1e-6)


def test_more_ranks_than_training_frames_is_an_error_naming_the_data(procedural_capture):
    data, _ = procedural_capture
    config = HumanSyncDataManagerConfig(dataparser=HumanSyncDataParserConfig(data=data))
    with pytest.raises(ValueError, match=rf"{re.escape(str(data))}.*36 images cannot be shared among 40 processes"):
        config.setup(device="cpu", test_mode="val", world_size=40, local_rank=0)


def _moving_now(dataset, image: int, background: np.ndarray) -> np.ndarray:
    """(H, W) pixels of one frame that differ from its video's background (what moves in that frame)."""
    return np.abs(dataset.get_numpy_image(image).astype(int) - background.astype(int)).max(axis=-1) > 25


def test_per_frame_importance_puts_more_rays_where_the_frame_changes(procedural_capture):
    """Per-frame weights put a larger share of the rays on what moves in each ray's own frame than
    per-video weights (which spread them over wherever anything ever moves), and cache the
    backgrounds next to the data."""
    data, _ = procedural_capture
    shares = {}
    for kind in ("video", "frame"):
        manager = _manager(data, train_num_rays_per_batch=2048, train_num_images_to_sample_from=9, importance_sampling=True,
                           importance_weights=kind, importance_floor=0.02)
        dataset = manager.train_dataset
        video_index = dataset.metadata["video_index"].numpy()
        backgrounds = {v: np.median(np.stack([dataset.get_numpy_image(int(i)) for i in np.flatnonzero(video_index == v)]), axis=0)
                       for v in np.unique(video_index)}
        hits = total = 0
        for step in range(4):
            _, batch = manager.next_train(step)
            for c, r, q in batch["indices"].tolist():
                if video_index[c] in dataset.metadata["moving_videos"]:
                    continue
                hits += _moving_now(dataset, c, backgrounds[video_index[c]])[r, q]
                total += 1
        shares[kind] = hits / total
    assert shares["frame"] > 1.5 * shares["video"], shares
    assert background_path(data, "cam00", 32, 24).is_file()
