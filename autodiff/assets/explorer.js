(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("trace").textContent);
  var nodes = data.nodes, steps = data.steps, root = data.root;
  var svg = document.querySelector("#graph svg");
  var $ = function (id) { return document.getElementById(id); };
  var each = function (list, f) { Array.prototype.forEach.call(list, f); };

  // The SVG's node and edge groups carry dot's names in <title>: n3, n3_op, n0->n3_op.
  var groupOf = {}, edges = [], valueIndex = {};
  each(svg.querySelectorAll("g.node"), function (g) {
    var t = g.querySelector("title");
    if (t) { groupOf[t.textContent.trim()] = g; }
  });
  each(svg.querySelectorAll("g.edge"), function (g) {
    var t = g.querySelector("title");
    var ends = t ? t.textContent.split("->") : [];
    if (ends.length === 2) {
      edges.push({ tail: ends[0].trim().split(":")[0], head: ends[1].trim().split(":")[0], g: g });
    }
  });
  nodes.forEach(function (n, i) { valueIndex[n.name] = i; });
  // The grad cell of each value box: Python found its position among the box's texts
  // (the last one reading "grad ...", so a label such as "grad x" is never overwritten).
  var gradText = nodes.map(function (n) {
    var g = groupOf[n.name];
    if (!g || n.grad_text === null || n.grad_text === undefined) { return null; }
    return g.querySelectorAll("text")[n.grad_text] || null;
  });

  // What lights up when node i sends gradient to its parents: its op node(s), the edge
  // from each op node to i and the edges from i's parents into those op nodes.
  function flowOf(i) {
    var name = nodes[i].name, helpers = {}, lit = [], parentNames = {};
    nodes[i].parents.forEach(function (p) { parentNames[nodes[p].name] = true; });
    edges.forEach(function (e) {
      if (e.head === name && !(e.tail in valueIndex)) { helpers[e.tail] = true; lit.push(e.g); }
    });
    edges.forEach(function (e) {
      if (parentNames[e.tail] && (helpers[e.head] || e.head === name)) { lit.push(e.g); }
    });
    return { helpers: Object.keys(helpers), edges: lit };
  }

  // Frames: 0 before the pass, 1 the seed, then one per backward rule, in the engine's order.
  var frames = [];
  var panelGrad = nodes.map(function () { return data.zero.text; });
  var graphGrad = nodes.map(function () { return data.zero.graph; });
  frames.push({ kind: "start", panel: panelGrad.slice(), graph: graphGrad.slice(), changed: [] });
  panelGrad[root] = data.seed.text;
  graphGrad[root] = data.seed.graph;
  frames.push({ kind: "seed", node: root, panel: panelGrad.slice(), graph: graphGrad.slice(),
                changed: [root] });
  steps.forEach(function (s, k) {
    var changed = [];
    s.contributions.forEach(function (c) {
      panelGrad[c.parent] = c.after_text;
      graphGrad[c.parent] = c.after_graph;
      changed.push(c.parent);
    });
    frames.push({ kind: "step", node: s.node, step: s, number: k + 1, panel: panelGrad.slice(),
                  graph: graphGrad.slice(), changed: changed });
  });
  var last = frames.length - 1;

  // The side table: one row per node shown on the graph.
  var rows = nodes.map(function (n, i) {
    var tr = document.createElement("tr"), name = document.createElement("td");
    var value = document.createElement("td"), grad = document.createElement("td");
    tr.setAttribute("data-node", n.name);
    name.textContent = n.display;
    name.title = n.name + (n.op ? " (" + n.op + ")" : " (leaf)");
    value.textContent = n.data_text;
    value.className = "num";
    grad.className = "num grad";
    tr.appendChild(name); tr.appendChild(value); tr.appendChild(grad);
    $("grads").tBodies[0].appendChild(tr);
    return { tr: tr, grad: grad };
  });

  function para(parent, cls, text) {
    var p = document.createElement("p");
    p.className = cls;
    p.textContent = text;
    parent.appendChild(p);
    return p;
  }

  function explain(frame) {
    var box = $("explain");
    box.textContent = "";
    if (frame.kind === "start") {
      para(box, "formula", "Before backward: every .grad is 0.");
      para(box, "note", "Press Step (or \u2192) to seed the output " + data.loss + ".");
    } else if (frame.kind === "seed") {
      para(box, "formula", "Seed: " + data.loss + ".grad = " + data.seed.text);
      para(box, "note", data.seed.explain);
    } else {
      var s = frame.step;
      para(box, "formula", "Rule " + frame.number + " of " + steps.length + ": " + s.formula);
      para(box, "upstream", s.upstream_text);
      var ol = document.createElement("ol");
      ol.id = "chain";
      s.contributions.forEach(function (c) {
        var li = document.createElement("li"), code = document.createElement("code");
        li.setAttribute("data-parent", nodes[c.parent].name);
        code.textContent = c.text;
        li.appendChild(code);
        para(li, "change", c.change);
        if (c.where) { para(li, "where", "where " + c.where); }
        ol.appendChild(li);
      });
      box.appendChild(ol);
    }
    if (frame === frames[last] && last > 0) {
      para(box, "note", "Backward is done: every .grad now holds \u2202" + data.loss +
           "/\u2202node. Leaves have no rule to run; their gradients are final.");
    }
  }

  // Scroll a box to show an element: centred when `centre` (the graph's node, so its
  // inputs show too), else just enough (the table's row).
  function reveal(box, el, centre) {
    var b = box.getBoundingClientRect(), r = el.getBoundingClientRect(), m = 30;
    var outside = r.left < b.left + m || r.right > b.right - m ||
                  r.top < b.top + m || r.bottom > b.bottom - m;
    if (!outside) { return; }
    if (centre) {
      box.scrollLeft += (r.left + r.right) / 2 - (b.left + b.right) / 2;
      box.scrollTop += (r.top + r.bottom) / 2 - (b.top + b.bottom) / 2;
      return;
    }
    if (r.left < b.left + m) { box.scrollLeft -= b.left + m - r.left; }
    else if (r.right > b.right - m) { box.scrollLeft += r.right - b.right + m; }
    if (r.top < b.top + m) { box.scrollTop -= b.top + m - r.top; }
    else if (r.bottom > b.bottom - m) { box.scrollTop += r.bottom - b.bottom + m; }
  }

  var current = 0, timer = null;
  function clearMarks() {
    each(svg.querySelectorAll(".current, .receiving, .op-current, .lit, .grad-changed"),
         function (el) {
      el.classList.remove("current", "receiving", "op-current", "lit", "grad-changed");
    });
  }

  function show(f) {
    current = Math.max(0, Math.min(last, f));
    var frame = frames[current], g = null;
    explain(frame);
    clearMarks();
    nodes.forEach(function (n, i) {
      if (gradText[i]) { gradText[i].textContent = frame.graph[i]; }
      rows[i].grad.textContent = frame.panel[i];
      rows[i].tr.className = "";
    });
    frame.changed.forEach(function (p) {
      rows[p].tr.className = "changed";
      if (gradText[p]) { gradText[p].classList.add("grad-changed"); }
    });
    if (frame.kind === "step") {
      var flow = flowOf(frame.node);
      flow.helpers.forEach(function (h) {
        if (groupOf[h]) { groupOf[h].classList.add("op-current"); }
      });
      flow.edges.forEach(function (e) { e.classList.add("lit"); });
      frame.changed.forEach(function (p) {
        if (groupOf[nodes[p].name]) { groupOf[nodes[p].name].classList.add("receiving"); }
      });
    }
    if (frame.kind !== "start") {
      g = groupOf[nodes[frame.node].name];
      if (g) { g.classList.add("current"); }
      rows[frame.node].tr.className = "current";
    }
    $("counter").textContent = "step " + current + " / " + last;
    $("back").disabled = $("reset").disabled = current === 0;
    $("step").disabled = current === last;
    document.body.setAttribute("data-frame", String(current));
    // scroll last, once the panel's new text has settled the boxes' sizes
    if (g) { reveal($("graph"), g, true); }
    if (frame.kind !== "start") { reveal($("grads-box"), rows[frame.node].tr, false); }
  }

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
  function setFit(fit) {
    $("graph").classList.toggle("fit", fit);
    $("fit").textContent = fit ? "Full size" : "Fit to window";
  }
  function toggle() { if (timer !== null) { pause(); } else { play(); } }

  $("step").addEventListener("click", function () { pause(); show(current + 1); });
  $("back").addEventListener("click", function () { pause(); show(current - 1); });
  $("reset").addEventListener("click", function () { pause(); show(0); });
  $("play").addEventListener("click", toggle);
  $("speed").addEventListener("input", function () {
    $("speed-value").textContent = $("speed").value + " steps/s";
  });
  $("fit").addEventListener("click", function () {
    setFit(!$("graph").classList.contains("fit"));
    if (current > 0) { show(current); }
  });
  document.addEventListener("keydown", function (event) {
    var key = event.key, target = event.target;
    if (target === $("speed") || event.altKey || event.ctrlKey || event.metaKey) { return; }
    if (target && target.tagName === "BUTTON" && (key === " " || key === "Enter")) { return; }
    if (key === "ArrowRight") { pause(); show(current + 1); }
    else if (key === "ArrowLeft") { pause(); show(current - 1); }
    else if (key === " " || key === "Spacebar") { toggle(); }
    else if (key === "Home") { pause(); show(0); }
    else if (key === "End") { pause(); show(last); }
    else { return; }
    event.preventDefault();
  });
  // Fit the graph to the window unless that would shrink its text below about half size
  // (dot sizes the picture in points: 4/3 of a CSS pixel).
  var box = svg.viewBox && svg.viewBox.baseVal;
  setFit(!box || box.width * 4 / 3 <= 2 * $("graph").clientWidth);
  show(0);
})();
