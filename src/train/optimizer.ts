import * as tf from '../tfjs/tf.js';

/**
 * The optimizers `resnetc train` steps with, each as PyTorch computes it (torch 1.13's
 * single-tensor `_single_tensor_sgd` and `_single_tensor_adamw`), and the learning rate per
 * step. The learning rate is an argument of each step (schedules change it); each
 * optimizer's state can be read and written by slot, so a checkpoint resumes exactly.
 */

export type OptimizerName = 'sgd' | 'adamw';

/** What an optimizer holds per variable, by name: SGD's `momentum_buffer`, AdamW's `exp_avg` and `exp_avg_sq` (PyTorch's state names). */
export type Slot = 'momentum_buffer' | 'exp_avg' | 'exp_avg_sq';

/** An optimizer's state: one array per slot and variable (in the variables' layouts), and the steps taken. */
export interface OptimizerState {
  /** `slots[s][i]`: slot s of variables[i] (zeros where none yet). */
  slots: Float32Array[][];
  /** Steps taken (AdamW's bias correction reads it; SGD's is informative). */
  step: number;
}

export interface Optimizer {
  readonly name: OptimizerName;
  /** The slots it keeps per variable, in the order `state` gives them. */
  readonly slotNames: readonly Slot[];
  /** One step over `variables` with their gradients (keyed by variable name; a variable without one is left alone). */
  step(variables: tf.Variable[], grads: tf.NamedTensorMap, lr: number): void;
  state(variables: tf.Variable[]): OptimizerState;
  load(variables: tf.Variable[], state: OptimizerState): void;
  dispose(): void;
}

/** Per-variable buffers by slot, made on first use. */
class Buffers {
  private readonly held = new Map<string, tf.Variable>();

  get(v: tf.Variable, slot: Slot): tf.Variable | undefined {
    return this.held.get(`${v.name}/${slot}`);
  }

  set(v: tf.Variable, slot: Slot, value: tf.Tensor): void {
    const key = `${v.name}/${slot}`;
    const b = this.held.get(key);
    if (b) b.assign(value);
    else this.held.set(key, tf.variable(value, false, key));
  }

  read(variables: tf.Variable[], slots: readonly Slot[]): Float32Array[][] {
    return slots.map((slot) => variables.map((v) => (this.get(v, slot)?.dataSync() as Float32Array | undefined)?.slice() ?? new Float32Array(v.size)));
  }

  write(variables: tf.Variable[], slots: readonly Slot[], data: Float32Array[][]): void {
    this.dispose();
    slots.forEach((slot, s) =>
      variables.forEach((v, i) => {
        const values = data[s]?.[i];
        if (values && values.length === v.size) this.set(v, slot, tf.tensor(values, v.shape));
      }),
    );
  }

  dispose(): void {
    for (const b of this.held.values()) b.dispose();
    this.held.clear();
  }
}

/** What every optimizer keeps alike: its buffers by slot and its count of steps, read and written whole for a checkpoint. */
abstract class SlottedOptimizer implements Optimizer {
  abstract readonly name: OptimizerName;
  abstract readonly slotNames: readonly Slot[];
  protected readonly buffers = new Buffers();
  protected steps = 0;

  abstract step(variables: tf.Variable[], grads: tf.NamedTensorMap, lr: number): void;

  state(variables: tf.Variable[]): OptimizerState {
    return { slots: this.buffers.read(variables, this.slotNames), step: this.steps };
  }

  load(variables: tf.Variable[], state: OptimizerState): void {
    this.buffers.write(variables, this.slotNames, state.slots);
    this.steps = state.step;
  }

  dispose(): void {
    this.buffers.dispose();
  }
}

/**
 * SGD as `torch.optim.SGD(momentum, weight_decay, nesterov)` with dampening 0:
 *   g = grad + wd·w;  buf = momentum·buf + g (buf = g at the first step);
 *   d = nesterov ? g + momentum·buf : buf;  w −= lr·d
 */
export class Sgd extends SlottedOptimizer {
  readonly name = 'sgd';
  /** Zeros without momentum (PyTorch keeps none), as checkpoints have always held them. */
  readonly slotNames: readonly Slot[] = ['momentum_buffer'];

  constructor(
    readonly momentum: number,
    readonly weightDecay: number,
    readonly nesterov = false,
  ) {
    super();
  }

