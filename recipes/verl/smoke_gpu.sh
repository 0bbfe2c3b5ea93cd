#!/usr/bin/env bash
# GPU smoke test of the verl recipes with tiny local models: proves real training steps, in < 10 min.
#
#   bash recipes/verl/smoke_gpu.sh            # on a machine with >= 1 GPU, verl 0.9 and vLLM installed
#   bash recipes/verl/smoke_gpu.sh --check    # CPU: compose and validate the exact runs, train nothing
#
# Runs (each one GRPO step, tiny 2-layer Qwen2 built locally, no downloads):
#   1. RLVR of a judge on `rmr1 prepare --example` pairs, reward pkg://rmr1_verl.rlvr (the recipe's key);
#   2. policy GRPO rewarded by the `rmr1_judge` manager, the judge served by a separate vLLM server
#      (the external-judge recipe);
#   3. with >= 2 GPUs: policy GRPO with the judge served by verl itself on its own GPU.
# Each run must log a finished step and the reward metrics, else the script fails.
# A random tiny judge rarely writes a verdict, so policy rewards are mostly draws (0): the point
# is the plumbing (plugin registration, group gathering, judge requests, the update), not learning.
set -euo pipefail
cd "$(dirname "$0")/../.."

CHECK=0
[[ "${1:-}" == "--check" ]] && CHECK=1
# Absolute: Ray workers do not necessarily run in this folder.
OUT=$(realpath -m "${SMOKE_OUT:-outputs/smoke_gpu}")
PORT=${SMOKE_JUDGE_PORT:-8011}
rm -rf "$OUT" && mkdir -p "$OUT"
export HF_HUB_OFFLINE=1 RMR1_DATA_DIR="$OUT/data" RMR1_MODEL_PATH="$OUT/tiny" RMR1_POLICY_MODEL="$OUT/tiny"

echo "== building the tiny model and the data"
# head_dim 64: a size every attention backend of vLLM and flash-attn supports.
python -c "from rmr1_plugin.tiny import build_tiny_model; build_tiny_model('$OUT/tiny', hidden_size=256, num_heads=4)"
rmr1 prepare --example --out "$OUT/data"

STEPS=1
source recipes/verl/smoke_overrides.sh
COMMON=("${VERL_SMOKE_COMMON[@]}")
POLICY=("${VERL_SMOKE_POLICY[@]}")

run() {  # run NAME LOG OVERRIDES... : train (or only check) one recipe, then look for a finished step
  local name=$1 log=$2; shift 2
  if (( CHECK )); then
    python -m rmr1_verl.recipes "$PWD/recipes/verl" "$name" "$@"
    return
  fi
  echo "== $name"
  python -m verl.trainer.main_ppo --config-path "$PWD/recipes/verl" --config-name "$name" "$@" 2>&1 | tee "$log"
  grep -q "training/global_step:1" "$log" || { echo "FAIL: $name finished no training step (see $log)"; exit 1; }
  grep -q "critic/score/mean" "$log" || { echo "FAIL: $name logged no reward (see $log)"; exit 1; }
  echo "OK: $name trained one step"
}

# 1. RLVR stage.
run rlvr_qwen2.5-7b-instruct "$OUT/rlvr.log" "${COMMON[@]}"

# 2. Policy with an external judge (a vLLM OpenAI-compatible server on this GPU).
JUDGE_PID=""
cleanup() { [[ -n "$JUDGE_PID" ]] && kill "$JUDGE_PID" 2>/dev/null || true; }
trap cleanup EXIT
if (( ! CHECK )); then
  echo "== starting the judge server on port $PORT"
  python -m vllm.entrypoints.openai.api_server --model "$OUT/tiny" --served-model-name tiny-judge \
    --host 127.0.0.1 --port "$PORT" --gpu-memory-utilization 0.15 --max-model-len 4096 \
    >"$OUT/judge_server.log" 2>&1 &
  JUDGE_PID=$!
  for _ in $(seq 180); do
    curl -sf "http://127.0.0.1:$PORT/v1/models" >/dev/null && break
    kill -0 "$JUDGE_PID" 2>/dev/null || { echo "FAIL: judge server died (see $OUT/judge_server.log)"; exit 1; }
    sleep 1
  done
fi
RMR1_JUDGE_URL="http://127.0.0.1:$PORT/v1" RMR1_JUDGE_MODEL=tiny-judge \
  run policy_grpo_judge_external "$OUT/policy_external.log" "${COMMON[@]}" "${POLICY[@]}"
cleanup; JUDGE_PID=""

# 3. Policy with the judge served by verl (needs a second GPU for the reward pool).
GPUS=$( (( CHECK )) && echo 2 || nvidia-smi -L | wc -l)
if (( GPUS >= 2 )); then
  RMR1_JUDGE_MODEL="$OUT/tiny" run policy_grpo_judge_served "$OUT/policy_served.log" "${COMMON[@]}" "${POLICY[@]}" \
    reward.reward_model.n_gpus_per_node=1 reward.reward_model.rollout.tensor_model_parallel_size=1 \
    reward.reward_model.rollout.gpu_memory_utilization=0.3 reward.reward_model.rollout.prompt_length=2048 \
    reward.reward_model.rollout.response_length=64 reward.reward_model.rollout.max_num_batched_tokens=4096
else
  echo "== skipping the verl-served judge: it needs 2 GPUs, found $GPUS"
fi
echo "smoke test passed"
