"""The torch engine's former home, kept importable: everything lives in :mod:`archlens.counting.torch`.

>>> from archlens.counting.torch_engine import profile_module
>>> from torch import nn
>>> profile_module(nn.Linear(4, 2), (1, 4)).totals.macs
8
"""

from archlens.counting.torch import (ATEN_HANDLERS, FUNCTION_HANDLERS, LEAF_KINDS, ROOT, class_kind, group_kind,
                                     leaf_kind, materialize, profile_module, register_op, user_code)

__all__ = ["ATEN_HANDLERS", "FUNCTION_HANDLERS", "LEAF_KINDS", "ROOT", "class_kind", "group_kind", "leaf_kind",
           "materialize", "profile_module", "register_op", "user_code"]
