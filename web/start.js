// start.js — starts the shared engine (its worker, and the module's streaming compile) as soon as
// this small script has loaded, while the page is still parsing, instead of when the first widget
// asks for it after diffuscope.js and every widget module have loaded:
//   <script type="module" async src=".../start.js"></script>   (in the head, before diffuscope.js)
// for a post whose first screen holds a widget (docs/embedding.md). diffuscope.js, loaded as usual,
// then finds the engine on its way. Nothing else happens here.
import { sharedEngine, support } from './core.js';

if (support.wasm) sharedEngine();
