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

function onFrame(frame) {
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
  socket.send(JSON.stringify({ type: "resync", after, ids }));
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
