"""The torch engine: any ``nn.Module`` profiled by running it (on the meta device by default) and
counting the ops that really run, with the formulas of :mod:`archlens.counting.formulas`.

* :mod:`.ops`: the op table (handlers keyed by aten overload packet or torch function) and
  :func:`register_op`;
* :mod:`.kinds`: record kinds of PyTorch's own modules;
* :mod:`.tracker`: attribution to modules, depth, parameters, groups;
* :mod:`.engine`: :func:`profile_module`, the entry point.
"""

from archlens.counting.torch.engine import (DEVICES, ROOT, Inputs, TensorSpec, UncountedOps, materialize,
                                            profile_module, require_counted, user_code)
from archlens.counting.torch.kinds import LEAF_KINDS, class_kind, group_kind, leaf_kind
from archlens.counting.torch.ops import ATEN_HANDLERS, FUNCTION_HANDLERS, OpRegistration, register_op

__all__ = ["ATEN_HANDLERS", "DEVICES", "FUNCTION_HANDLERS", "LEAF_KINDS", "Inputs", "OpRegistration", "ROOT",
           "TensorSpec", "UncountedOps", "class_kind", "group_kind", "leaf_kind", "materialize", "profile_module",
           "register_op", "require_counted", "user_code"]
