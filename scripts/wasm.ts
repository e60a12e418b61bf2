import { writeFileSync } from 'node:fs';
import { generatedModule, generatedPath } from './wasm-module.js';

/** `npm run wasm`: assembles src/weights/normal.wat into src/weights/normal-wasm.ts. */
writeFileSync(generatedPath, await generatedModule());
console.log(`wrote ${generatedPath}`);
