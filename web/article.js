// article.js — typesets the article's equations with KaTeX (served from our own files, no CDN).
// Elements with class "math" hold TeX source as text; "math display" are block equations.
// Without JavaScript the TeX source stays readable in place.
import katex from './vendor/katex/katex.mjs';

for (const el of document.querySelectorAll('.math')) {
  const tex = el.textContent;
  el.setAttribute('aria-label', tex);
  katex.render(tex, el, { displayMode: el.classList.contains('display'), throwOnError: false, output: 'htmlAndMathml' });
}
document.documentElement.dataset.mathReady = '';
