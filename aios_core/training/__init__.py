"""Training of AiOS: targets, the training forward (with denoising queries) and the criterion.

Contract used by the data pipeline and the training loop::

    from aios_core.training import AiOSCriterion, CriterionConfig, ImageTargets, TrainingForward

    network = AiOS(config)                      # the inference network (unchanged)
    trainer = TrainingForward(network)          # nn.Module; wrap THIS in DDP, not the network
                                                # (denoising: DenoisingConfig(), official 100)
    criterion = AiOSCriterion(network.config)  # stages from the network (CriterionConfig())

    trainer.train()
    outputs = trainer(images, padding_mask, targets)
    #   images (B, 3, H, W) normalised RGB, padding_mask (B, H, W) bool (True = padding),
    #   targets: list[ImageTargets] of length B, already on the images' device.
    losses = criterion(outputs, targets)        # dict[str, Tensor] of scalars
    losses["total"].backward()                  # the official weighted sum

* ``ImageTargets`` (``aios_core/data/image_targets.py``) is the per-image target format the data
  pipeline produces;
  ``collate`` / ``pad_images`` batch images the way the network expects, ``targets_to`` moves
  targets to a device, ``random_targets`` makes test targets.
* ``losses`` holds ``"total"`` and every weighted term under its official name:
  final layer ``loss_ce``, ``loss_body_bbox``, ``loss_smpl_pose_root`` ...; decoder layer i
  (0 .. dec_layers - 2) the same names with suffix ``_{i}``; encoder proposals ``_interm``;
  denoising ``dn_loss_ce``, ``dn_loss_bbox``, ``dn_loss_giou`` (+ ``_{i}``). Terms are the
  raw (unweighted) values; ``criterion.weight(name)`` gives a term's weight (official values
  in ``CriterionConfig``; ``total`` = sum of value * weight). Log with ``.detach()``.
* Checkpoints: save ``trainer.network.state_dict()`` (official key layout, loads strictly into
  ``AiOS``); the trainer adds no parameters of its own.
* ``trainer.eval()`` + ``trainer.network(images, padding_mask)`` is plain inference.
* DDP: with the official layout (6 decoder layers) every trainable parameter gets a gradient
  each step, so ``find_unused_parameters=False`` works; smaller test configs (e.g. 5 layers)
  leave the last layer's keypoint-size heads unused and need ``True``.
* Verified against the official code (oracle, same weights and DN seed): all 159 weighted
  terms, the total and every parameter gradient agree to float rounding.
"""

from aios_core.data.image_targets import (
    ImageTargets,
    collate,
    pad_images,
    random_targets,
    targets_to,
)
from aios_core.training.criterion import AiOSCriterion, CriterionConfig, official_loss_weights
from aios_core.training.denoising import DenoisingConfig
from aios_core.training.forward import TrainingForward
from aios_core.training.matcher import MatcherConfig

__all__ = [
    "AiOSCriterion",
    "CriterionConfig",
    "DenoisingConfig",
    "ImageTargets",
    "MatcherConfig",
    "TrainingForward",
    "official_loss_weights",
    "collate",
    "pad_images",
    "random_targets",
    "targets_to",
]
