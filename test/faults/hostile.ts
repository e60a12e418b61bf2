/**
 * Hostile `.resnet` texts: what an attacker or a careless user (or a broken generator)
 * feeds the tool. Each is small to describe and cheap to make; sizes are chosen so that the
 * quadratic or recursive code they were found against took far over the 10-second limit (or
 * crashed), while linear code takes a fraction of it.
 */

/** A model that checks, for the texts that wrap something around a valid one. */
export const validModel = `model ok {
  input 3x32x32
  classes 10
  stem { conv 3x3 16 }
  block basic
  shortcut A
  stage conv2 { blocks 3  width 16 }
  stage conv3 { blocks 3  width 32  stride 2 }
  expect params 65_882
}
`;

function repeat(unit: string, length: number): string {
  return unit.repeat(Math.ceil(length / unit.length)).slice(0, length);
}

/** Generated models (one line each) up to about `bytes`: a large file that checks. */
export function manyModels(bytes: number): string {
  const lines: string[] = [validModel];
  let size = validModel.length;
  for (let i = 0; size < bytes; i++) {
    const line = `model m${i} extends ok { stage conv3 { blocks ${1 + (i % 4)} } }\n`;
    lines.push(line);
    size += line.length;
  }
  return lines.join('');
}

/** Name → text. */
export const hostileTexts: Record<string, () => string> = {
  // Case 10: braces nested past any stack, after an unknown word (the parser recursed per brace).
  'nested braces': () => `model a {\n  foo ${'{'.repeat(20_000)}${'}'.repeat(20_000)}\n}\n${validModel}`,
  'nested braces, never closed': () => `${validModel}model b { foo ${'{'.repeat(100_000)}`,
  // Case 11: the lexer re-read a digit run from every digit (80,000 digits and a letter: 25 s).
  // Each error in a repetition made the parser's recovery recurse, and look to the end of the file.
  'stray closing braces': () => `${validModel}${'model a { } }\n'.repeat(8_000)}`,
  'digits then a letter': () => `${validModel}model d { classes ${'1'.repeat(200_000)}a }\n`,
  'a run of sizes': () => `${'1x'.repeat(200_000)}a`,
  'a long name': () => `model ${'n'.repeat(500_000)} { }\n${validModel}`,
  'a long unterminated string': () => `import "${'p'.repeat(500_000)}\n${validModel}`,
  'a long comment': () => `#${'c'.repeat(2_000_000)}\n${validModel}`,
  'characters that start no token': () => repeat('@;', 250_000),
  'words without statements': () => repeat('zzz ', 500_000),
  // Case 11: 13,000 errors in a megabyte took 185 s to print (each frame re-split the file);
  // 18,000 in 150 KB took minutes.
  'errors on every line': () => repeat('model m {\n  foo 1\n  classes x\n}\n', 150_000),
  'errors on one long line': () => repeat('model a { bogus } ', 150_000),
  'a large valid file': () => manyModels(300_000),
  'an extends chain': () => {
    const lines = [];
    for (let i = 4_000; i >= 1; i--) lines.push(`model m${i} extends m${i - 1} { }`);
    return `${lines.join('\n')}\n${validModel.replace('model ok', 'model m0')}`;
  },
  'a stage per line': () => {
    const stages = Array.from({ length: 10_000 }, (_, i) => `  stage s${i} { blocks 1  width 32 }`);
    return validModel.replace('  expect params 65_882\n', `${stages.join('\n')}\n`);
  },
  'binary bytes': () => String.fromCharCode(...Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)),
  'nothing': () => '',
};

/**
 * An import chain of `length` files in `dir` (case 10: 2,000 files overflowed the checker's
 * recursion): returns the name of the file at its head, which extends the model at its tail.
 */
export function importChain(length: number): Record<string, string> {
  const files: Record<string, string> = { 'chain0.resnet': validModel.replace('model ok', 'model c0') };
  for (let i = 1; i < length; i++) files[`chain${i}.resnet`] = `import "chain${i - 1}.resnet"\nmodel c${i} extends c${i - 1} { }\n`;
  return files;
}

/** A model that checks, with `n` stages of one narrow block each: few parameters, many layers. */
export function manyStages(n: number): string {
  const stages = Array.from({ length: n }, (_, i) => `  stage s${i} { blocks 1  width 4 }`);
  return `model tall {\n  input 3x8x8\n  classes 2\n  stem { conv 3x3 4 }\n  block basic\n${stages.join('\n')}\n}\n`;
}
