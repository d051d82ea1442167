// The /simulator/ index, live: rows of pushes arrive over ws/simulator/pushes/ (see
// simulator/live_index.py) as pushes are accepted and their callbacks are sent. Each frame
// carries whole rows rendered by the server from the page's own template. No dependencies.

const section = document.getElementById("pushes");
const tbody = document.getElementById("pushes-rows");
const table = document.getElementById("pushes-table");
const empty = document.getElementById("pushes-empty");
const live = document.getElementById("pushes-live");
const total = document.getElementById("pushes-total");
const older = document.getElementById("pushes-older");
const page = Number(section.dataset.page);
const perPage = Number(section.dataset.perPage);
const RESYNC_MS = 30000;

const c2bBody = document.getElementById("c2b-rows");
const c2bTable = document.getElementById("c2b-table");
const c2bEmpty = document.getElementById("c2b-empty");
const c2bTotal = document.getElementById("c2b-total");

let socket = null;
let heartbeat = null;
let retryMs = 500;
let toldAboutNewer = false;

function shownIds() {
  return [...tbody.rows].map((row) => Number(row.dataset.pushId));
}

function rowFrom(html) {
  const holder = document.createElement("tbody");
  holder.innerHTML = html; // rendered and escaped by the server's template
  return holder.firstElementChild;
}

function place(id, html) {
  const existing = document.getElementById(`push-${id}`);
  if (existing) {
    existing.replaceWith(rowFrom(html));
    return;
  }
  if (page !== 1) {
    if (!toldAboutNewer && id > Math.max(0, ...shownIds())) {
      toldAboutNewer = true;
      live.textContent = "New pushes have arrived: see the first page.";
    }
    return;
  }
  const newer = [...tbody.rows].find((row) => Number(row.dataset.pushId) < id);
  tbody.insertBefore(rowFrom(html), newer || null);
  while (tbody.rows.length > perPage) tbody.rows[tbody.rows.length - 1].remove();
}

// C2B payments: the latest ones, newest first, replaced whole as their callbacks happen.
function placeC2b(id, html) {
  const existing = document.getElementById(`c2b-${id}`);
  if (existing) {
    existing.replaceWith(rowFrom(html));
    return;
  }
  const newer = [...c2bBody.rows].find((row) => Number(row.dataset.c2bId) < id);
  c2bBody.insertBefore(rowFrom(html), newer || null);
  while (c2bBody.rows.length > perPage) c2bBody.rows[c2bBody.rows.length - 1].remove();
}

function onC2bFrame(frame) {
  frame.rows.forEach((row) => placeC2b(row.id, row.html));
  c2bTotal.textContent = String(frame.total);
  c2bTable.hidden = c2bBody.rows.length === 0;
  c2bEmpty.hidden = !c2bTable.hidden;
}

function onFrame(frame) {
  if (frame.type === "c2b_rows") {
    onC2bFrame(frame);
    return;
  }
  if (frame.type !== "rows") return;
  frame.rows.forEach((row) => place(row.id, row.html));
  total.textContent = String(frame.total);
  older.hidden = frame.total <= page * perPage;
  table.hidden = tbody.rows.length === 0;
  empty.hidden = !table.hidden;
}

function resync() {
  if (!socket || socket.readyState !== WebSocket.OPEN) return;
  const ids = shownIds();
  const after = page === 1 ? Math.max(0, ...ids) : null;
  const c2bIds = [...c2bBody.rows].map((row) => Number(row.dataset.c2bId));
  socket.send(JSON.stringify({ type: "resync", after, ids, c2b_after: Math.max(0, ...c2bIds), c2b_ids: c2bIds }));
}

function connect() {
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${window.location.host}${section.dataset.wsPath}`);
  socket.addEventListener("open", () => {
    retryMs = 500;
    section.dataset.live = "connected";
    resync(); // what happened between this page's render (or a drop) and now
    heartbeat = setInterval(resync, RESYNC_MS);
  });
  socket.addEventListener("message", (event) => onFrame(JSON.parse(event.data)));
  socket.addEventListener("close", () => {
    clearInterval(heartbeat);
    section.dataset.live = "reconnecting";
    setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 10000);
  });
}

connect();
