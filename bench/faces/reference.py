"""The same photo → 128 numbers pipeline as agon-faces, run by the models' reference runtime (onnxruntime, numpy,
Pillow): the same two ONNX files, the same resizing, anchors, box decoding, suppression and face alignment.

    python reference.py DETECTOR DESCRIPTOR PHOTO ROUNDS

Prints the milliseconds per photo (mean over ROUNDS after one warm-up, one thread) and the vector as JSON."""
import io
import json
import sys
import time

import numpy as np
import onnxruntime as ort
from PIL import Image, ImageOps

INPUT, CHIP, WORKING_SIDE, MIN_SCORE, SAME_FACE_IOU = 256, 150, 1024, 0.5, 0.3


def session(path):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def anchors():
    out = []
    for stride, per_cell in ((16, 2), (32, 6)):
        cells = -(-INPUT // stride)
        for y in range(cells):
            for x in range(cells):
                out += [(stride * x + stride / 2, stride * y + stride / 2)] * per_cell
    return np.array(out, dtype=np.float32)


ANCHORS = anchors()


def decode(photo):
    image = ImageOps.exif_transpose(Image.open(io.BytesIO(photo))).convert("RGB")
    if max(image.size) > WORKING_SIDE:
        image.thumbnail((WORKING_SIDE, WORKING_SIDE), Image.BILINEAR)
    return np.asarray(image)


def iou(a, b):
    w = max(min(a[2], b[2]) - max(a[0], b[0]), 0)
    h = max(min(a[3], b[3]) - max(a[1], b[1]), 0)
    area = lambda r: max(r[2] - r[0], 0) * max(r[3] - r[1], 0)
    union = area(a) + area(b) - w * h
    return 0 if union <= 0 else w * h / union


def detect(detector, image):
    height, width = image.shape[:2]
    side = max(width, height)
    scale, pad = side / INPUT, ((side - width) / 2, (side - height) / 2)
    fit_w = min(max(round(width / scale), 1), INPUT)
    fit_h = min(max(round(height / scale), 1), INPUT)
    fitted = np.asarray(Image.fromarray(image).resize((fit_w, fit_h), Image.BILINEAR), dtype=np.float32)
    frame = np.zeros((INPUT, INPUT, 3), dtype=np.float32)
    left, top = (INPUT - fit_w) // 2, (INPUT - fit_h) // 2
    frame[top:top + fit_h, left:left + fit_w] = fitted
    outputs = detector.run(None, {detector.get_inputs()[0].name: (frame / 127.5 - 1.0)[None]})
    by_size = lambda last: [o for o in sorted(outputs, key=lambda o: -o.shape[1]) if o.shape[2] == last]
    logits = np.concatenate([o[0, :, 0] for o in by_size(1)])
    regressions = np.concatenate([o[0] for o in by_size(16)])
    point = lambda x, y: (x * scale - pad[0], y * scale - pad[1])
    kept = []
    for i in np.argsort(-logits, kind="stable"):
        if 1 / (1 + np.exp(-logits[i])) < MIN_SCORE:
            break
        r, (ax, ay) = regressions[i], ANCHORS[i]
        cx, cy = ax + r[0], ay + r[1]
        box = point(cx - r[2] / 2, cy - r[3] / 2) + point(cx + r[2] / 2, cy + r[3] / 2)
        keypoints = [point(ax + r[4 + 2 * j], ay + r[5 + 2 * j]) for j in range(6)]
        if all(iou(k[0], box) <= SAME_FACE_IOU for k in kept):
            kept.append((box, keypoints))
    return kept


def chip(image, keypoints):
    (rx, ry), (lx, ly), _, (mx, my) = keypoints[:4]
    side = (np.hypot(mx - rx, my - ry) + np.hypot(mx - lx, my - ly)) / 2 / 0.45
    cx, cy = (rx + lx + mx) / 3, (ry + ly + my) / 3 + 0.07 * side
    angle = np.arctan2(ly - ry, lx - rx)
    step = side / CHIP
    grid = (np.arange(CHIP, dtype=np.float32) + 0.5 - CHIP / 2) * step
    du, dv = np.meshgrid(grid, grid)
    h, w = image.shape[:2]
    x = np.clip(cx + np.cos(angle) * du - np.sin(angle) * dv - 0.5, 0, w - 1)
    y = np.clip(cy + np.sin(angle) * du + np.cos(angle) * dv - 0.5, 0, h - 1)
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    fx, fy = (x - x0)[..., None], (y - y0)[..., None]
    p = image.astype(np.float32)
    out = (p[y0, x0] * (1 - fx) * (1 - fy) + p[y0, x1] * fx * (1 - fy)
           + p[y1, x0] * (1 - fx) * fy + p[y1, x1] * fx * fy)
    return out[None].astype(np.float32)


def describe(detector, descriptor, photo):
    image = decode(photo)
    faces = detect(detector, image)
    if len(faces) != 1:
        raise SystemExit(f"{len(faces)} faces")
    return descriptor.run(None, {descriptor.get_inputs()[0].name: chip(image, faces[0][1])})[0].reshape(-1)


def main():
    detector, descriptor = session(sys.argv[1]), session(sys.argv[2])
    photo = open(sys.argv[3], "rb").read()
    rounds = int(sys.argv[4])
    vector = describe(detector, descriptor, photo)
    start = time.perf_counter()
    for _ in range(rounds):
        describe(detector, descriptor, photo)
    ms = (time.perf_counter() - start) / rounds * 1000
    print(f"{ms:.1f}")
    print(json.dumps([round(float(v), 6) for v in vector]))


main()