  step(variables: tf.Variable[], grads: tf.NamedTensorMap, lr: number): void {
    tf.tidy(() => {
      for (const v of variables) {
        const grad = grads[v.name];
        if (!grad) continue;
        const g = this.weightDecay > 0 ? tf.add(grad, tf.mul(v, this.weightDecay)) : grad;
        let update = g;
        if (this.momentum > 0) {
          const buf = this.buffers.get(v, 'momentum_buffer');
          this.buffers.set(v, 'momentum_buffer', buf ? tf.add(tf.mul(buf, this.momentum), g) : g);
          const next = this.buffers.get(v, 'momentum_buffer')!;
          update = this.nesterov ? tf.add(g, tf.mul(next, this.momentum)) : next;
        }
        v.assign(tf.sub(v, tf.mul(update, lr)));
      }
    });
    this.steps++;
  }
}

/** PyTorch's defaults for torch.optim.AdamW: betas (0.9, 0.999), eps 1e-8 (lr 1e-3 and weight decay 1e-2 are the command's defaults with it). */
export const adamwDefaults = { betas: [0.9, 0.999] as [number, number], eps: 1e-8, lr: 1e-3, weightDecay: 1e-2 } as const;

/**
 * AdamW as `torch.optim.AdamW(lr, betas, eps, weight_decay)` (amsgrad off), with the weight
 * decay decoupled from the gradient (Loshchilov and Hutter), step t counted from 1:
 *   w −= lr·wd·w;  m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²;
 *   w −= lr/(1−β1^t) · m / (sqrt(v)/sqrt(1−β2^t) + eps)
 * (PyTorch keeps t per tensor; every trainable tensor is stepped at every step here, so one count serves all.)
 */
export class AdamW extends SlottedOptimizer {
  readonly name = 'adamw';
  readonly slotNames: readonly Slot[] = ['exp_avg', 'exp_avg_sq'];

  constructor(
    readonly weightDecay: number,
    readonly betas: readonly [number, number] = adamwDefaults.betas,
    readonly eps: number = adamwDefaults.eps,
  ) {
    super();
  }

  step(variables: tf.Variable[], grads: tf.NamedTensorMap, lr: number): void {
    const t = ++this.steps;
    const [b1, b2] = this.betas;
    const stepSize = lr / (1 - b1 ** t);
    const correction2 = Math.sqrt(1 - b2 ** t);
    tf.tidy(() => {
      for (const v of variables) {
        const g = grads[v.name];
        if (!g) continue;
        const decayed = this.weightDecay > 0 ? tf.mul(v, 1 - lr * this.weightDecay) : v;
        const m0 = this.buffers.get(v, 'exp_avg');
        const s0 = this.buffers.get(v, 'exp_avg_sq');
        const m = m0 ? tf.add(tf.mul(m0, b1), tf.mul(g, 1 - b1)) : tf.mul(g, 1 - b1);
        const s = s0 ? tf.add(tf.mul(s0, b2), tf.mul(tf.square(g), 1 - b2)) : tf.mul(tf.square(g), 1 - b2);
        this.buffers.set(v, 'exp_avg', m);
        this.buffers.set(v, 'exp_avg_sq', s);
        const denom = tf.add(tf.div(tf.sqrt(s), correction2), this.eps);
        v.assign(tf.sub(decayed, tf.mul(tf.div(m, denom), stepSize)));
      }
    });
  }
}

export type Schedule = 'cosine' | 'step' | 'constant';

/** The learning rate at a fraction `progress` (0..1) of the run. cosine: to 0 along a half cosine; step: x0.1 at 50% and 75%. */
export function learningRate(base: number, schedule: Schedule, progress: number): number {
  switch (schedule) {
    case 'cosine':
      return base * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, progress)));
    case 'step':
      return base * (progress >= 0.75 ? 0.01 : progress >= 0.5 ? 0.1 : 1);
    case 'constant':
      return base;
  }
}

/**
 * The learning rate of step `k` (from 0) of `total`, after `warmup` steps of linear warmup:
 * base·k/warmup during the warmup (from 0), then the schedule over the steps left,
 * learningRate(base, schedule, (k − warmup)/(total − warmup)). This is torchvision's
 * reference recipe (`LinearLR` then the main schedule over the remaining epochs, joined by
 * `SequentialLR`) taken per step with a start factor of 0; the test holds it to those
 * schedulers of PyTorch's.
 */
export function stepLearningRate(base: number, schedule: Schedule, k: number, total: number, warmup = 0): number {
  if (k < warmup) return (base * k) / warmup;
  return learningRate(base, schedule, (k - warmup) / (total - warmup));
}
