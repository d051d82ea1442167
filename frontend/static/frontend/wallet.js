// The wallet page, live: the balance and "Recent deposits" follow the checkout element's
// events (mpesa-status / mpesa-paid, payments/static/payments/mpesa-checkout.js) without a
// reload. A deposit confirmed by an STK query has no receipt yet: its row says so and keeps
// listening to that payment (its own socket: the element stops at "paid") until the late
// callback brings the receipt, then shows it.

import { kes } from "../payments/mpesa-checkout.js";

const table = document.querySelector("[data-deposits]");
const empty = document.querySelector("[data-no-deposits]");
const keep = Number(table.dataset.keep || 10);
// Month abbreviations in the page's language, as Django writes them ("Dec", Kiswahili "Dis").
const MONTHS = (table.dataset.months || "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec").split(" ");
const MAX_WATCHED = 3; // sockets per customer are limited (PAYMENTS_WS_MAX_PER_USER)
const watching = new Set();
const settled = new Set();

// "2 Dec 2026 14:03" in Nairobi time, as the server writes it (Django's "j M Y H:i").
function nairobi(iso) {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-GB", {
      timeZone: "Africa/Nairobi", year: "numeric", month: "numeric", day: "numeric",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23",
    }).formatToParts(iso ? new Date(iso) : new Date()).map((p) => [p.type, p.value]),
  );
  return `${Number(parts.day)} ${MONTHS[Number(parts.month) - 1]} ${parts.year} ${parts.hour}:${parts.minute}`;
}

function receiptCell(cell, payment) {
  const link = document.createElement("a");
  link.href = table.dataset.receiptUrl.replace("00000000-0000-0000-0000-000000000000", payment.public_id);
  link.textContent = payment.receipt || table.dataset.toFollow;
  cell.replaceChildren(link);
  cell.toggleAttribute("data-receipt-pending", !payment.receipt);
  if (!payment.receipt) watchForReceipt(payment.public_id);
}

function rowFor(payment) {
  return table.tBodies[0].querySelector(`tr[data-payment="${CSS.escape(payment.public_id)}"]`);
}

function addDeposit(payment) {
  if (payment.payable.kind !== "wallet" || payment.status !== "paid") return;
  let row = rowFor(payment);
  if (!row) {
    row = document.createElement("tr");
    row.dataset.payment = payment.public_id;
    for (const text of [nairobi(payment.updated_at), payment.amount_display, kes(payment.payable.balance)]) {
      row.insertCell().textContent = text;
    }
    row.insertCell().setAttribute("data-receipt-cell", "");
    table.tBodies[0].prepend(row);
    while (table.tBodies[0].rows.length > keep) table.tBodies[0].lastElementChild.remove();
    table.hidden = false;
    empty.hidden = true;
  }
  receiptCell(row.querySelector("[data-receipt-cell]"), payment);
}

// One payment's socket (the session's cookie: same origin) until its receipt arrives; a few
// seconds' polling of the status endpoint where sockets are blocked. Bounded either way.
function watchForReceipt(publicId) {
  if (watching.has(publicId) || settled.has(publicId) || watching.size >= MAX_WATCHED) return;
  const done = (payment) => {
    if (!payment || !payment.receipt) return false;
    const row = rowFor(payment);
    if (row) receiptCell(row.querySelector("[data-receipt-cell]"), payment);
    stop();
    return true;
  };
  let socket;
  let timer;
  let failures = 0;
  const until = Date.now() + 15 * 60 * 1000;
  const stop = () => {
    clearTimeout(timer);
    if (socket) {
      socket.onclose = null;
      socket.close(1000);
    }
    watching.delete(publicId);
    settled.add(publicId);
  };
  const poll = async () => {
    if (Date.now() > until) return stop();
    try {
      const response = await fetch(`/payments/${publicId}/`, { credentials: "same-origin" });
      if (response.ok && done((await response.json()).payment)) return;
    } catch {
      // offline for a moment
    }
    timer = setTimeout(poll, 5000);
  };
  const connect = () => {
    if (Date.now() > until) return stop();
    const url = new URL(`/ws/payments/${publicId}/`, location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(url);
    socket.onmessage = (event) => {
      try {
        const frame = JSON.parse(event.data);
        if (frame.type === "payment.status") done(frame.payment);
      } catch {
        // not ours
      }
    };
    socket.onopen = () => (failures = 0);
    socket.onclose = () => {
      failures += 1;
      if (failures >= 3) poll();
      else timer = setTimeout(connect, 1000 * 2 ** failures);
    };
  };
  watching.add(publicId);
  connect();
}

document.addEventListener("mpesa-status", (event) => {
  const balance = event.detail.payment.payable.balance;
  if (balance !== undefined) document.querySelectorAll("[data-balance]").forEach((el) => (el.textContent = kes(balance)));
});
document.addEventListener("mpesa-paid", (event) => addDeposit(event.detail.payment));
for (const cell of table.querySelectorAll("[data-receipt-pending]")) watchForReceipt(cell.closest("tr").dataset.payment);
