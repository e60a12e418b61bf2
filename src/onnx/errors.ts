import { CodedError } from '../diagnostics/coded-error.js';
import type { Code } from '../diagnostics/codes.js';

/**
 * A failure of the ONNX backend that a user caused (a bad opset, a weights file of another
 * architecture, …), with the stable code the command line prints and, where there is one,
 * the layer of the spec it happened at (`conv3.block0.conv2`).
 */
export class OnnxError extends CodedError {
  override readonly name = 'OnnxError';

  constructor(
    code: Code,
    message: string,
    readonly layer?: string,
    help?: string,
  ) {
    // An opset out of range is a wrong option, a misuse of the command; the rest is bad input.
    super(code, message, help, code === 'R0501' ? 2 : 1);
  }
}
