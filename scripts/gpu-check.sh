#!/bin/bash
# The GPU measurements of the README, in one run on a machine with an NVIDIA GPU, PyTorch and
# no Rust toolchain. Build here first (scripts/build-cuda.sh -- --tests), then pack the binaries:
#   scripts/gpu-check.sh --pack        → gpu-build/{diffuscope,gpu_agreement}.xz (stripped: ~22 MB)
# and on the GPU machine, from the repository's root:
#   scripts/gpu-check.sh [OUT]         → figures on standard output and in OUT (default /tmp/gpu-check)
set -uo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--pack" ]; then
  mkdir -p gpu-build
  test=$(ls -t target/cuda/release/deps/gpu_agreement-* | grep -v '\.d$' | head -1)
  for pair in "diffuscope:target/cuda/release/diffuscope" "gpu_agreement:$test"; do
    strip -o "gpu-build/${pair%%:*}" "${pair#*:}"
    xz -T0 -6 -f "gpu-build/${pair%%:*}"
  done
  ls -la gpu-build
  exit 0
fi
OUT=${1:-/tmp/gpu-check}
mkdir -p "$OUT" /tmp/gpu-bin
for b in diffuscope gpu_agreement; do
  python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' \
    "gpu-build/$b.xz" "/tmp/gpu-bin/$b"
  chmod +x "/tmp/gpu-bin/$b"
done
# The binaries look for the shipped models next to themselves or in ./assets: link them in.
ln -sfn "$PWD/assets" /tmp/assets
BIN=/tmp/gpu-bin
# The CUDA libraries: the build's rpath names /usr/local/cuda; else take PyTorch's copies.
if ldd $BIN/diffuscope | grep -q "not found"; then
  for lib in libcublas.so.13 libcublasLt.so.13 libcurand.so.10 libcudart.so.13; do
    found=$(find / -name "$lib" -not -path "/proc/*" 2>/dev/null | head -1)
    [ -n "$found" ] && LD_LIBRARY_PATH="$(dirname "$found")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  done
  export LD_LIBRARY_PATH
fi
ldd $BIN/diffuscope | grep -E "libcu|not found"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
echo "=== bench model, CUDA, our paths"
$BIN/diffuscope bench model --model digits-eps --json | tee "$OUT/ours.json"
echo "=== PyTorch on the same weights and GPU (with DDPM-1000 × 16 and a CUDA graph)"
python3 training/bench_reference.py --device cuda --ddpm --ours "$OUT/ours.json"
echo "=== bench model, CUDA, candle's plain operations"
$BIN/diffuscope bench model --model digits-eps --candle-ops
echo "=== bench sample, CUDA"
$BIN/diffuscope bench sample
echo "=== bench sample, CUDA, candle's plain operations"
$BIN/diffuscope bench sample --candle-ops
echo "=== GPU vs CPU: a seeded run"
DIFFUSCOPE_REQUIRE_GPU=1 $BIN/gpu_agreement --nocapture
for d in auto cpu; do
  $BIN/diffuscope sample --model digits-eps --sampler ddim --steps 50 --class 7 --guidance 3 \
    --grid 4x4 --seed 1 --device $d --png "$OUT/ddim-$d.png" --judge
done
echo "=== bench model, CPU ($(nproc) cores) for comparison"
$BIN/diffuscope bench model --model digits-eps --device cpu
echo "=== bench render (wgpu; needs the Vulkan loader)"
timeout 120 $BIN/diffuscope bench render
echo "=== done"
