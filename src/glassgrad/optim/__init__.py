"""``glassgrad.optim``: optimizers and learning-rate schedulers."""

from glassgrad.optim import _functional, lr_scheduler, swa_utils
from glassgrad.optim._adafactor import Adafactor
from glassgrad.optim._muon import Muon
from glassgrad.optim._stateless import swap_in_optimizer_params_and_state
from glassgrad.optim.adadelta import Adadelta
from glassgrad.optim.adagrad import Adagrad
from glassgrad.optim.adam import Adam
from glassgrad.optim.adamax import Adamax
from glassgrad.optim.adamw import AdamW
from glassgrad.optim.asgd import ASGD
from glassgrad.optim.lbfgs import LBFGS
from glassgrad.optim.nadam import NAdam
from glassgrad.optim.optimizer import Optimizer
from glassgrad.optim.radam import RAdam
from glassgrad.optim.rmsprop import RMSprop
from glassgrad.optim.rprop import Rprop
from glassgrad.optim.sgd import SGD
from glassgrad.optim.sparse_adam import SparseAdam

__all__ = [
    "Adafactor",
    "SparseAdam",
    "Adadelta",
    "ASGD",
    "Rprop",
    "Adagrad",
    "Adam",
    "Adamax",
    "AdamW",
    "LBFGS",
    "Muon",
    "NAdam",
    "RAdam",
    "Optimizer",
    "RMSprop",
    "SGD",
    "lr_scheduler",
    "swa_utils",
    "swap_in_optimizer_params_and_state",
]
