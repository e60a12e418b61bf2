import { closeSync, readSync } from 'node:fs';
import { openInput, readInputFile } from '../io/read.js';

/**
 * The reads of a weights file's bytes (an ONNX model, a safetensors file), through src/io's
 * reader: a regular file within the weights limit, opened without blocking. Both throw
 * FileError: R0101 when there is no such file, R0811 when it is not a regular file (a folder,
 * a FIFO, a device), R0812 over the limit, R0902 when it cannot be read.
 */

/** The whole file. */
export function readWeightsBytes(path: string): Uint8Array {
  return readInputFile(path, 'weights');
}

/** The file's size and its first `count` bytes (fewer when the file is shorter): what open.ts recognises formats by. */
export function readWeightsHead(path: string, count: number): { size: number; head: Uint8Array } {
  const { fd, stats } = openInput(path, 'weights');
  try {
    const bytes = new Uint8Array(Math.min(count, stats.size));
    return { size: stats.size, head: bytes.subarray(0, readSync(fd, bytes, 0, bytes.length, 0)) };
  } finally {
    closeSync(fd);
  }
}
