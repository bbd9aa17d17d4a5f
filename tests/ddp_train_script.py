"""Run by tests/test_training_ddp.py under torchrun: one training step on every rank.

Arguments: OUT_DIR [tiny|short] (the network config of tests/tiny_network.py to train).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from synthetic_training_data import RandomImageSet  # noqa: E402
from tiny_network import SHORT_STAGES, TINY, build_tiny_network  # noqa: E402

from aios_core.training.loop import TrainingJob, train  # noqa: E402
from aios_core.training.run_config import TrainConfig  # noqa: E402

out = Path(sys.argv[1])
model = {"tiny": TINY, "short": SHORT_STAGES}[sys.argv[2] if len(sys.argv) > 2 else "tiny"]
torch.set_num_threads(1)
config = TrainConfig(stage="finetune", epochs=1, batch_size=1, num_workers=0,
                     samples_per_epoch=4, find_unused_parameters=True, dn_number=2,
                     use_ema=False, checkpoint_every_steps=1000, lr=1e-3)
# Different initial weights per rank: DDP must broadcast rank 0's before the first step.
network = build_tiny_network(int(os.environ["RANK"]), model)
train(TrainingJob(network=network, dataset=RandomImageSet(4, persons=1), config=config,
                  run_dir=out / "run", device=torch.device("cpu")), max_steps=1)
torch.save(network.state_dict(), out / f"rank{os.environ['RANK']}.pth")
