// The pool's workers in a page: blob: workers made from the bundled worker (src/worker-browser.ts,
// whose source src/worker-source.ts gives), so that no worker script has to be served (a blob:
// worker shares the page's cross-origin isolation). Threads need the page to be cross-origin isolated.
import { setThreadHost } from './wasm.js';
import { workerSource } from './worker-source.js';

interface PageGlobals {
  navigator?: { hardwareConcurrency?: number };
  crossOriginIsolated?: boolean;
  Blob: new (parts: string[], options: { type: string }) => object;
  URL: { createObjectURL(blob: object): string; revokeObjectURL(url: string): void };
  Worker: new (url: string) => {
    onmessage: ((e: { data: unknown }) => void) | null;
    onerror: ((e: { message?: string; preventDefault?(): void }) => void) | null;
    postMessage(m: unknown): void;
    terminate(): void;
  };
}

export function setBrowserThreadHost(): void {
  const g = globalThis as unknown as PageGlobals;
  setThreadHost({
    cores: () => g.navigator?.hardwareConcurrency ?? 1,
    isolated: () => g.crossOriginIsolated === true,
    spawn(data, events) {
      const url = g.URL.createObjectURL(new g.Blob([workerSource()], { type: 'text/javascript' }));
      const w = new g.Worker(url);
      g.URL.revokeObjectURL(url);
      w.onmessage = (e) => events.message(e.data as never);
      // A worker whose script fails, or that throws outside a part, is terminated, not just dropped.
      w.onerror = (e) => {
        e.preventDefault?.();
        events.error(e.message || 'the worker script failed to load or threw');
      };
      w.postMessage(data);
      return { terminate: () => { w.terminate(); events.exit(0); } };
    },
  });
}
