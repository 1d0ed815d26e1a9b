"""PredictionCache: pickling for estimators that cache a compiled prediction index."""


class PredictionCache:
    """Pickling for estimators that cache a prediction index in ``_predict_index``.

    The cache holds compiled objects, which do not pickle; predict rebuilds it.
    """

    def __getstate__(self):
        state = super().__getstate__()
        if "_predict_index" in state:
            state["_predict_index"] = None
        return state
