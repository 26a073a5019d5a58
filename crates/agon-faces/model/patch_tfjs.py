"""Copies a tfjs graph model, adding the `TArgs` attribute tfjs leaves off its fused ops.

TensorFlow's graph import requires `TArgs` on _FusedConv2D, FusedDepthwiseConv2dNative and _FusedMatMul; without
it tf2onnx stops with "NodeDef missing attr 'TArgs'". The attribute lists the types of the fused extra inputs
(all float here).

Usage: python patch_tfjs.py <model.json> <out/model.json>   (the weight files are copied beside it)
"""
import json
import os
import shutil
import sys

source, target = sys.argv[1], sys.argv[2]
model = json.load(open(source))
FUSED = {"_FusedConv2D", "FusedDepthwiseConv2dNative", "_FusedMatMul"}


def patch(nodes):
    patched = 0
    for node in nodes:
        attrs = node.setdefault("attr", {})
        if node.get("op") in FUSED and "TArgs" not in attrs:
            inputs = [i for i in node.get("input", []) if not i.startswith("^")]
            extra = int(attrs.get("num_args", {}).get("i", len(inputs) - 2))
            attrs["TArgs"] = {"list": {"type": ["DT_FLOAT"] * extra}}
            patched += 1
    return patched


topology = model["modelTopology"]
count = patch(topology.get("node", []))
for function in topology.get("library", {}).get("function", []):
    count += patch(function.get("nodeDef", []))
os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
json.dump(model, open(target, "w"))
for group in model["weightsManifest"]:
    for path in group["paths"]:
        shutil.copy(os.path.join(os.path.dirname(source), path), os.path.join(os.path.dirname(target), path))
print("patched", count, "nodes")
