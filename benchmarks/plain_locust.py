"""Plain Locust FastHttpUser, no benchctl: the baseline for generator efficiency."""

import os

from locust import FastHttpUser, constant, task

BODY = open(os.environ["BENCH_BODY"], "rb").read()  # noqa: SIM115
HEADERS = {"Content-Type": "application/json"}


class PlainInfer(FastHttpUser):
    wait_time = constant(0)

    @task
    def infer(self) -> None:
        self.client.post("/v2/models/mlp/infer", data=BODY, headers=HEADERS)
