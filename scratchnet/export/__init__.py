"""The export stage's code: the trained model as an ONNX graph that other runtimes run (onnx.py)."""
