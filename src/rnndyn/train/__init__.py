"""Training RNN models of the brain: the trainable `RateRNN`, the BPTT `train` loop, regularisers
and readout-only (reservoir, FORCE) learning.

Tasks come from `rnndyn.train.tasks` (a subpackage, imported on its own); every piece relies
only on the interfaces in `rnndyn.train._protocols` (`TrialBatch`, `Task`, `Regularizer`,
`Constraint`), so user-defined tasks, regularisers and constraints plug in the same way.

>>> from rnndyn.train import RateRNN
>>> RateRNN(2, 64, 1, seed=0).recurrent_weights.shape
torch.Size([64, 64])
"""

from rnndyn.train._protocols import Constraint, Regularizer, Task, TrialBatch
from rnndyn.train._result import TrainingResult
from rnndyn.train.losses import LOSSES, masked_mse
from rnndyn.train.model import RateRNN, RNNOutput
from rnndyn.train.regularizers import ActivityPenalty, WeightPenalty
from rnndyn.train.reservoir import ForceResult, ReadoutFit, fit_readout, force_train
from rnndyn.train.trainer import train

# `tasks`, `constraints` and `modulation` are subpackages/modules added beside these; they are
# imported as `rnndyn.train.tasks` etc. and deliberately not re-exported here, so importing
# `rnndyn.train` stays independent of them.

__all__ = [
    "LOSSES",
    "ActivityPenalty",
    "Constraint",
    "ForceResult",
    "RNNOutput",
    "RateRNN",
    "ReadoutFit",
    "Regularizer",
    "Task",
    "TrainingResult",
    "TrialBatch",
    "WeightPenalty",
    "fit_readout",
    "force_train",
    "masked_mse",
    "train",
]
