"""Losses that train a :class:`~textsiam.CrossEncoder`: they take the logits of the cross-encoder's head for each
pair, ``loss(logits, labels)``, and mirror sentence-transformers' cross-encoder losses of the same names and maths.

=========================  ============================  =====================  =================
registry key               class                         labels                 model num_labels
=========================  ============================  =====================  =================
binary_cross_entropy       BinaryCrossEntropyLoss        0/1, or scores [0, 1]  1
cross_entropy              CrossEntropyLoss              class ids              the classes
cross_encoder_mse          CrossEncoderMSELoss           scores                 1
=========================  ============================  =====================  =================

Each declares ``model_type = "cross_encoder"`` (:class:`CrossEncoderLoss`), so that the config checks refuse it for
a twin tower, and a twin-tower loss for a cross-encoder, before any model is loaded.
"""

from __future__ import annotations

from textsiam.losses.cross_encoder.base import ACTIVATIONS, CrossEncoderLoss
from textsiam.losses.cross_encoder.binary_cross_entropy import BinaryCrossEntropyLoss
from textsiam.losses.cross_encoder.cross_entropy import CrossEntropyLoss
from textsiam.losses.cross_encoder.mse import CrossEncoderMSELoss

__all__ = ["ACTIVATIONS", "BinaryCrossEntropyLoss", "CrossEncoderLoss", "CrossEncoderMSELoss", "CrossEntropyLoss"]
