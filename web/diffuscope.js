// diffuscope.js — the one script a page includes:
//   <script type="module" src=".../diffuscope.js"></script>
// It defines every <diffuscope-*> element, one file per element: web/widgets/NAME.js defines
// <diffuscope-NAME>. The engine and the element base live in core.js, the worker pool in
// pool.js (both exported, for pages that script the engine), the drawing helpers in plot.js.
export * from './core.js';
export * from './pool.js';
import './widgets/schedule.js';
import './widgets/vi.js';
import './widgets/forward.js';
import './widgets/noising.js';
import './widgets/points.js';
import './widgets/sampler.js';
import './widgets/score.js';
import './widgets/flow.js';
import './widgets/edit.js';
import './widgets/blend.js';
