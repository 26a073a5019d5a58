"""The face descriptor as ONNX, from the weights @vladmandic/face-api ships (model/face_recognition_model*).

dlib's ResNet-34 face descriptor (public-domain weights), as face-api runs it: 150x150 RGB in 0..255 (NHWC),
128 floats out. The weights stay as the package quantised them (uint8 with a scale and a minimum per tensor);
each becomes float in the graph (Cast, Mul, Add), which the runtime folds once at load, so the file is a quarter
of a float copy and computes exactly what face-api computes.

Usage: python build_resnet.py <face-api's model folder> <out.onnx>   (needs numpy and onnx only)
"""
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

folder, out = sys.argv[1], sys.argv[2]
manifest = json.load(open(os.path.join(folder, "face_recognition_model-weights_manifest.json")))

# name -> (uint8 array, scale, minimum) or a float32 array
weights = {}
for group in manifest:
    data = b"".join(open(os.path.join(folder, p), "rb").read() for p in group["paths"])
    at = 0
    for w in group["weights"]:
        count = int(np.prod(w["shape"]))
        q = w.get("quantization")
        if q:
            assert q["dtype"] == "uint8"
            raw = np.frombuffer(data, np.uint8, count, at).reshape(w["shape"])
            weights[w["name"]] = (raw, np.float32(q["scale"]), np.float32(q["min"]))
            at += count
        else:
            weights[w["name"]] = np.frombuffer(data, np.float32, count, at).reshape(w["shape"]).copy()
            at += 4 * count
    assert at == len(data), (at, len(data))

nodes, initializers = [], []
counter = [0]


def fresh(prefix):
    counter[0] += 1
    return f"{prefix}_{counter[0]}"


def shape(name):
    w = weights[name]
    return w.shape if isinstance(w, np.ndarray) else w[0].shape


def constant(name, array):
    initializers.append(numpy_helper.from_array(np.asarray(array), name))
    return name


def weight(name, arrange=lambda a: a):
    """A weight as a float tensor: dequantised in the graph, after `arrange` (a transpose or reshape)."""
    w = weights[name]
    if isinstance(w, np.ndarray):
        return constant(name, arrange(w))
    raw, scale, minimum = w
    q = constant(name + "/q", np.ascontiguousarray(arrange(raw)))
    f, scaled, shifted = fresh("cast"), fresh("scale"), fresh("shift")
    nodes.append(helper.make_node("Cast", [q], [f], to=TensorProto.FLOAT))
    nodes.append(helper.make_node("Mul", [f, constant(name + "/s", scale)], [scaled]))
    nodes.append(helper.make_node("Add", [scaled, constant(name + "/m", minimum)], [shifted]))
    return shifted


def conv(x, prefix, stride, relu, same):
    filters = weight(prefix + "/conv/filters", lambda a: a.transpose(3, 2, 0, 1))  # HWIO -> OIHW
    k = shape(prefix + "/conv/filters")[0]
    pads = [k // 2] * 4 if same else [0] * 4
    y = fresh("conv")
    nodes.append(helper.make_node("Conv", [x, filters, weight(prefix + "/conv/bias")], [y],
                                  strides=[stride, stride], pads=pads))
    per_channel = lambda a: a.reshape(1, -1, 1, 1)
    m, a = fresh("mul"), fresh("add")
    nodes.append(helper.make_node("Mul", [y, weight(prefix + "/scale/weights", per_channel)], [m]))
    nodes.append(helper.make_node("Add", [m, weight(prefix + "/scale/biases", per_channel)], [a]))
    if not relu:
        return a
    r = fresh("relu")
    nodes.append(helper.make_node("Relu", [a], [r]))
    return r


def add_relu(a, b):
    s, r = fresh("sum"), fresh("relu")
    nodes.append(helper.make_node("Add", [a, b], [s]))
    nodes.append(helper.make_node("Relu", [s], [r]))
    return r


def residual(x, prefix):
    y = conv(conv(x, prefix + "/conv1", 1, True, True), prefix + "/conv2", 1, False, True)
    return add_relu(y, x)


def residual_down(x, prefix, channels, side):
    y = conv(conv(x, prefix + "/conv1", 2, True, False), prefix + "/conv2", 1, False, True)
    out_channels = shape(prefix + "/conv1/conv/filters")[3]
    conv_side, pool_side = (side - 3) // 2 + 1, side // 2
    pooled = fresh("pool")
    nodes.append(helper.make_node("AveragePool", [x], [pooled], kernel_shape=[2, 2], strides=[2, 2]))
    if conv_side != pool_side:  # face-api pads the convolution's output with a zero row and column
        padded = fresh("pad")
        pads = constant(fresh("pads"), np.array([0, 0, 0, 0, 0, 0, 1, 1], np.int64))
        nodes.append(helper.make_node("Pad", [y, pads], [padded]))
        y = padded
    if out_channels != channels:  # and the shortcut with zero channels
        padded = fresh("pad")
        pads = constant(fresh("pads"), np.array([0, 0, 0, 0, 0, out_channels - channels, 0, 0], np.int64))
        nodes.append(helper.make_node("Pad", [pooled, pads], [padded]))
        pooled = padded
    return add_relu(pooled, y), out_channels, pool_side


mean = constant("mean_rgb", np.array([122.782, 117.001, 104.298], np.float32))
nodes.append(helper.make_node("Sub", ["input", mean], ["centred"]))
nodes.append(helper.make_node("Div", ["centred", constant("c255", np.float32(255))], ["scaled"]))
nodes.append(helper.make_node("Transpose", ["scaled"], ["nchw"], perm=[0, 3, 1, 2]))
x = conv("nchw", "conv32_down", 2, True, False)  # 150 -> 72
nodes.append(helper.make_node("MaxPool", [x], ["pool0"], kernel_shape=[3, 3], strides=[2, 2]))  # -> 35
x, channels, side = "pool0", 32, 35
for p in ["conv32_1", "conv32_2", "conv32_3"]:
    x = residual(x, p)
x, channels, side = residual_down(x, "conv64_down", channels, side)
for p in ["conv64_1", "conv64_2", "conv64_3"]:
    x = residual(x, p)
x, channels, side = residual_down(x, "conv128_down", channels, side)
for p in ["conv128_1", "conv128_2"]:
    x = residual(x, p)
x, channels, side = residual_down(x, "conv256_down", channels, side)
for p in ["conv256_1", "conv256_2"]:
    x = residual(x, p)
x, channels, side = residual_down(x, "conv256_down_out", channels, side)
nodes.append(helper.make_node("ReduceMean", [x], ["gap"], axes=[2, 3], keepdims=0))
nodes.append(helper.make_node("MatMul", ["gap", weight("fc")], ["descriptor"]))

graph = helper.make_graph(nodes, "face_descriptor",
                          [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 150, 150, 3])],
                          [helper.make_tensor_value_info("descriptor", TensorProto.FLOAT, [1, 128])],
                          initializers)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                          producer_name="agon build_resnet.py", ir_version=8)
onnx.checker.check_model(model)
onnx.save(model, out)
print("saved", out)
