/**
 * Holds Ctrl-C (SIGINT) and SIGTERM back while an output is written: the write, which goes
 * to a temporary file renamed into place, finishes (or fails and cleans up) and then the
 * command exits with 130. Without this, Node's default handler would end the process in the
 * middle of the write and leave the temporary file behind.
 *
 * Wrap the final write only, never the work before it: while a handler is installed a
 * signal waits for JavaScript to return to the event loop, so synchronous work inside (a
 * long match of weights) could not be interrupted at all. Outside, the default handler
 * ends the process at once, which is what an interrupt should do before anything is written.
 */
export async function withInterruptsDeferred<T>(work: () => T | Promise<T>): Promise<T> {
  let received: NodeJS.Signals | undefined;
  const hold = (signal: NodeJS.Signals): void => {
    received = signal;
  };
  process.on('SIGINT', hold);
  process.on('SIGTERM', hold);
  try {
    return await work();
  } finally {
    // A signal that came during a synchronous write is delivered when the event loop next
    // polls; two turns of the loop make sure it has.
    for (let turn = 0; turn < 2; turn++) await new Promise((resolve) => setImmediate(resolve));
    process.off('SIGINT', hold);
    process.off('SIGTERM', hold);
    if (received) {
      process.stderr.write(`interrupted (${received}): the output was finished first\n`);
      process.exit(130);
    }
  }
}
