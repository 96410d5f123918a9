"""The PyTorch worker: answers TwinTrain's requests (docs/worker-protocol.md) with the real PyTorch."""

import hashlib
import os
import platform
import signal
import sys
import threading
import time

import numpy as np
import torch

from . import model as study
from .protocol import PROTOCOL, Channel


class Faults:
    """TWINTRAIN_WORKER_FAULT=KIND:N for TwinTrain's tests: at the Nth training step (counted over the worker's life)
    exit (code 3), hang, write a line that is not JSON, or answer with another id; protocol:N answers hello with
    version N."""

    def __init__(self, text):
        self.kind, self.at = None, 0
        if text:
            kind, _, at = text.partition(":")
            if kind not in ("exit", "hang", "garbage", "wrong-id", "protocol") or not at.isdigit():
                raise SystemExit(f"TWINTRAIN_WORKER_FAULT={text}: expected exit|hang|garbage|wrong-id|protocol:N")
            self.kind, self.at = kind, int(at)
        self.steps = 0

    def step(self, channel, request_id):
        self.steps += 1
        if self.kind is None or self.kind == "protocol" or self.steps != self.at:
            return
        if self.kind == "exit":
            os._exit(3)
        if self.kind == "hang":
            while True:
                time.sleep(3600)
        if self.kind == "garbage":
            channel.raw("Traceback (most recent call last): this is not a protocol message")
        if self.kind == "wrong-id":
            channel.progress(request_id + 1000, {"step": self.steps})


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_split(request):
    for key in ("images", "labels"):
        actual = sha256(request[key])
        if actual != request[f"{key}_sha256"]:
            raise ValueError(f"{request[key]}: SHA-256 {actual} is not the {request[f'{key}_sha256']} TwinTrain wrote")
    images, labels = np.load(request["images"], allow_pickle=False), np.load(request["labels"], allow_pickle=False)
    if images.dtype != np.uint8 or images.ndim != 4:
        raise ValueError(f"{request['images']}: {images.dtype} {images.shape}; expected uint8 (N, H, W, C)")
    if labels.dtype != np.uint8 or labels.shape != (images.shape[0],):
        raise ValueError(f"{request['labels']}: {labels.dtype} {labels.shape}; expected uint8 ({images.shape[0]},)")
    # v / 255 in single precision, then channels first (NCHW), as the plain PyTorch loop feeds the network.
    x = torch.from_numpy(images).to(torch.float32).div_(255.0).permute(0, 3, 1, 2).contiguous()
    return x, torch.from_numpy(labels.astype(np.int64))


def save_file(obj, path):
    """torch.save, flushed to disk before the answer (TwinTrain renames the folder into place afterwards)."""
    with open(path, "wb") as f:
        torch.save(obj, f)
        f.flush()
        os.fsync(f.fileno())


def watch_parent(parent):
    """Exits when TwinTrain is gone: a killed parent cannot send quit, and its pipe may be inherited elsewhere."""
    while True:
        if os.getppid() != parent:
            os._exit(4)
        time.sleep(0.5)


class Worker:
    def __init__(self, channel, faults):
        self.channel, self.faults = channel, faults
        self.splits, self.trainer = {}, None

    def serve(self):
        while True:
            try:
                request = self.channel.receive()
            except ValueError as e:
                self.channel.error(-1, f"not a request: {e}")
                continue
            if request is None:
                return 0
            if request.get("op") == "stop":
                continue  # a stop that arrived after its epoch had ended: nothing to stop, and never answered
            request_id = request.get("id", -1)
            try:
                result = self.handle(request)
            except Exception as e:  # every failure is one answer, never a dead worker
                self.channel.error(request_id, f"{type(e).__name__}: {e}")
                continue
            self.channel.result(request_id, result)
            if request["op"] == "quit":
                return 0

    def handle(self, request):
        op = request["op"]
        if op == "hello":
            version = self.faults.at if self.faults.kind == "protocol" else PROTOCOL
            if request.get("protocol") != PROTOCOL:
                raise ValueError(f"protocol {request.get('protocol')} is not spoken here (this worker speaks {PROTOCOL})")
            return {"protocol": version, "framework": "pytorch",
                    "versions": {"torch": torch.__version__, "numpy": np.__version__, "python": platform.python_version()}}
        if op == "load_data":
            self.splits[request["name"]] = load_split(request)
            return {"count": len(self.splits[request["name"]][1])}
        if op == "build":
            return self.build(request)
        if op == "quit":
            return {}
        if self.trainer is None:
            raise ValueError(f"'{op}' before 'build'")
        if op == "train_epoch":
            request_id = request["id"]

            def after_step(step, loss, accuracy, samples):
                self.channel.progress(request_id, {"step": step, "loss": loss, "accuracy": accuracy, "samples": samples})
                self.faults.step(self.channel, request_id)

            return self.trainer.train_epoch(request["order"], request["batch_size"], after_step, self.channel.stop_requested)
        if op == "evaluate":
            return self.trainer.evaluate(request["name"], request["batch_size"])
        if op == "predict":
            return self.trainer.predict(request["name"], request["batch_size"])
        if op == "save":
            save_file(self.trainer.model.state_dict(), os.path.join(request["folder"], "model.pt"))
            save_file(self.trainer.optimizer.state_dict(), os.path.join(request["folder"], "optimizer.pt"))
            return {"model_file": "model.pt", "optimizer_file": "optimizer.pt"}
        if op == "load":
            self.trainer.model.load_state_dict(torch.load(os.path.join(request["folder"], request["model_file"])), strict=True)
            self.trainer.optimizer.load_state_dict(torch.load(os.path.join(request["folder"], request["optimizer_file"])))
            return {}
        if op == "save_weights":
            save_file(self.trainer.model.state_dict(), request["path"])
            return {}
        raise ValueError(f"unknown op '{op}'")

    def build(self, request):
        torch.set_num_threads(request["threads"])
        torch.manual_seed(request["seed"])
        network = study.build_model(request["modules"])
        if request.get("init"):
            actual = sha256(request["init"])
            if actual != request.get("init_sha256"):
                raise ValueError(f"{request['init']}: SHA-256 {actual} is not the {request.get('init_sha256')} TwinTrain wrote")
            network.load_state_dict(torch.load(request["init"]), strict=True)
        optimizer = study.build_optimizer(network, request["optimizer"])
        self.trainer = study.Trainer(network, optimizer, self.splits)
        rows = study.settings_of(network, optimizer)
        if request.get("init"):
            rows = [[s, k, "the initial weights TwinTrain gave (load_state_dict)" if k.endswith("initialisation") else v] for s, k, v in rows]
        return {"parameters": sum(p.numel() for p in network.parameters() if p.requires_grad), "settings": rows, "repr": repr(network)}


def main():
    # Ctrl+C reaches the whole process group, and a scheduler's SIGTERM (Slurm, Kubernetes) the whole process tree:
    # TwinTrain stops the worker itself (op stop), consistently, and the worker exits when TwinTrain is gone.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    threading.Thread(target=watch_parent, args=(os.getppid(),), daemon=True).start()
    faults = Faults(os.environ.get("TWINTRAIN_WORKER_FAULT"))
    return Worker(Channel(), faults).serve()


if __name__ == "__main__":
    sys.exit(main())
