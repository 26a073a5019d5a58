#!/usr/bin/env bash
# get_vector: a photo in, the one face's 128 numbers out — decoding, detection (BlazeFace), alignment and the
# descriptor (dlib's ResNet-34), run by tract inside `agon up`; beside it, the same two ONNX files and the same
# steps run by the models' reference Python runtime (onnxruntime, numpy, Pillow from PyPI) on the same machine.
#
#   bench/faces.sh                          # DURATION=10 seconds per cell by default
#   BENCH_BIN=/path/to/agon bench/faces.sh  # another build, instead of building this one
#
# Two photos: the test set's obama.jpg (512×640) and the same scaled up to 3000×3750 (a phone photo's size; both
# sides scale it down to 1024 before detecting). Agon: one request at a time (latency, median of 30), then wrk
# -t2 -c16 on POST /faces/vector (req/s, and agon's CPU per photo — the figure per core). Python: one thread, mean
# of 30 after a warm-up. The two vectors of each photo are compared: the same pipeline gives the same numbers up
# to float rounding. Writes bench/results/faces.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
need_packages wrk
source bench/lib.sh
models=crates/agon-faces/model
small=crates/agon-faces/tests/photos/obama.jpg

python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q onnxruntime==1.19.2 numpy==1.26.4 pillow==11.0.0
py="$work/venv/bin/python"
"$py" -c "
from PIL import Image
Image.open('$small').resize((3000, 3750), Image.BICUBIC).save('$work/large.jpg', quality=90)"

start_agon
curl -sf -o /dev/null -H 'content-type: application/json' \
  -d '{"email":"bench@club.org","password":"bench password 1"}' "$base/auth/register"
token=$(token_of bench@club.org 'bench password 1')
rss_before=$(rss_kb "$agon_pid")

vector_of() { # PHOTO: agon's answer
  curl -sf -H "authorization: Bearer $token" -H 'content-type: image/jpeg' --data-binary "@$1" "$base/faces/vector"
}
latency() { # PHOTO: median milliseconds of 30 requests, one at a time
  for _ in $(seq 30); do
    curl -sf -o /dev/null -w '%{time_total}\n' -H "authorization: Bearer $token" -H 'content-type: image/jpeg' \
      --data-binary "@$1" "$base/faces/vector"
  done | sort -n | awk '{a[NR] = $1} END {printf "%.1f", a[int((NR + 1) / 2)] * 1000}'
}
lua() { # PHOTO
  cat <<LUA
local f = assert(io.open("$1", "rb"))
wrk.body = f:read("*a")
f:close()
wrk.method = "POST"
wrk.path = "/faces/vector"
wrk.headers["authorization"] = "Bearer $token"
wrk.headers["content-type"] = "image/jpeg"
LUA
}
# compare PHOTO LABEL: one line — Python's ms per photo, and the distance between its vector and agon's.
compare() {
  local out agon
  out=$("$py" bench/faces/reference.py "$models/blazeface.onnx" "$models/face_descriptor.onnx" "$1" 30)
  agon=$(vector_of "$1")
  python3 - "$2" "$(echo "$out" | sed -n 1p)" "$(echo "$out" | sed -n 2p)" "$agon" <<'PY'
import json, math, sys
label, ms, python, agon = sys.argv[1], float(sys.argv[2]), json.loads(sys.argv[3]), json.loads(sys.argv[4])["vector"]
distance = math.sqrt(sum((a - b) ** 2 for a, b in zip(python, agon)))
print(f"| {label} | {ms:.1f} | {1000 / ms:.1f} | {distance:.4f} |")
PY
}

lua "$small" >"$work/small.lua"
lua "$work/large.jpg" >"$work/large.lua"
mkdir -p bench/results
{
  bench_header
  echo
  small_ms=$(latency "$small")
  echo "RSS of agon up before the first photo: ${rss_before} kB; after the models loaded: $(rss_kb "$agon_pid") kB."
  echo
  echo "Agon, one request at a time (median of 30): 512×640 ${small_ms} ms, 3000×3750 $(latency "$work/large.jpg") ms."
  echo
  echo "| cell | request | req/s | p50 | p99 | CPU µs/req | errors |"
  echo "|---|---|---|---|---|---|---|"
  wrk_row "512×640" "POST /faces/vector" "" "" "$work/small.lua"
  wrk_row "3000×3750" "POST /faces/vector" "" "" "$work/large.lua"
  echo
  echo "Python reference (onnxruntime 1.19.2, one thread, mean of 30):"
  echo
  echo "| photo | ms/photo | photos/s per core | distance to agon's vector |"
  echo "|---|---|---|---|"
  compare "$small" "512×640"
  compare "$work/large.jpg" "3000×3750"
} | tee bench/results/faces.md
