"""Fusion: runs of elementwise arithmetic become one compiled loop over the elements.

A plan is straight-line Python on arrays. Consecutive statements of pure arithmetic (``+ - * /``
on arrays of one shape and dtype, NumPy scalars and numbers) are gathered into a group; a
group becomes one Numba kernel that reads each input element once, keeps every intermediate in
a register and writes only the values used after the group: one pass over memory instead of
one per statement, and no temporaries. W3's backward (400 statements) is one such loop.

What is *not* fused, by measurement (one thread, 10,000 float64):

- transcendental functions (``tanh``, ``exp``...): NumPy's are vectorised (8 us for ``tanh``),
  Numba calls the scalar C library (180 us); they stay NumPy calls between kernels;
- small arrays (under ``MIN_SIZE`` elements): a kernel call costs about a microsecond, more
  than NumPy's few operations on a handful of elements; 0-d values are NumPy scalars, fastest
  of all;
- numexpr: its evaluator cost 50 us per call here (``g*(1.5-0.5*t*t)`` on 10,000 elements,
  where NumPy's four passes took 10 us), so it is not used.

Without Numba every statement stays a NumPy expression (the plan is the same, just unfused).
Kernels are compiled once per source text; with a writable cache directory their source is a
file there and Numba caches the machine code next to it, so a new process does not compile
again (``GLASSGRAD_KERNEL_CACHE``, default ``~/.cache/glassgrad/kernels``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import sys

import numpy as np

MIN_SIZE = 512
_PURE = re.compile(r"^[\w\s.+\-*/()<=]*$")
# relu and its backward, written as calls in a plan (``lowering.relu``...), are selects inside
# a kernel: one compare per element where NumPy's ``where`` makes a mask array first (measured:
# relu's backward on 32,768 floats, 70-110 us as ``where``, a tenth of that in a kernel)
_HELPERS = (
    (re.compile(r"\b_relu_bwd\((\w+), (\w+)\)"), r"(0.0 if \1 <= 0 else \2)"),
    (re.compile(r"\b_relu\((\w+)\)"), r"(0.0 if \1 < 0 else \1)"),
)
_KEYWORDS = frozenset({"e", "if", "else"})
_NAME = re.compile(r"\b([A-Za-z_]\w*)\b")
_ASSIGN = re.compile(r"^(\w+) = (.*)$")
_NUMBER = re.compile(r"(?<![\w.])(\d+\.\d*(?:e[+-]?\d+)?|\d+e[+-]?\d+|\d+)(?![\w.])")
_KERNELS: dict = {}
_AVAILABLE: list = []


def numba_available() -> bool:
    if not _AVAILABLE:
        try:
            import numba  # noqa: F401

            _AVAILABLE.append(True)
        except ImportError:
            _AVAILABLE.append(False)
    return _AVAILABLE[0]


def fuse(lines, env, keep, shapes, tail="", dynamic=False):
    """Source lines for ``lines`` (each ``"name = expr"`` or any other statement), with runs of
    fusable statements replaced by kernel calls; and how many kernels were made.

    ``shapes``: ``name -> (shape, dtype)`` of the values assigned; ``keep``: names needed after
    the body besides those read by later lines and by ``tail`` (the return statement);
    ``dynamic``: the kernels take their sizes from their input arrays, not from ``shapes``."""
    if not numba_available():
        return list(lines), 0
    groups: list = []  # (start, end) of fusable runs
    info = [_fusable(line, shapes) for line in lines]
    start = None
    for i, item in enumerate(info):
        if item is not None and start is not None and item[2] == info[start][2]:
            continue
        if start is not None and _worth(info[start:i]):
            groups.append((start, i))
        start = i if item is not None else None
    if start is not None and _worth(info[start:]):
        groups.append((start, len(lines)))
    if not groups:
        return list(lines), 0
    # names read at or after each position (for the outputs of each group)
    reads_after = [set() for _ in range(len(lines) + 1)]
    reads_after[len(lines)] = set(_NAME.findall(tail)) | set(keep)
    for i in range(len(lines) - 1, -1, -1):
        reads_after[i] = reads_after[i + 1] | set(_NAME.findall(lines[i]))
    out = []
    position = 0
    for number, (start, end) in enumerate(groups):
        out.extend(lines[position:start])
        out.extend(_kernel_call(info[start:end], reads_after[end], shapes, env, number, dynamic))
        position = end
    out.extend(lines[position:])
    return out, len(groups)


def _worth(items) -> bool:
    """Two statements or more, or one select (a kernel beats NumPy's ``where`` alone)."""
    return len(items) >= 2 or (len(items) == 1 and items[0][3])


def _fusable(line, shapes):
    found = _ASSIGN.match(line)
    if found is None:
        return None
    target, expr = found.groups()
    selects = False
    for pattern, inline in _HELPERS:
        expr, count = pattern.subn(inline, expr)
        selects = selects or count > 0
    if not _PURE.match(expr) or re.search(r"(?<![\w.])_", expr):
        return None
    meta = shapes.get(target)
    if meta is None:
        return None
    shape, dtype = meta
    if dtype.kind != "f" or int(np.prod(shape)) < MIN_SIZE:
        return None
    for name in set(_NAME.findall(expr)):
        if name in _KEYWORDS:  # (an exponent inside a number, a conditional expression)
            continue
        other = shapes.get(name)
        if other is None or other[1] != dtype or (other[0] != shape and other[0] != ()):
            return None
    return target, expr, (shape, dtype), selects


def _kernel_call(items, needed, shapes, env, number, dynamic=False):
    shape, dtype = items[0][2]
    defined = []
    inputs = []
    for target, expr, _, _ in items:
        for name in _NAME.findall(expr):
            if name not in defined and name not in inputs and name in shapes:
                inputs.append(name)
        defined.append(target)
    outputs = []
    for target in dict.fromkeys(defined):
        if target in needed:
            outputs.append(target)
    arrays = [name for name in inputs if shapes[name][0] != ()]
    scalars = [name for name in inputs if shapes[name][0] == ()]
    cast = dtype == np.float32
    # the kernel's own names, in order of appearance: groups that differ only in the plan's
    # names share one source, so one compiled kernel (W3's 100 layers: one compile, not 100)
    local = {n: f"x{k}" for k, n in enumerate(dict.fromkeys(inputs + defined))}

    def rename(text):
        return _NAME.sub(lambda m: local.get(m.group(1), m.group(1)), text)

    body = []
    for name in arrays:
        body.append(f"        {local[name]} = {local[name]}_[i]")
    for target, expr, _, _ in items:
        expr = rename(expr)
        if cast:  # float32 arithmetic with float32 constants, as NumPy's weak Python numbers
            expr = _NUMBER.sub(lambda m: f"_f32({m.group(1)})", expr)
        body.append(f"        {local[target]} = {expr}")
    for name in outputs:
        body.append(f"        {local[name]}_o[i] = {local[name]}")
    params = [f"{local[n]}_" for n in arrays] + [local[n] for n in scalars]
    params += [f"{local[n]}_o" for n in outputs]
    src = f"def kernel(n, {', '.join(params)}):\n    for i in range(n):\n" + "\n".join(body) + "\n"
    kernel = _compiled(src)
    name = f"_k{len([k for k in env if k.startswith('_k')])}"
    env[name] = kernel
    env["_empty"] = np.empty
    count = int(np.prod(shape))
    size, shape_text = str(count), repr(shape)
    if dynamic and arrays:
        size, shape_text = f"{arrays[0]}.size", f"{arrays[0]}.shape"
    lines = []
    flat = []
    one_d = len(shape) == 1
    for a in arrays:
        flat.append(a if one_d else f"{a}.reshape(-1)")
    for o in outputs:
        lines.append(f"{o} = _empty({shape_text}, _np.{dtype.name})")
    args = [size] + flat + scalars + [o if one_d else f"{o}.reshape(-1)" for o in outputs]
    lines.append(f"{name}({', '.join(args)})")
    return lines


def _cache_dir():
    path = os.environ.get("GLASSGRAD_KERNEL_CACHE")
    if path is None:
        path = os.path.join(os.path.expanduser("~"), ".cache", "glassgrad", "kernels")
    try:
        os.makedirs(path, exist_ok=True)
    except OSError:
        return None
    return path if os.access(path, os.W_OK) else None


def compiled_kernel(src):
    """The Numba function ``kernel`` defined by ``src``, compiled once and cached on disk."""
    return _compiled(src)


def _compiled(src):
    kernel = _KERNELS.get(src)
    if kernel is not None:
        return kernel
    import numba

    header = "import numpy as np\nfrom numpy import float32 as _f32\nimport numba\n\n"
    # (error_model="numpy": x / 0 is inf or nan as in NumPy, not ZeroDivisionError)
    digest = hashlib.sha1(("numpy-errors\n" + src).encode()).hexdigest()[:20]
    folder = _cache_dir()
    if folder is not None:
        path = os.path.join(folder, f"k_{digest}.py")
        if not os.path.exists(path):
            tmp = f"{path}.{os.getpid()}.tmp"
            with open(tmp, "w") as handle:
                handle.write(
                    header + "@numba.njit(cache=True, nogil=True, error_model='numpy')\n" + src
                )
            os.replace(tmp, path)
        name = f"_glassgrad_kernel_{digest}"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # (Numba's cache finds the module again by its name)
        spec.loader.exec_module(module)
        kernel = module.kernel
    else:
        namespace = {"np": np, "_f32": np.float32}
        exec(compile(src, f"<glassgrad kernel {digest}>", "exec"), namespace)
        kernel = numba.njit(nogil=True, error_model="numpy")(namespace["kernel"])
    _KERNELS[src] = kernel
    return kernel


def free_dead(lines, tail, params=()):
    """``lines`` with ``del`` after the last use of each value the ``tail`` does not return:
    its memory goes back to the allocator while it is still in cache, for the next statement
    to reuse (keeping W3's 200 intermediates alive to the end cost 80% more time)."""
    keep = set(_NAME.findall(tail))
    last: dict = {}
    for i, line in enumerate(lines):
        for name in _NAME.findall(line):
            if (
                name.startswith(("v", "gr", "g", "b"))
                and name[1:].replace("r", "").split("_")[0].isdigit()
            ):
                last[name] = i
    dead_at: dict = {}
    for name, i in last.items():
        if name not in keep and not lines[i].startswith(" "):
            dead_at.setdefault(i, []).append(name)
    out = []
    for i, line in enumerate(lines):
        out.append(line)
        names = dead_at.get(i)
        if names:
            out.append(f"del {', '.join(sorted(names))}")
    return out
