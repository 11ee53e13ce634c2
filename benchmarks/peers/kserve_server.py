"""KServe peer: a tiny kserve.Model around the benchmark's estimator.

KServe's single-machine setup: one ModelServer process, one uvicorn worker,
no gRPC server, predict in process on the V2 request's tensor. kserve builds
its uvicorn.Config with host 0.0.0.0; the wrapper below makes it 127.0.0.1.

    python kserve_server.py PORT   (BENCH_ESTIMATOR: the pickled estimator)
"""

import os
import pickle
import sys

import uvicorn

_config_init = uvicorn.Config.__init__


def _loopback(self, *args, **kwargs):
    _config_init(self, *args, **{**kwargs, "host": "127.0.0.1"})


uvicorn.Config.__init__ = _loopback

import kserve  # noqa: E402  (after the host patch, which its server uses)
from kserve.utils.utils import get_predict_response  # noqa: E402


class Estimator(kserve.Model):
    def load(self) -> bool:
        with open(os.environ["BENCH_ESTIMATOR"], "rb") as file:
            self.estimator = pickle.load(file)
        self.ready = True
        return self.ready

    def predict(self, payload, headers=None):
        result = self.estimator.predict(payload.inputs[0].as_numpy())
        return get_predict_response(payload, result, self.name)


if __name__ == "__main__":
    model = Estimator("estimator")
    model.load()
    server = kserve.ModelServer(http_port=int(sys.argv[1]), enable_grpc=False)
    server.start([model])
