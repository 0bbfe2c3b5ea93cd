# Sourced by recipes/verl/smoke_gpu.sh and benchmarks/gpu_acceptance.sh: the overrides that shrink
# the verl recipes to one GPU and a tiny local model. Set STEPS (training steps) before sourcing.
# One GPU, a batch of 4 prompts x 2 rollouts, short generations, no checkpoints; two epochs so that
# the 8 example prompts give STEPS <= 4 steps.
VERL_SMOKE_COMMON=(
  trainer.n_gpus_per_node=1 trainer.nnodes=1 "trainer.total_training_steps=${STEPS:-1}" trainer.total_epochs=2
  trainer.save_freq=-1 trainer.test_freq=-1 trainer.val_before_train=false "trainer.logger=[console]"
  data.train_batch_size=4 data.max_prompt_length=2048 data.max_response_length=64 data.dataloader_num_workers=0
  actor_rollout_ref.rollout.n=2 actor_rollout_ref.rollout.val_kwargs.n=2
  actor_rollout_ref.actor.ppo_mini_batch_size=4 actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=2
  actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=2 actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu=2
  actor_rollout_ref.rollout.tensor_model_parallel_size=1 actor_rollout_ref.rollout.gpu_memory_utilization=0.25
  actor_rollout_ref.rollout.max_num_batched_tokens=4096 reward.num_workers=1
)
# The rmr1_judge reward manager of the policy recipes: instruct prompts, short judgments.
VERL_SMOKE_POLICY=(
  reward.reward_kwargs.style=instruct reward.reward_kwargs.max_new_tokens=64 reward.reward_kwargs.group_timeout_s=300
)
