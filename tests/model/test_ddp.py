"""The model under torch DistributedDataParallel, as ``ns-train --machine.num-devices 2`` wraps it
(gloo on CPU, two processes): ranks see different rays but must end with identical parameters,
through the pose and offset unfreezes and proposal steps that run under no_grad."""

from __future__ import annotations

import os
import sys

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

HERE = os.path.dirname(os.path.abspath(__file__))


def _train_rank(rank: int, init_file: str, results: str) -> None:
    sys.path.insert(0, HERE)
    torch.set_num_threads(1)
    from nerfstudio.engine.callbacks import TrainingCallbackAttributes, TrainingCallbackLocation
    from torch.nn.parallel import DistributedDataParallel as DDP

    from model_testkit import make_model, random_rays, tiny_config, two_static_one_moving_metadata

    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=2)
    config = tiny_config(pose_start_step=2, time_offset_delay=2, proposal_update_every=3, proposal_warmup=1)
    model = make_model(two_static_one_moving_metadata(), config, seed=0)
    with torch.no_grad():  # give the scene motion so the time offsets get gradients
        for plane in model.field.temporal_planes():
            plane.uniform_(0.5, 1.5, generator=torch.Generator().manual_seed(2))
    ddp = DDP(model, find_unused_parameters=True)  # what nerfstudio's VanillaPipeline does
    optim = torch.optim.Adam(model.parameters(), lr=1e-2)
    attrs = TrainingCallbackAttributes(optimizers=None, grad_scaler=None, pipeline=None, trainer=None)
    callbacks = model.get_training_callbacks(attrs)
    skipped = 0
    for step in range(8):
        for callback in callbacks:
            callback.run_callback_at_location(step, TrainingCallbackLocation.BEFORE_TRAIN_ITERATION)
        model.proposal_sampler._step = step + 10  # past the sampler's always-update warm-up
        optim.zero_grad(set_to_none=True)
        outputs = ddp(random_rays(32, 10, seed=100 * rank + step))  # different rays per rank
        batch = {"image": torch.rand(32, 3, generator=torch.Generator().manual_seed(rank))}
        loss = sum(model.get_loss_dict(outputs, batch, model.get_metrics_dict(outputs, batch)).values())
        loss.backward()
        skipped += int(outputs["weights_list"][0].grad_fn is None)
        optim.step()
        for callback in callbacks:
            callback.run_callback_at_location(step, TrainingCallbackLocation.AFTER_TRAIN_ITERATION)
    flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    gathered = [torch.zeros_like(flat) for _ in range(2)]
    dist.all_gather(gathered, flat)
    if rank == 0:
        torch.save({"diff": (gathered[0] - gathered[1]).abs().max().item(), "skipped": skipped,
                    "delta": model.time_offsets.delta.detach().clone()}, results)
    dist.destroy_process_group()


@pytest.mark.slow
def test_two_ranks_keep_identical_parameters(tmp_path):
    results = str(tmp_path / "results.pt")
    mp.spawn(_train_rank, args=(str(tmp_path / "pg"), results), nprocs=2, join=True)
    out = torch.load(results)
    assert out["skipped"] > 0, "the run must include steps where the proposal networks run under no_grad"
    assert out["delta"].abs().sum() > 0, "time offsets must have been unfrozen and updated"
    assert out["diff"] == 0.0, f"parameters differ across ranks by {out['diff']}"
