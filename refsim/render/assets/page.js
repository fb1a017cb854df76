/* refsim's page: step through a run, and be the scheduler.
 *
 * Both walk the state graph that refsim computed and embedded in #refsim-data (the
 * format is documented in refsim/render/page_data.py). This script knows nothing of
 * refsim's model: every state, number and sentence it shows is in the data, and every
 * string goes into the page as text, never as markup. */
"use strict";
(function () {
  const source = document.getElementById("refsim-data");
  if (!source) return;
  const data = JSON.parse(source.textContent);
  const S = data.s;
  const $ = (id) => document.getElementById(id);

  if (data.format !== 1) {
    for (const id of ["step-message", "play-message"]) {
      say($(id), "This page was written for another version of its script.", true);
    }
    return;
  }

  // -- building the page's elements, text only ---------------------------------------------

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function say(node, text, bad) {
    node.textContent = text || "";
    node.classList.toggle("bad", Boolean(bad));
  }

  function row(cells, classes) {
    const tr = el("tr");
    cells.forEach((cell, i) => {
      const td = el("td", classes && classes[i] ? classes[i] : "");
      if (cell instanceof Node) td.appendChild(cell);
      else td.textContent = cell;
      tr.appendChild(td);
    });
    return tr;
  }

  function table(className, headers, numeric) {
    const t = el("table", className);
    const tr = el("tr");
    headers.forEach((h, i) => {
      const th = el("th", numeric && numeric[i] ? "num" : "", h);
      th.scope = "col";
      tr.appendChild(th);
    });
    t.appendChild(el("thead")).appendChild(tr);
    t.appendChild(el("tbody"));
    return t;
  }

  function scroll(child) {
    const div = el("div", "scroll");
    div.appendChild(child);
    return div;
  }

  function cell(value) {
    return value === null || value === undefined ? "" : String(value);
  }

  function plural(n, word) {
    return n.toLocaleString("en-US") + " " + word + (n === 1 ? "" : "s");
  }

  // -- one part's graph ------------------------------------------------------------------

  class Part {
    constructor(raw) {
      Object.assign(this, raw);
      this.n = raw.threads.length;
    }
    node(id) { return this.nodes[id]; }
    thread(node, t) {
      const [next, why, register] = this.tstates[this.nodes[node][1][t]];
      const step = next < 0 ? null : this.nexts[next];
      return {
        op: step ? S[step[0]] : null,
        micro: step ? S[step[1]] : null,
        subject: step ? step[2] : null,
        why: why < 0 ? null : S[why],
        register: register,
      };
    }
    move(node, t) {
      const m = this.nodes[node][0][t];
      if (!m) return null;
      return {
        child: m[0],
        anomalies: (m[1] || []).map((a) => this.anomaly(a)),
        register: m.length > 2 ? m[2] : null,
        value: m.length > 3 ? m[3] : null,
        trueRefs: m.length > 4 ? m[4] : null,
      };
    }
    anomaly(a) { return { kind: S[this.anomalies[a][0]], message: S[this.anomalies[a][1]] }; }
    mayRun(node, t) {
      const th = this.thread(node, t);
      return th.op !== null && th.why === null;
    }
    enabled(node) {
      const found = [];
      for (let t = 0; t < this.n; t++) if (this.mayRun(node, t)) found.push(t);
      return found;
    }
    board(node) {
      const [objects, variables, locks, counters] = this.boards[this.nodes[node][2]];
      return { objects, variables, locks, counters };
    }
    table(node) {
      const id = this.nodes[node][3];
      if (id < 0) return null;
      const raw = this.tables[id];
      return {
        rows: raw.slice(0, -1).map(([o, count, share]) => ({ outcome: o, count: S[count], share: S[share] })),
        total: S[raw[raw.length - 1]],
      };
    }
    outcome(node) { return this.nodes[node][4]; }
    concluded(node) { return this.nodes[node][5].map((a) => this.anomaly(a)); }
    outcomeText(o) { return S[this.outcomes[o][0]]; }
    finished(node) { return this.enabled(node).length === 0; }
    allDone(node) {
      for (let t = 0; t < this.n; t++) if (this.thread(node, t).op !== null) return false;
      return true;
    }

    /* Read a schedule such as "T1 T2*3 T1*2": thread indices, one per micro-step. */
    parse(text) {
      const picks = [];
      const words = text.split(/[\s,]+/).filter((w) => w.length > 0);
      for (const word of words) {
        const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:\*([0-9]+))?$/.exec(word);
        if (!m) return { error: "“" + word + "” is not a thread name or NAME*COUNT" };
        let t = this.threads.indexOf(m[1]);
        if (t < 0) {
          const folded = this.threads.filter((n) => n.toLowerCase() === m[1].toLowerCase());
          if (folded.length === 1) t = this.threads.indexOf(folded[0]);
        }
        if (t < 0) {
          return { error: m[1] + " is not a thread of this scenario; its threads are " + this.threads.join(", ") };
        }
        const count = m[2] === undefined ? 1 : Number(m[2]);
        if (!(count >= 1) || count > 100000) return { error: "“" + word + "”: a count must be from 1 to 100,000" };
        for (let i = 0; i < count; i++) picks.push(t);
      }
      return { picks };
    }

    /* Follow picks from the start: the states passed, and where it stopped and why. */
    walk(picks) {
      const path = [0];
      for (let i = 0; i < picks.length; i++) {
        const here = path[path.length - 1];
        const t = picks[i];
        const name = this.threads[t];
        const th = this.thread(here, t);
        if (th.op === null) return { path, error: "step " + (i + 1) + ": " + name + " cannot run: it has finished" };
        if (th.why !== null) return { path, error: "step " + (i + 1) + ": " + name + " cannot run: " + th.why };
        const move = this.move(here, t);
        if (move === null) {
          return {
            path,
            error: "step " + (i + 1) + ": " + name + "'s micro-step here is not on any of the runs this " +
              "page holds (the scenario has more states than a page keeps); pick a run from the list",
          };
        }
        path.push(move.child);
      }
      return { path, error: null };
    }

    schedule(picks) {
      const runs = [];
      for (const t of picks) {
        const name = this.threads[t];
        if (runs.length && runs[runs.length - 1][0] === name) runs[runs.length - 1][1]++;
        else runs.push([name, 1]);
      }
      return runs.map(([name, count]) => (count === 1 ? name : name + "*" + count)).join(" ");
    }

    /* The steps that preempted a thread: switched away from one that could go on. */
    preempted(path, picks) {
      const found = [];
      for (let i = 1; i < picks.length; i++) {
        const last = picks[i - 1];
        found.push(picks[i] !== last && this.mayRun(path[i], last));
      }
      return [false, ...found];
    }
  }

  const parts = data.parts.map((raw) => new Part(raw));
  let part = parts[0];

  // -- the board and the trace -----------------------------------------------------------

  /* The board at state `node`. `ran`: the thread whose step led here (lit up), and
   * `touched`: the object, variable or lock that step touched (lit up too); `buttons`: a
   * function making each thread's button, for the game. */
  function board(p, node, ran, touched, buttons) {
    const box = el("div");
    const threads = table("board threads", [buttons ? "move" : "thread", "register", "next micro-step"], [false, true, false]);
    const body = threads.tBodies[0];
    for (let t = 0; t < p.n; t++) {
      const th = p.thread(node, t);
      let next;
      if (th.op === null) next = el("span", "", "finished");
      else {
        next = el("span", "", th.op + " · " + th.micro);
        if (th.why !== null) next.appendChild(el("span", "why", "cannot run: " + th.why));
      }
      const first = buttons ? buttons(t, th) : p.threads[t];
      const tr = row([first, cell(th.register), next], [t === ran ? "ran" : "", "num", ""]);
      if (t === ran) tr.className = "ran";
      body.appendChild(tr);
    }
    box.appendChild(scroll(threads));
    const b = p.board(node);
    if (p.objects.length) {
      const t = table("board objects", ["object", "refcount", "true refs"], [false, true, true]);
      b.objects.forEach(([refcount, trueRefs, freed], i) => {
        const lit = touched && touched[0] === "o" && touched[1] === i ? "touched" : "";
        const off = refcount !== trueRefs && !freed ? " off" : "";
        const count = freed ? refcount + " (freed)" : String(refcount);
        const tr = row([p.objects[i], count, String(trueRefs)], ["", "num " + lit + off, "num " + lit]);
        if (off) tr.cells[1].title = "the refcount no longer matches the references that exist";
        t.tBodies[0].appendChild(tr);
      });
      box.appendChild(scroll(t));
    }
    if (p.variables.length) {
      const t = table("board variables", ["variable", "value"], [false, true]);
      b.variables.forEach((value, i) => {
        const lit = touched && touched[0] === "v" && touched[1] === i ? "touched" : "";
        t.tBodies[0].appendChild(row([p.variables[i], String(value)], ["", "num " + lit]));
      });
      box.appendChild(scroll(t));
    }
    if (p.locks.length) {
      const t = table("board locks", ["lock", "held by"], [false, false]);
      b.locks.forEach((holder, i) => {
        const lit = touched && touched[0] === "l" && touched[1] === i ? "touched" : "";
        t.tBodies[0].appendChild(row([p.locks[i], holder < 0 ? "free" : p.threads[holder]], ["", lit]));
      });
      box.appendChild(scroll(t));
    }
    if (b.counters.length) {
      const t = table("board waits", ["waits on", "state"], [false, false]);
      for (const [label, words] of b.counters) t.tBodies[0].appendChild(row([S[label], S[words]]));
      box.appendChild(scroll(t));
    }
    return box;
  }
  /* The trace table of the steps picks[0..upto), the last one lit up: the last
   * TRACE_ROWS of them, so that a long run still steps at once. */
  const TRACE_ROWS = 200;

  function trace(p, path, picks, upto) {
    const numeric = p.columns.map((c) => ["step", "register", "refcount", "value", "refcount/value", "true refs"].includes(c));
    const t = table("trace", p.columns, numeric);
    const body = t.tBodies[0];
    const values = p.columns.slice(4);
    const first = Math.max(0, upto - TRACE_ROWS);
    if (first > 0) {
      const tr = el("tr");
      const td = el("td", "note", "(steps 1 to " + first.toLocaleString("en-US") + " are not shown: the table keeps the last " +
        TRACE_ROWS + ")");
      td.colSpan = p.columns.length;
      tr.appendChild(td);
      body.appendChild(tr);
    }
    for (let i = first; i < upto; i++) {
      const pick = picks[i];
      const th = p.thread(path[i], pick);
      const move = p.move(path[i], pick);
      const by = { register: move.register, "true refs": move.trueRefs };
      const cells = [String(i + 1), p.threads[pick], th.op, th.micro];
      for (const name of values) cells.push(cell(name in by ? by[name] : move.value));
      const tr = row(cells, numeric.map((n, j) => (n ? "num" : "") + (j === 1 ? " ran" : "")));
      if (i === upto - 1) tr.classList.add("now");
      body.appendChild(tr);
      for (const a of move.anomalies) {
        const note = el("tr", "anomaly" + (i === upto - 1 ? " now" : ""));
        const td = el("td");
        td.colSpan = p.columns.length;
        td.appendChild(el("strong", "", "! " + a.kind + ": "));
        td.appendChild(document.createTextNode(a.message));
        note.appendChild(td);
        body.appendChild(note);
      }
    }
    if (upto === 0) {
      const tr = el("tr");
      const td = el("td", "note", "No step has run yet.");
      td.colSpan = p.columns.length;
      tr.appendChild(td);
      body.appendChild(tr);
    }
    return scroll(t);
  }

  function show(container, child) {
    container.replaceChildren(child);
  }

  function anomalyList(anomalies) {
    const ul = el("ul", "anomalies");
    for (const a of anomalies) ul.appendChild(el("li", "", "! " + a.kind + ": " + a.message));
    return ul;
  }

  // -- step through a run ----------------------------------------------------------------

  const step = { picks: [], path: [0], at: 0 };

  function stepRender() {
    const p = part;
    const at = step.at;
    const node = step.path[at];
    const ran = at > 0 ? step.picks[at - 1] : null;
    const touched = ran === null ? null : p.thread(step.path[at - 1], ran).subject;
    show($("step-board"), board(p, node, ran, touched, null));
    show($("step-trace"), trace(p, step.path, step.picks, at));
    const total = step.picks.length;
    $("step-where").textContent = "step " + at + " of " + total;
    $("step-first").disabled = $("step-back").disabled = at === 0;
    $("step-play").hidden = !p.complete;
    $("step-next").disabled = $("step-last").disabled = at === total;
    const lines = [];
    let bad = false;
    if (at === 0) lines.push("At the start. Step forward with next ▶ or the → key.");
    else {
      const th = p.thread(step.path[at - 1], ran);
      const move = p.move(step.path[at - 1], ran);
      lines.push("step " + at + ": " + p.threads[ran] + " ran " + th.op + " · " + th.micro);
      for (const a of move.anomalies) lines.push("! " + a.kind + ": " + a.message);
      bad = move.anomalies.length > 0;
    }
    if (at === total && step.error) {
      lines.push(step.error);
      bad = true;
    } else if (at === total && total > 0) {
      if (p.finished(node)) {
        const end = p.concluded(node);
        lines.push("The end: " + p.outcomeText(p.outcome(node)) + ".");
        for (const a of end) lines.push("! " + a.kind + ": " + a.message);
        bad = bad || end.length > 0;
      } else {
        lines.push("The schedule ends here, before the run does: add to it, or play on in the game below.");
      }
    }
    say($("step-message"), lines.join("\n"), bad);
  }

  function stepLoad(text) {
    const read = part.parse(text);
    if (read.error) {
      say($("step-message"), read.error, true);
      return false;
    }
    const walked = part.walk(read.picks);
    step.picks = read.picks.slice(0, walked.path.length - 1);
    step.path = walked.path;
    step.error = walked.error;
    step.at = 0;
    $("step-schedule").value = text.trim();
    const known = part.witnesses.find(([, schedule]) => schedule === part.schedule(read.picks));
    $("step-pick").value = known ? known[1] : "";
    stepRender();
    if (step.error) say($("step-message"), step.error + " (the run stops before it)", true);
    return true;
  }

  function stepGo(at) {
    step.at = Math.max(0, Math.min(step.picks.length, at));
    stepRender();
  }

  function stepSetup() {
    const pick = $("step-pick");
    pick.replaceChildren();
    pick.appendChild(el("option", "", "type one, or pick a run…")).value = "";
    for (const [label, schedule] of part.witnesses) {
      const option = el("option", "", label + " — " + schedule);
      option.value = schedule;
      pick.appendChild(option);
    }
    const runs = part.witnesses.length;
    $("step-controls").hidden = $("step-stage").hidden = !part.complete && runs === 0;
    if (runs) stepLoad(part.witnesses[0][1]);
    else {
      step.picks = [];
      step.path = [0];
      step.at = 0;
      step.error = null;
      stepRender();
    }
    if (!part.complete) {
      const note = "This scenario has more than " + data.budget.toLocaleString("en-US") +
        " states under " + data.runtime + ": too many for a page, which holds only the runs listed.";
      say($("step-message"), runs ? note : note + " There is none to show.");
    }
  }

  $("step-form").addEventListener("submit", (event) => {
    event.preventDefault();
    stepLoad($("step-schedule").value);
  });
  $("step-pick").addEventListener("change", (event) => {
    if (event.target.value) stepLoad(event.target.value);
  });
  $("step-first").addEventListener("click", () => stepGo(0));
  $("step-back").addEventListener("click", () => stepGo(step.at - 1));
  $("step-next").addEventListener("click", () => stepGo(step.at + 1));
  $("step-last").addEventListener("click", () => stepGo(step.picks.length));
  document.addEventListener("keydown", (event) => {
    const tag = event.target && event.target.tagName;
    if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA") return;
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.key === "ArrowRight") stepGo(step.at + 1);
    else if (event.key === "ArrowLeft") stepGo(step.at - 1);
    else return;
    event.preventDefault();
  });
  for (const button of document.querySelectorAll("button.load-run")) {
    button.hidden = false;
    button.addEventListener("click", () => {
      if (parts.length > 1) {
        // The failing run belongs to one process: show that one.
        const i = parts.findIndex((p) => p.witnesses.some(([, s]) => s === button.dataset.schedule));
        if (i >= 0 && parts[i] !== part) choosePart(i);
      }
      stepLoad(button.dataset.schedule);
      $("step").scrollIntoView();
    });
  }

  // -- be the scheduler ------------------------------------------------------------------

  const game = { picks: [], path: [0], hint: false };

  function gameButton(t, th) {
    const button = el("button", "thread", part.threads[t]);
    button.type = "button";
    button.dataset.thread = part.threads[t];
    const here = game.path[game.path.length - 1];
    button.disabled = !part.mayRun(here, t);
    if (th.op === null) button.title = part.threads[t] + " has finished";
    else if (th.why !== null) button.title = part.threads[t] + " cannot run: " + th.why;
    else button.title = "run " + part.threads[t] + "'s next micro-step: " + th.op + " · " + th.micro;
    button.addEventListener("click", () => gamePlay(t));
    return button;
  }

  let refocus = null;

  function gamePlay(t) {
    const here = game.path[game.path.length - 1];
    const move = part.move(here, t);
    if (move === null || !part.mayRun(here, t)) return;
    const focused = document.activeElement && document.activeElement.closest("#play-board");
    game.picks.push(t);
    game.path.push(move.child);
    gameRender(true);
    // The board is drawn anew: give the focus back to the thread's new button, once the
    // page is drawn (focusing at once would lay the page out again at every click).
    if (focused && refocus === null) {
      refocus = requestAnimationFrame(() => {
        refocus = null;
        const name = part.threads[game.picks[game.picks.length - 1]];
        const button = document.querySelector('#play-board button[data-thread="' + CSS.escape(name) + '"]');
        if (button && !button.disabled) button.focus();
      });
    }
  }

  function gameRender(moved) {
    const p = part;
    const n = game.picks.length;
    const node = game.path[n];
    const ran = n > 0 ? game.picks[n - 1] : null;
    const touched = ran === null ? null : p.thread(game.path[n - 1], ran).subject;
    show($("play-board"), board(p, node, ran, touched, gameButton));
    show($("play-trace"), trace(p, game.path, game.picks, n));
    $("play-undo").disabled = n === 0;
    $("play-restart").disabled = n === 0;
    $("play-review").disabled = n === 0;
    const message = $("play-message");
    if (ran !== null && moved) {
      const th = p.thread(game.path[n - 1], ran);
      const preempted = p.preempted(game.path, game.picks)[n - 1];
      const move = p.move(game.path[n - 1], ran);
      let text = "step " + n + ": " + p.threads[ran] + " ran " + th.op + " · " + th.micro + (preempted ? " (a preemption)" : "");
      for (const a of move.anomalies) text += "\n! " + a.kind + ": " + a.message;
      say(message, text, move.anomalies.length > 0);
    } else if (n === 0) say(message, "Pick the thread that runs first.");
    else say(message, "");
    gameHints();
    gameEnd();
  }

  function gameHints() {
    const box = $("play-hints");
    const p = part;
    const node = game.path[game.path.length - 1];
    $("play-hint").setAttribute("aria-pressed", String(game.hint));
    if (!game.hint || p.finished(node)) return box.replaceChildren();
    const here = p.table(node);
    const intro = el("p", "", "The odds from here: after step " + game.picks.length + ", " + here.total +
      " interleaving" + (here.total === "1" ? "" : "s") + " can still happen. By move:");
    const t = table("hints", ["move", "interleavings", "ending in", "share"], [false, true, false, true]);
    for (const th of p.enabled(node)) {
      const odds = p.table(p.move(node, th).child);
      odds.rows.forEach((r, i) => {
        t.tBodies[0].appendChild(row([i ? "" : p.threads[th], i ? "" : odds.total, p.outcomeText(r.outcome), r.share],
          ["", "num", "", "num"]));
      });
    }
    box.replaceChildren(intro, scroll(t));
  }

  function gameEnd() {
    const box = $("play-end");
    const p = part;
    const n = game.picks.length;
    const node = game.path[n];
    if (!p.finished(node)) return box.replaceChildren();
    const end = el("div", "end");
    end.appendChild(el("p", "", p.allDone(node) ? "Every thread has finished." : "No thread can run."));
    const concluded = p.concluded(node);
    if (concluded.length) end.appendChild(anomalyList(concluded));
    const o = p.outcome(node);
    const [, bad, count, share, fewest, witness] = p.outcomes[o];
    end.insertBefore(el("h3", "", "The end: " + p.outcomeText(o) + "."), end.firstChild);
    const used = p.preempted(game.path, game.picks).filter(Boolean).length;
    if (count === undefined) {
      end.appendChild(el("p", "", "(too many interleavings to count how often this happens)"));
    } else {
      const compare = used <= fewest ? "no interleaving reaches this outcome with fewer"
        : "the fewest that reach this outcome: " + fewest + ", with " + S[witness];
      end.appendChild(el("p", "", S[count] + " of the " + S[p.interleavings] + " interleavings (" + S[share] +
        ") end this way. You used " + plural(used, "preemption") + "; " + compare + "."));
    }
    const schedule = p.schedule(game.picks);
    const played = el("p", "", "You played: ");
    played.appendChild(el("code", "", schedule));
    end.appendChild(played);
    const replay = el("p", "", "Replay it: ");
    replay.appendChild(el("code", "", p.replay[0] + schedule + p.replay[1]));
    end.appendChild(replay);
    if (bad) end.classList.add("bad");
    box.replaceChildren(end);
  }

  function gameSetup() {
    game.picks = [];
    game.path = [0];
    $("play-controls").hidden = !part.complete;
    if (!part.complete) {
      $("play-board").replaceChildren();
      $("play-trace").replaceChildren();
      $("play-hints").replaceChildren();
      $("play-end").replaceChildren();
      say($("play-message"), "This scenario has more than " + data.budget.toLocaleString("en-US") + " states under " +
        data.runtime + ": too many to put in a page, so the game is not here. Play it in a terminal: " +
        part.play + (part.witnesses.length ? "; or step through the runs above." : "."));
      return;
    }
    gameRender(false);
  }

  $("play-undo").addEventListener("click", () => {
    if (!game.picks.length) return;
    const t = game.picks.pop();
    game.path.pop();
    gameRender(false);
    say($("play-message"), "undo: step " + (game.picks.length + 1) + " (" + part.threads[t] + "'s " +
      part.thread(game.path[game.path.length - 1], t).micro + ") is undone.");
  });
  $("play-restart").addEventListener("click", () => gameSetup());
  $("play-hint").addEventListener("click", () => {
    game.hint = !game.hint;
    gameHints();
  });
  $("step-play").addEventListener("click", () => {
    game.picks = step.picks.slice(0, step.at);
    game.path = step.path.slice(0, step.at + 1);
    gameRender(false);
    say($("play-message"), "Your move: the run so far is the first " + plural(step.at, "step") + " of the one above.");
    $("play").scrollIntoView();
  });
  $("play-review").addEventListener("click", () => {
    stepLoad(part.schedule(game.picks));
    stepGo(game.picks.length);
    $("step").scrollIntoView();
  });

  // -- processes -------------------------------------------------------------------------

  function choosePart(i) {
    part = parts[i];
    $("part").value = String(i);
    if (parts.length > 1) {
      $("play-part").hidden = false;
      $("play-part").textContent = "Process " + part.process + " (" + part.threads.join(", ") +
        "): pick another under “Step through a run”.";
    }
    stepSetup();
    gameSetup();
  }

  if (parts.length > 1) {
    const select = $("part");
    parts.forEach((p, i) => {
      const option = el("option", "", p.process + " (" + p.threads.join(", ") + ")");
      option.value = String(i);
      select.appendChild(option);
    });
    select.addEventListener("change", () => choosePart(Number(select.value)));
    $("parts").hidden = false;
  }
  choosePart(0);
})();
