"""The PyTorch worker over its real protocol: a child process, requests on stdin, answers on stdout.

Run from workers/pytorch with Debian's Python (the one with torch): /usr/bin/python3 -m unittest discover -s tests
"""

import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# The study's CNN on 32x32x3, as TwinTrain's translation describes it (the same list TorchSharp builds).
STUDY = [
    {"name": "conv1", "kind": "Conv2d", "args": {"in_channels": 3, "out_channels": 32, "kernel_size": [3, 3], "stride": [1, 1], "padding": [0, 0], "bias": True}},
    {"name": "conv1_relu", "kind": "ReLU", "args": {}},
    {"name": "max_pooling2d", "kind": "MaxPool2d", "args": {"kernel_size": [2, 2], "stride": [2, 2], "padding": [0, 0], "ceil_mode": False}},
    {"name": "conv2", "kind": "Conv2d", "args": {"in_channels": 32, "out_channels": 64, "kernel_size": [3, 3], "stride": [1, 1], "padding": [0, 0], "bias": True}},
    {"name": "conv2_relu", "kind": "ReLU", "args": {}},
    {"name": "max_pooling2d_1", "kind": "MaxPool2d", "args": {"kernel_size": [2, 2], "stride": [2, 2], "padding": [0, 0], "ceil_mode": False}},
    {"name": "flatten", "kind": "Flatten", "args": {}},
    {"name": "fc1", "kind": "Linear", "args": {"in_features": 2304, "out_features": 64, "bias": True}},
    {"name": "fc1_relu", "kind": "ReLU", "args": {}},
    {"name": "fc2", "kind": "Linear", "args": {"in_features": 64, "out_features": 10, "bias": True}},
]


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class Worker:
    """A worker process and the requests a test sends it."""

    def __init__(self, env=None):
        self.process = subprocess.Popen([sys.executable, "-m", "twintrain_worker"], cwd=ROOT, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        env={**os.environ, **(env or {})})
        self.next_id = 0

    def send(self, op, **fields):
        request_id = self.next_id
        self.next_id += 1
        self.process.stdin.write(json.dumps({"id": request_id, "op": op, **fields}) + "\n")
        self.process.stdin.flush()
        return request_id

    def answer(self, request_id):
        """The progress messages and the final message of one request."""
        progress = []
        while True:
            line = self.process.stdout.readline()
            if not line:
                raise EOFError(f"the worker ended (code {self.process.wait()}): {self.process.stderr.read()[-500:]}")
            message = json.loads(line)
            assert message["id"] == request_id, message
            if "progress" in message:
                progress.append(message["progress"])
            else:
                return message, progress

    def request(self, op, **fields):
        message, progress = self.answer(self.send(op, **fields))
        if not message["ok"]:
            raise AssertionError(message["error"])
        return message["result"], progress

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            stream.close()


class WorkerTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.TemporaryDirectory(prefix="twintrain-worker-test-")
        rng = np.random.default_rng(0)
        cls.files = {}
        for name, count in (("train", 256), ("test", 64)):
            images = rng.integers(0, 256, size=(count, 32, 32, 3), dtype=np.uint8)
            labels = rng.integers(0, 10, size=(count,), dtype=np.uint8)
            paths = {}
            for key, array in (("images", images), ("labels", labels)):
                paths[key] = os.path.join(cls.folder.name, f"{name}-{key}.npy")
                np.save(paths[key], array)
                paths[f"{key}_sha256"] = sha256(paths[key])
            cls.files[name] = paths

    @classmethod
    def tearDownClass(cls):
        cls.folder.cleanup()

    def started(self, env=None, build=True, seed=0):
        worker = Worker(env)
        self.addCleanup(worker.close)
        hello, _ = worker.request("hello", protocol=1)
        self.assertEqual((1, "pytorch"), (hello["protocol"], hello["framework"]))
        for name, paths in self.files.items():
            worker.request("load_data", name=name, **paths)
        if build:
            worker.request("build", modules=STUDY, optimizer={"name": "adam", "lr": 0.001}, seed=seed, threads=1, init=None)
        return worker

    def test_should_build_the_studys_cnn_with_pytorchs_own_defaults_and_report_them(self):
        worker = self.started(build=False)
        built, _ = worker.request("build", modules=STUDY, optimizer={"name": "adam", "lr": 0.001}, seed=0, threads=1, init=None)
        self.assertEqual(167_562, built["parameters"])
        settings = {(s, k): v for s, k, v in built["settings"]}
        self.assertEqual("1e-08", settings[("(model)", "Adam epsilon")])  # torch.optim.Adam's default
        self.assertIn("kaiming_uniform_", settings[("conv1", "kernel initialisation")])
        self.assertIn("(conv1): Conv2d(3, 32, kernel_size=(3, 3)", built["repr"])

    def test_should_train_an_epoch_in_the_given_order_with_one_progress_message_per_step(self):
        worker = self.started()
        order = list(reversed(range(256)))
        result, progress = worker.request("train_epoch", order=order, batch_size=64)
        self.assertEqual([1, 2, 3, 4], [p["step"] for p in progress])
        self.assertEqual([64, 128, 192, 256], [p["samples"] for p in progress])
        self.assertEqual(256, result["samples"])
        self.assertFalse(result["stopped"])
        self.assertAlmostEqual(progress[-1]["loss"], result["loss"], places=12)
        self.assertGreater(result["seconds"], 0)
        evaluation, _ = worker.request("evaluate", name="test", batch_size=50)
        self.assertEqual(64, evaluation["samples"])
        self.assertTrue(2.0 < evaluation["loss"] < 2.7, evaluation)  # about ln 10 on random images
        predicted, _ = worker.request("predict", name="test", batch_size=50)
        self.assertEqual(64, len(predicted["classes"]))
        self.assertTrue(all(0 <= c < 10 for c in predicted["classes"]))

    def test_should_continue_from_a_saved_state_exactly_as_straight_training(self):
        orders = [list(np.random.default_rng(e).permutation(256)) for e in range(2)]
        orders = [[int(i) for i in o] for o in orders]
        straight = self.started(seed=5)
        straight.request("train_epoch", order=orders[0], batch_size=64)
        expected, _ = straight.request("train_epoch", order=orders[1], batch_size=64)

        first = self.started(seed=5)
        first.request("train_epoch", order=orders[0], batch_size=64)
        folder = tempfile.mkdtemp(dir=self.folder.name)
        saved, _ = first.request("save", folder=folder)
        self.assertTrue(os.path.isfile(os.path.join(folder, saved["model_file"])))
        second = self.started(seed=99)  # another seed: the loaded state must replace everything
        second.request("load", folder=folder, **saved)
        actual, _ = second.request("train_epoch", order=orders[1], batch_size=64)
        self.assertEqual(expected["loss"], actual["loss"])  # one thread, the same operations: bit for bit

    def test_should_start_from_the_initial_weights_it_is_given(self):
        worker = self.started(seed=1)
        path = os.path.join(self.folder.name, "init.pt")
        worker.request("save_weights", path=path)
        other = self.started(build=False)
        built, _ = other.request("build", modules=STUDY, optimizer={"name": "sgd", "lr": 0.01, "momentum": 0.0}, seed=2, threads=1,
                                 init=path, init_sha256=sha256(path))
        self.assertIn("load_state_dict", dict(((s, k), v) for s, k, v in built["settings"])[("conv1", "kernel initialisation")])
        mine, _ = worker.request("evaluate", name="test", batch_size=64)
        theirs, _ = other.request("evaluate", name="test", batch_size=64)
        self.assertEqual(mine["loss"], theirs["loss"])

    def test_should_answer_bad_requests_with_one_line_errors_and_keep_serving(self):
        worker = self.started(build=False)
        message, _ = worker.answer(worker.send("build", modules=[{"name": "x", "kind": "Conv3d", "args": {}}],
                                               optimizer={"name": "adam", "lr": 0.001}, seed=0, threads=1, init=None))
        self.assertFalse(message["ok"])
        self.assertIn("unknown kind 'Conv3d'", message["error"])
        self.assertNotIn("\n", message["error"])
        paths = dict(self.files["train"], images_sha256="0" * 64)
        message, _ = worker.answer(worker.send("load_data", name="train", **paths))
        self.assertIn("is not the 000", message["error"])
        message, _ = worker.answer(worker.send("evaluate", name="test", batch_size=64))
        self.assertIn("'evaluate' before 'build'", message["error"])
        message, _ = worker.answer(worker.send("hello", protocol=2))
        self.assertIn("protocol 2 is not spoken here", message["error"])
        self.assertEqual({}, worker.request("quit")[0])
        self.assertEqual(0, worker.process.wait(timeout=30))

    def test_should_stop_after_the_current_step_when_told(self):
        worker = self.started()
        request_id = worker.send("train_epoch", order=list(range(256)), batch_size=16)
        first = json.loads(worker.process.stdout.readline())
        self.assertEqual(1, first["progress"]["step"])
        worker.process.stdin.write(json.dumps({"op": "stop"}) + "\n")
        worker.process.stdin.flush()
        message, progress = worker.answer(request_id)
        self.assertTrue(message["result"]["stopped"])
        self.assertLess(message["result"]["samples"], 256)
        self.assertEqual(message["result"]["samples"], (len(progress) + 1) * 16)

    def test_should_ignore_a_stop_that_arrives_after_its_epoch_ended(self):
        worker = self.started()
        worker.request("train_epoch", order=list(range(256)), batch_size=64)
        worker.process.stdin.write(json.dumps({"op": "stop"}) + "\n")
        worker.process.stdin.flush()
        result, _ = worker.request("evaluate", name="test", batch_size=64)  # answered as if no stop had come
        self.assertEqual(64, result["samples"])

    def test_should_leave_sigint_and_sigterm_to_twintrain_and_keep_serving(self):
        worker = self.started()
        for received in (signal.SIGINT, signal.SIGTERM):  # what Ctrl+C and a scheduler's preemption send every process
            worker.process.send_signal(received)
        result, _ = worker.request("evaluate", name="test", batch_size=64)
        self.assertEqual(64, result["samples"])
        self.assertIsNone(worker.process.poll())

    def test_should_exit_when_its_input_ends(self):
        worker = self.started()
        worker.process.stdin.close()
        self.assertEqual(0, worker.process.wait(timeout=30))

    def test_should_inject_the_faults_twintrains_tests_use(self):
        worker = self.started(env={"TWINTRAIN_WORKER_FAULT": "exit:2"})
        with self.assertRaises(EOFError):
            worker.request("train_epoch", order=list(range(256)), batch_size=64)
        self.assertEqual(3, worker.process.wait(timeout=30))

        worker = self.started(env={"TWINTRAIN_WORKER_FAULT": "garbage:1"})
        worker.send("train_epoch", order=list(range(256)), batch_size=64)
        lines = [worker.process.stdout.readline() for _ in range(2)]
        self.assertEqual("progress", list(json.loads(lines[0]))[1])
        with self.assertRaises(json.JSONDecodeError):
            json.loads(lines[1])

        worker = Worker({"TWINTRAIN_WORKER_FAULT": "protocol:7"})
        self.addCleanup(worker.close)
        self.assertEqual(7, worker.request("hello", protocol=1)[0]["protocol"])


if __name__ == "__main__":
    unittest.main()
