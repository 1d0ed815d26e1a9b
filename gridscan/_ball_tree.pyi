# Type stubs of the compiled module gridscan._ball_tree (BallTree, public as
# gridscan.BallTree). tests/test_typing.py checks them against the module.

from typing import Literal, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

class BallTree:
    def __init__(
        self,
        X: ArrayLike,
        leaf_size: int = 40,
        metric: str = "euclidean",
        p: float | None = None,
        *,
        sample_eps: ArrayLike | None = None,
        window_features: int | ArrayLike | None = None,
        periods: ArrayLike | dict[int | str, float | None] | None = None,
        n_jobs: int | None = None,
    ) -> None: ...
    @overload
    def query_radius(
        self,
        X: ArrayLike,
        eps: float | ArrayLike,
        count_only: Literal[True],
        sort_results: bool = ...,
        *,
        return_distance: bool = ...,
        neighbors: Literal["query", "union"] = ...,
        n_jobs: int | None = ...,
    ) -> NDArray[np.intp]: ...
    @overload
    def query_radius(
        self,
        X: ArrayLike,
        eps: float | ArrayLike,
        count_only: Literal[False] = ...,
        sort_results: bool = ...,
        *,
        return_distance: Literal[True],
        neighbors: Literal["query", "union"] = ...,
        n_jobs: int | None = ...,
    ) -> tuple[NDArray[np.object_], NDArray[np.object_]]: ...
    @overload
    def query_radius(
        self,
        X: ArrayLike,
        eps: float | ArrayLike,
        count_only: Literal[False] = ...,
        sort_results: bool = ...,
        *,
        return_distance: Literal[False] = ...,
        neighbors: Literal["query", "union"] = ...,
        n_jobs: int | None = ...,
    ) -> NDArray[np.object_]: ...
    def get_arrays(
        self,
    ) -> tuple[
        NDArray[np.floating],
        NDArray[np.intp],
        NDArray[np.intp],
        NDArray[np.intp],
        NDArray[np.float64],
        NDArray[np.float64],
    ]: ...
    @property
    def data(self) -> NDArray[np.floating]: ...
    @property
    def leaf_size(self) -> int: ...
    @property
    def n_nodes(self) -> int: ...
    @property
    def n_features(self) -> int: ...
    @property
    def points(self) -> NDArray[np.floating]: ...
    @property
    def order(self) -> NDArray[np.intp]: ...
    @property
    def blocks(self) -> NDArray[np.intp]: ...
    @property
    def metric(self) -> str: ...
    @property
    def window(self) -> NDArray[np.uint8]: ...
    @property
    def p(self) -> float: ...
    @property
    def own_eps(self) -> object | None: ...
    @property
    def periods(self) -> NDArray[np.float64] | None: ...
