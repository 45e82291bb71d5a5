// article.js — typesets the article's equations with KaTeX (served from our own files, no CDN).
// Elements with class "math" hold TeX source as text; "math display" are block equations.
// Without JavaScript the TeX source stays readable in place.
// The 110 equations are typeset in slices of about 10 ms, the ones nearest the reader's place
// first, so the main thread stays free between slices: the widgets' workers start, and their
// first messages are delivered, while the rest are typeset (all at once it held the first
// sampler image back by about a second on a 2-core machine).
import katex from './vendor/katex/katex.mjs';

const SLICE_MS = 10;
const pending = [...document.querySelectorAll('.math')];
// Nearest first, by the distance of each equation's section from the middle of the screen (0
// for the section the reader is in), in page order within a section. Sections, not equations,
// are measured: a section out of view is not laid out (page.css content-visibility), and
// measuring an equation inside it laid all of them out, 114 ms of a cold load on 2 cores.
const here = window.innerHeight / 2;
const sectionDistance = new Map(); // section -> its distance, measured once
const distance = new Map(pending.map((el) => {
  const section = el.closest('main > section') ?? el;
  if (!sectionDistance.has(section)) {
    const r = section.getBoundingClientRect();
    sectionDistance.set(section, r.top > here ? r.top - here : r.bottom < here ? here - r.bottom : 0);
  }
  return [el, sectionDistance.get(section)];
}));
pending.sort((a, b) => distance.get(a) - distance.get(b)); // stable: page order within a section

function typeset(el) {
  const tex = el.textContent;
  el.setAttribute('aria-label', tex);
  katex.render(tex, el, { displayMode: el.classList.contains('display'), throwOnError: false, output: 'htmlAndMathml' });
}

// the next slice at background priority where the browser has a task scheduler (Chromium):
// a message from a widget's worker, an input event or a frame goes first
const later = globalThis.scheduler?.postTask ? (fn) => scheduler.postTask(fn, { priority: 'background' }) : (fn) => setTimeout(fn, 0);

function slice() {
  const end = performance.now() + SLICE_MS;
  while (pending.length && performance.now() < end) typeset(pending.shift());
  if (pending.length) later(slice);
  else document.documentElement.dataset.mathReady = '';
}
slice();
