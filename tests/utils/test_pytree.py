"""``torch.utils._pytree`` against PyTorch 2.13: leaves, specs and their text, maps, key paths,
registered classes and errors."""

from collections import OrderedDict, defaultdict, deque, namedtuple

import pytest
import torch.utils._pytree as tpt

import glassgrad
import glassgrad.utils._pytree as gpt

Point = namedtuple("Point", "a b")
TREES = [
    {"x": [1, (2, 3)], "y": Point(4, None), "z": OrderedDict(k=5)},
    [1, [2, [3, []]], ()],
    (1,),
    7,
    None,
    deque([1, 2], maxlen=3),
    defaultdict(int, a=1, b=[2]),
    {"b": 1, "a": {"c": 2}},
]


@pytest.mark.parametrize("tree", TREES, ids=range(len(TREES)))
def test_flatten_and_specs_match_pytorch(tree):
    (mine, my_spec), (theirs, their_spec) = gpt.tree_flatten(tree), tpt.tree_flatten(tree)
    assert mine == theirs
    assert repr(my_spec) == repr(their_spec) and str(my_spec) == str(their_spec)
    for name in ("num_leaves", "num_nodes", "num_children"):
        assert getattr(my_spec, name) == getattr(their_spec, name)
    assert my_spec.is_leaf() == their_spec.is_leaf()
    doubled = [x * 2 if isinstance(x, int) else x for x in mine]
    assert gpt.tree_unflatten(doubled, my_spec) == tpt.tree_unflatten(doubled, their_spec)
    assert gpt.treespec_pprint(my_spec) == tpt.treespec_pprint(their_spec)
    assert gpt.tree_structure(tree) == my_spec and gpt.tree_leaves(tree) == mine


def test_maps_match_pytorch():
    tree = {"a": 1, "b": "c", "d": 2.0, "e": [3, (4.5,)]}
    for lib in (gpt, tpt):
        assert lib.tree_map(lambda a, b: a + b, [1, (2,)], [10, (20,)]) == [11, (22,)]
    for types in (int, (int, float), int | float, lambda x: x == 1):
        mine = gpt.tree_map_only(types, lambda x: -x, tree)
        assert mine == tpt.tree_map_only(types, lambda x: -x, tree)
    for lib in (gpt, tpt):
        with pytest.raises(TypeError, match="Argument must be a type, a tuple of types"):
            lib.tree_map_only([int], lambda x: x, tree)
    assert gpt.tree_all(lambda x: x > 0, [1, 2]) and not gpt.tree_any(lambda x: x > 5, [1, 2])
    assert gpt.tree_any_only(str, lambda s: s == "c", tree)
    seen = []
    assert gpt.tree_map_(seen.append, [1, [2]]) == [1, [2]] and seen == [1, 2]
    assert gpt.tree_leaves([1, [2]], is_leaf=lambda x: isinstance(x, list) and len(x) == 1) == [
        1,
        [2],
    ]


def test_tensors_are_leaves():
    leaves, spec = gpt.tree_flatten({"w": glassgrad.ones(2), "b": [glassgrad.zeros(1)]})
    assert [t.tolist() for t in leaves] == [[1.0, 1.0], [0.0]] and spec.num_leaves == 2
    doubled = gpt.tree_map_only(glassgrad.Tensor, lambda t: t * 2, {"w": glassgrad.ones(2)})
    assert doubled["w"].tolist() == [2.0, 2.0]


def test_key_paths_match_pytorch():
    tree = {"x": [1, Point(2, 3)], "y": OrderedDict(k=4)}
    mine = [(gpt.keystr(p), v) for p, v in gpt.tree_leaves_with_path(tree)]
    theirs = [(tpt.keystr(p), v) for p, v in tpt.tree_leaves_with_path(tree)]
    assert mine == theirs
    paths = gpt.tree_map_with_path(lambda p, v: gpt.keystr(p), tree)
    assert paths == tpt.tree_map_with_path(lambda p, v: tpt.keystr(p), tree)


class Pair:
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __eq__(self, other):
        return isinstance(other, Pair) and (self.x, self.y) == (other.x, other.y)


def test_registered_classes_and_errors_match_pytorch():
    results = []
    for lib in (gpt, tpt):
        cls = type("Pair", (Pair,), {})
        lib.register_pytree_node(cls, lambda p: ([p.x, p.y], None), lambda c, ctx, cls=cls: cls(*c))
        leaves, spec = lib.tree_flatten([cls(1, [2])])
        rebuilt = lib.tree_unflatten([5, 6], spec)
        with pytest.raises(ValueError) as again:
            lib.register_pytree_node(cls, lambda p: ([], None), lambda c, ctx: None)
        with pytest.raises(ValueError) as short:
            lib.tree_unflatten([1], spec)
        results.append((leaves, repr(spec), (rebuilt[0].x, rebuilt[0].y), str(short.value)))
        assert str(again.value).endswith("is already registered as pytree node.")
    assert results[0] == results[1]
