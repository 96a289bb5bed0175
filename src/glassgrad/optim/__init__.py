"""``glassgrad.optim``: optimizers and learning-rate schedulers."""

from glassgrad.optim import lr_scheduler
from glassgrad.optim.adagrad import Adagrad
from glassgrad.optim.adam import Adam
from glassgrad.optim.adamw import AdamW
from glassgrad.optim.lbfgs import LBFGS
from glassgrad.optim.optimizer import Optimizer
from glassgrad.optim.rmsprop import RMSprop
from glassgrad.optim.sgd import SGD

__all__ = ["Adagrad", "Adam", "AdamW", "LBFGS", "Optimizer", "RMSprop", "SGD", "lr_scheduler"]
