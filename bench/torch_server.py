#!/usr/bin/python3
"""torch_server.py - the reference server of the serve benchmark (bench/serve_bench.sh).

What a first Python version of `digits serve` would be: the standard library's
ThreadingHTTPServer answering POST /api/predict with the seed-cnn network in PyTorch, the
picture decoded with Pillow (or, without Pillow, only 28x28 8-bit grey PNGs with zlib),
made grey, resized to 28x28 and inverted when it is dark ink on light paper, then one
forward pass and a JSON answer. No MNIST-style preprocessing (crop, centre of mass): that
only makes the reference faster than a real one. Weights are random (Glorot-uniform): the
benchmark measures speed, not answers.

    /usr/bin/python3 bench/torch_server.py PORT
"""
import io
import json
import struct
import sys
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import torch
from torch import nn

try:
    from PIL import Image
except ImportError:  # decode the simplest PNGs by hand
    Image = None

torch.set_num_threads(1)  # one thread per request, as digits serve's nets


def seed_cnn():
    """conv 32 3 relu, maxpool 2, conv 64 3 relu, maxpool 2, flatten, dense 64 relu, dense 10"""
    net = nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 5 * 5, 64), nn.ReLU(), nn.Linear(64, 10))
    for m in net:
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    return net.eval()


NET = seed_cnn()


def decode_grey28(data):
    """The picture as a float32 [28][28] in 0..1, white ink on black."""
    if Image is not None:
        img = Image.open(io.BytesIO(data)).convert("L").resize((28, 28), Image.BILINEAR)
        grey = np.asarray(img, dtype=np.float32) / 255.0
    else:
        if data[:8] != b"\x89PNG\r\n\x1a\n":
            raise ValueError("not a PNG")
        pos, idat, width = 8, b"", 0
        while pos < len(data):
            n, kind = struct.unpack(">I4s", data[pos:pos + 8])
            if kind == b"IHDR":
                width, height, depth, colour = struct.unpack(">IIBB", data[pos + 8:pos + 18])
                if (width, height, depth, colour) != (28, 28, 8, 0):
                    raise ValueError("only 28x28 8-bit grey PNGs without Pillow")
            elif kind == b"IDAT":
                idat += data[pos + 8:pos + 8 + n]
            pos += 12 + n
        raw = zlib.decompress(idat)
        rows = [np.frombuffer(raw[r * 29 + 1:(r + 1) * 29], dtype=np.uint8) for r in range(28)]
        if any(raw[r * 29] != 0 for r in range(28)):
            raise ValueError("PNG filters other than none need Pillow")
        grey = np.stack(rows).astype(np.float32) / 255.0
    if grey.mean() > 0.5:  # dark ink on light paper
        grey = 1.0 - grey
    return grey


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def answer(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        if self.path.split("?")[0] != "/api/predict":
            self.answer(404, {"error": "not found"})
            return
        length = int(self.headers.get("Content-Length", "-1"))
        if length < 0:
            self.answer(411, {"error": "length required"})
            return
        data = self.rfile.read(length)
        try:
            grey = decode_grey28(data)
        except Exception as e:  # a bad picture is the client's error
            self.answer(400, {"error": str(e)})
            return
        with torch.no_grad():
            probs = torch.softmax(NET(torch.from_numpy(grey).view(1, 1, 28, 28)), dim=1)[0]
        digit = int(torch.argmax(probs))
        self.answer(200, {"digit": digit, "confidence": float(probs[digit]),
                          "probabilities": [float(p) for p in probs]})


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8091
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print(f"torch_server: http://127.0.0.1:{port}/ (Pillow {'yes' if Image else 'no'})",
          flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
