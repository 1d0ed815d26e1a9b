"""The type stubs shipped with gridscan (py.typed, _ball_tree.pyi) match the compiled module."""

import ast
import inspect
from pathlib import Path

import numpy as np
import pytest

import gridscan
from gridscan import BallTree

PACKAGE = Path(gridscan.__file__).parent
PYPROJECT = PACKAGE.parent / "pyproject.toml"
# Methods of BallTree that only the estimators call; the API reference leaves them out too.
INTERNAL = {"eps_rows", "point_eps", "point_mask", "prepare_searches", "require_point_eps",
            "search_eps", "set_periods", "set_point_eps"}
NO_DEFAULT = inspect.Parameter.empty


def stub_members():
    """{name: [FunctionDef, ...]} of class BallTree in the stub (overloads share a name)."""
    tree = ast.parse((PACKAGE / "_ball_tree.pyi").read_text())
    (cls,) = [node for node in tree.body if isinstance(node, ast.ClassDef)]
    assert cls.name == "BallTree"
    members = {}
    for node in cls.body:
        assert isinstance(node, ast.FunctionDef), ast.dump(node)
        members.setdefault(node.name, []).append(node)
    return members


def decorated(function, name):
    return any(isinstance(d, ast.Name) and d.id == name for d in function.decorator_list)


def stub_parameters(function):
    """(name, kind, default) of a stub def; the default is Ellipsis where the stub elides it."""
    args = function.args
    assert not args.posonlyargs and args.vararg is None and args.kwarg is None
    defaults = [NO_DEFAULT] * (len(args.args) - len(args.defaults)) + [
        ast.literal_eval(d) for d in args.defaults]
    params = [(a.arg, inspect.Parameter.POSITIONAL_OR_KEYWORD, d)
              for a, d in zip(args.args, defaults, strict=True)]
    params += [(a.arg, inspect.Parameter.KEYWORD_ONLY,
                NO_DEFAULT if d is None else ast.literal_eval(d))
               for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)]
    return params


def test_stub_names_every_public_member():
    public = {name for name in dir(BallTree) if not name.startswith("_")} - INTERNAL
    stubbed = set(stub_members()) - {"__init__"}
    assert stubbed == public


@pytest.mark.parametrize("name", sorted(set(stub_members()) - {"__init__"}))
def test_stub_signature_is_the_runtime_one(name):
    runtime = getattr(BallTree, name)
    functions = stub_members()[name]
    if decorated(functions[0], "property"):
        assert len(functions) == 1 and not callable(runtime)
        return
    expected = [(p.name, p.kind, p.default)
                for p in inspect.signature(runtime).parameters.values()]
    for function in functions:
        params = stub_parameters(function)
        assert [p[:2] for p in params] == [p[:2] for p in expected]
        overload = decorated(function, "overload")
        for (_, _, stub_default), (_, _, default) in zip(params, expected, strict=True):
            if not overload:
                assert stub_default == default
            # An overload elides its defaults ("...") and may require an argument that
            # selects it (count_only=True); it never invents a default.
            elif stub_default is not NO_DEFAULT:
                assert stub_default in (Ellipsis, default) and default is not NO_DEFAULT


def test_stub_constructor_is_the_runtime_one():
    # Cython's embedded signature of __init__ is not introspectable (and misplaces the "*"),
    # so the constructor is checked by calling it.
    (function,) = stub_members()["__init__"]
    params = stub_parameters(function)[1:]             # after self
    assert params[0] == ("X", inspect.Parameter.POSITIONAL_OR_KEYWORD, NO_DEFAULT)
    X = np.random.default_rng(0).uniform(size=(500, 2))
    defaults = {name: default for name, _, default in params[1:]}
    positional = [default for _, kind, default in params[1:]
                  if kind == inspect.Parameter.POSITIONAL_OR_KEYWORD]
    # Every stub keyword is accepted, and the stub's defaults build the default tree.
    tree, default_tree = BallTree(X, **defaults), BallTree(X)
    for a, b in zip(tree.get_arrays(), default_tree.get_arrays(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert (tree.leaf_size, tree.metric, tree.p) == (
        default_tree.leaf_size, default_tree.metric, default_tree.p)
    # The stub's positional parameters are the runtime's, and no more.
    BallTree(X, *positional)
    with pytest.raises(TypeError):
        BallTree(X, *positional, defaults["sample_eps"])
    with pytest.raises(TypeError):
        BallTree(X, not_a_parameter=1)


def test_query_radius_returns_what_the_overloads_say():
    tree = BallTree(np.array([[0.0, 0.0], [1.0, 0.0]]))
    counts = tree.query_radius([[0.0, 0.0]], 1.0, count_only=True)
    assert counts.dtype == np.intp
    ind, dist = tree.query_radius([[0.0, 0.0]], 1.0, return_distance=True)
    assert ind.dtype == dist.dtype == object
    assert tree.query_radius([[0.0, 0.0]], 1.0).dtype == object


def test_package_data_names_files_that_exist():
    tomllib = pytest.importorskip("tomllib")      # Python >= 3.11
    package_data = tomllib.loads(PYPROJECT.read_text())["tool"]["setuptools"]["package-data"]
    for pattern in package_data["gridscan"]:
        assert list(PACKAGE.glob(pattern)), f"package-data names {pattern!r}; no such file"
    assert (PACKAGE / "py.typed").exists()
