"""The counting conventions, stated once: every note, legend and JSON field that says what a figure means.

The formulas themselves live in :mod:`archlens.counting.formulas`; the README's "Counting
conventions" section tells the whole story and what each peer tool counts.
"""

PROFILE = (
    "MACs: multiply-accumulates of conv, linear and matrix products (the paper's \"ops\", torchvision's "
    "\"GFLOPS\"); FLOPs = 2 x MACs. Other ops: bias adds, normalization, activations, pooling and "
    "elementwise ops, counted apart (README: counting conventions)."
)
"""Under a profile (terminal, Markdown, notebook) and at the head of a report."""

COMPARE = (
    "MACs: conv/linear/matmul multiply-accumulates (the paper's \"ops\"); FLOPs = 2 x MACs; other ops: bias, "
    "normalization, activation, pooling and elementwise ops. Activations: bytes of every layer's output summed "
    "(Profile.totals.activation_bytes). Depth: layers with parameters / also counting pooling, on the longest "
    "path. Ratios: network / baseline (the first column)."
)
"""Under a comparison."""

BUDGET = ("Margin = limit - measured (negative: over). Activations: bytes of every layer's output summed; "
          "depth: layers with parameters on the longest path; FLOPs = 2 x MACs.")
"""Under a budget check."""

BUDGET_TRAINING = ("Training-step MACs: forward + backward (+ checkpointed blocks' forward again); peak memory: "
                   "params + grads + optimizer state + saved activations + the largest backward transient.")
"""Under a budget check that holds a training step."""

JSON = ("macs = conv/linear/matmul multiply-accumulates; flops = 2 x macs; other_ops = bias, normalization, "
        "activation, pooling and elementwise ops, by column; activation_bytes = all layer outputs summed; "
        "depth = layers with parameters (and with pooling) on the longest path; ratios = value / baseline value")
"""The ``conventions`` field the JSON renderer adds to every JSON document (last key)."""
