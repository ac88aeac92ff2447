// The backprop explorer's page script. It reads the trace Python embedded in the page and
// only displays it: every number was computed (and formatted) in Python. User text goes
// in with textContent, never as markup. Plain ES5 so any browser opens the page.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("trace").textContent);
  var nodes = data.nodes, steps = data.steps, root = data.root;
  var $ = function (id) { return document.getElementById(id); };
  var each = function (list, f) { Array.prototype.forEach.call(list, f); };
  var pane = $("graph");
  var svg = pane.querySelector("svg");

  // --- the SVG: dot names its groups in <title>: n3, n3_op, n0->n3_op -----------------
  var groupOf = {}, edges = [], valueIndex = {};
  each(svg.querySelectorAll("g.node"), function (g) {
    var t = g.querySelector("title");
    if (t) { groupOf[t.textContent.trim()] = g; }
  });
  each(svg.querySelectorAll("g.edge"), function (g) {
    var t = g.querySelector("title");
    var ends = t ? t.textContent.split("->") : [];
    if (ends.length === 2) {
      edges.push({ tail: ends[0].trim().split(":")[0], head: ends[1].trim().split(":")[0],
                   title: t.textContent.trim(), g: g });
    }
  });
  nodes.forEach(function (n, i) { valueIndex[n.id] = i; });
  // each value box's data and grad cells (Python found their positions among its texts)
  var cells = nodes.map(function (n) {
    var g = groupOf[n.id];
    if (!g || !n.texts) { return { data: null, grad: null }; }
    var texts = g.querySelectorAll("text");
    return { data: texts[n.texts[0]] || null, grad: texts[n.texts[1]] || null };
  });

  // --- frames: start, one per forward node, the seed, one per backward rule, done -------
  var frames = [];
  var computed = nodes.map(function (n) { return n.parents.length === 0; });
  var grads = nodes.map(function () { return data.zero.grad; });
  function snapshot(frame) {
    frame.computed = computed.slice();
    frame.grads = grads.slice();
    frames.push(frame);
  }
  snapshot({ kind: "start", changed: [] });
  data.forward.forEach(function (i, k) {
    computed[i] = true;
    snapshot({ kind: "forward", node: i, number: k + 1, changed: [i] });
  });
  grads[root] = "grad " + nodes[root].final;
  var seedFrame = frames.length;
  snapshot({ kind: "seed", node: root, changed: [root] });
  steps.forEach(function (s, k) {
    var changed = [];
    s.contributions.forEach(function (c) {
      grads[c.parent] = "grad " + c.after;
      changed.push(c.parent);
    });
    snapshot({ kind: "step", node: s.node, step: s, number: k + 1, changed: changed });
  });
  snapshot({ kind: "done", changed: [] });
  var last = frames.length - 1;

  // --- panel text: parts are strings, node indices (names) or [index] (names in d-notation)
  function nameSpan(i) {
    var span = document.createElement("span");
    span.className = "name";
    span.textContent = nodes[i].name;
    span.setAttribute("data-node", String(i));
    return span;
  }
  function write(parent, parts) {
    parts.forEach(function (part) {
      if (typeof part === "string") {
        parent.appendChild(document.createTextNode(part));
      } else if (typeof part === "number") {
        parent.appendChild(nameSpan(part));
      } else {
        var i = part[0], wrap = nodes[i].dname !== nodes[i].name;
        if (wrap) { parent.appendChild(document.createTextNode("(")); }
        parent.appendChild(nameSpan(i));
        if (wrap) { parent.appendChild(document.createTextNode(")")); }
      }
    });
    return parent;
  }
  function para(parent, cls, parts, tag) {
    var p = document.createElement(tag || "p");
    p.className = cls;
    write(p, parts);
    parent.appendChild(p);
    return p;
  }
  function list(parent, items, coded) {
    var ol = document.createElement("ol");
    items.forEach(function (parts) {
      var li = document.createElement("li");
      if (coded) { write(li.appendChild(document.createElement("code")), parts); }
      else { write(li, parts); }
      ol.appendChild(li);
    });
    parent.appendChild(ol);
    return ol;
  }

  function explain(frame) {
    var box = $("explain");
    box.textContent = "";
    if (frame.kind === "start") {
      para(box, "formula", ["Forward pass: the leaves hold their values."]);
      para(box, "note", ["Press Step (or \u2192) to compute the other values one by one, in " +
                         "the order of the graph, up to ", root, "."]);
    } else if (frame.kind === "forward") {
      para(box, "formula", ["Forward " + frame.number + " of " + data.forward.length + ":"]);
      write(box.appendChild(document.createElement("code")), nodes[frame.node].forward);
      if (frame.number === data.forward.length) {
        para(box, "note", ["The forward pass is done. Next, backward sends \u2202", [root],
                           "/\u2202node from ", root, " back to every node."]);
      }
    } else if (frame.kind === "seed") {
      para(box, "formula", ["Backward pass starts at the output."]);
      write(box.appendChild(document.createElement("code")), data.seed);
    } else if (frame.kind === "step") {
      var s = frame.step;
      para(box, "formula", ["Rule " + frame.number + " of " + steps.length + ": "]
           .concat(s.formula));
      para(box, "upstream", s.upstream);
      var ol = list(box, s.contributions.map(function (c) { return c.text; }), true);
      s.contributions.forEach(function (c, k) {
        para(ol.children[k], "change", c.change);
      });
    } else {
      para(box, "formula", ["Backward is done: every .grad holds \u2202", [root],
                            "/\u2202node."]);
      para(box, "note", ["Nodes are coloured by their grad (red above zero, blue below, " +
                         "stronger for larger |grad|), edges by the contribution they " +
                         "carried. Click any node for its value, its local derivatives " +
                         "and every contribution to its grad."]);
    }
  }

  function details(i) {
    var n = nodes[i], box = $("explain");
    box.textContent = "";
    var div = box.appendChild(document.createElement("div"));
    div.className = "details";
    var h = para(div, "", [i], "h3");
    var role = h.appendChild(document.createElement("span"));
    role.className = "role";
    role.textContent = " " + n.role + (n.op ? ", op " + n.op : ", leaf");
    if (n.formula) { write(div.appendChild(document.createElement("code")), n.formula); }
    para(div, "", [i, ".data = " + n.value + ",  ", i, ".grad = \u2202", [root], "/\u2202",
                   [i], " = " + n.final]);
    if (n.locals && n.locals.length) {
      para(div, "", ["Local derivatives:"]);
      list(div, n.locals, true);
    }
    para(div, "", ["Contributions to its grad:"]);
    if (n.received.length) {
      list(div, n.received, true);
      para(div, "", ["sum = " + n.final + " = ", i, ".grad"]);
    } else {
      para(div, "note", ["none: nothing downstream depends on it, so its grad stays 0."]);
    }
    if (n.check) { para(div, "check", n.check); }
    if (n.update) { para(div, "check", n.update); }
    para(div, "note", ["Step or press \u2192 to go on with the passes."]);
  }

  // --- the table: one row per node, in graph order --------------------------------------
  var rows = nodes.map(function (n, i) {
    var tr = document.createElement("tr"), name = document.createElement("td");
    var value = document.createElement("td"), grad = document.createElement("td");
    tr.setAttribute("data-node", n.id);
    name.appendChild(nameSpan(i));
    value.className = "num";
    grad.className = "num grad";
    tr.appendChild(name); tr.appendChild(value); tr.appendChild(grad);
    tr.addEventListener("click", function () { select(i); });
    $("grads").tBodies[0].appendChild(tr);
    return { tr: tr, data: value, grad: grad };
  });

  // --- zoom and pan: the view is a scale (CSS px per SVG unit) and a centre ---------------
  var box = svg.viewBox.baseVal;
  var full = { x: box.x, y: box.y, w: box.width, h: box.height };
  svg.removeAttribute("width");
  svg.removeAttribute("height");
  svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
  var smallest = Infinity;
  each(svg.querySelectorAll("text"), function (t) {
    var size = parseFloat(t.getAttribute("font-size"));
    if (size > 0 && size < smallest) { smallest = size; }
  });
  if (!isFinite(smallest)) { smallest = 11; }
  var view = { s: 1, cx: full.x + full.w / 2, cy: full.y + full.h / 2 };
  // Keep the graph in the pane: a view smaller than the graph stays within its edges, a
  // view larger than it keeps it centred (so panning never leaves an empty pane).
  function clamp(c, size, start, extent) {
    if (size >= extent) { return start + extent / 2; }
    return Math.min(Math.max(c, start + size / 2), start + extent - size / 2);
  }
  function apply() {
    var W = Math.max(pane.clientWidth, 1), H = Math.max(pane.clientHeight, 1);
    var w = W / view.s, h = H / view.s;
    view.cx = clamp(view.cx, w, full.x, full.w);
    view.cy = clamp(view.cy, h, full.y, full.h);
    svg.setAttribute("viewBox", [view.cx - w / 2, view.cy - h / 2, w, h].join(" "));
  }
  function fitScale() {
    return 0.96 * Math.min(pane.clientWidth / full.w, pane.clientHeight / full.h);
  }
  // Start fitted, but never with text below 9.5 CSS px: a graph too big for that starts at
  // the readable size, showing its beginning (the leaves) and centred across.
  function startView() {
    var readable = 9.5 / smallest, fit = fitScale();
    view.s = Math.min(Math.max(fit, readable), 1.5);
    view.cx = full.x + full.w / 2;
    view.cy = full.y + full.h / 2;
    if (view.s > fit) {
      var H = pane.clientHeight / view.s, W = pane.clientWidth / view.s;
      if (full.h > H) { view.cy = full.y + H / 2; }
      if (full.w > W) { view.cx = full.x + W / 2; }
    }
    apply();
  }
  function fitView() {
    view.s = fitScale();
    view.cx = full.x + full.w / 2;
    view.cy = full.y + full.h / 2;
    apply();
  }
  function zoomAt(px, py, factor) {
    var W = pane.clientWidth, H = pane.clientHeight;
    var ux = view.cx + (px - W / 2) / view.s, uy = view.cy + (py - H / 2) / view.s;
    view.s = Math.min(Math.max(view.s * factor, 0.05), 8);
    view.cx = ux - (px - W / 2) / view.s;
    view.cy = uy - (py - H / 2) / view.s;
    apply();
  }
  function panBy(dx, dy) {
    view.cx -= dx / view.s;
    view.cy -= dy / view.s;
    apply();
  }
  // Keep an element in view: centre it if any part of it is outside the pane.
  function reveal(el) {
    var b = pane.getBoundingClientRect(), r = el.getBoundingClientRect(), m = 24;
    if (r.left >= b.left + m && r.right <= b.right - m && r.top >= b.top + m &&
        r.bottom <= b.bottom - m) { return; }
    panBy((b.left + b.right) / 2 - (r.left + r.right) / 2,
          (b.top + b.bottom) / 2 - (r.top + r.bottom) / 2);
  }
  function revealRow(el) {
    var b = $("grads-box").getBoundingClientRect(), r = el.getBoundingClientRect();
    if (r.top < b.top + 24) { $("grads-box").scrollTop -= b.top + 24 - r.top; }
    else if (r.bottom > b.bottom) { $("grads-box").scrollTop += r.bottom - b.bottom; }
  }

  pane.addEventListener("wheel", function (event) {
    event.preventDefault();
    var b = pane.getBoundingClientRect();
    zoomAt(event.clientX - b.left, event.clientY - b.top, Math.exp(-event.deltaY * 0.0015));
  }, { passive: false });
  var drag = null;
  pane.addEventListener("pointerdown", function (event) {
    if (event.button !== 0) { return; }
    drag = { x: event.clientX, y: event.clientY, moved: false, id: event.pointerId };
  });
  pane.addEventListener("pointermove", function (event) {
    if (!drag) { return; }
    var dx = event.clientX - drag.x, dy = event.clientY - drag.y;
    if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 4) { return; }
    if (!drag.moved) {
      drag.moved = true;
      pane.classList.add("dragging");
      try { pane.setPointerCapture(drag.id); } catch (e) { /* synthetic events */ }
    }
    drag.x = event.clientX;
    drag.y = event.clientY;
    panBy(dx, dy);
  });
  function endDrag(event) {
    if (!drag) { return; }
    var was = drag;
    drag = null;
    pane.classList.remove("dragging");
    if (!was.moved && event.type === "pointerup") {
      var g = event.target.closest ? event.target.closest("g.node") : null;
      var t = g ? g.querySelector("title") : null;
      var name = t ? t.textContent.trim().replace(/_op$/, "") : null;
      if (name !== null && name in valueIndex) { select(valueIndex[name]); }
    }
  }
  pane.addEventListener("pointerup", endDrag);
  pane.addEventListener("pointercancel", endDrag);
  $("zoom-in").addEventListener("click", function () {
    zoomAt(pane.clientWidth / 2, pane.clientHeight / 2, 1.25);
  });
  $("zoom-out").addEventListener("click", function () {
    zoomAt(pane.clientWidth / 2, pane.clientHeight / 2, 0.8);
  });
  $("zoom-fit").addEventListener("click", fitView);
  window.addEventListener("resize", apply);

  // --- showing a frame ------------------------------------------------------------------
  // What lights up when node i sends gradient to its parents: its op node, the edge from
  // the op node to i and the edges from i's parents into the op node.
  function flowOf(i) {
    var id = nodes[i].id, op = id + "_op", lit = [];
    edges.forEach(function (e) {
      if (e.head === op || (e.tail === op && e.head === id)) { lit.push(e.g); }
    });
    return { op: groupOf[op], edges: lit };
  }
  function clearMarks() {
    each(svg.querySelectorAll(".current, .receiving, .op-current, .lit, .changed, .selected"),
         function (el) {
      el.classList.remove("current", "receiving", "op-current", "lit", "changed", "selected");
    });
  }
  function paint(on) {
    nodes.forEach(function (n) {
      var g = groupOf[n.id];
      if (!g) { return; }
      each(g.querySelectorAll("polygon, ellipse, path"), function (shape) {
        if (shape.getAttribute("fill") !== "none") { shape.style.fill = on ? n.heat : ""; }
      });
    });
    edges.forEach(function (e) {
      var heat = on ? data.edges[e.title] : null;
      each(e.g.querySelectorAll("path"), function (p) {
        p.style.stroke = heat && heat !== "#ffffff" ? heat : "";
        p.style.strokeWidth = heat && heat !== "#ffffff" ? "2.5px" : "";
      });
      each(e.g.querySelectorAll("polygon"), function (p) {
        p.style.fill = p.style.stroke = heat && heat !== "#ffffff" ? heat : "";
      });
    });
    $("legend").hidden = !on;
  }
  $("legend-neg").textContent = "\u2212" + data.peak;
  $("legend-pos").textContent = "+" + data.peak;

  var current = 0, timer = null, selected = null;
  function show(f, keepDetails) {
    current = Math.max(0, Math.min(last, f));
    var frame = frames[current], g = null;
    if (!keepDetails) { selected = null; explain(frame); }
    clearMarks();
    nodes.forEach(function (n, i) {
      var done = frame.computed[i];
      if (cells[i].data) { cells[i].data.textContent = done ? n.data : data.zero.data; }
      if (cells[i].grad) { cells[i].grad.textContent = frame.grads[i]; }
      if (groupOf[n.id]) { groupOf[n.id].classList.toggle("pending", !done); }
      rows[i].data.textContent = done ? n.value : "\u2026";
      rows[i].grad.textContent = frame.grads[i].replace(/^grad /, "");
      rows[i].tr.className = "";
    });
    frame.changed.forEach(function (p) {
      rows[p].tr.className = "changed";
      var cell = frame.kind === "forward" ? cells[p].data : cells[p].grad;
      if (cell) { cell.classList.add("changed"); }
    });
    if (frame.kind === "step") {
      var flow = flowOf(frame.node);
      if (flow.op) { flow.op.classList.add("op-current"); }
      flow.edges.forEach(function (e) { e.classList.add("lit"); });
      frame.changed.forEach(function (p) {
        if (groupOf[nodes[p].id]) { groupOf[nodes[p].id].classList.add("receiving"); }
      });
    }
    if (frame.node !== undefined) {
      g = groupOf[nodes[frame.node].id];
      if (g) { g.classList.add("current"); }
      rows[frame.node].tr.className = "current";
    }
    if (selected !== null) {
      if (groupOf[nodes[selected].id]) { groupOf[nodes[selected].id].classList.add("selected"); }
      rows[selected].tr.classList.add("selected");
    }
    paint(frame.kind === "done");
    $("phase").textContent = frame.kind === "start" || frame.kind === "forward" ?
      "forward pass" : frame.kind === "done" ? "done" : "backward pass";
    $("counter").textContent = "step " + current + " / " + last;
    $("back").disabled = $("reset").disabled = current === 0;
    $("step").disabled = $("end").disabled = current === last;
    document.body.setAttribute("data-frame", String(current));
    document.body.setAttribute("data-kind", frame.kind);
    // move the view last, once the panel's new text has settled the layout
    if (g && !keepDetails) { reveal(g); }
    if (frame.node !== undefined && !keepDetails) { revealRow(rows[frame.node].tr); }
  }
  function select(i) {
    pause();
    selected = i;
    details(i);
    show(current, true);
    document.body.setAttribute("data-selected", nodes[i].id);
  }
  $("explain").addEventListener("click", function (event) {
    var span = event.target.closest ? event.target.closest(".name") : null;
    if (span) { select(Number(span.getAttribute("data-node"))); }
  });

  function delay() { return 1000 / Number($("speed").value); }
  function pause() {
    if (timer !== null) { clearTimeout(timer); timer = null; }
    $("play").textContent = "\u25b6 Play";
  }
  function tick() {
    show(current + 1);
    timer = current < last ? setTimeout(tick, delay()) : null;
    if (timer === null) { pause(); }
  }
  function play() {
    if (current >= last) { show(0); }
    $("play").textContent = "\u275a\u275a Pause";
    timer = setTimeout(tick, 0);
  }
  function toggle() { if (timer !== null) { pause(); } else { play(); } }

  $("step").addEventListener("click", function () { pause(); show(current + 1); });
  $("back").addEventListener("click", function () { pause(); show(current - 1); });
  $("reset").addEventListener("click", function () { pause(); show(0); });
  $("end").addEventListener("click", function () { pause(); show(last); });
  $("to-backward").addEventListener("click", function () { pause(); show(seedFrame); });
  $("play").addEventListener("click", toggle);
  $("speed").addEventListener("input", function () {
    $("speed-value").textContent = $("speed").value + " steps/s";
  });
  document.addEventListener("keydown", function (event) {
    var key = event.key, target = event.target;
    if (target === $("speed") || event.altKey || event.ctrlKey || event.metaKey) { return; }
    if (target && target.tagName === "BUTTON" && (key === " " || key === "Enter")) { return; }
    var W = pane.clientWidth / 2, H = pane.clientHeight / 2;
    if (key === "ArrowRight") { pause(); show(current + 1); }
    else if (key === "ArrowLeft") { pause(); show(current - 1); }
    else if (key === " " || key === "Spacebar") { toggle(); }
    else if (key === "Home") { pause(); show(0); }
    else if (key === "End") { pause(); show(last); }
    else if (key === "b" || key === "B") { pause(); show(seedFrame); }
    else if (key === "+" || key === "=") { zoomAt(W, H, 1.25); }
    else if (key === "-") { zoomAt(W, H, 0.8); }
    else if (key === "0") { fitView(); }
    else { return; }
    event.preventDefault();
  });
  show(0);
  startView();  // after the panel is filled: its text settles the pane's size
  if (window.ResizeObserver) { new ResizeObserver(apply).observe(pane); }
})();
