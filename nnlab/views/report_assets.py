"""The style and the script every offline report carries inline (no user data in either).

The script draws each figure from its JSON, shows a clicked cell's examples (a <template> copied into
#examples), sorts tables by a header click, fits fixed-width figures to narrow screens and scales figures to
an A4 page when printed. It builds no markup from data: the templates were escaped when the file was written.
"""

CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:; "
    "font-src 'none'; connect-src 'none'; form-action 'none'; base-uri 'none'"
)  # a second guard: even a markup slip could fetch nothing

CSS = """
:root{--ink:#111827;--muted:#6B7280;--line:#E5E7EB;--accent:#4F46E5;--soft:#EEF2FF}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;max-width:1100px;
margin:0 auto;padding:1.5rem 1rem 3rem;color:var(--ink);line-height:1.45;overflow-wrap:anywhere}
h1{font-size:1.6rem;margin:.3rem 0 .2rem;line-height:1.25}
h2{font-size:1.2rem;margin:2rem 0 .6rem;border-bottom:1px solid var(--line);padding-bottom:.2rem}
h3{font-size:1rem;margin:1rem 0 .4rem}
p{margin:.4rem 0} ul{margin:.3rem 0;padding-left:1.3rem}
.muted{color:var(--muted)} .caption{font-size:.85rem;margin-top:.2rem} .lead{font-size:1.05rem}
.table-wrap{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;font-size:.9rem}
th,td{padding:.25rem .7rem;border-bottom:1px solid var(--line);text-align:right;vertical-align:top}
th:first-child,td:first-child{text-align:left}
table.kv th{font-weight:600;white-space:nowrap} table.kv td{text-align:left}
table.sortable td,table.sortable th{white-space:nowrap;overflow-wrap:normal}
table.sortable th button{font:inherit;font-weight:600;border:0;background:none;cursor:pointer;padding:0;color:inherit}
table.sortable th[aria-sort=ascending] button::after{content:" \\25B2"}
table.sortable th[aria-sort=descending] button::after{content:" \\25BC"}
.metrics{display:flex;gap:.8rem 2rem;flex-wrap:wrap;margin:1rem 0}
.metric{min-width:7.5rem} .metric b{display:block;font-size:1.5rem}
.note{white-space:pre-wrap;border-left:3px solid var(--line);padding-left:.7rem}
.verdict{padding:.6rem .9rem;border-radius:.4rem;background:var(--soft);font-weight:600}
.verdict.better{background:#DCFCE7} .verdict.worse{background:#FEF3C7}
.warn{color:#92400E}
.figure-wrap{max-width:100%;overflow-x:auto;overflow-y:hidden}
.figure{width:100%;min-height:60px}
.chips{margin:.4rem 0}
button.chip{font:inherit;font-size:.85rem;border:1px solid var(--line);background:#fff;border-radius:999px;
padding:.15rem .7rem;margin:.15rem .25rem .15rem 0;cursor:pointer;color:inherit}
button.chip[aria-pressed=true]{background:var(--soft);border-color:var(--accent)}
#examples{border:1px solid var(--line);border-radius:.4rem;padding:.3rem .8rem .6rem;min-height:4rem}
.tag{display:inline-block;font-size:.7rem;border-radius:.3rem;padding:0 .3rem;margin-left:.2rem;background:#F3F4F6}
.tag.stable{background:#DCFCE7} .tag.noise{background:#FEF3C7}
@media (max-width:640px){body{padding:1rem .6rem 2rem} h1{font-size:1.3rem} .metric b{font-size:1.2rem}
table{font-size:.8rem} th,td{padding:.2rem .4rem}}
@media print{@page{size:A4;margin:12mm} body{max-width:none;padding:0;font-size:10pt}
.modebar-container,.no-print{display:none!important} button.chip{border:0;padding:0} .figure{zoom:var(--pz,1)}
h2,h3{break-after:avoid} .figure-wrap{overflow:visible;break-inside:avoid} .example,tr{break-inside:avoid}
.table-wrap{overflow:visible} #examples{border:0;padding:0}}
"""

