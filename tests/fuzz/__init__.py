"""A differential fuzzer: random branching programs run on PyTorch 2.13 and on glassgrad.

A program is a list of Python source lines (``v3 = torch.exp(v1)``, ``v1.mul_(2)``,
``with torch.no_grad(): v4 = v3[1:]``, ``_loss.backward()``), drawn with hypothesis while PyTorch
runs it, so every drawn step knows the shapes and dtypes of what exists. The same lines then run
with ``torch`` bound to glassgrad, and the two traces (values, dtypes, shapes, requires_grad,
is_leaf, grad_fn names, gradients, hook calls, exception types and messages) are compared.

- ``table``: op variants derived from glassgrad's op table (``OPS``), so new ops are fuzzed.
- ``steps``: hand-written steps (leaves, in-place ops, views, grad modes, hooks, backward).
- ``program``: the hypothesis strategy that draws a program and its runnable source.
- ``runner``: runs a program on one library and records its trace.
- ``compare``: compares two traces, the list of deliberate departures, and a line reducer.

``python -m fuzz`` (from ``tests/``; ``make fuzz``) is the long profile: it clusters mismatches
into classes and prints one reduced, runnable reproducer for each.
"""
