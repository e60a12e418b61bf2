import * as tf from '../tfjs/tf.js';

/**
 * SGD with momentum and weight decay, as PyTorch's `torch.optim.SGD` computes it:
 *   g = grad + wd * w;  buf = momentum * buf + g  (buf = g at the first step);  w -= lr * buf
 * The learning rate is an argument of each step (schedules change it), and the momentum
 * buffers can be read and written, so a checkpoint resumes exactly.
 */
export class Sgd {
  private buffers = new Map<string, tf.Variable>();

  constructor(
    readonly momentum: number,
    readonly weightDecay: number,
  ) {}

  step(variables: tf.Variable[], grads: tf.NamedTensorMap, lr: number): void {
    tf.tidy(() => {
      for (const v of variables) {
        const grad = grads[v.name];
        if (!grad) continue;
        const g = this.weightDecay > 0 ? tf.add(grad, tf.mul(v, this.weightDecay)) : grad;
        let update = g;
        if (this.momentum > 0) {
          const buf = this.buffers.get(v.name);
          if (!buf) {
            this.buffers.set(v.name, tf.variable(g, false, `${v.name}/momentum`));
          } else {
            buf.assign(tf.add(tf.mul(buf, this.momentum), g));
            update = buf;
          }
        }
        v.assign(tf.sub(v, tf.mul(update, lr)));
      }
    });
  }

  /** Momentum buffers in the order of `variables` (zeros where none yet). */
  state(variables: tf.Variable[]): Float32Array[] {
    return variables.map((v) => {
      const b = this.buffers.get(v.name);
      return b ? (b.dataSync() as Float32Array).slice() : new Float32Array(v.size);
    });
  }

  load(variables: tf.Variable[], state: Float32Array[]): void {
    this.dispose();
    variables.forEach((v, i) => {
      const data = state[i];
      if (data && data.length === v.size) this.buffers.set(v.name, tf.variable(tf.tensor(data, v.shape), false, `${v.name}/momentum`));
    });
  }

  dispose(): void {
    for (const b of this.buffers.values()) b.dispose();
    this.buffers.clear();
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
