/**
 * What `eval` and `predict` compute from logits: softmax probabilities, the top-k classes,
 * the cross-entropy loss, top-1 / top-5 accuracy and per-class counts. Float64 arithmetic
 * on the float32 logits; the softmax subtracts the row's maximum first.
 */

/** One class among an image's most probable. */
export interface Ranked {
  index: number;
  probability: number;
}

/**
 * The `k` most probable classes of one row of logits (at `offset`, `classes` long), most
 * probable first (ties: the lower index first, as torch.topk on CPU returns them), with
 * their softmax probabilities.
 */
export function topClasses(logits: ArrayLike<number>, offset: number, classes: number, k: number): Ranked[] {
  const best: number[] = [];
  const k1 = Math.min(k, classes);
  for (let j = 0; j < classes; j++) {
    const v = logits[offset + j]!;
    if (best.length === k1 && v <= logits[offset + best[k1 - 1]!]!) continue;
    let at = best.length < k1 ? best.length : k1 - 1;
    while (at > 0 && v > logits[offset + best[at - 1]!]!) at--;
    best.splice(at, 0, j);
    if (best.length > k1) best.pop();
  }
  const lse = logSumExp(logits, offset, classes);
  return best.map((index) => ({ index, probability: Math.exp(logits[offset + index]! - lse) }));
}

/** log Σ exp(logits) of a row, computed from its maximum (no overflow). */
function logSumExp(logits: ArrayLike<number>, offset: number, classes: number): number {
  let max = -Infinity;
  for (let j = 0; j < classes; j++) max = Math.max(max, logits[offset + j]!);
  let sum = 0;
  for (let j = 0; j < classes; j++) sum += Math.exp(logits[offset + j]! - max);
  return max + Math.log(sum);
}

/** Per class: its images, those classified right, and the images classified as it. */
export interface ClassCounts {
  index: number;
  images: number;
  correct: number;
  predicted: number;
}

export interface EvalResult {
  images: number;
  /** Fractions of the images whose label is the most probable class / among the 5 most probable (all of them when the model has 5 classes or fewer). */
  top1: number;
  top5: number;
  correct: number;
  correct5: number;
  /** Mean cross-entropy (natural log) of the labels, as training's test loss. */
  loss: number;
  classes: ClassCounts[];
}

/** Accumulates a pass of evaluation batch by batch. */
export class EvalTally {
  private images = 0;
  private correct = 0;
  private correct5 = 0;
  private lossSum = 0;
  private readonly counts: ClassCounts[];

  constructor(private readonly classes: number) {
    this.counts = Array.from({ length: classes }, (_, index) => ({ index, images: 0, correct: 0, predicted: 0 }));
  }

  /** Adds a batch: `logits` [n, classes] and the labels. */
  add(logits: ArrayLike<number>, labels: ArrayLike<number>): void {
    for (let i = 0; i < labels.length; i++) {
      const label = labels[i]!;
      const offset = i * this.classes;
      const top = topClasses(logits, offset, this.classes, 5);
      const best = top[0]!.index;
      const p = top.find((t) => t.index === label);
      this.images++;
      this.counts[label]!.images++;
      this.counts[best]!.predicted++;
      if (best === label) {
        this.correct++;
        this.counts[label]!.correct++;
      }
      if (p) this.correct5++;
      // Cross-entropy: −log softmax(logits)[label].
      this.lossSum += logSumExp(logits, offset, this.classes) - logits[offset + label]!;
    }
  }

  result(): EvalResult {
    const n = Math.max(this.images, 1);
    return { images: this.images, top1: this.correct / n, top5: this.correct5 / n, correct: this.correct, correct5: this.correct5, loss: this.lossSum / n, classes: this.counts.map((c) => ({ ...c })) };
  }
}
