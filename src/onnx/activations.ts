import type { ActivationLayer } from '../model/types.js';
import type { GraphBuilder } from './graph.js';

/**
 * The activations in ONNX, and what each computes.
 *
 * Written as PyTorch 1.13's exporter writes them where ONNX has no operator in the opset:
 *
 * | fn | ONNX |
 * |---|---|
 * | relu | `Relu` |
 * | sigmoid | `Sigmoid` |
 * | leaky_relu | `LeakyRelu` (alpha = the negative slope) |
 * | silu | `Sigmoid` then `Mul` with the input: x·σ(x) |
 * | gelu | `Gelu` (exact: approximate "none") from opset 20; before it x·0.5·(1 + erf(x/√2)) in `Div`, `Erf`, `Add`, `Mul`, `Mul` |
 * | mish | `Mish` from opset 18; before it x·tanh(softplus(x)) in `Softplus`, `Tanh`, `Mul` |
 */
export function emitActivation(g: GraphBuilder, layer: ActivationLayer, x: string, opset: number): string {
  const { name } = layer;
  switch (layer.fn) {
    case 'relu':
      return g.node('Relu', [x], name);
    case 'sigmoid':
      return g.node('Sigmoid', [x], name);
    case 'leaky_relu':
      return g.node('LeakyRelu', [x], name, { alpha: layer.negativeSlope }, ['alpha']);
    case 'silu':
      return g.node('Mul', [x, g.node('Sigmoid', [x], `${name}.sigmoid`)], name);
    case 'gelu': {
      if (opset >= 20) return g.node('Gelu', [x], name);
      const erf = g.node('Erf', [g.node('Div', [x, g.scalar(Math.SQRT2)], `${name}.div`)], `${name}.erf`);
      const gate = g.node('Mul', [x, g.node('Add', [erf, g.scalar(1)], `${name}.add`)], `${name}.mul`);
      return g.node('Mul', [gate, g.scalar(0.5)], name);
    }
    case 'mish': {
      if (opset >= 18) return g.node('Mish', [x], name);
      const tanh = g.node('Tanh', [g.node('Softplus', [x], `${name}.softplus`)], `${name}.tanh`);
      return g.node('Mul', [x, tanh], name);
    }
  }
}

/**
 * The error function, to about 1.2e-7 relative: Numerical Recipes' Chebyshev fit of erfc
 * (Press et al., Numerical Recipes in C, 2nd ed., §6.2, `erfcc`). JavaScript has no Math.erf.
 */
export function erf(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? 1 - r : r - 1;
}

/**
 * What an activation computes at x, as PyTorch defines it (torch.nn's ReLU, Sigmoid,
 * LeakyReLU, SiLU, GELU with approximate='none', Mish), in double precision.
 */
export function activationValue(fn: ActivationLayer['fn'], negativeSlope: number, x: number): number {
  switch (fn) {
    case 'relu':
      return Math.max(0, x);
    case 'sigmoid':
      return 1 / (1 + Math.exp(-x));
    case 'leaky_relu':
      return x >= 0 ? x : negativeSlope * x;
    case 'silu':
      return x / (1 + Math.exp(-x));
    case 'gelu':
      return 0.5 * x * (1 + erf(x / Math.SQRT2));
    case 'mish':
      return x * Math.tanh(Math.log1p(Math.exp(x)));
  }
}
