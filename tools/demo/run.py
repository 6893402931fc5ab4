"""`make demo` (`python -m tools.demo.run`): a local page to draw a digit on, which shows as you
draw what the network reads (server.py serves it, inference.py reads the pictures)."""

import argparse
import sys
from pathlib import Path

from scratchnet.base import boundary

from .inference import load_model
from .server import listen


def port_number(text):
    if not (text.isascii() and text.isdigit()) or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0..65535; 0 picks a free one)")
    return int(text)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m tools.demo.run", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="data/model/model.npz", help="a model written by the train stage")
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (another than 127.0.0.1 opens it to the network)"
    )
    parser.add_argument("--port", type=port_number, default=8000, help="port to listen on (0: a free one)")
    args = parser.parse_args(argv)
    return boundary.guarded(serve, args)


def serve(args):
    model = load_model(args.model)
    server = listen(args.host, args.port, model, Path(args.model).name)
    host, port = server.server_address[:2]
    sizes = "-".join(map(str, model.sizes))
    print(f"demo: http://{host}:{port}/ (model {args.model}, {sizes}); Ctrl-C stops it", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("demo: stopped", flush=True)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
