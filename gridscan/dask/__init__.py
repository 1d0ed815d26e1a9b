"""gridscan on Dask: many groups in parallel, and one point cloud split spatially.

Import it explicitly (``import gridscan.dask``); ``import gridscan`` does not
load Dask.  Both functions build ordinary Dask graphs, so they run on whatever
scheduler is active: a ``distributed.Client`` when one exists, else Dask's
local scheduler.

cluster_groups            every group of a Dask DataFrame clustered on its own (_groups)
fit_predict_partitioned   one point cloud in spatial blocks with halos (_partitioned: how
                          it stays exact; _plan: the blocks and halos; _blocks: the block
                          tasks and the merge)
_scheduling               computing on the active scheduler, with progress bars
"""

from gridscan.dask._groups import cluster_groups
from gridscan.dask._partitioned import fit_predict_partitioned

__all__ = ["cluster_groups", "fit_predict_partitioned"]
