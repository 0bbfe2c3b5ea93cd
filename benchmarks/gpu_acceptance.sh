#!/usr/bin/env bash
# GPU acceptance run: every GPU path of rmr1-plugin in one script, <= 8 minutes on one GPU, no downloads.
#
#   OUT=/some/dir bash benchmarks/gpu_acceptance.sh            # one CUDA GPU, verl 0.9 and vLLM installed
#   OUT=/some/dir bash benchmarks/gpu_acceptance.sh --dry-run  # CPU: build, prepare, check, print commands
#
# Steps (each under its own timeout; a failed step does not stop the others):
#   1. verl_rlvr          python -m verl.trainer.main_ppo, rlvr_qwen2.5-7b-instruct on 1 GPU, tiny judge,
#                         2 steps, reward pkg://rmr1_verl.rlvr
#   2. verl_policy_judge  policy GRPO, rmr1_judge reward manager, judge served by `vllm serve` on
#                         127.0.0.1 (policy_grpo_judge_external), 2 steps
#   4. judge_throughput   benchmarks/judge_throughput.py against that server: async batch vs one request
#                         at a time (target >= 4x) and vs the server's saturated throughput (>= 0.8)
#   3. vllm_offline       benchmarks/vllm_smoke.py (the offline vLLM backend), after the server stops
#   5. quickstart_cuda    rmr1 quickstart --device cuda (seconds per stage)
# Results: $OUT/gpu_acceptance.json (pass/fail, figures and exact command per step), logs in $OUT/logs.
# Models (a tiny Qwen2, and random weights of Qwen2.5-0.5B's shape for the served judge) and data are
# built in $GPU_ACCEPTANCE_WORK (default: a temporary folder, removed at the end).
# Exit status: 1 if a step that ran failed, else 0.
set -uo pipefail
cd "$(dirname "$0")/.."

DRY=0
[[ "${1:-}" == "--dry-run" ]] && DRY=1
OUT=$(realpath -m "${OUT:-outputs/gpu_acceptance}")
RESULTS="$OUT/gpu_acceptance.json"
BUDGET_S=${GPU_ACCEPTANCE_BUDGET_S:-470}   # all steps together; what is left caps each step's timeout
DEADLINE=$(( SECONDS + BUDGET_S ))
STEPS=2
HELPER=(python benchmarks/gpu_acceptance.py)
mkdir -p "$OUT/logs" && rm -f "$RESULTS"
if [[ -n "${GPU_ACCEPTANCE_WORK:-}" ]]; then WORK=$(realpath -m "$GPU_ACCEPTANCE_WORK"); mkdir -p "$WORK"
else WORK=$(mktemp -d); fi
SERVER_PID=""
cleanup() {
  [[ -n "$SERVER_PID" ]] && kill -- "-$SERVER_PID" 2>/dev/null
  [[ -z "${GPU_ACCEPTANCE_WORK:-}" ]] && rm -rf "$WORK"
}
trap cleanup EXIT

