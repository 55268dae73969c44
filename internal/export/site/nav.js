// The sidebar: every object by project and folder, built from
// window.MODELDOC_INDEX (assets/search-index.js) so that a page carries no
// copy of it, with a filter box. Built with textContent only: no indexed
// text is parsed as HTML. data-root on <body> is the way back to the site's
// root ("" on the index, "../" on an object page).
(function () {
  "use strict";
  var index = window.MODELDOC_INDEX || [];
  var tree = document.getElementById("nav-tree");
  var filter = document.getElementById("nav-filter");
  if (!tree) { return; }
  var root = document.body.getAttribute("data-root") || "";
  var here = location.pathname.split("/").pop();

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  function build(q) {
    while (tree.firstChild) { tree.removeChild(tree.firstChild); }
    var projects = {};
    var order = [];
    index.forEach(function (e) {
      if (q && e.n.toLowerCase().indexOf(q) < 0) { return; }
      var p = projects[e.p];
      if (!p) { p = projects[e.p] = { folders: {}, names: [] }; order.push(e.p); }
      var f = e.f || "(no folder)";
      if (!p.folders[f]) { p.folders[f] = []; p.names.push(f); }
      p.folders[f].push(e);
    });
    order.forEach(function (name) {
      var p = projects[name];
      var pd = el("details", "nav-project");
      pd.open = true;
      pd.appendChild(el("summary", null, name));
      p.names.sort().forEach(function (f) {
        var fd = el("details", "nav-folder");
        var items = p.folders[f];
        var current = false;
        var ul = el("ul");
        items.forEach(function (e) {
          var li = el("li");
          var a = el("a", null, e.n);
          a.href = root + e.u;
          a.title = e.t + (e.d ? " · " + e.d.slice(0, 160) : "");
          if (e.u.split("/").pop() === here) { a.setAttribute("aria-current", "page"); current = true; }
          li.appendChild(a);
          ul.appendChild(li);
        });
        fd.open = current || !!q || items.length <= 12 && p.names.length === 1;
        fd.appendChild(el("summary", null, f + " (" + items.length + ")"));
        fd.appendChild(ul);
        pd.appendChild(fd);
      });
      tree.appendChild(pd);
    });
    if (order.length === 0) { tree.appendChild(el("p", "muted", "No object matches.")); }
  }

  build("");
  if (filter) {
    filter.addEventListener("input", function () { build(filter.value.trim().toLowerCase()); });
  }
  var cur = tree.querySelector("[aria-current=page]");
  if (cur && cur.scrollIntoView) { cur.scrollIntoView({ block: "center" }); }
})();
