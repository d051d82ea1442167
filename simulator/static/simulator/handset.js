// The virtual handset: shows STK prompts for one phone, live over a WebSocket, and answers them.
// Frames: see simulator/handset/consumers.py. No build step, no dependencies.

const root = document.getElementById("handset");
const statusLine = document.getElementById("handset-status");
const promptsBox = document.getElementById("prompts");
const historyList = document.getElementById("history");
const historyEmpty = document.getElementById("history-empty");
const template = document.getElementById("prompt-template");
const HEARTBEAT_MS = 10000;
const PIN_RE = /^\d{4}$/;
const WAITING = "Connected. Waiting for prompts.";
const forms = new Map(); // checkout_request_id -> {form, prompt, answer}
const recorded = new Map(); // checkout_request_id -> its one history line
const YOUR_ANSWER = { pay: "You sent your PIN", wrong_pin: "You sent a wrong PIN", cancel: "You cancelled" };
const CLOSED_BECAUSE = {
  pay: "Answered on another page",
  wrong_pin: "Answered on another page",
  cancel: "Cancelled on another page",
  timeout: "Not answered in time",
  control: "Decided through the control API",
};

const menuMain = document.getElementById("menu-main");
const menuLipa = document.getElementById("menu-lipa-list");
const paybill = document.getElementById("paybill");
const c2bLines = new Map(); // trans_id -> its one history line

let socket = null;
let heartbeat = null;
let retryMs = 500;

function kes(amount) {
  return `KES ${Number(amount).toLocaleString("en-US")}`;
}

function say(text) {
  statusLine.textContent = text;
}

function describe(prompt) {
  const ref = prompt.account_reference ? ` (${prompt.account_reference})` : "";
  return `${kes(prompt.amount)} to ${prompt.shop}${ref}`;
}

// One line per prompt: whichever of "answered" (this page) and "closed" (every page) comes
// first writes it; the other may only add the result's wording.
function record(id, prompt, text) {
  let item = recorded.get(id);
  if (!item) {
    item = document.createElement("li");
    const when = document.createElement("time");
    when.textContent = `${new Date().toLocaleTimeString("en-GB", { timeZone: "Africa/Nairobi" })} EAT`;
    item.append(when, document.createElement("span"));
    recorded.set(id, item);
    historyList.prepend(item);
    historyEmpty.hidden = true;
  } else if (item.dataset.final) {
    return;
  }
  item.lastChild.textContent = ` ${prompt ? `${describe(prompt)}. ` : ""}${text}`;
}

function send(frame) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
}

function setBusy(form, busy) {
  form.querySelectorAll("button").forEach((b) => { b.disabled = busy; });
}

function showPrompt(prompt) {
  const id = prompt.checkout_request_id;
  if (forms.has(id) || recorded.has(id)) return;
  const form = template.content.firstElementChild.cloneNode(true);
  form.querySelector(".stk-amount").textContent = kes(prompt.amount);
  form.querySelector(".stk-shop").textContent = prompt.shop;
  const account = prompt.account_reference ? `Account no. ${prompt.account_reference} · ` : "";
  form.querySelector(".stk-account").textContent = `${account}Business no. ${prompt.shortcode}`;
  const entry = { form, prompt, answer: null };
  const error = form.querySelector(".prompt-error");
  const answer = (kind) => {
    const pin = form.elements.pin.value;
    if (kind === "pay" && !PIN_RE.test(pin)) {
      error.textContent = "Enter a 4-digit M-PESA PIN.";
      form.elements.pin.focus();
      return;
    }
    error.textContent = "";
    entry.answer = kind;
    setBusy(form, true);
    send({ type: kind, checkout_request_id: id, pin });
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    answer("pay");
  });
  form.querySelectorAll("button[type=button]").forEach((button) => {
    button.addEventListener("click", () => answer(button.dataset.answer));
  });
  forms.set(id, entry);
  promptsBox.append(form);
  form.elements.pin.focus();
  say("A payment request is waiting for your PIN.");
}

function closePrompt(id) {
  const entry = forms.get(id);
  if (entry) {
    entry.form.remove();
    forms.delete(id);
  }
  if (!forms.size) say(WAITING);
  return entry;
}

function onAnswered(frame) {
  const id = frame.checkout_request_id;
  const entry = closePrompt(id);
  const mine = entry && entry.answer ? YOUR_ANSWER[entry.answer] : "Answered";
  record(id, entry && entry.prompt, `${mine}: result ${frame.result_code} (${frame.result_desc})`);
  recorded.get(id).dataset.final = "true";
}

