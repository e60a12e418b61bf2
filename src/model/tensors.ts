import type { Layer } from './types.js';

export type TensorRole = 'weight' | 'bias' | 'norm_scale' | 'norm_shift' | 'running_mean' | 'running_var';

/** A named tensor of a layer in PyTorch's layout: convolutions OIHW, dense [out, in]. */
export interface TensorSpec {
  /** `<layer name>.weight`, `.bias`, `.running_mean`, `.running_var` (PyTorch's names). */
  name: string;
  role: TensorRole;
  shape: number[];
  trainable: boolean;
  /** Biases: the fan-in of the weight beside them (what PyTorch's default init bounds them by). */
  fanIn?: number;
}

export function tensorSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** The tensors a layer owns. Counts in the checked model are derived from these. */
export function layerTensors(layer: Layer): TensorSpec[] {
  switch (layer.op) {
    case 'conv': {
      const weight: TensorSpec = {
        name: `${layer.name}.weight`,
        role: 'weight',
        shape: [layer.out.c, layer.in.c / layer.groups, layer.kernel[0], layer.kernel[1]],
        trainable: true,
      };
      const fanIn = (layer.in.c / layer.groups) * layer.kernel[0] * layer.kernel[1];
      return layer.bias ? [weight, { name: `${layer.name}.bias`, role: 'bias', shape: [layer.out.c], trainable: true, fanIn }] : [weight];
    }
    case 'norm': {
      const c = [layer.in.c];
      const affine: TensorSpec[] = [
        { name: `${layer.name}.weight`, role: 'norm_scale', shape: c, trainable: true },
        { name: `${layer.name}.bias`, role: 'norm_shift', shape: c, trainable: true },
      ];
      // Group norm keeps no running statistics (PyTorch's GroupNorm has no buffers).
      if (layer.kind === 'group') return affine;
      return [
        ...affine,
        { name: `${layer.name}.running_mean`, role: 'running_mean', shape: c, trainable: false },
        { name: `${layer.name}.running_var`, role: 'running_var', shape: c, trainable: false },
      ];
    }
    case 'dense':
      return [
        { name: `${layer.name}.weight`, role: 'weight', shape: [layer.out.c, layer.in.c], trainable: true },
        { name: `${layer.name}.bias`, role: 'bias', shape: [layer.out.c], trainable: true, fanIn: layer.in.c },
      ];
    case 'se':
      return [...layerTensors(layer.reduce), ...layerTensors(layer.expand)];
    default:
      return [];
  }
}
