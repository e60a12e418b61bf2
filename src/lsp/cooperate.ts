import { type CancellationToken, LSPErrorCodes, ResponseError } from 'vscode-languageserver/node';

/** How long a provider works before it lets the server handle other messages, in milliseconds. */
export const sliceMs = 8;

/**
 * Long work of a request, cut into slices: between items a provider asks `due()` (one clock
 * read) and, when its slice is used up, awaits `pause()`, which gives the event loop a turn
 * (other requests are answered, `$/cancelRequest` is read) and throws RequestCancelled
 * once the client has cancelled the request. A request that never pauses finishes as before.
 */
export class Slices {
  private started = performance.now();

  constructor(private readonly token?: CancellationToken) {}

  /** Whether the current slice is used up. */
  due(): boolean {
    return performance.now() - this.started >= sliceMs;
  }

  /** A turn of the event loop, then a new slice; throws RequestCancelled if the request was cancelled. */
  async pause(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    this.started = performance.now();
    this.check();
  }

  /** Throws RequestCancelled if the request was cancelled. */
  check(): void {
    if (this.token?.isCancellationRequested) throw new ResponseError(LSPErrorCodes.RequestCancelled, 'the request was cancelled');
  }
}