PORT=$(python -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
JUDGE_URL="http://127.0.0.1:$PORT/v1"
# Ray workers do not necessarily run in this folder: every path is absolute.
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONPATH="$PWD:$PWD/adapters${PYTHONPATH:+:$PYTHONPATH}"
RUN_ENV=(env "RMR1_DATA_DIR=$WORK/data" "RMR1_MODEL_PATH=$WORK/tiny" "RMR1_POLICY_MODEL=$WORK/tiny"
         "RMR1_JUDGE_URL=$JUDGE_URL" RMR1_JUDGE_MODEL=judge)

record() { "${HELPER[@]}" record "$RESULTS" "$@" >/dev/null; }

# step NAME KIND TIMEOUT_S FIGURES_FILE COMMAND... : run one step under its timeout and record it.
step() {
  local name=$1 kind=$2 limit=$3 figures=$4; shift 4
  local log="$OUT/logs/$name.log" left=$(( DEADLINE - SECONDS )) cmd start rc
  printf -v cmd '%q ' "$@"
  if (( DRY )); then
    echo "[dry-run] $name (timeout $limit s): $cmd"
    record "$name" --kind "$kind" --status dry-run --reason "dry run: nothing started" --command "$cmd"
    return
  fi
  if (( left < 30 )); then
    echo "== $name: skipped, the ${BUDGET_S} s budget is spent"
    record "$name" --kind "$kind" --status skipped --reason "budget of ${BUDGET_S} s spent" --command "$cmd"
    return
  fi
  (( limit > left )) && limit=$left
  echo "== $name (timeout $limit s)"
  start=$SECONDS
  timeout -k 15 "$limit" "$@" >"$log" 2>&1
  rc=$?
  record "$name" --kind "$kind" --rc "$rc" --seconds $(( SECONDS - start )) --log "$log" --figures "$figures" \
    --steps "$STEPS" --command "$cmd"
  echo "   $(python -c "import json,sys; e = json.load(open(sys.argv[1]))['steps'][sys.argv[2]]; print(e['status'])" \
    "$RESULTS" "$name") after $(( SECONDS - start )) s (log: $log)"
}

echo "== building the models and the data in $WORK"
# The dry run builds the served judge with 2 of its 24 layers (the full one: ~25 s of CPU, 1.4 GB).
BUILD=("${HELPER[@]}" build "$WORK" --results "$RESULTS")
(( DRY )) && BUILD+=(--judge-layers 2)
"${BUILD[@]}" || { echo "FAIL: building the models or the data"; exit 1; }

source recipes/verl/smoke_overrides.sh
RECIPES="$PWD/recipes/verl"
RLVR=(rlvr_qwen2.5-7b-instruct "${VERL_SMOKE_COMMON[@]}")
POLICY=(policy_grpo_judge_external "${VERL_SMOKE_COMMON[@]}" "${VERL_SMOKE_POLICY[@]}")

echo "== checking the verl runs against the installed verl (the exact overrides)"
"${RUN_ENV[@]}" "${HELPER[@]}" check "$RECIPES" --recipe "${RLVR[@]}" --recipe "${POLICY[@]}" \
  || { echo "FAIL: a verl config does not validate"; exit 1; }

verl_step() {  # verl_step NAME RECIPE OVERRIDES...
  local name=$1; shift
  step "$name" verl 200 "" "${RUN_ENV[@]}" python -m verl.trainer.main_ppo --config-path "$RECIPES" --config-name "$@"
  (( DRY )) || ray stop --force >/dev/null 2>&1 || true   # Ray's daemons outlive a timed-out run
}

# 1. RLVR of the judge.
verl_step verl_rlvr "${RLVR[@]}"

# The judge server of steps 2 and 4 (the 0.5B-shape judge: its batching is what step 4 measures).
SERVE=(vllm serve "$WORK/judge-0.5b" --served-model-name judge --host 127.0.0.1 --port "$PORT"
       --gpu-memory-utilization 0.2 --max-model-len 4096)
SERVER_UP=0
if (( DRY )); then
  printf -v cmd '%q ' "${SERVE[@]}"; echo "[dry-run] judge server: $cmd"
else
  echo "== starting the judge server on $JUDGE_URL"
  setsid "${SERVE[@]}" >"$OUT/logs/judge_server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 150); do
    curl -sf "$JUDGE_URL/models" >/dev/null && { SERVER_UP=1; break; }
    kill -0 "$SERVER_PID" 2>/dev/null || break
    (( SECONDS < DEADLINE )) || break
    sleep 1
  done
  (( SERVER_UP )) || echo "   the judge server did not come up (see $OUT/logs/judge_server.log)"
fi

# 2. Policy GRPO rewarded by the served judge; 4. judge throughput against the same server.
THROUGHPUT=(python benchmarks/judge_throughput.py --base-url "$JUDGE_URL" --served-model judge --pairs 64
            --max-new-tokens 64 --concurrency 128 --json "$OUT/logs/judge_throughput.json")
if (( DRY || SERVER_UP )); then
  verl_step verl_policy_judge "${POLICY[@]}"
  step judge_throughput throughput 120 "$OUT/logs/judge_throughput.json" "${THROUGHPUT[@]}"
else
  for name in verl_policy_judge judge_throughput; do
    record "$name" --kind verl --status skipped --reason "the vLLM judge server did not start (logs/judge_server.log)"
  done
fi
if [[ -n "$SERVER_PID" ]]; then kill -- "-$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; SERVER_PID=""; fi

# 3. The offline vLLM backend.
step vllm_offline vllm_smoke 150 "$OUT/logs/vllm_smoke.json" \
  python benchmarks/vllm_smoke.py --model "$WORK/tiny" --json "$OUT/logs/vllm_smoke.json"

# 5. The quickstart on the GPU (default preset; its results.json has seconds per stage).
step quickstart_cuda quickstart 240 "$OUT/quickstart/results.json" \
  rmr1 quickstart --device cuda --no-progress --out "$OUT/quickstart"

"${HELPER[@]}" summary "$RESULTS"
