#!/bin/bash
# Builds Diffuscope with the model on NVIDIA GPUs (`--features cuda`), on any Linux x86-64 machine,
# with or without a GPU, into target/cuda/release/diffuscope.
#
#   scripts/build-cuda.sh [CUDA_HOME] [-- extra cargo arguments]
#
# CUDA_HOME is a CUDA 13 toolkit (nvcc, cuBLAS, cuRAND, NVRTC). Without one, the script makes a
# minimal one from NVIDIA's PyPI wheels with ../shared/tools/cuda-toolchain.sh if that exists.
# CUDA_COMPUTE_CAP picks the GPU generation the kernels are built for (default 90 = H100/H200;
# 80 = A100, 86 = RTX 30xx, 89 = RTX 40xx / L4). A cold build takes ~10 min on 2 cores, most of it
# in candle-kernels. The binary needs the NVIDIA driver (≥ 580 for CUDA 13) where it runs, and
# finds the CUDA libraries through the rpath set below or LD_LIBRARY_PATH.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CUDA_HOME=${1:-${CUDA_HOME:-}}
[ $# -gt 0 ] && shift
[ "${1:-}" = "--" ] && shift
if [ -z "$CUDA_HOME" ]; then
  if command -v nvcc >/dev/null; then
    CUDA_HOME=$(dirname "$(dirname "$(command -v nvcc)")")
  elif [ -x "$ROOT/../shared/tools/cuda-toolchain.sh" ] || [ -f "$ROOT/../shared/tools/cuda-toolchain.sh" ]; then
    CUDA_HOME="$ROOT/target/cuda-home"
    [ -x "$CUDA_HOME/bin/nvcc" ] || bash "$ROOT/../shared/tools/cuda-toolchain.sh" "$CUDA_HOME"
  else
    echo "No CUDA toolkit found: install CUDA 13 (nvcc on PATH) or pass its folder." >&2
    exit 1
  fi
fi
export CUDA_HOME CUDA_PATH="$CUDA_HOME" PATH="$CUDA_HOME/bin:$PATH"
export CUDA_COMPUTE_CAP=${CUDA_COMPUTE_CAP:-90}
export LIBRARY_PATH="$CUDA_HOME/lib:$CUDA_HOME/lib/stubs${LIBRARY_PATH:+:$LIBRARY_PATH}"
export RUSTFLAGS="${RUSTFLAGS:-} -C link-arg=-Wl,-rpath,/usr/local/cuda/lib64:/usr/local/cuda/targets/x86_64-linux/lib:$CUDA_HOME/lib"
cd "$ROOT"
cargo build --release --features cuda --target-dir target/cuda "$@"
echo "built: target/cuda/release/diffuscope (compute capability $CUDA_COMPUTE_CAP)"
