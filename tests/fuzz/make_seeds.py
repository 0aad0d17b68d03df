"""Writes the seed corpora of the fuzz harnesses into tests/fuzz/corpus/<harness>/.

Run with the Python that has numpy and PIL (/usr/bin/python3 on Debian); the seeds are committed,
so this only needs to run again when a harness's format grows. Seeds are small valid inputs (and a
few near misses) from which libFuzzer mutates; inputs that once crashed a harness are added to the
same folders by hand, under a name saying what they found.
"""
import base64
import io
import json
import os
import struct
import sys

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(ROOT))


def write(harness, name, data):
    folder = os.path.join(ROOT, "corpus", harness)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def npy_bytes(array, version=None):
    buffer = io.BytesIO()
    if version is None:
        np.save(buffer, array)
    else:
        np.lib.format.write_array(buffer, array, version=version)
    return buffer.getvalue()


def npy_seeds():
    write("npy", "f4_2x3.npy", npy_bytes(np.arange(6, dtype="<f4").reshape(2, 3) / 7))
    write("npy", "f8_vector.npy", npy_bytes(np.array([1.5, -2.25, 1e300, -0.0])))
    write("npy", "f2_nan_inf.npy", npy_bytes(np.array([np.nan, np.inf, -np.inf, 65504, 6e-8], dtype="<f2")))
    write("npy", "i8_big.npy", npy_bytes(np.array([2**53, -(2**53), 7], dtype="<i8")))
    write("npy", "u1_image.npy", npy_bytes(np.arange(2 * 4 * 4, dtype="u1").reshape(2, 4, 4)))
    write("npy", "b1.npy", npy_bytes(np.array([True, False, True])))
    write("npy", "i2_u4.npy", npy_bytes(np.array([[-3, 4]], dtype="<i2")))
    write("npy", "scalar.npy", npy_bytes(np.array(3.0, dtype="<f4")))
    write("npy", "empty_0x3.npy", npy_bytes(np.zeros((0, 3), dtype="<f4")))
    write("npy", "version2.npy", npy_bytes(np.ones((2, 2), dtype="<f8"), version=(2, 0)))
    write("npy", "fortran.npy", npy_bytes(np.asfortranarray(np.ones((2, 3), dtype="<f4"))))
    write("npy", "big_endian.npy", npy_bytes(np.ones(3, dtype=">f4")))
    write("npy", "truncated.npy", npy_bytes(np.ones((4, 4), dtype="<f4"))[:-5])


def json_seeds():
    write("json_array", "nested.json", "[[1.0, 2.0, -1.0], [0.5, 0.5, 0.5]]")
    write("json_array", "integers.json", "[[1, 2], [3, 4]]")
    write("json_array", "object.json", '{"shape": [2, 2], "data": [1, 2.5, 3e-3, -4]}')
    write("json_array", "deep.json", "[[[[[[1]]]]]]")
    write("json_array", "ragged.json", "[[1, 2], [3]]")
    write("json_array", "nan.json", "[1, NaN, 2]")
    write("json_array", "overflow.json", "[1e999]")
    write("json_array", "big_integer.json", "[9007199254740993]")
    write("json_array", "strings.json", '[["1", null, true]]')
    write("json_array", "unicode.json", '{"shape": [1], "data": [1], "\\u00e9": 2}')


