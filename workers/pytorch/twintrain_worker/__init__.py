"""TwinTrain's PyTorch worker: the real PyTorch as a TwinTrain framework, over docs/worker-protocol.md."""
