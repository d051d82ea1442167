// Checkout and deposit pages: start an M-Pesa payment, then show its status live.
//
// Live updates come over a WebSocket (ws/payments/<id>/). The server sends a snapshot on
// every connect, so reconnecting is also resyncing. Frames carry `version`; anything not
// newer than what is shown is ignored. After repeated socket failures the page falls back
// to polling the status endpoint and says so. The socket is closed on a final status.

const config = JSON.parse(document.getElementById("page-config").textContent);
const root = document.querySelector("[data-checkout]");
const form = root.querySelector("[data-pay-form]");
const payButton = form.querySelector("[data-pay]");
const panel = root.querySelector("[data-status-panel]");
const $ = (selector) => panel.querySelector(selector);

const PHONE_RE = /^(?:\+?254|0)?[17]\d{8}$/;
const MAX_SOCKET_FAILURES = 3;
const POLL_MS = 3000;

let attemptKey = null; // Idempotency-Key of the current attempt (kept across a resend)
let stream = null;
let countdownTimer = null;

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

function newKey() {
  return crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

function showFieldErrors(fields = {}, general = "") {
  form.querySelectorAll("[data-error-for]").forEach((el) => {
    const name = el.dataset.errorFor;
    el.textContent = name === "form" ? general : fields[name] || "";
    const input = form.querySelector(`[name="${name}"]`);
    if (input) input.setAttribute("aria-invalid", fields[name] ? "true" : "false");
  });
}

function validate(data) {
  const errors = {};
  if (!PHONE_RE.test(data.phone.replace(/[\s\-().]/g, ""))) {
    errors.phone = "Enter a Kenyan M-Pesa number, e.g. 0712 345 678.";
  }
  if ("amount" in data) {
    const n = Number(data.amount);
    if (!Number.isInteger(n) || n < config.min_amount || n > config.max_amount) {
      errors.amount = `Enter a whole number from ${config.min_amount} to ${config.max_amount}.`;
    }
  }
  return errors;
}

function formData() {
  const data = { phone: form.elements.phone.value.trim() };
  if (config.order) data.order = config.order;
  if (form.elements.amount) data.amount = form.elements.amount.value.trim();
  return data;
}

async function startPayment(event) {
  event.preventDefault();
  const data = formData();
  const errors = validate(data);
  showFieldErrors(errors);
  if (Object.keys(errors).length) {
    form.querySelector('[aria-invalid="true"]')?.focus();
    return;
  }
  if ("amount" in data) data.amount = Number(data.amount);
  attemptKey = attemptKey || newKey();
  payButton.disabled = true;
  payButton.textContent = "Sending…";
  let response;
  let body = {};
  try {
    response = await fetch(config.initiate_url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), "Idempotency-Key": attemptKey },
      body: JSON.stringify(data),
    });
    body = await response.json().catch(() => ({}));
  } catch {
    // Network error: keep the same key so a resend cannot start a second payment.
    showFieldErrors({}, "Could not reach the shop. Check your connection and press Pay again.");
    resetButton();
    return;
  }
  if (body.payment) {
    attemptKey = null;
    form.hidden = true;
    watch(body.payment, body.ws_url, body.status_url);
    if (!response.ok && body.error && !body.payment.terminal) showFieldErrors({}, body.error);
  } else {
    if (response.status >= 400 && response.status < 500 && response.status !== 429) attemptKey = null;
    const wait = response.headers.get("Retry-After");
    showFieldErrors(body.fields || {}, (body.error || "Something went wrong.") + (wait ? ` (wait ${wait} s)` : ""));
  }
  resetButton();
}

function resetButton() {
  payButton.disabled = false;
  payButton.textContent = payButton.dataset.label;
}

