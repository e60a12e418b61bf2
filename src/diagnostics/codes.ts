import type { Severity } from './diagnostic.js';

export interface CodeInfo {
  severity: Severity;
  title: string;
}

/**
 * Every diagnostic resnetc reports, by its stable code. Codes are never reused;
 * docs/diagnostics.md documents each (a test keeps the two in step).
 */
export const codes = {
  // Syntax
  R0001: { severity: 'error', title: 'unexpected character' },
  R0002: { severity: 'error', title: 'unterminated string' },
  R0003: { severity: 'error', title: 'syntax error' },
  R0004: { severity: 'error', title: 'braces nested too deep' },
  R0005: { severity: 'error', title: 'token too long' },
  // Files, imports, models
  R0101: { severity: 'error', title: 'file not found' },
  R0102: { severity: 'error', title: 'import cycle' },
  R0103: { severity: 'error', title: 'imported file has errors' },
  R0104: { severity: 'error', title: 'unknown model' },
  R0105: { severity: 'error', title: 'extends cycle' },
  R0106: { severity: 'error', title: 'duplicate model name' },
  R0107: { severity: 'error', title: 'import after a model' },
  R0108: { severity: 'error', title: 'file declares no model' },
  R0109: { severity: 'warning', title: 'unused import' },
  R0110: { severity: 'warning', title: 'duplicate import' },
  R0111: { severity: 'error', title: 'import chain too long' },
  R0112: { severity: 'error', title: 'extends chain too long' },
  // Statements and values
  R0201: { severity: 'error', title: 'missing statement' },
  R0202: { severity: 'error', title: 'duplicate statement' },
  R0203: { severity: 'error', title: 'unknown block kind' },
  R0204: { severity: 'error', title: 'unknown shortcut kind' },
  R0205: { severity: 'error', title: 'unknown norm kind' },
  R0206: { severity: 'error', title: 'unknown activation' },
  R0207: { severity: 'error', title: 'whole number expected' },
  R0208: { severity: 'error', title: 'value out of range' },
  R0209: { severity: 'error', title: 'option does not apply here' },
  R0210: { severity: 'error', title: 'stage without blocks or width' },
  R0211: { severity: 'error', title: 'wrong number of dimensions' },
  R0212: { severity: 'error', title: 'reserved stage name' },
  R0213: { severity: 'warning', title: 'dropout without a head' },
  R0214: { severity: 'error', title: 'model without stages' },
  R0215: { severity: 'error', title: 'model too large to count exactly' },
  R0216: { severity: 'warning', title: 'stride_on on a block that never strides' },
  R0217: { severity: 'warning', title: 'inner width rounded down' },
  R0218: { severity: 'warning', title: "norm momentum in Keras's convention" },
  // Shapes
  R0302: { severity: 'error', title: 'groups do not divide the channels' },
  R0303: { severity: 'error', title: 'zero-padding shortcut cannot drop channels' },
  R0305: { severity: 'error', title: 'squeeze-and-excitation leaves no channels' },
  R0306: { severity: 'warning', title: 'stride on a 1x1 map' },
  R0307: { severity: 'warning', title: 'shortcut kind that never takes effect' },
  R0308: { severity: 'warning', title: 'squeeze-and-excitation to one channel' },
  R0309: { severity: 'warning', title: 'kernel taps that see only padding' },
  // Expectations
  R0401: { severity: 'error', title: 'parameter count differs from expect' },
  R0402: { severity: 'error', title: 'multiply-accumulate count differs from expect' },
  R0403: { severity: 'error', title: 'output shape differs from expect' },
  R0404: { severity: 'error', title: 'count written in a form expect cannot compare' },
  // Editor tooling
  R0701: { severity: 'error', title: 'cannot format a file with syntax errors' },
  R0702: { severity: 'error', title: 'formatting would change the file' },
  R0703: { severity: 'error', title: 'file is not formatted' },
  R0704: { severity: 'error', title: 'cannot draw the graph' },
  R0730: { severity: 'error', title: 'training needs the last output to be the logits' },
  // ONNX
  R0501: { severity: 'error', title: 'unsupported ONNX opset' },
  R0502: { severity: 'error', title: 'weights file is not an ONNX model' },
  R0503: { severity: 'error', title: 'weights file has a different network' },
  R0504: { severity: 'error', title: 'weights file has a tensor of another shape' },
  R0505: { severity: 'error', title: 'weights stored in a form resnetc cannot read' },
  R0506: { severity: 'error', title: 'weights file has layers beyond the spec' },
  R0507: { severity: 'error', title: 'weights file too ambiguous to match' },
  R0508: { severity: 'error', title: 'weights file makes a value twice' },
  R0509: { severity: 'error', title: 'weights file graph has a cycle' },
  R0510: { severity: 'error', title: 'external data entries of a weights file are malformed' },
  R0511: { severity: 'error', title: 'external data range lies beyond the end of its file' },
  R0512: { severity: 'error', title: "external data length differs from the tensor's shape" },
  R0513: { severity: 'error', title: 'ONNX model over the 2 GiB a file can hold' },
  // TensorFlow.js and training
  R0601: { severity: 'error', title: 'data source not found or not recognised' },
  R0602: { severity: 'error', title: 'data does not fit the model' },
  R0603: { severity: 'error', title: 'data file is malformed' },
  R0604: { severity: 'error', title: 'no checkpoint to resume' },
  R0605: { severity: 'error', title: 'backend not available' },
  R0606: { severity: 'error', title: 'weights cannot be read' },
  R0607: { severity: 'error', title: 'bad training option' },
  R0608: { severity: 'error', title: 'checkpoint belongs to another run' },
  R0609: { severity: 'error', title: 'checkpoint is damaged' },
  R0610: { severity: 'error', title: 'checkpoint of another format version' },
  R0611: { severity: 'error', title: 'batch size leaves a norm one value per channel' },
  R0612: { severity: 'warning', title: 'last batch dropped: it would leave a norm one value per channel' },
  // Files resnetc reads and writes (docs/files.md)
  R0801: { severity: 'error', title: 'output would overwrite an input' },
  R0802: { severity: 'error', title: 'output path is not a regular file or folder' },
  R0803: { severity: 'error', title: 'output path is a folder where a file goes, or a file where a folder goes' },
  R0804: { severity: 'error', title: 'output folder was not written by resnetc' },
  R0805: { severity: 'error', title: 'no space left for the output' },
  R0811: { severity: 'error', title: 'input is not a regular file' },
  R0812: { severity: 'error', title: 'input file larger than resnetc reads' },
  R0813: { severity: 'error', title: 'file named by a model lies outside its folder' },
  R0814: { severity: 'error', title: 'import does not name a .resnet file' },
  R0815: { severity: 'error', title: 'tfjs model manifest is malformed or does not match its shards' },
  R0816: { severity: 'error', title: 'weights hold a value that is not finite, or a negative variance' },
  // Weights in PyTorch's formats
  R1000: { severity: 'error', title: 'weights file is a PyTorch pickle' },
  R1001: { severity: 'error', title: 'weights file is not valid safetensors' },
  R1002: { severity: 'error', title: 'tensor of a dtype resnetc cannot read' },
  R1003: { severity: 'error', title: "tensor's bytes disagree with its shape" },
  R1004: { severity: 'error', title: "tensors' bytes out of order or not covering the data" },
  R1005: { severity: 'error', title: 'tensor missing from the weights file' },
  R1006: { severity: 'error', title: 'tensor the model does not have' },
  R1007: { severity: 'error', title: 'tensor of another shape' },
  // Command line
  R0901: { severity: 'error', title: 'bad usage' },
  R0902: { severity: 'error', title: 'cannot read file' },
  R0903: { severity: 'error', title: 'cannot write output' },
  // Optional packages
  R0940: { severity: 'error', title: 'optional package not installed' },
  R0941: { severity: 'error', title: 'optional package does not load' },
} as const satisfies Record<string, CodeInfo>;

export type Code = keyof typeof codes;
