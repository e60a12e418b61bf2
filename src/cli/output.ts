import { styleText } from 'node:util';

/** Where a command writes, so tests can capture it and colour follows the terminal. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
  color: boolean;
  paint(style: Parameters<typeof styleText>[0], text: string): string;
  exitCode: number;
}

export function processOutput(): Output {
  const color = process.stderr.isTTY === true && !process.env['NO_COLOR'];
  return {
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    color,
    paint: (style, text) => (color ? styleText(style, text) : text),
    exitCode: 0,
  };
}
