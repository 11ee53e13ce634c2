"""LitServe peer: a LitAPI around the benchmark's estimator, on 127.0.0.1.

LitServe's single-machine setup on CPU: one inference worker process (predict
runs there; its docs suggest one per core, and wrk holds one of the two), one
API server feeding it over ZeroMQ (fast_queue, which its docs advise above 100
requests/s), no batching (a request is one predict call).

    python litserve_server.py PORT   (BENCH_ESTIMATOR: the pickled estimator)
"""

import os
import pickle
import sys

import litserve as ls
import numpy as np


class EstimatorAPI(ls.LitAPI):
    def setup(self, device):
        with open(os.environ["BENCH_ESTIMATOR"], "rb") as file:
            self.estimator = pickle.load(file)

    def decode_request(self, request):
        return np.asarray(request["inputs"], dtype=np.float64)

    def predict(self, x):
        return self.estimator.predict(x)

    def encode_response(self, output):
        return {"predictions": output.tolist()}


if __name__ == "__main__":
    server = ls.LitServer(
        EstimatorAPI(), accelerator="cpu", workers_per_device=1, fast_queue=True
    )
    server.run(host="127.0.0.1", port=int(sys.argv[1]), generate_client_file=False)