function formatLeft(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function startCountdown(deadlineIso) {
  clearInterval(countdownTimer);
  const el = $("[data-countdown]");
  if (!deadlineIso) {
    el.hidden = true;
    return;
  }
  const deadline = Date.parse(deadlineIso);
  const tick = () => {
    const left = deadline - Date.now();
    el.hidden = false;
    el.textContent = left > 0 ? `Time left to enter your PIN: ${formatLeft(left)}` : "Waiting for M-Pesa to confirm…";
    if (left <= 0) clearInterval(countdownTimer);
  };
  tick();
  countdownTimer = setInterval(tick, 1000);
}

function render(payment) {
  panel.hidden = false;
  panel.dataset.status = payment.status;
  panel.dataset.publicId = payment.public_id;
  panel.dataset.version = String(payment.version);
  panel.dataset.renderedAt = String(Date.now()); // read by the end-to-end latency test
  $("[data-status-title]").textContent = payment.title;
  $("[data-status-message]").textContent = payment.message;
  const paid = payment.status === "paid";
  $("[data-receipt]").hidden = !paid;
  $("[data-receipt-number]").textContent = payment.receipt || "(confirmed; receipt to follow)";
  $("[data-receipt-amount]").textContent = `KES ${payment.amount}`;
  if (payment.terminal || !["pending", "initiating"].includes(payment.status)) startCountdown(null);
  else startCountdown(payment.pin_deadline);
  const again = payment.terminal && (payment.retry || (paid && payment.purpose === "deposit"));
  $("[data-retry]").hidden = !again;
  $("[data-retry]").textContent = paid ? "Deposit again" : "Try again";
  if (payment.wallet_balance !== null && payment.wallet_balance !== undefined) {
    document.querySelectorAll("[data-balance]").forEach((el) => (el.textContent = payment.wallet_balance));
  }
  const done = root.querySelector("[data-done]");
  if (done) done.hidden = !paid;
  if (payment.terminal) $("[data-status-title]").focus();
}

// One payment's live status: WebSocket first, polling as the fallback.
class StatusStream {
  constructor(payment, wsUrl, statusUrl) {
    this.version = 0;
    this.wsUrl = wsUrl;
    this.statusUrl = statusUrl;
    this.failures = 0;
    this.closed = false;
    this.update(payment);
    if (!payment.terminal) this.connect();
  }

  update(payment) {
    if (payment.version <= this.version) return; // stale or repeated frame
    this.version = payment.version;
    this.terminal = payment.terminal;
    render(payment);
    if (payment.terminal) this.stop();
  }

  connect() {
    if (this.closed) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    let opened = false;
    const socket = new WebSocket(`${scheme}://${location.host}${this.wsUrl}`);
    this.socket = socket;
    socket.onopen = () => {
      opened = true;
      panel.dataset.transport = "websocket";
      this.failures = 0;
      note("");
    };
    socket.onmessage = (event) => {
      const frame = JSON.parse(event.data);
      if (frame.type === "payment.status") this.update(frame.payment);
    };
    socket.onclose = () => {
      if (this.closed) return;
      if (!opened) this.failures += 1;
      if (this.failures >= MAX_SOCKET_FAILURES) return this.poll();
      const delay = Math.min(8000, 500 * 2 ** this.failures) * (0.75 + Math.random() / 2);
      note("Connection lost; reconnecting…");
      this.retryTimer = setTimeout(() => this.connect(), delay);
    };
  }

  async poll() {
    panel.dataset.transport = "poll";
    note("Live updates are unavailable here; checking every few seconds instead.");
    while (!this.closed) {
      try {
        const response = await fetch(this.statusUrl, { credentials: "same-origin" });
        if (response.ok) this.update((await response.json()).payment);
      } catch {
        // offline for a moment: try again on the next tick
      }
      if (this.closed) break;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  stop() {
    this.closed = true;
    clearTimeout(this.retryTimer);
    if (this.socket && this.socket.readyState <= WebSocket.OPEN) this.socket.close(1000);
    note("");
  }
}

function note(text) {
  $("[data-transport-note]").textContent = text;
}

function watch(payment, wsUrl, statusUrl) {
  if (stream) stream.stop();
  stream = new StatusStream(payment, wsUrl, statusUrl);
}

function tryAgain() {
  if (stream) stream.stop();
  stream = null;
  panel.hidden = true;
  form.hidden = false;
  attemptKey = null;
  showFieldErrors({});
  form.elements.phone.focus();
}

payButton.dataset.label = payButton.textContent;
form.addEventListener("submit", startPayment);
$("[data-retry]").addEventListener("click", tryAgain);
if (config.latest && !config.latest.terminal) {
  form.hidden = true;
  watch(config.latest, `/ws/payments/${config.latest.public_id}/`, `/payments/${config.latest.public_id}/`);
}
