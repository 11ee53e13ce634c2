"""BentoML peer: a @bentoml.service with adaptive batching, per BentoML 1.4's docs.

One worker process (the single-machine default on 2 cores), predict in it;
requests are merged by adaptive batching (up to 64 rows; a 1 s latency bound,
as in its docs: a tighter one answers 503 "overloaded" under load).

    bentoml serve bentoml_service:Estimator --host 127.0.0.1 --port PORT
    (run from this folder; BENCH_ESTIMATOR: the pickled estimator)
"""

import os
import pickle

import bentoml
import numpy as np


@bentoml.service(workers=1)
class Estimator:
    def __init__(self) -> None:
        with open(os.environ["BENCH_ESTIMATOR"], "rb") as file:
            self.estimator = pickle.load(file)

    @bentoml.api(batchable=True, max_batch_size=64, max_latency_ms=1000)
    def predict(self, inputs: np.ndarray) -> np.ndarray:
        return self.estimator.predict(inputs)
