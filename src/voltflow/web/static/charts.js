/* Charts drawn with uPlot (vendor/uplot) from a page's JSON data island:
 *   <div class="chart" data-chart="ID"></div>
 *   <script type="application/json" id="ID">{"x": ["2026-12-01", …],
 *     "series": [{"label": "…", "kind": "bars"|"line", "unit": "kWh", "decimals": 1,
 *                 "values": […]}, …]}</script>
 * x holds calendar days, or with "period": "month" the first days of months (shown as months);
 * each series gets a scale and an axis of its own (the first on the left). Days and figures are written as the page's language writes them (<html lang>). */
(function () {
  "use strict";
  var LOCALES = { nl: "nl-BE", fr: "fr-BE", en: "en-GB" };
  var COLORS = ["#2f6fde", "#e07b00", "#2a9d5b", "#9b59b6"];
  var HEIGHT = 240;
  var DAY = 86400;

  function pageLocale() {
    var lang = (document.documentElement.lang || "en").toLowerCase();
    return LOCALES[lang] || lang;
  }

  function draw(el) {
    if (el.dataset.drawn || typeof uPlot === "undefined") return;
    var source = document.getElementById(el.dataset.chart);
    if (!source) return;
    var data = JSON.parse(source.textContent);
    var loc = pageLocale();
    // Noon UTC of each day, shown as a UTC date: the day stays the day in every time zone.
    var xs = data.x.map(function (d) { return Date.parse(d + "T12:00:00Z") / 1000; });
    var monthly = data.period === "month";
    var short = new Intl.DateTimeFormat(loc, monthly
      ? { month: "short", year: "numeric", timeZone: "UTC" }
      : { day: "numeric", month: "short", timeZone: "UTC" });
    var long = new Intl.DateTimeFormat(loc, monthly
      ? { month: "long", year: "numeric", timeZone: "UTC" }
      : { weekday: "short", day: "numeric", month: "long", year: "numeric", timeZone: "UTC" });
    var half = monthly ? 15 * DAY : DAY / 2;
    var series = [{ value: function (u, v) { return v == null ? "–" : long.format(new Date(v * 1000)); } }];
    var axes = [{
      // Months: a tick on each month's own day (a month has no single length to step by),
      // labelled as many as the width holds.
      splits: monthly ? function () { return xs; } : undefined,
      values: function (u, splits) {
        var room = Math.floor(u.bbox.width / (window.devicePixelRatio || 1) / 72);
        var step = monthly ? Math.ceil(splits.length / Math.max(1, room)) : 1;
        // Counted from the last: the current month always has its label.
        return splits.map(function (v, i) {
          return (splits.length - 1 - i) % step ? "" : short.format(new Date(v * 1000));
        });
      }
    }];
    var scales = {
      x: {
        time: true,
        range: function (u, min, max) { return [min - half, max + half]; }
      }
    };
    data.series.forEach(function (s, i) {
      var figures = new Intl.NumberFormat(loc, { maximumFractionDigits: s.decimals || 0 });
      var color = COLORS[i % COLORS.length];
      var scale = "y" + i;
      var bars = s.kind === "bars";
      scales[scale] = {
        range: function (u, min, max) { return [0, Math.max(max, s.decimals ? 1 : 4) * 1.1]; }
      };
      series.push({
        label: s.label,
        scale: scale,
        stroke: color,
        fill: bars ? color + "99" : undefined,
        width: bars ? 0 : 2,
        paths: bars ? uPlot.paths.bars({ size: [0.7, 40] }) : undefined,
        points: { show: !bars },
        value: function (u, v) {
          return v == null ? "–" : figures.format(v) + (s.unit ? " " + s.unit : "");
        }
      });
      axes.push({
        scale: scale,
        side: i === 0 ? 3 : 1,
        stroke: color,
        grid: { show: i === 0 },
        // Whole sessions: no ticks between them.
        incrs: s.decimals ? undefined : [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
        values: function (u, splits) {
          return splits.map(function (v) { return figures.format(v); });
        }
      });
    });
    var plot = new uPlot(
      { width: el.clientWidth || 600, height: HEIGHT, series: series, axes: axes, scales: scales },
      [xs].concat(data.series.map(function (s) { return s.values; })),
      el
    );
    el.dataset.drawn = "1";
    if (typeof ResizeObserver !== "undefined") {
      new ResizeObserver(function () {
        if (el.clientWidth) plot.setSize({ width: el.clientWidth, height: HEIGHT });
      }).observe(el);
    }
  }

  function drawAll(root) {
    (root || document).querySelectorAll("[data-chart]").forEach(draw);
  }

  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  document.addEventListener("htmx:afterSwap", function (e) { drawAll(e.target); });
})();
