"""scikit-learn's estimator checks for every gridscan estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from gridscan import GridDBSCAN


@parametrize_with_checks([GridDBSCAN()])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
