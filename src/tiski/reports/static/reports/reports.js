/* Reports: draw each <figure data-chart> from its figure's table (Table.as_json(), in a JSON script inside it)
   with uPlot — bars or lines of the columns named in data-series — and open the cases behind a bar or point when
   it is clicked (data-cases, the cases page of this figure and filter, plus the row's drill-down parameters).
   The same numbers stand in an accessible table beside each chart; the chart itself is hidden from screen
   readers. Charts follow their container's width, and are drawn again when htmx swaps in fresh ones. */
(() => {
  "use strict";

  const lang = document.documentElement.lang || "en";
  const finnish = lang.startsWith("fi");
  const locale = finnish ? "fi-FI" : "en-GB";
  const whole = new Intl.NumberFormat(locale, { maximumFractionDigits: 0 });
  const decimal = new Intl.NumberFormat(locale, { maximumFractionDigits: 1 });
  const dayFormat = new Intl.DateTimeFormat(locale, finnish ? { day: "numeric", month: "numeric" } : { day: "numeric", month: "short" });
  const longDay = new Intl.DateTimeFormat(locale, { weekday: "short", day: "numeric", month: finnish ? "numeric" : "short" });
  const COLOURS = ["#3b5bdb", "#8c96a5", "#9db0f0", "#1f7a45"];
  const AXIS = { stroke: "#6b7585", font: "11px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    grid: { stroke: "#eceef2", width: 1 }, ticks: { show: false } };

  let words = null;
  function t(key, values) {
    if (words === null) {
      const script = document.getElementById("reports-i18n");
      words = script ? JSON.parse(script.textContent) : {};
    }
    let text = words[key] || key;
    for (const [name, value] of Object.entries(values || {})) text = text.replace(`%(${name})d`, value).replace(`%(${name})s`, value);
    return text;
  }

  /** SECONDS as "45 s", "4 min", "2 h 10 min", "3 d 4 h", as the server writes them. */
  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    const total = Math.max(Math.round(seconds), 0);
    if (total < 60) return t("s", { n: total });
    let minutes = Math.round(total / 60);
    if (minutes < 60) return t("min", { n: minutes });
    let hours = Math.floor(minutes / 60);
    minutes %= 60;
    if (hours < 24) return minutes ? t("hmin", { h: hours, m: minutes }) : t("h", { n: hours });
    const days = Math.floor(hours / 24);
    hours %= 24;
    return hours ? t("dh", { d: days, h: hours }) : t("d", { n: days });
  }

  function value(v, unit) {
    if (v === null || v === undefined || v === "") return "–";
    switch (unit) {
      case "seconds": return duration(v);
      case "percent": return finnish ? `${decimal.format(v)} %` : `${decimal.format(v)}%`;
      case "number": return decimal.format(v);
      case "count": return whole.format(v);
      default: return String(v);
    }
  }

  /** Axis steps a person reads at a glance: whole minutes, hours and days; whole counts; round percentages. */
  const STEPS = {
    seconds: [60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 14400, 21600, 43200, 86400, 172800, 259200, 432000, 604800, 1209600],
    percent: [1, 2, 5, 10, 20, 25, 50],
    count: [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 50000, 100000],
  };

  /** Axis ticks: durations in whole minutes, hours or days, percentages without decimals. */
  function tick(v, unit) {
    if (unit === "seconds") {
      if (v === 0) return "0";
      if (v < 3600) return t("min", { n: Math.round(v / 60) });
      return v < 172800 ? t("h", { n: whole.format(v / 3600) }) : t("d", { n: Math.round(v / 86400) });
    }
    if (unit === "percent") return finnish ? `${whole.format(v)} %` : `${whole.format(v)}%`;
    return Number.isInteger(v) ? whole.format(v) : decimal.format(v);
  }

  function localDay(iso) {
    const [y, m, d] = String(iso).slice(0, 10).split("-").map(Number);
    return new Date(y, m - 1, d);
  }

  /** The x values and how they read: days on a time scale, hours 0–23, else the rows' order with their labels. */
  function xAxis(table) {
    const rows = table.rows;
    if (table.by === "day") {
      return {
        values: rows.map((r) => localDay(r.key).getTime() / 1000),
        time: true,
        step: 86400,
        label: (x) => longDay.format(new Date(x * 1000)),
        ticks: (u, splits) => splits.map((s) => dayFormat.format(new Date(s * 1000))),
      };
    }
    if (table.by === "hour") {
      return {
        values: rows.map((r) => Number(r.key)),
        time: false,
        step: 1,
        label: (x) => `${String(x).padStart(2, "0")}:00–${String(x).padStart(2, "0")}:59`,
        ticks: (u, splits) => splits.map((s) => (Number.isInteger(s) ? String(s).padStart(2, "0") : "")),
        splits: (u) => {
          const every = u.width < 420 ? 3 : u.width < 700 ? 2 : 1;
          return [...Array(24).keys()].filter((h) => h % every === 0);
        },
      };
    }
    const labels = rows.map((r) => String(r.label ?? r.key ?? "–"));
    return {
      values: rows.map((r, i) => i),
      time: false,
      step: 1,
      label: (x) => labels[x] ?? "",
      ticks: (u, splits) => {
        const room = Math.max(4, Math.floor(u.bbox.width / devicePixelRatio / Math.max(labels.length, 1) / 7));
        return splits.map((s) => {
          const text = labels[s] ?? "";
          return text.length > room ? `${text.slice(0, room - 1)}…` : text;
        });
      },
      splits: () => labels.map((l, i) => i),
    };
  }

  /** A table per day with a row for every day from START to END: nothing counted is 0, nothing measured a gap. */
  function everyDay(table, start, end) {
    const byDay = new Map(table.rows.map((row, i) => [String(row.key).slice(0, 10), i]));
    const rows = [];
    const drill = [];
    const iso = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
    for (let day = localDay(start); day <= localDay(end); day.setDate(day.getDate() + 1)) {
      const key = iso(day);
      const i = byDay.get(key);
      if (i !== undefined) {
        rows.push(table.rows[i]);
        drill.push(table.drill[i]);
      } else {
        const empty = { key, label: key };
        for (const c of table.columns) if (!(c.key in empty)) empty[c.key] = c.unit === "count" ? 0 : null;
        rows.push(empty);
        drill.push(null);
      }
    }
    return { ...table, rows, drill };
  }

  function draw(fig) {
    if (fig._chart) {
      fig._chart.destroy();
      fig._chart = null;
    }
    const script = fig.querySelector("script[type='application/json']");
    const plot = fig.querySelector(".rchart__plot");
    if (!script || !plot || typeof uPlot === "undefined") return;
    let table = JSON.parse(script.textContent);
    if (table.by === "day" && fig.dataset.start && fig.dataset.end && table.rows.length) {
      table = everyDay(table, fig.dataset.start, fig.dataset.end);
    }
    const keys = (fig.dataset.series || "").split(",").filter(Boolean);
    const columns = keys.map((k) => table.columns.find((c) => c.key === k)).filter(Boolean);
    if (!table.rows.length || !columns.length) {
      plot.classList.add("rchart__plot--empty");
      plot.textContent = fig.dataset.empty || "";
      return;
    }
    const unit = columns[0].unit;
    const x = xAxis(table);
    const bars = fig.dataset.kind === "bar";
    const data = [x.values, ...columns.map((c) => table.rows.map((r) => (r[c.key] === undefined ? null : r[c.key])))];
    const series = [{ value: (u, v) => (v === null ? "" : x.label(v)) }];
    columns.forEach((c, i) => {
      const colour = COLOURS[i % COLOURS.length];
      const asBar = bars && i === 0;
      series.push({
        label: c.label,
        stroke: colour,
        width: asBar ? 0 : i === 0 ? 2 : 1.5,
        fill: asBar ? "rgba(59, 91, 219, 0.82)" : undefined,
        dash: i === 0 ? undefined : [5, 4],
        spanGaps: true,
        paths: asBar ? uPlot.paths.bars({ size: [0.7, 36], gap: 1, radius: 0.1 }) : undefined,
        points: { show: !asBar && table.rows.length <= 45, size: 5, fill: "#fff" },
        value: (u, v) => value(v, c.unit),
      });
    });
    const pad = x.step / 2;
    const legend = fig.querySelector(".rchart__legend");
    const opts = {
      width: Math.max(plot.clientWidth, 120),
      height: Math.max(plot.clientHeight, 80),
      series,
      legend: { show: false },
      padding: [8, 8, 0, 0],
      cursor: { drag: { x: false, y: false }, points: { size: 7 }, y: false },
      scales: {
        x: {
          time: x.time,
          range: (u, min, max) => [(min ?? 0) - pad, (max ?? 0) + pad],
        },
        y: {
          range: (u, min, max) => {
            const top = unit === "percent" ? Math.max(100, max || 0) : Math.max(max || 0, 1) * 1.1;
            return [0, top];
          },
        },
      },
      axes: [
        { ...AXIS, grid: { show: false }, values: x.ticks, splits: x.splits, space: x.time ? 56 : 24, incrs: x.time ? [86400, 2 * 86400, 7 * 86400, 14 * 86400, 28 * 86400] : undefined },
        { ...AXIS, size: unit === "seconds" ? 64 : 48, incrs: STEPS[unit], values: (u, splits) => splits.map((s) => tick(s, unit)) },
      ],
      hooks: {
        setCursor: [(u) => readout(u, fig, legend, table, columns, x)],
      },
    };
    const chart = new uPlot(opts, data, plot);
    fig._chart = chart;
    readout(chart, fig, legend, table, columns, x);

    const cases = fig.dataset.cases || "";
    chart.over.addEventListener("click", () => {
      const url = rowUrl(cases, table.drill, chart.cursor.idx);
      if (url) window.location.assign(url);
    });
    if (!fig._resize) {
      fig._resize = new ResizeObserver(() => {
        if (fig._chart && plot.clientWidth > 0) fig._chart.setSize({ width: plot.clientWidth, height: plot.clientHeight });
      });
      fig._resize.observe(plot);
    }
  }

  /** The URL of the cases behind row IDX, or "" (no drill-down for that row). */
  function rowUrl(cases, drill, idx) {
    if (!cases || idx === null || idx === undefined || !drill || !drill[idx]) return "";
    const url = new URL(cases, window.location.href);
    for (const [k, v] of Object.entries(drill[idx])) url.searchParams.set(k, v);
    return url.pathname + url.search;
  }

  /** The line above the chart: the hovered row's values, or what each series is. */
  function readout(u, fig, legend, table, columns, x) {
    if (!legend) return;
    const idx = u.cursor.idx;
    const hovering = idx !== null && idx !== undefined;
    const parts = [];
    if (hovering) parts.push(`<span class="rchart__at">${escape(x.label(u.data[0][idx]))}</span>`);
    columns.forEach((c, i) => {
      const v = hovering ? ` <b>${escape(value(u.data[i + 1][idx], c.unit))}</b>` : "";
      parts.push(`<span class="rchart__key rchart__key--${i}">${escape(c.label)}${v}</span>`);
    });
    legend.innerHTML = parts.join("");
    u.over.style.cursor = hovering && table.drill && table.drill[idx] ? "pointer" : "default";
  }

  function escape(text) {
    return String(text).replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch]);
  }

  function init(root) {
    const scope = root && root.querySelectorAll ? root : document;
    const figures = scope.matches && scope.matches("figure[data-chart]") ? [scope] : scope.querySelectorAll("figure[data-chart]");
    figures.forEach((fig) => {
      try {
        draw(fig);
      } catch (error) {
        fig.classList.add("rchart--table");
        console.error("reports: chart not drawn", error);
      }
    });
  }

  /* "Table" beside each chart: the same numbers, shown instead of the chart. */
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-chart-table]");
    if (!button) return;
    const fig = button.closest("figure[data-chart]");
    const on = !fig.classList.contains("rchart--table");
    fig.classList.toggle("rchart--table", on);
    button.setAttribute("aria-pressed", on ? "true" : "false");
    if (!on) draw(fig);
  });

  /* The figure picker: open the chosen figure with the same period and filters (its own default grouping). */
  document.addEventListener("change", (event) => {
    const select = event.target.closest("select[data-figure-pick]");
    if (!select) return;
    const params = new URLSearchParams(window.location.search);
    params.delete("by");
    const query = params.toString();
    window.location.assign(select.value + (query ? `?${query}` : ""));
  });

  if (window.htmx) window.htmx.onLoad(init);
  else if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => init(document));
  else init(document);
})();
