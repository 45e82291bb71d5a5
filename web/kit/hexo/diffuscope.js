// diffuscope.js — Hexo tag plugin for Diffuscope widgets; copy it to the site's scripts/
// folder (Hexo runs every file there) and the kit (web/, weights/) to source/diffuscope/,
// with `skip_render: diffuscope/**` in _config.yml. In a post:
//   {% diffuscope vi target=0.3:-3:0.7,0.5:4:1,0.2:7:0.6 mu=0 %}
// The first argument is the element (vi, schedule, forward, noising, points, sampler); every
// other one is name=value (quote a value with spaces: name="a b") and becomes an attribute of
// <diffuscope-WIDGET>, HTML-escaped. The script URL goes through url_for, so a site with
// `root: /blog/` gets /blog/diffuscope/web/diffuscope.js. The module runs once per page.
/* global hexo */
'use strict';

const NAME = /^[a-z][a-z0-9-]*$/;
const escape = (s) => String(s).replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

hexo.extend.tag.register('diffuscope', function diffuscopeTag(args) {
  const [widget, ...params] = args;
  if (!NAME.test(widget || '')) throw new Error(`diffuscope tag: "${widget}" must name a widget (vi, schedule, forward, noising, points, sampler)`);
  const attrs = params.map((p) => {
    const eq = p.indexOf('=');
    const name = eq < 0 ? p : p.slice(0, eq);
    if (!NAME.test(name)) throw new Error(`diffuscope tag: "${p}" is not name=value`);
    if (eq < 0) return ` ${name}`;
    const value = p.slice(eq + 1).replace(/^"(.*)"$/s, '$1');
    return ` ${name}="${escape(value)}"`;
  });
  const src = hexo.extend.helper.get('url_for').call(hexo, '/diffuscope/web/diffuscope.js');
  return `<script type="module" src="${escape(src)}"></script><diffuscope-${widget}${attrs.join('')}></diffuscope-${widget}>`;
});
