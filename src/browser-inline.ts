// The entry of dist/convcore.browser.js: one ES module with the Wasm inlined, which needs
// no configuration: `import { init, convForward } from './convcore.browser.js'; await init();`.
// init({ wasm }) still accepts another source.
import { setDefaultSource } from './wasm.js';
import { inlineWasm } from './inline-wasm.js';

setDefaultSource(inlineWasm);

import { setBrowserThreadHost } from './browser-threads.js';

setBrowserThreadHost();

export * from './api.js';