function onClosed(frame) {
  const id = frame.checkout_request_id;
  const entry = closePrompt(id);
  if (recorded.has(id)) return; // this page answered it: its line is written
  if (!entry) return; // never shown here (for example, decided before this page opened)
  const why = entry.answer ? YOUR_ANSWER[entry.answer] : CLOSED_BECAUSE[frame.reason] || "Closed";
  record(id, entry.prompt, `${why}: result ${frame.result_code}`);
}

function onSnapshot(frame) {
  for (const [id, entry] of [...forms]) {
    if (!frame.prompts.some((p) => p.checkout_request_id === id)) {
      closePrompt(id);
      record(id, entry.prompt, "No longer open (answered elsewhere or timed out)");
    }
  }
  frame.prompts.forEach(showPrompt);
  (frame.payments || []).forEach(showPayment);
  if (!forms.size) say(WAITING);
}

// The M-PESA menu: M-PESA → Lipa na M-PESA → Pay Bill, then a form sent as one frame.
function toggle(button, list) {
  const open = list.hidden;
  list.hidden = !open;
  button.setAttribute("aria-expanded", String(open));
}

function closePaybill() {
  paybill.hidden = true;
  paybill.reset();
  paybill.querySelector(".prompt-error").textContent = "";
  setBusy(paybill, false);
}

document.getElementById("menu-mpesa").addEventListener("click", (event) => toggle(event.currentTarget, menuMain));
document.getElementById("menu-lipa").addEventListener("click", (event) => toggle(event.currentTarget, menuLipa));
document.getElementById("menu-paybill").addEventListener("click", () => {
  paybill.hidden = false;
  paybill.elements.business_number.focus();
});
paybill.querySelector("[data-close]").addEventListener("click", closePaybill);
paybill.addEventListener("submit", (event) => {
  event.preventDefault();
  const error = paybill.querySelector(".prompt-error");
  const fields = ["business_number", "account_number", "amount", "pin"];
  const frame = { type: "paybill" };
  fields.forEach((name) => { frame[name] = paybill.elements[name].value; });
  if (!PIN_RE.test(frame.pin)) {
    error.textContent = "Enter a 4-digit M-PESA PIN.";
    paybill.elements.pin.focus();
    return;
  }
  error.textContent = "";
  setBusy(paybill, true);
  send(frame);
});

// One history line per C2B payment, rewritten as it moves on (processing → confirmed/failed).
function showPayment(payment) {
  let item = c2bLines.get(payment.trans_id);
  if (!item) {
    item = document.createElement("li");
    const when = document.createElement("time");
    when.textContent = `${new Date().toLocaleTimeString("en-GB", { timeZone: "Africa/Nairobi" })} EAT`;
    item.append(when, document.createElement("span"));
    item.dataset.transId = payment.trans_id;
    c2bLines.set(payment.trans_id, item);
    historyList.prepend(item);
    historyEmpty.hidden = true;
  }
  item.dataset.status = payment.status;
  item.lastChild.textContent = ` ${payment.message}`;
}

function onPaybillSent(frame) {
  closePaybill();
  menuMain.hidden = true;
  menuLipa.hidden = true;
  document.getElementById("menu-mpesa").setAttribute("aria-expanded", "false");
  document.getElementById("menu-lipa").setAttribute("aria-expanded", "false");
  showPayment(frame.payment);
  say("Your payment request has been sent.");
}

function onError(frame) {
  if (frame.form === "paybill") {
    paybill.querySelector(".prompt-error").textContent = frame.error;
    setBusy(paybill, false);
    return;
  }
  const entry = forms.get(frame.checkout_request_id);
  if (entry) {
    entry.form.querySelector(".prompt-error").textContent = frame.error;
    entry.answer = null;
    setBusy(entry.form, false);
  } else {
    say(frame.error);
  }
}

const HANDLERS = {
  snapshot: onSnapshot,
  prompt: (frame) => showPrompt(frame.prompt),
  answered: onAnswered,
  closed: onClosed,
  paybill_sent: onPaybillSent,
  c2b: (frame) => showPayment(frame.payment),
  error: onError,
};

function connect() {
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${window.location.host}${root.dataset.wsPath}`);
  socket.addEventListener("open", () => {
    retryMs = 500;
    say(WAITING);
    // Heartbeat (keeps this phone "open") and resync (catches anything the layer dropped).
    heartbeat = setInterval(() => send({ type: "resync" }), HEARTBEAT_MS);
  });
  socket.addEventListener("message", (event) => {
    const frame = JSON.parse(event.data);
    (HANDLERS[frame.type] || (() => {}))(frame);
  });
  socket.addEventListener("close", () => {
    clearInterval(heartbeat);
    say("Disconnected; reconnecting…");
    setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 10000);
  });
}

connect();
