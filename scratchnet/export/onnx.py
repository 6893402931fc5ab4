"""The trained model as an ONNX graph of standard operators (Gemm, Relu, Softmax, ArgMax), for
ONNX Runtime or any other ONNX runtime: built with the ``onnx`` package and checked by
``onnx.checker``. The graph takes the pixels exactly as scratchnet's network takes them, and its
metadata says how to make them and which training run (its digest and params) the weights are of.
"""

from __future__ import annotations

import json
import os
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np

from ..base.errors import ModelFileError, ScratchnetError
from ..base.formats import N_CLASSES, N_PIXELS
from ..nn import checkpoint
from ..nn.model import MLP

# Opset 13 and IR version 7 (onnx 1.8, 2020): every operator used here has had its present meaning
# since, so any ONNX Runtime of the last years loads the file.
OPSET = 13
IR_VERSION = 7
INPUT = "pixels"
OUTPUTS = ("probabilities", "digit")
# What the graph's input and outputs hold, in its metadata (metadata_props) and on the values.
PIXELS = (
    f"float32 of shape (batch, {N_PIXELS}): each row a 28x28 digit read row by row, white on black "
    "(0 the background, as MNIST draws it), each 8-bit pixel divided by 255 so values lie in 0..1; "
    "scratchnet's stages and predict feed the network the same (scratchnet.base.formats.scale_pixels)"
)
PROBABILITIES = f"float32 of shape (batch, {N_CLASSES}): softmax probabilities of the digits 0..9"
DIGIT = "int64 of shape (batch,): the most probable digit (the first one of equal logits)"


def load_trained(path: str | os.PathLike) -> tuple[MLP, dict[str, Any]]:
    """(model, config) of a model file the train stage wrote; ModelFileError naming the file if it is
    not one (the checkpoint reader's errors, and a configuration without its training run)."""
    model, config = checkpoint.load(path, inputs=N_PIXELS, outputs=N_CLASSES, names=("pixels", "digits"))
    if not isinstance(config.get("run"), str) or not all(isinstance(config.get(k), dict) for k in ("model", "train")):
        raise ModelFileError(
            f"{os.fspath(path)}: its configuration names no training run with its model and train params "
            "(was it written by the train stage?); rerun `dvc repro train`"
        )
    return model, config


def metadata(config: dict[str, Any]) -> dict[str, str]:
    """The model's metadata_props: what the input and outputs hold, and the training run."""
    return {
        "input": f"{INPUT}: {PIXELS}",
        "outputs": f"{OUTPUTS[0]}: {PROBABILITIES}; {OUTPUTS[1]}: {DIGIT}",
        "run": config["run"],
        "params": json.dumps({"model": config["model"], "train": config["train"]}, sort_keys=True),
        "epochs": json.dumps({k: config.get(k) for k in ("best_epoch", "model_epoch", "epochs_run")}, sort_keys=True),
    }


def to_onnx(model: MLP, config: dict[str, Any]) -> bytes:
    """The serialized ONNX model of ``model`` (float32 weights), checked by onnx.checker: per layer
    Gemm (x @ W + b) and, between layers, Relu; Softmax and ArgMax over the logits."""
    onnx, helper, numpy_helper = _onnx()
    nodes, weights = [], []
    x = INPUT
    for i in range(model.n_layers):
        W, b = (np.asarray(p, np.float32) for p in model.params[2 * i : 2 * i + 2])
        weights += [numpy_helper.from_array(W, f"W{i}"), numpy_helper.from_array(b, f"b{i}")]
        last = i == model.n_layers - 1
        z = "logits" if last else f"z{i}"
        nodes.append(helper.make_node("Gemm", [x, f"W{i}", f"b{i}"], [z], name=f"dense{i}"))
        if not last:
            x = f"h{i}"
            nodes.append(helper.make_node("Relu", [z], [x], name=f"relu{i}"))
    nodes.append(helper.make_node("Softmax", ["logits"], [OUTPUTS[0]], name="softmax", axis=1))
    nodes.append(helper.make_node("ArgMax", ["logits"], [OUTPUTS[1]], name="argmax", axis=1, keepdims=0))
    graph = helper.make_graph(
        nodes,
        "scratchnet_mlp",
        [helper.make_tensor_value_info(INPUT, onnx.TensorProto.FLOAT, ["batch", N_PIXELS], PIXELS)],
        [
            helper.make_tensor_value_info(OUTPUTS[0], onnx.TensorProto.FLOAT, ["batch", N_CLASSES], PROBABILITIES),
            helper.make_tensor_value_info(OUTPUTS[1], onnx.TensorProto.INT64, ["batch"], DIGIT),
        ],
        weights,
    )
    proto = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="scratchnet",
        producer_version=_scratchnet_version(),
        doc_string=f"scratchnet's MLP {'-'.join(map(str, model.sizes))}, training run {config['run']}",
    )
    proto.ir_version = IR_VERSION
    helper.set_model_props(proto, metadata(config))
    onnx.checker.check_model(proto, full_check=True)
    return proto.SerializeToString(deterministic=True)


def _onnx():
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError as e:
        raise ScratchnetError(
            f"the ONNX export needs the onnx package ({e}): `make setup` installs it, or pip install 'scratchnet[onnx]'"
        ) from None
    return onnx, helper, numpy_helper


def _scratchnet_version() -> str:
    try:
        return version("scratchnet")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"
