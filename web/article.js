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
const here = window.scrollY + window.innerHeight / 2;
// each distance read once (one layout, before any is typeset), not in every comparison
const distance = new Map(pending.map((el) => [el, Math.abs(el.getBoundingClientRect().top + window.scrollY - here)]));
pending.sort((a, b) => distance.get(a) - distance.get(b));

function typeset(el) {
  const tex = el.textContent;
  el.setAttribute('aria-label', tex);
  katex.render(tex, el, { displayMode: el.classList.contains('display'), throwOnError: false, output: 'htmlAndMathml' });
}

function slice() {
  const end = performance.now() + SLICE_MS;
  while (pending.length && performance.now() < end) typeset(pending.shift());
  if (pending.length) setTimeout(slice, 0);
  else document.documentElement.dataset.mathReady = '';
}
slice();
