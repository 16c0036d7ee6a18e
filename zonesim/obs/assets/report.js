// zonesim report: draws the zone map of the selected step from the embedded JSON.
// No network: everything this page needs is in this file.
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("data").textContent);
  const shape = data.shape, rows = data.rows, states = data.states;
  const MT = shape.migratetypes;  // index -> kernel name
  // One colour per migratetype (pageblock strips and free lists use the same ones).
  const COLOUR = {UNMOVABLE: "#e15759", MOVABLE: "#59a14f", RECLAIMABLE: "#f28e2b",
                  HIGHATOMIC: "#b07aa1", CMA: "#4e79a7", ISOLATE: "#3b3b3b"};
  const ALLOCATED = "#bab0ac", PCP = "#edc948", HIGHLIGHT = "#ff00ff";
  const pbPages = 1 << shape.pageblock_order;
  const nrPb = Math.ceil((shape.start_pfn + shape.pages - shape.first_pageblock_pfn) / pbPages);
  const LABEL = 150, WIDTH = 720;
  const ROW = nrPb > 64 ? 10 : nrPb > 16 ? 18 : 34;
  const canvas = document.getElementById("map");
  canvas.width = LABEL + WIDTH + 10;
  canvas.height = nrPb * (ROW + 4) + 8;
  const ctx = canvas.getContext("2d");
  const hex = (n) => "0x" + n.toString(16);

  function head() {
    const m = data.meta, h = document.getElementById("head");
    const esc = (s) => String(s).replace(/[&<>]/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;"}[c]));
    let out = "<h1>" + esc(m.scenario) + " under " + esc(m.policy) + "</h1>";
    out += "<div class=violation>VIOLATION " + esc(m.invariant) + ": " + esc(m.message) + "</div>";
    out += "<div>strategy " + esc(m.strategy) + ", seed " + esc(m.seed) +
           (m.reproduced ? ", reproduced" : ", NOT reproduced") + "</div>";
    out += "<div>replay <code>" + esc(m.replay) + "</code></div>";
    out += "<div>schedule <code>" + esc(m.schedule) + "</code></div>";
    if (data.switches.length) {
      out += "<div>preemptions:</div><ul>" +
             data.switches.map((s) => "<li>" + esc(s) + "</li>").join("") + "</ul>";
    }
    h.innerHTML = out;
  }

  function table() {
    const t = document.getElementById("trace");
    let h = "<tr><th>step</th>" + data.cpus.map((c) => "<th>" + c.toUpperCase() + "</th>").join("") + "</tr>";
    rows.forEach((r, i) => {
      const cls = r.cpu === null ? "end" : (r.op ? "op" : "");
      h += "<tr data-i=" + i + " class='" + cls + "'><td class=step>" + r.step + "</td>";
      data.cpus.forEach((c, j) => {
        const text = r.cpu === null ? (j === 0 ? r.text : "") : (r.cpu === j ? r.text : "");
        h += "<td>" + text.replace(/[&<>]/g, (x) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;"}[x])) + "</td>";
      });
      h += "</tr>";
    });
    t.innerHTML = h;
    t.addEventListener("click", (ev) => {
      const tr = ev.target.closest("tr[data-i]");
      if (tr) select(Number(tr.dataset.i));
    });
  }

  function legend() {
    const l = document.getElementById("legend");
    let h = MT.map((n) => "<span><span class=sw style='background:" + COLOUR[n] + "'></span>" + n + "</span>").join("");
    h += "<span><span class=sw style='background:" + ALLOCATED + "'></span>allocated</span>";
    h += "<span><span class=sw style='background:" + PCP + "'></span>on a pcp list</span>";
    h += "<span><span class=sw style='background:#fff;border:2px solid " + HIGHLIGHT + "'></span>the invariant's pageblock</span>";
    h += "<span>free blocks: filled with their list's colour, order written; left strip: pageblock type; hatched: isolated</span>";
    l.innerHTML = h;
  }

  // pfn -> x inside a pageblock row, and the row of a pfn
  const rowOf = (pfn) => Math.floor((pfn - shape.first_pageblock_pfn) / pbPages);
  const xOf = (pfn) => LABEL + ((pfn - shape.first_pageblock_pfn) % pbPages) * WIDTH / pbPages;
  const yOf = (row) => 4 + row * (ROW + 4);

  // A span of pages [pfn, pfn + n) may cover several pageblock rows.
  function span(pfn, n, draw) {
    let p = pfn;
    const end = pfn + n;
    while (p < end) {
      const r = rowOf(p);
      const rowEnd = shape.first_pageblock_pfn + (r + 1) * pbPages;
      const q = Math.min(end, rowEnd);
      draw(xOf(p), yOf(r), Math.max(1, (q - p) * WIDTH / pbPages), r);
      p = q;
    }
  }

  function hatch(x, y, w, h) {
    ctx.save();
    ctx.beginPath(); ctx.rect(x, y, w, h); ctx.clip();
    ctx.strokeStyle = "rgba(200,0,0,0.55)"; ctx.lineWidth = 2;
    for (let d = -h; d < w; d += 10) { ctx.beginPath(); ctx.moveTo(x + d, y + h); ctx.lineTo(x + d + h, y); ctx.stroke(); }
    ctx.restore();
  }

  function draw(st) {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.font = (ROW > 20 ? 12 : 9) + "px monospace";
    ctx.textBaseline = "middle";
    for (let b = 0; b < nrPb; b++) {
      const y = yOf(b), name = MT[st.pageblocks[b]];
      ctx.fillStyle = COLOUR[name];  // the pageblock's type: the label strip
      ctx.fillRect(0, y, LABEL - 6, ROW);
      ctx.fillStyle = "#f4f4f4";
      ctx.fillRect(LABEL, y, WIDTH, ROW);
      ctx.fillStyle = "#fff";
      if (ROW > 12) {
        let label = hex(shape.first_pageblock_pfn + b * pbPages) + " " + name;
        if (name === "ISOLATE" && MT[st.original[b]] !== "ISOLATE") label += " (" + MT[st.original[b]] + ")";
        ctx.fillText(label, 4, y + ROW / 2);
      }
    }
    st.allocated.forEach(([pfn, n]) => span(pfn, n, (x, y, w) => {
      ctx.fillStyle = ALLOCATED; ctx.fillRect(x, y + 2, w, ROW - 4);
    }));
    st.free.forEach(([pfn, order, mt]) => span(pfn, 1 << order, (x, y, w) => {
      ctx.fillStyle = COLOUR[MT[mt]]; ctx.fillRect(x, y + 2, w, ROW - 4);
      ctx.strokeStyle = "#fff"; ctx.lineWidth = 1; ctx.strokeRect(x + 0.5, y + 2.5, w - 1, ROW - 5);
      if (w > 28 && ROW > 12) { ctx.fillStyle = "#fff"; ctx.fillText("o" + order, x + 3, y + ROW / 2); }
    }));
    st.pcp.forEach(([cpu, pfn, order]) => span(pfn, 1 << order, (x, y, w) => {
      ctx.fillStyle = PCP; ctx.fillRect(x, y + 2, Math.max(w, 2), ROW - 4);
      if (w > 24 && ROW > 12) { ctx.fillStyle = "#000"; ctx.fillText("cpu" + cpu, x + 2, y + ROW / 2); }
    }));
    for (let b = 0; b < nrPb; b++) {
      if (MT[st.pageblocks[b]] === "ISOLATE") hatch(LABEL, yOf(b), WIDTH, ROW);
    }
    st.walking.forEach(([s, e]) => span(s, e - s, (x, y, w) => {
      ctx.save(); ctx.setLineDash([4, 3]); ctx.strokeStyle = "#000"; ctx.lineWidth = 1.5;
      ctx.strokeRect(x + 1, y + 1, w - 2, ROW - 2); ctx.restore();
    }));
    if (data.highlight_pfn !== null && data.highlight_pfn !== undefined) {
      const r = rowOf(data.highlight_pfn);
      if (r >= 0 && r < nrPb) {
        ctx.strokeStyle = HIGHLIGHT; ctx.lineWidth = 3;
        ctx.strokeRect(1.5, yOf(r) - 1.5, LABEL + WIDTH - 3, ROW + 3);
      }
    }
    const c = document.getElementById("counters");
    c.innerHTML = Object.entries(st.counters).map(([k, v]) => "<tr><td>" + k + "</td><td>" + v + "</td></tr>").join("");
  }

  const slider = document.getElementById("slider");
  function select(i) {
    i = Math.max(0, Math.min(rows.length - 1, i));
    slider.value = String(i);
    const r = rows[i];
    draw(states[r.state]);
    document.getElementById("where").textContent =
      "row " + i + "/" + (rows.length - 1) + ", step " + r.step + ": " + r.text;
    document.querySelectorAll("#trace tr[data-i]").forEach((tr) => {
      const j = Number(tr.dataset.i);
      tr.classList.toggle("current", j === i);
      tr.classList.toggle("future", j > i);
    });
    document.body.dataset.row = String(i);
  }
  slider.max = String(rows.length - 1);
  slider.addEventListener("input", () => select(Number(slider.value)));
  document.getElementById("prev").addEventListener("click", () => select(Number(slider.value) - 1));
  document.getElementById("next").addEventListener("click", () => select(Number(slider.value) + 1));
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "ArrowLeft") select(Number(slider.value) - 1);
    if (ev.key === "ArrowRight") select(Number(slider.value) + 1);
  });
  head(); table(); legend();
  const m = /[#&]row=(\d+)/.exec(location.hash);
  select(m ? Number(m[1]) : rows.length - 1);
})();
