// The node's dashboard: renders the JSON state the node sends (inline first, then over a WebSocket).
// No library and no network access beyond this node: charts are SVG drawn here.
"use strict";
(function () {
  const SVG = "http://www.w3.org/2000/svg";
  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, text) {
    const node = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = String(text);
    return node;
  }
  function set(id, text) { const n = $(id); if (n.textContent !== String(text)) n.textContent = String(text); }
  function short(hex) { return hex.slice(0, 10) + "…" + hex.slice(-6); }
  function duration(s) {
    const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
    return d ? `${d}d ${h}h` : h ? `${h}h ${m}m` : `${m}m ${Math.floor(s % 60)}s`;
  }
  function bytes(n) {
    const u = ["B", "KB", "MB", "GB", "TB"]; let i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return n.toFixed(i ? 1 : 0) + " " + u[i];
  }
  function yesNo(v) { return v === null ? "–" : v ? "yes" : "no"; }

  // this epoch's signing as a bar, with the 2/3 eviction line and the operator's target
  function signingBar(k, targetBp) {
    const svg = el("svg:svg", { width: 160, height: 18, viewBox: "0 0 160 18", class: "bar" });
    const ratio = k.epoch_to_sign ? k.epoch_signed / k.epoch_to_sign : 0;
    svg.appendChild(el("svg:rect", { x: 0, y: 3, width: 160, height: 12, fill: "#263049" }));
    const colour = ratio * 10000 >= targetBp ? "#3ecf8e" : ratio >= 2 / 3 ? "#f5b942" : "#ff5c5c";
    svg.appendChild(el("svg:rect", { x: 0, y: 3, width: 160 * ratio, height: 12, fill: colour }));
    svg.appendChild(el("svg:line", { x1: 160 * 2 / 3, x2: 160 * 2 / 3, y1: 0, y2: 18, stroke: "#ff5c5c", "stroke-width": 2 }));
    const t = 160 * targetBp / 10000;
    svg.appendChild(el("svg:line", { x1: t, x2: t, y1: 0, y2: 18, stroke: "#3ecf8e", "stroke-width": 2 }));
    return svg;
  }

  // the last blocks the key had to sign: one square each, green signed, red missed
  function timeline(k) {
    const n = k.timeline.length, w = 3;
    const svg = el("svg:svg", { width: 120 * w, height: 14, viewBox: `0 0 ${120 * w} 14`, class: "timeline" });
    k.timeline.forEach(([number, signed], i) => {
      const r = el("svg:rect", { x: (120 - n + i) * w, y: 1, width: w - 0.5, height: 12, fill: signed ? "#3ecf8e" : "#ff5c5c" });
      r.appendChild(el("svg:title", {}, `block ${number}: ${signed ? "signed" : "missed"}`));
      svg.appendChild(r);
    });
    return svg;
  }

  function renderKeys(state) {
    const body = document.querySelector("#keys tbody");
    body.replaceChildren();
    for (const k of state.keys) {
      const row = el("tr", { "data-key": k.key, class: k.mine ? "mine" : "" });
      const pct = k.epoch_to_sign ? (100 * k.epoch_signed / k.epoch_to_sign).toFixed(2) + " %" : "–";
      const epochCell = el("td", { class: "epoch" });
      epochCell.appendChild(signingBar(k, state.signing.target_bp));
      epochCell.appendChild(el("span", { class: "epoch-numbers" }, ` ${k.epoch_signed}/${k.epoch_to_sign} (${pct})`));
      row.appendChild(el("td", { class: "key", title: k.key }, short(k.key)));
      row.appendChild(epochCell);
      row.appendChild(el("td", { class: "signed" }, k.signed));
      row.appendChild(el("td", { class: "missed" }, k.missed));
      row.appendChild(el("td", { class: "last-signed" }, k.last_signed === null ? "never" : k.last_signed));
      row.appendChild(el("td", { class: "streak" + (k.missed_streak ? " no" : "") }, k.missed_streak));
      row.appendChild(el("td", { class: "elected-now " + (k.elected_now ? "yes" : "no") }, yesNo(k.elected_now)));
      row.appendChild(el("td", { class: "elected-next " + (k.elected_next === false ? "no" : "yes") }, yesNo(k.elected_next)));
      const stake = k.effective_stake === null ? "–" : Number(k.effective_stake).toFixed(0) +
        (state.median_stake ? ` (median ${Number(state.median_stake).toFixed(0)})` : "");
      row.appendChild(el("td", { class: "stake" }, stake));
      const tl = el("td", { class: "timeline" }); tl.appendChild(timeline(k)); row.appendChild(tl);
      body.appendChild(row);
    }
    const s = state.signing, range = $("signing-range");
    range.dataset.first = s.first_block === null ? "" : s.first_block;
    range.dataset.last = s.last_block === null ? "" : s.last_block;
    range.textContent = s.first_block === null ? "No block counted yet." :
      `Counted blocks ${s.first_block}–${s.last_block}. Target ${(s.target_bp / 100).toFixed(2)} %: ` +
      `at most ${s.epoch_miss_budget} missed blocks per epoch.`;
  }

  // atto (a decimal string) in ONE with four decimals, exactly (BigInt: no float rounding)
  function one(atto) {
    const a = BigInt(atto), whole = a / 10n ** 18n, frac = (a % 10n ** 18n) / 10n ** 14n;
    return whole.toLocaleString("en-US") + "." + frac.toString().padStart(4, "0") + " ONE";
  }
  // an 18-decimal fraction string as a percentage with two decimals (display only)
  function percent(dec) { return (100 * Number(dec)).toFixed(2) + " %"; }

  function renderRewards(state) {
    const body = document.querySelector("#rewards tbody"), note = $("rewards-block");
    body.replaceChildren();
    const rows = state.rewards || [];
    note.dataset.block = rows.length ? rows[0].block : "";
    note.textContent = rows.length ? `At block ${rows[0].block}; APR since this epoch's start.` :
      state.node.shard === 0 ? "No watched key holds a staked seat this epoch or the next." :
      "Rewards are kept on the beacon chain: open a shard-0 node's dashboard.";
    for (const r of rows) {
      const tr = el("tr", { "data-validator": r.validator });
      tr.appendChild(el("td", { class: "validator" }, r.validator));
      tr.appendChild(el("td", { class: "keys", title: r.keys.join("\n") }, r.keys.map(short).join(", ")));
      tr.appendChild(el("td", { class: "reward", "data-atto": r.reward_atto }, one(r.reward_atto)));
      tr.appendChild(el("td", { class: "apr", "data-apr": r.apr }, percent(r.apr)));
      body.appendChild(tr);
    }
  }

  function renderAlerts(state) {
    const list = $("alerts");
    list.replaceChildren();
    for (const a of state.alerts) {
      const item = el("li", { class: a.severity, "data-rule": a.rule, "data-subject": a.subject },
        `${a.severity.toUpperCase()}: ${a.message} (since ${new Date(a.since * 1000).toLocaleTimeString()})`);
      list.appendChild(item);
    }
    if (!state.alerts.length) list.appendChild(el("li", { class: "none" }, "No open alert."));
    set("alert-count", state.alerts.length);
    const events = $("events");
    events.replaceChildren();
    for (const e of state.events.slice(0, 20)) {
      events.appendChild(el("li", { "data-status": e.status },
        `${new Date(e.at * 1000).toLocaleTimeString()} ${e.status}: ${e.message}`));
    }
  }

  function renderIntervals(state) {
    const svg = $("intervals"), pts = state.intervals;
    svg.replaceChildren();
    if (!pts.length) return;
    const max = Math.max(2, ...pts.map((p) => p[1]));
    const x = (i) => pts.length === 1 ? 300 : 600 * i / (pts.length - 1);
    const y = (v) => 130 - 120 * v / max;
    for (let g = 1; g <= max; g *= 2) {
      svg.appendChild(el("svg:line", { x1: 0, x2: 600, y1: y(g), y2: y(g), stroke: "#263049" }));
      svg.appendChild(el("svg:text", { x: 4, y: y(g) - 2, fill: "#8b93a7", "font-size": 10 }, `${g} s`));
    }
    svg.appendChild(el("svg:polyline", {
      points: pts.map((p, i) => `${x(i).toFixed(1)},${y(p[1]).toFixed(1)}`).join(" "),
      fill: "none", stroke: "#6ea8fe", "stroke-width": 2,
    }));
  }

  // every configured node, by shard then name; this node first in its shard
  function renderNetwork(state) {
    const section = $("network-section"), body = document.querySelector("#network tbody");
    section.hidden = state.network.length === 0;
    body.replaceChildren();
    const rows = state.network.slice().sort((a, b) => {
      const sa = a.summary ? a.summary.shard : 1e9, sb = b.summary ? b.summary.shard : 1e9;
      return sa - sb || (a.url === "" ? -1 : b.url === "" ? 1 : (a.summary?.name || a.url).localeCompare(b.summary?.name || b.url));
    });
    for (const row of rows) {
      const tr = el("tr", { "data-url": row.url, class: row.url === "" ? "mine" : "" });
      if (row.summary) {
        const s = row.summary;
        for (const [cls, v] of [["name", s.name], ["shard", s.shard], ["height", s.height], ["epoch", s.epoch],
          ["view", s.view + (s.leader ? " (leader)" : "")], ["peers", s.peers], ["lag", s.sync_lag], ["keys", s.keys],
          ["streak", s.missed_streak_max], ["alerts", s.alerts]]) {
          tr.appendChild(el("td", { class: cls + ((cls === "streak" || cls === "alerts") && v ? " no" : "") }, v));
        }
      } else {
        tr.appendChild(el("td", { class: "name" }, row.url));
        tr.appendChild(el("td", { class: "error no", colspan: 9 }, "unreachable: " + row.error));
      }
      body.appendChild(tr);
    }
  }

  function render(state) {
    const n = state.node;
    set("node-name", state.name);
    set("node-network", n.network);
    set("node-shard", n.shard);
    set("node-epoch", n.epoch);
    set("node-height", n.height);
    set("node-lag", n.sync_lag);
    set("node-peers", n.peers);
    set("node-view", n.view + (n.leader ? " (leader)" : ""));
    set("node-pool", n.pool);
    set("node-version", n.version);
    set("node-uptime", duration(n.uptime));
    set("node-disk", state.disk ? `${bytes(state.disk.free)} (${Math.floor(100 * state.disk.free / state.disk.total)} %)` : "–");
    renderKeys(state);
    renderRewards(state);
    renderAlerts(state);
    renderIntervals(state);
    renderNetwork(state);
    document.body.dataset.height = n.height;
  }

  function connect() {
    const status = $("ws-status");
    const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
    ws.onopen = () => { status.textContent = "live"; status.className = "badge live"; };
    ws.onmessage = (msg) => render(JSON.parse(msg.data));
    ws.onclose = () => {
      status.textContent = "disconnected"; status.className = "badge down";
      setTimeout(connect, 2000);
    };
  }

  if (window.INITIAL_STATE) render(window.INITIAL_STATE);
  connect();
})();
