"""Two-process training through nerfstudio's own Trainer (issue 19): what
`ns-train humansync-small --machine.num-devices 2` runs, on CPU with gloo.

nerfstudio 1.1.5's `_distributed_worker` asserts CUDA before anything else, so this test starts the
two processes itself and does what that worker does after its checks: a process group, the local
group in `comms.LOCAL_PROCESS_GROUP`, then `train_loop` (the Trainer, the pipeline's DDP wrapping,
the data manager's per-rank sampling, rank 0's checkpoint). It checks that training finishes, that
the ranks trained on different rays (disjoint shares of the frames) and that the refined poses and
time offsets moved and are the same on both ranks and in the checkpoint.
"""

from __future__ import annotations

import gc
import importlib.util
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel as DDP

from humansync_ns.dataparser.humansync_datamanager import HumanSyncDataManager
from humansync_ns.pipeline.humansync_pipeline import HumanSyncPipeline
from humansync_ns.processing.procedural import procedural_calibration, write_procedural_data_folder
from nerfstudio.engine.callbacks import TrainingCallback, TrainingCallbackLocation

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e_training")]

WORLD_SIZE = 2
STEPS = 12


class _RecordingDataManager(HumanSyncDataManager):
    """Keeps the image of every training ray it hands out."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.trained_images: set[int] = set()

    def next_train(self, step: int):
        ray_bundle, batch = super().next_train(step)
        self.trained_images.update(batch["indices"][:, 0].tolist())
        return ray_bundle, batch


class _RecordingPipeline(HumanSyncPipeline):
    """Writes `rank<r>.pt` into the run's folder after the last step: what this rank trained on
    and the calibration it ended with."""

    def get_training_callbacks(self, training_callback_attributes):
        trainer = training_callback_attributes.trainer
        path = trainer.base_dir / f"rank{dist.get_rank()}.pt"

        def record(step: int) -> None:
            model = self.model
            torch.save({
                "wrapped": isinstance(self._model, DDP),
                "num_train_images": len(self.datamanager.train_dataset),
                "trained_images": sorted(self.datamanager.trained_images),
                "poses": model.camera_optimizer.pose_adjustment.detach().clone(),
                "deltas": model.time_offsets.delta.detach().clone(),
            }, path)

        last = trainer.config.max_num_iterations - 1
        callback = TrainingCallback([TrainingCallbackLocation.AFTER_TRAIN_ITERATION], record, iters=(last,))
        return super().get_training_callbacks(training_callback_attributes) + [callback]


def _worker(local_rank: int, config, init_file: str) -> None:
    """nerfstudio's `_distributed_worker` after its CUDA checks, with gloo on one machine."""
    from nerfstudio.scripts.train import train_loop
    from nerfstudio.utils import comms

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", world_size=WORLD_SIZE, rank=local_rank)
    comms.LOCAL_PROCESS_GROUP = dist.new_group(list(range(WORLD_SIZE)))
    train_loop(local_rank, WORLD_SIZE, config, global_rank=local_rank)
    comms.synchronize()
    dist.destroy_process_group()
    gc.freeze()  # the exit's full collection of nerfstudio's module graph takes longer than training


def _tiny_trainer_config(data_dir: Path, output_dir: Path):
    """tests/pipeline/conftest.py's few-second `humansync-small` (loaded by path: a conftest is not
    importable by name from another folder)."""
    spec = importlib.util.spec_from_file_location("pipeline_conftest", Path(__file__).parents[1] / "pipeline" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.tiny_trainer_config(data_dir, output_dir)


@pytest.fixture(scope="module")
def two_rank_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("ddp")
    calibration = procedural_calibration(num_videos=4, num_frames=12, fps=10.0, width=32, height=24, seed=3)
    config = _tiny_trainer_config(write_procedural_data_folder(root, calibration), root / "outputs")
    config.max_num_iterations = config.steps_per_save = STEPS
    config.pipeline.model.pose_start_step = 2
    config.pipeline.model.time_offset_delay = 2
    config.pipeline._target = _RecordingPipeline
    config.pipeline.datamanager._target = _RecordingDataManager
    mp.spawn(_worker, args=(config, str(root / "process_group")), nprocs=WORLD_SIZE, join=True)
    records = [torch.load(config.get_base_dir() / f"rank{rank}.pt") for rank in range(WORLD_SIZE)]
    checkpoint = torch.load(config.get_checkpoint_dir() / f"step-{STEPS - 1:09d}.ckpt", weights_only=False)
    return records, checkpoint["pipeline"]


def test_each_rank_trains_on_its_own_share_of_the_frames(two_rank_run):
    records, _ = two_rank_run
    assert all(record["wrapped"] for record in records), "the pipeline must wrap the model in DDP"
    num_images = records[0]["num_train_images"]
    for rank, record in enumerate(records):
        assert record["trained_images"] == list(range(rank, num_images, WORLD_SIZE)), rank


def test_calibration_moved_and_is_identical_on_both_ranks_and_in_the_checkpoint(two_rank_run):
    records, saved = two_rank_run
    poses, deltas = records[0]["poses"], records[0]["deltas"]
    assert poses.abs().max() > 1e-4 and deltas.abs().max() > 1e-2, (poses, deltas)  # both start at 0
    assert torch.equal(records[1]["poses"], poses) and torch.equal(records[1]["deltas"], deltas)
    assert torch.equal(saved["_model.module.camera_optimizer.pose_adjustment"], poses)
    assert torch.equal(saved["_model.module.time_offsets.delta"], deltas)