def image_seeds():
    digits = os.path.join(REPO, "models", "mnist-cnn", "samples")
    first = sorted(name for name in os.listdir(digits) if name.endswith(".png"))[0]
    digit = Image.open(os.path.join(digits, first)).convert("L").resize((8, 8))
    rgb = Image.merge("RGB", [digit, digit.transpose(Image.FLIP_LEFT_RIGHT), digit.transpose(Image.FLIP_TOP_BOTTOM)])

    def encoded(image, format, **options):
        buffer = io.BytesIO()
        image.save(buffer, format=format, **options)
        return buffer.getvalue()

    write("image", "grey.png", encoded(digit, "PNG"))
    write("image", "rgb.png", encoded(rgb, "PNG"))
    write("image", "rgba.png", encoded(rgb.convert("RGBA"), "PNG"))
    write("image", "palette.png", encoded(rgb.convert("P"), "PNG"))
    write("image", "grey16.png", encoded(digit.convert("I"), "PNG"))
    write("image", "optimized.png", encoded(rgb, "PNG", optimize=True))
    write("image", "baseline.jpg", encoded(rgb, "JPEG", quality=80))
    write("image", "progressive.jpg", encoded(rgb, "JPEG", quality=60, progressive=True))
    write("image", "grey.jpg", encoded(digit, "JPEG"))
    write("image", "rgb.bmp", encoded(rgb, "BMP"))
    write("image", "grey.bmp", encoded(digit, "BMP"))
    pixels = np.asarray(digit)
    write("image", "binary.pgm", b"P5\n# a comment\n8 8\n255\n" + pixels.tobytes())
    write("image", "ascii.pgm", "P2\n8 8\n255\n" + " ".join(str(v) for v in pixels.flatten()) + "\n")
    write("image", "sixteen_bit.pgm", b"P5 8 8 1000\n" + (pixels.astype(">u2") * 3).tobytes())
    write("image", "binary.ppm", b"P6\n8 8\n255\n" + np.asarray(rgb).tobytes())
    write("image", "ascii.ppm", "P3 2 1 15\n15 0 0  0 15 0\n")
    write("image", "huge_header.pgm", "P5 1000000 1000000 255\n")


def wordpiece_seeds():
    # The first byte: bit 0 lower-cases, the rest sets the length limit (2 + byte >> 1).
    texts = [
        "Congratulations! You have WON a free cruise. Click here to claim your prize",
        "Héllo wörld, naïve café — ½ price!!!",
        "中文字符 and 日本語のテキスト, 한국어",
        "ΑΒΓ δέλτα Ωμέγα ς; Ёлка й",
        "[CLS] [SEP] [MASK] ##ing un##affable",
        "tab\tnew\nline\r\nnull\x00zero-width\u200bjoiner\u200d",
        "a" * 150 + " supercalifragilisticexpialidocious",
        "$+<=>^`|~ #@!? (brackets) {braces} 'quotes' \"double\"",
        "emoji 😀👍🏽 and symbols € © °",
    ]
    for k, text in enumerate(texts):
        write("wordpiece", f"text{k}.txt", bytes([0xFF if k % 2 == 0 else 0x40]) + text.encode("utf-8"))
    write("wordpiece", "invalid_utf8.txt", b"\x01bad \xff byte \xc0\xaf overlong \xed\xa0\x80 surrogate")


def bundle_seeds():
    for name in ("spam-transformer", "mnist-cnn"):
        with open(os.path.join(REPO, "models", name, "igx.json"), "rb") as f:
            write("bundle_config", f"{name}.json", f.read())
    write("bundle_config", "minimal.json", '{"task": "tabular"}')
    write("bundle_config", "bad_task.json", '{"task": "audio", "labels": ["a"]}')
    write("bundle_config", "bad_types.json", '{"task": "text", "name": 5, "labels": [1, 2], "methods": []}')
    write("bundle_config", "methods.json", '{"task": "image", "methods": {"forward": "run", "embed": 3}}')
    write("bundle_config", "not_object.json", '["task", "text"]')


