import type { Code } from '../diagnostics/codes.js';

/**
 * A failure of the ONNX backend that a user caused (a bad opset, a weights file of another
 * architecture, …), with the stable code the command line prints and, where there is one,
 * the layer of the spec it happened at (`conv3.block0.conv2`).
 */
export class OnnxError extends Error {
  override readonly name = 'OnnxError';

  constructor(
    readonly code: Code,
    message: string,
    readonly layer?: string,
    readonly help?: string,
  ) {
    super(message);
  }
}
