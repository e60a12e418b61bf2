import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * `npm run bench`: runs every bench/*.bench.ts in turn (or those named on the command
 * line, e.g. `npm run bench -- check`). Each prints its figures and their ratios
 * against the goal or the reference it measured in the same run.
 */
const here = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const benches = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w)))
  .sort();
for (const file of benches) {
  console.log(`\n== ${file.replace('.bench.ts', '')} ==`);
  const mod = (await import(join(here, file))) as { run: () => Promise<void> };
  await mod.run();
}
