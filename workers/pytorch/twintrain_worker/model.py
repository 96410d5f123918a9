"""The study's plain PyTorch: the network as an nn.Sequential of the modules TwinTrain describes, CrossEntropyLoss,
the optimizer from the same settings, and the usual zero_grad / backward / step loop."""

import collections
import time

import torch
from torch import nn

# kind -> how its args become the torch.nn constructor's keyword arguments (lists become tuples).
KINDS = {
    "Conv2d": nn.Conv2d,
    "ZeroPad2d": nn.ZeroPad2d,
    "Linear": nn.Linear,
    "BatchNorm1d": nn.BatchNorm1d,
    "BatchNorm2d": nn.BatchNorm2d,
    "MaxPool2d": nn.MaxPool2d,
    "AvgPool2d": nn.AvgPool2d,
    "AdaptiveAvgPool2d": nn.AdaptiveAvgPool2d,
    "Flatten": nn.Flatten,
    "ReLU": nn.ReLU,
    "Identity": nn.Identity,
    "Softmax": nn.Softmax,
    "Dropout": nn.Dropout,
}


def build_module(spec):
    kind = spec.get("kind")
    if kind not in KINDS:
        raise ValueError(f"module '{spec.get('name')}': unknown kind '{kind}' (known: {', '.join(sorted(KINDS))})")
    args = {k: tuple(v) if isinstance(v, list) else v for k, v in (spec.get("args") or {}).items()}
    return KINDS[kind](**args)


def build_model(modules):
    return nn.Sequential(collections.OrderedDict((m["name"], build_module(m)) for m in modules))


def build_optimizer(model, settings):
    name = settings.get("name")
    if name == "adam":
        kwargs = {"lr": settings["lr"]}
        if settings.get("eps") is not None:
            kwargs["eps"] = settings["eps"]
        return torch.optim.Adam(model.parameters(), **kwargs)
    if name == "sgd":
        return torch.optim.SGD(model.parameters(), lr=settings["lr"], momentum=settings.get("momentum", 0.0))
    raise ValueError(f"unknown optimizer '{name}' (known: adam, sgd)")


def settings_of(model, optimizer):
    """What the built objects actually hold, in TwinTrain's rows: [scope, setting, value]."""
    rows = []
    for name, module in model.named_children():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            rows.append([name, "kernel initialisation", "kaiming_uniform_(a=√5) (reset_parameters)"])
            rows.append([name, "bias initialisation", "U(±1/√fan_in) (reset_parameters)" if module.bias is not None else "no bias"])
        elif isinstance(module, nn.modules.batchnorm._BatchNorm):
            m = module.momentum
            rows.append([name, "momentum (weight of the old running value)",
                         f"{1 - m!r} (momentum={m!r})" if m is not None else "cumulative average (momentum=None)"])
            rows.append([name, "epsilon", repr(module.eps)])
            rows.append([name, "running variance", "unbiased (batch variance × n/(n−1))"])
    group = optimizer.param_groups[0]
    if isinstance(optimizer, torch.optim.Adam):
        rows.append(["(model)", "Adam epsilon", f"{group['eps']:g}"])
        rows.append(["(model)", "Adam epsilon placement", "√v̂ + ε (after the bias correction)"])
    rows.append(["(model)", "loss input", "logits (CrossEntropyLoss)"])
    rows.append(["(model)", "data layout", "NCHW (channels first)"])
    rows.append(["(model)", "threads", str(torch.get_num_threads())])
    return rows


class Trainer:
    """One model, its optimizer and the splits, trained and evaluated as the study's PyTorch loop does."""

    def __init__(self, model, optimizer, splits):
        self.model = model
        self.optimizer = optimizer
        self.splits = splits
        self.loss_function = nn.CrossEntropyLoss()

    def train_epoch(self, order, batch_size, after_step=None, stop_requested=None):
        images, labels = self.splits["train"]
        order = torch.as_tensor(order, dtype=torch.long)
        self.model.train()
        loss_sum, correct, samples, stopped = 0.0, 0, 0, False
        started = time.perf_counter()
        for step, start in enumerate(range(0, len(order), batch_size), 1):
            index = order[start:start + batch_size]
            x, y = images.index_select(0, index), labels.index_select(0, index)
            self.optimizer.zero_grad()
            logits = self.model(x)
            loss = self.loss_function(logits, y)
            loss.backward()
            self.optimizer.step()
            loss_sum += loss.item() * len(index)
            correct += int((logits.argmax(1) == y).sum())
            samples += len(index)
            if after_step is not None:
                after_step(step, loss_sum / samples, correct / samples, samples)
            if stop_requested is not None and start + batch_size < len(order) and stop_requested():
                stopped = True
                break
        seconds = time.perf_counter() - started
        return {"loss": loss_sum / samples if samples else float("nan"), "accuracy": correct / samples if samples else float("nan"),
                "samples": samples, "seconds": seconds, "stopped": stopped}

    def evaluate(self, name, batch_size):
        images, labels = self.splits[name]
        self.model.eval()
        loss_sum, correct = 0.0, 0
        with torch.no_grad():
            for start in range(0, len(labels), batch_size):
                x, y = images[start:start + batch_size], labels[start:start + batch_size]
                logits = self.model(x)
                loss_sum += self.loss_function(logits, y).item() * len(y)
                correct += int((logits.argmax(1) == y).sum())
        return {"loss": loss_sum / len(labels), "accuracy": correct / len(labels), "samples": len(labels)}

    def predict(self, name, batch_size):
        images, _ = self.splits[name]
        self.model.eval()
        classes = []
        with torch.no_grad():
            for start in range(0, len(images), batch_size):
                classes.extend(self.model(images[start:start + batch_size]).argmax(1).tolist())
        return {"classes": classes}
