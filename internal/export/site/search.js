// Search over window.MODELDOC_INDEX (assets/search-index.js). Results are
// built with textContent only, so no indexed text is ever parsed as HTML.
(function () {
  "use strict";
  var index = window.MODELDOC_INDEX || [];
  var input = document.getElementById("search");
  var results = document.getElementById("results");
  var all = document.getElementById("all");
  if (!input || !results) { return; }

  function haystack(e) {
    return (e.n + " " + e.p + " " + e.s + " " + e.t + " " + (e.d || "") + " " + (e.c || []).join(" ")).toLowerCase();
  }
  var texts = index.map(haystack);

  function score(e, terms) {
    var name = e.n.toLowerCase();
    var s = 0;
    for (var i = 0; i < terms.length; i++) {
      if (name === terms[i]) { s += 10; } else if (name.indexOf(terms[i]) >= 0) { s += 5; } else { s += 1; }
    }
    return s;
  }

  function render() {
    var q = input.value.trim().toLowerCase();
    while (results.firstChild) { results.removeChild(results.firstChild); }
    if (q === "") {
      results.hidden = true;
      all.hidden = false;
      return;
    }
    var terms = q.split(/\s+/);
    var hits = [];
    for (var i = 0; i < index.length; i++) {
      var ok = true;
      for (var j = 0; j < terms.length && ok; j++) { ok = texts[i].indexOf(terms[j]) >= 0; }
      if (ok) { hits.push(index[i]); }
    }
    hits.sort(function (a, b) { return score(b, terms) - score(a, terms) || (a.n < b.n ? -1 : 1); });
    hits.slice(0, 200).forEach(function (e) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = e.u;
      a.textContent = e.n;
      li.appendChild(a);
      var meta = document.createElement("span");
      meta.className = "muted";
      meta.textContent = " " + e.t + " · " + e.p + (e.s ? " · " + e.s : "");
      li.appendChild(meta);
      if (e.d) {
        var p = document.createElement("p");
        p.textContent = e.d.length > 240 ? e.d.slice(0, 239) + "…" : e.d;
        li.appendChild(p);
      }
      results.appendChild(li);
    });
    if (hits.length === 0) {
      var none = document.createElement("li");
      none.textContent = "Nothing matches.";
      results.appendChild(none);
    }
    results.hidden = false;
    all.hidden = true;
  }
  input.addEventListener("input", render);
  if (location.hash.length > 1) { input.value = decodeURIComponent(location.hash.slice(1)); render(); }
})();