def sweep_seeds():
    fixed = (
        "instance,row,id,label,prediction,tokens,rule,n,gradient_evaluations,forward_rows,output_input,"
        "output_baseline,attribution_sum,delta,relative_error,seconds\n"
        "0,0,a,1,1,12,riemann_right,16,16,2,3.5,0.5,2.9,-0.1,0.0333,0.01\n"
        "0,0,a,1,1,12,riemann_right,64,64,2,3.5,0.5,2.99,-0.01,0.00333,0.02\n"
        '1,7,"b, with comma",0,0,9,gausslegendre,16,16,2,-1,1,-2,0,0,0.01\n'
        "1,7,\"b, with comma\",0,0,9,gausslegendre,64,64,2,-1,1,-2,0,,0.02\n"
    )
    strategies = (
        "instance,row,id,label,prediction,tokens,strategy,rule,tolerance,max_steps,gradient_evaluations,"
        "forward_rows,certified,relative_error,error_bound,delta,seconds\n"
        "0,0,a,1,1,12,doubling,riemann_right,0.01,4096,64,2,true,0.00333,0.00333,-0.01,0.03\n"
        "0,0,a,1,1,12,adaptive,simpson,0.05,4096,9,6,true,0.001,0.002,0.003,0.01\n"
        "1,7,\"b, with comma\",0,0,9,adaptive,simpson,0.05,4096,17,10,false,,0.2,0.1,0.01\n"
    )
    summary = json.dumps({"model": "mnist-cnn", "data": "default test split", "pick": "spread", "baseline": "black",
                          "device": "cpu", "initial_steps": 16, "initial_intervals": 4, "batch_size": 256,
                          "threads": 2, "tolerances": [0.05, 0.01], "seconds": 1.5})
    write("sweep_csv", "study.bin", fixed + "\0" + strategies + "\0" + summary)
    write("sweep_csv", "no_summary.bin", fixed + "\0" + strategies)
    header_only = fixed.split("\n")[0] + "\n"
    write("sweep_csv", "header_only.bin", header_only + "\0" + strategies + "\0" + summary)
    write("sweep_csv", "bad_numbers.bin", fixed.replace("3.5", "x") + "\0" + strategies.replace("0.05", "inf"))
    write("sweep_csv", "instance_gap.bin", fixed.replace("\n1,7", "\n9,7") + "\0" + strategies)
    write("sweep_csv", "unclosed_quote.bin", fixed + '2,3,"open,0,0\n' + "\0" + strategies)


def serve_request_seeds():
    # The first byte picks the model (0 text, 1 a 28x28 greyscale image, 2 a 4x4 colour image,
    # 3 a tensor model: fuzz_serve_request.cpp); the rest is the body.
    def body(model, document):
        return bytes([model]) + (document if isinstance(document, str) else json.dumps(document)).encode("utf-8")

    grey = (np.arange(28 * 28).reshape(28, 28) % 256).astype(np.uint8)
    png = io.BytesIO()
    Image.fromarray(grey, "L").save(png, format="PNG")
    b64 = base64.b64encode(png.getvalue()).decode("ascii")
    seeds = {
        "texts.bin": body(0, {"instances": ["win a free cruise", {"text": "see you tomorrow", "id": "b"}],
                              "parameters": {"tolerance": 0.01, "method": "gausslegendre", "target": "1"}}),
        "text_options.bin": body(0, {"instances": ["hello"], "parameters": {"method": "dig-greedy", "anchors": 8,
                                                                           "baseline": "mask", "max_steps": 64}}),
        "empty_text.bin": body(0, {"instances": ["  "]}),
        "png.bin": body(1, {"instances": [{"b64": b64, "id": "digit"}], "parameters": {"steps": 16}}),
        "pixels.bin": body(1, {"instances": [[[0.5] * 28] * 28]}),
        "colour_pixels.bin": body(2, {"instances": [[[[0.1, 0.2, 0.3, 0.4]] * 4] * 3]}),
        "bad_b64.bin": body(2, {"instances": [{"b64": "iVBORw0KGgo="}]}),
        "tensors.bin": body(3, {"instances": [[1.0, 2.0, 3.0], {"data": [0.5, -1, 2e3], "id": "x"}],
                                "parameters": {"baseline": "zero", "strategy": "doubling"}}),
        "ragged.bin": body(3, {"instances": [[[1, 2], [3]]]}),
        "unknown_field.bin": body(3, {"instances": [[1]], "extra": True}),
        "deep.bin": body(3, "{\"instances\": [" + "[" * 40 + "1" + "]" * 40 + "]}"),
        "not_json.bin": body(0, "{\"instances\": [\"unterminated"),
        "long_values.bin": body(3, {"instances": [[1]], "parameters": {"method": "x" * 3000, "target": "1," * 1500}}),
    }
    for name, data in seeds.items():
        write("serve_request", name, data)

if __name__ == "__main__":
    wanted = set(sys.argv[1:])
    for harness, make in (("npy", npy_seeds), ("json_array", json_seeds), ("image", image_seeds),
                          ("wordpiece", wordpiece_seeds), ("bundle_config", bundle_seeds), ("sweep_csv", sweep_seeds),
                          ("serve_request", serve_request_seeds)):
        if not wanted or harness in wanted:
            make()
