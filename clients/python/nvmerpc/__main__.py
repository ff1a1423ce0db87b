"""python3 -m nvmerpc [--socket P] METHOD [key=value ...]

Each value is parsed as JSON when it can be (nsid=1, all=true) and taken as
a string otherwise (device=sim0). Prints the result as JSON; on an error
prints the error object to stderr and exits 1.
"""
import argparse
import json
import sys

from .client import DEFAULT_SOCKET, Client
from .errors import RpcError


def parse_param(text):
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    try:
        return key, json.loads(value)
    except ValueError:
        return key, value


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m nvmerpc", description=__doc__.splitlines()[0])
    ap.add_argument("--socket", default=DEFAULT_SOCKET, help="daemon socket (%(default)s)")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds (%(default)s)")
    ap.add_argument("--stream", action="store_true", help="stream; print items then the summary")
    ap.add_argument("method")
    ap.add_argument("params", nargs="*", type=parse_param, metavar="key=value")
    args = ap.parse_args(argv)
    params = dict(args.params)
    try:
        with Client(args.socket, timeout=args.timeout) as client:
            if args.stream:
                stream = client.stream(args.method, **params)
                for item in stream:
                    print(json.dumps(item))
                print(json.dumps(stream.summary, indent=2))
            else:
                print(json.dumps(client.call(args.method, **params), indent=2))
    except RpcError as e:
        print(json.dumps({"code": e.code, "message": e.message, "data": e.data}), file=sys.stderr)
        return 1
    except OSError as e:
        print(f"nvmerpc: {args.socket}: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
