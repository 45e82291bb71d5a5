// diffuscope.js — the one script a page includes:
//   <script type="module" src=".../diffuscope.js"></script>
// It defines every <diffuscope-*> element. The engine and the base class live in core.js, the
// worker pool in pool.js (both exported, for pages that script the engine).
export * from './core.js';
export * from './pool.js';
import './widgets/schedule.js';
import './widgets/sampler.js';
import './widgets/vi.js';
import './widgets/forward.js';
import './widgets/points.js';
