"""Stage export: the trained model -> data/model/model.onnx, the same network as standard ONNX
operators, with the training run's digest and params in its metadata (docs/export.md)."""

import argparse

from scratchnet.base import atomic, boundary
from scratchnet.export.onnx import OPSET, load_trained, to_onnx


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model", help="the model .npz written by the train stage")
    parser.add_argument("onnx", help="the ONNX file to write")
    args = parser.parse_args()

    model, config = load_trained(args.model)
    data = to_onnx(model, config)
    with atomic.outputs() as out:
        with out.open(args.onnx, "wb") as f:
            f.write(data)
        print(
            f"export: {args.onnx}, the {'-'.join(map(str, model.sizes))} network of run {config['run']} "
            f"as ONNX opset {OPSET} ({len(data) / 1e6:.1f} MB)",
            flush=True,
        )


if __name__ == "__main__":
    boundary.run(main)