SCRIPT = r"""
(function () {
  "use strict";
  var PRINT_WIDTH = 680; // CSS pixels across an A4 page inside 12 mm margins
  var CONFIG = {displaylogo: false, responsive: true, modeBarButtonsToRemove: ["select2d", "lasso2d"]};

  function showExamples(key) {
    var tpl = document.getElementById("tpl-" + key), box = document.getElementById("examples");
    if (!tpl || !box) return;
    box.replaceChildren(tpl.content.cloneNode(true));
    box.setAttribute("data-shown", key);
    document.querySelectorAll("[data-show]").forEach(function (b) {
      b.setAttribute("aria-pressed", b.getAttribute("data-show") === key ? "true" : "false");
    });
  }

  function printZoom(div) { // a figure drawn wider than an A4 page is scaled down to it when printed
    var drawn = div._fullLayout ? div._fullLayout.width : div.offsetWidth;
    div.style.setProperty("--pz", String(Math.min(1, PRINT_WIDTH / Math.max(drawn, 1))));
  }

  function fit(div) { // a fixed-width figure (a matrix) narrower on a narrow screen, its cells square
    var room = div.parentElement.clientWidth, n = div._natural;
    if (!n || !room) return null;
    var w = Math.max(Math.min(n.w, room), 240);
    if (Math.abs(w - div._fullLayout.width) <= 1) return null;
    return Plotly.relayout(div, {width: w, height: Math.round(n.h - n.w + w)});
  }

  function sizeAll() {
    document.querySelectorAll(".figure").forEach(function (div) { if (div._fullLayout) fit(div); });
  }

  function draw(script) {
    var div = document.getElementById(script.getAttribute("data-figure"));
    var fig = JSON.parse(script.textContent);
    if (fig.layout && fig.layout.width) div._natural = {w: fig.layout.width, h: fig.layout.height};
    // a chart as wide as the page: on a resize plotly.js drops its layout's height and reads the div's, so the
    // div holds it (without, every such chart fell to its 60-px minimum once the window changed size)
    else if (fig.layout && fig.layout.height) div.style.height = fig.layout.height + "px";
    return Plotly.newPlot(div, fig.data, fig.layout, CONFIG).then(function () {
      div.on("plotly_afterplot", function () { printZoom(div); });
      return fit(div);
    }).then(function () {
      printZoom(div);
      var cells = div.getAttribute("data-cells");
      if (!cells) return;
      div.on("plotly_click", function (ev) {
        var c = ev && ev.points && ev.points[0] && ev.points[0].customdata;
        if (c && c.length >= 2) showExamples(cells + "-" + c[0] + "-" + c[1]);
      });
    });
  }

  function sortValue(row, col) {
    var cell = row.cells[col], v = cell.getAttribute("data-v");
    return v === null ? cell.textContent : v;
  }

  function sortBy(th) {
    var table = th.closest("table"), col = Array.prototype.indexOf.call(th.parentNode.children, th);
    var asc = th.getAttribute("aria-sort") !== "ascending";
    table.querySelectorAll("th").forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", asc ? "ascending" : "descending");
    var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = sortValue(a, col), y = sortValue(b, col);
      if (x === "" || y === "") return x === y ? 0 : (x === "" ? 1 : -1); // blanks last either way
      var nx = Number(x), ny = Number(y);
      var r = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y, undefined, {numeric: true});
      return asc ? r : -r;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }

  document.addEventListener("click", function (e) {
    var show = e.target.closest("[data-show]");
    if (show) { showExamples(show.getAttribute("data-show")); return; }
    var th = e.target.closest("table.sortable th");
    if (th) sortBy(th);
  });

  function start() {
    var shown = document.getElementById("examples");
    if (shown) showExamples(shown.getAttribute("data-shown"));
    if (!window.Plotly) { document.documentElement.setAttribute("data-ready", "1"); return; }
    var drawn = Array.prototype.map.call(document.querySelectorAll("script[data-figure]"), draw);
    Promise.all(drawn).then(function () { document.documentElement.setAttribute("data-ready", "1"); });
    window.addEventListener("resize", sizeAll);
  }
  start();
})();
"""
