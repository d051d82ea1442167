// M-Pesa checkout, drop-in: an ES module with no dependencies.
//
//   <script type="module" src="/static/payments/mpesa-checkout.js"></script>
//   <mpesa-checkout payable="order" payable-id="8c1f…" amount="2400"></mpesa-checkout>
//
// The element starts the payment (POST <api>initiate/ with an Idempotency-Key), opens the
// payment's WebSocket (the session's cookie on the same origin, or a single-use ticket when an
// API token is given), reconnects with backoff (every connect brings a fresh snapshot, so it is
// also a resync), falls back to polling the status endpoint when sockets are blocked, and
// shows every state with its message — or only emits events, for a custom UI (`headless`).
//
// Attributes: payable, payable-id, amount (shown; the payable decides what is charged),
//   open-amount (the customer types the amount; min, max), api (default "/payments/"),
//   token (an API token: Authorization: Token …), label (the button), again-label,
//   resume (a payment payload, JSON, to keep watching), headless.
// Events (bubbling): mpesa-status {payment}, mpesa-paid {payment}, mpesa-failed {payment},
//   mpesa-stopped {payment} ("Wrong number?"), mpesa-error {error, fields, status}.
// Children marked data-when-paid show once it is paid. While the M-Pesa menu can pay it (payload.paybill)
// the element shows the Pay Bill steps and keeps listening, also after the prompt timed out: a menu
// payment turns it Paid live. Words: mpesa-checkout-strings.js, in the nearest `lang` attribute's language.

import { STRINGS, format, stringsFor } from "./mpesa-checkout-strings.js";

const MAX_SOCKET_FAILURES = 3;
const POLL_MS = 3000;
const PHONE_RE = /^(?:\+?254|0)?[17]\d{8}$/;

export function newIdempotencyKey() {
  return crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

function headers(token, json = true) {
  const sent = json ? { "Content-Type": "application/json" } : {};
  if (token) sent.Authorization = `Token ${token}`;
  else sent["X-CSRFToken"] = csrfToken();
  return sent;
}

// Start a payment. Resolves to {response, body}; never throws on HTTP errors. Keep `key`
// across a resend after a network error so a second press cannot start a second payment.
export async function startPayment({ api = "/payments/", token = "", payable, id, phone, amount, key }) {
  const data = { payable, id, phone };
  if (amount !== undefined && amount !== null && amount !== "") data.amount = Number(amount);
  const response = await fetch(new URL("initiate/", new URL(api, location.href)), {
    method: "POST",
    credentials: token ? "omit" : "same-origin",
    headers: { ...headers(token), "Idempotency-Key": key },
    body: JSON.stringify(data),
  });
  const body = await response.json().catch(() => ({}));
  return { response, body };
}

// One payment's live status: WebSocket first (ticket or session), polling as the fallback.
// `onPayment(payment)` gets every newer state; `onNote(text, transport)` what the link does.
export class StatusStream {
  constructor({ api = "/payments/", token = "", payment, links, onPayment, onNote = () => {}, strings }) {
    this.base = new URL(api, location.href);
    this.t = strings || STRINGS.en;
    this.token = token;
    this.links = links;
    this.onPayment = onPayment;
    this.onNote = onNote;
    this.version = 0;
    this.failures = 0;
    this.closed = false;
    this.update(payment);
    if (!finished(payment)) this.connect();
  }

  url(path) {
    return new URL(path, this.base);
  }

  update(payment) {
    if (!payment || payment.version <= this.version) return; // stale or repeated frame
    this.version = payment.version;
    this.onPayment(payment);
    if (finished(payment)) this.stop();
  }

  async socketUrl() {
    const url = this.url(this.links.ws_url);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    if (this.token) {
      const response = await fetch(this.url(this.links.ticket_url), {
        method: "POST",
        credentials: "omit",
        headers: headers(this.token, false),
      });
      if (!response.ok) throw new Error(`ticket: HTTP ${response.status}`);
      url.searchParams.set("ticket", (await response.json()).ticket);
    }
    return url;
  }

  async connect() {
    if (this.closed) return;
    let opened = false;
    let socket;
    try {
      socket = new WebSocket(await this.socketUrl());
    } catch {
      return this.retry(false);
    }
    this.socket = socket;
    socket.onopen = () => {
      opened = true;
      this.failures = 0;
      this.onNote("", "websocket");
    };
    socket.onmessage = (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (frame.type === "payment.status") this.update(frame.payment);
    };
    socket.onclose = () => this.retry(opened);
  }

  retry(opened) {
    if (this.closed) return;
    if (!opened) this.failures += 1;
    if (this.failures >= MAX_SOCKET_FAILURES) return this.poll();
    const delay = Math.min(8000, 500 * 2 ** this.failures) * (0.75 + Math.random() / 2);
    this.onNote(this.t.reconnecting, "websocket");
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  async poll() {
    this.onNote(this.t.polling, "poll");
    while (!this.closed) {
      try {
        const response = await fetch(this.url(this.links.status_url), {
          credentials: this.token ? "omit" : "same-origin",
          headers: headers(this.token, false),
        });
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
  }
}

// Nothing more can happen: terminal, and the M-Pesa menu (Pay Bill) cannot pay it either. A
// timed-out prompt is terminal but still payable from the menu: keep listening for that.
export function finished(payment) {
  return Boolean(payment.terminal && !payment.paybill);
}

export function linksFor(payment) {
  return {
    ws_url: `/ws/payments/${payment.public_id}/`,
    status_url: `${payment.public_id}/`,
    stop_url: `${payment.public_id}/stop/`,
    ticket_url: `${payment.public_id}/ticket/`,
  };
}

// The same format as payments/money.py (payloads carry it ready-made as amount_display).
export function kes(amount) {
  return `KES ${Math.trunc(Number(amount) || 0).toLocaleString("en-US")}`;
}

function formatLeft(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

const template = (t) => `
  <form class="card stack" data-pay-form novalidate>
    <div data-amount-field hidden>
      <label data-for="amount">${t.amountLabel}</label>
      <input name="amount" type="number" inputmode="numeric" step="1" required data-aria="amount">
      <p class="error" data-error-for="amount" role="alert"></p>
    </div>
    <label data-for="phone">${t.phoneLabel}</label>
    <input name="phone" type="tel" inputmode="tel" autocomplete="tel" required placeholder="0712 345 678" data-aria="phone">
    <p class="hint" data-hint>${t.phoneHint}</p>
    <p class="error" data-error-for="phone" role="alert"></p>
    <p class="error" data-error-for="form" role="alert"></p>
    <button type="submit" data-pay></button>
  </form>
  <section class="status card" data-status-panel hidden>
    <div aria-live="polite" aria-atomic="true">
      <h2 data-status-title tabindex="-1"></h2>
      <p data-status-message></p>
      <div class="waiting" data-waiting hidden>
        <p data-sent-to></p>
        <progress data-progress max="60" value="60" aria-label="${t.pinTimeLabel}"></progress>
        <p class="countdown" data-countdown hidden></p>
        <p class="actions">
          <button type="button" class="link" data-wrong-number>${t.wrongNumber}</button>
          <button type="button" class="link" data-not-received>${t.notReceived}</button>
        </p>
        <p class="hint" data-resend-hint hidden>${t.resendHint}</p>
      </div>
      <dl class="receipt" data-receipt hidden>
        <dt>${t.receipt}</dt><dd data-receipt-number></dd>
        <dt>${t.amount}</dt><dd data-receipt-amount></dd>
      </dl>
    </div>
    <details class="paybill" data-paybill hidden>
      <summary data-paybill-title></summary>
      <ol class="paybill-steps">
        <li>${t.paybillOpen}</li>
        <li>${t.businessNumber} <strong class="mono" data-paybill-business></strong></li>
        <li>${t.accountNumber} <strong class="mono" data-paybill-account></strong>
          <button type="button" class="link" data-copy-account>${t.copy}</button></li>
        <li>${t.paybillAmount} <strong data-paybill-amount></strong> ${t.exactly}</li>
        <li>${t.paybillPin}</li>
      </ol>
    </details>
    <p class="muted small" data-transport-note role="status"></p>
    <button type="button" data-retry hidden>${t.tryAgain}</button>
  </section>`;

let counter = 0;

export class MpesaCheckoutElement extends HTMLElement {
  connectedCallback() {
    if (this.form) return;
    const uid = `mpesa-${++counter}`;
    const extras = [...this.children];
    this.t = stringsFor(this);
    this.insertAdjacentHTML("afterbegin", template(this.t));
    extras.forEach((child) => child.hasAttribute("data-when-paid") && (child.hidden = true));
    for (const label of this.querySelectorAll("[data-for]")) label.htmlFor = `${uid}-${label.dataset.for}`;
    for (const input of this.querySelectorAll("[data-aria]")) {
      input.id = `${uid}-${input.dataset.aria}`;
      const error = this.querySelector(`[data-error-for="${input.dataset.aria}"]`);
      error.id = `${input.id}-error`;
      input.setAttribute("aria-describedby", error.id);
    }
    this.form = this.querySelector("[data-pay-form]");
    this.panel = this.querySelector("[data-status-panel]");
    this.panel.setAttribute("aria-labelledby", (this.querySelector("[data-status-title]").id = `${uid}-title`));
    this.button = this.querySelector("[data-pay]");
    this.button.textContent = this.getAttribute("label") || format(this.t.pay, { amount: kes(this.getAttribute("amount")) });
    if (this.hasAttribute("open-amount")) {
      this.querySelector("[data-amount-field]").hidden = false;
      const input = this.form.elements.amount;
      input.min = this.getAttribute("min") || "1";
      input.max = this.getAttribute("max") || "250000";
    } else {
      this.form.elements.amount.disabled = true;
    }
    if (this.hasAttribute("headless")) this.form.hidden = true;
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.pay();
    });
    this.querySelector("[data-retry]").addEventListener("click", () => this.reset());
    this.querySelector("[data-wrong-number]").addEventListener("click", () => this.stop());
    this.querySelector("[data-not-received]").addEventListener("click", () => {
      const box = this.querySelector("[data-paybill]");
      if (!box.hidden) {
        box.open = true;
        box.querySelector("summary").focus();
      } else {
        this.querySelector("[data-resend-hint]").hidden = false;
      }
    });
    this.querySelector("[data-copy-account]").addEventListener("click", (event) => {
      const account = this.querySelector("[data-paybill-account]").dataset.account || "";
      navigator.clipboard?.writeText(account).then(() => (event.target.textContent = this.t.copied), () => {});
    });
    const resume = this.getAttribute("resume");
    if (resume) {
      const payment = JSON.parse(resume);
      if (payment && !finished(payment)) this.watch(payment, linksFor(payment));
    }
  }

  disconnectedCallback() {
    if (this.stream) this.stream.stop();
  }

  get api() {
    return this.getAttribute("api") || "/payments/";
  }

  get token() {
    return this.getAttribute("token") || "";
  }

  emit(name, detail) {
    this.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }));
  }

  errors(fields = {}, general = "") {
    for (const el of this.querySelectorAll("[data-error-for]")) {
      const name = el.dataset.errorFor;
      el.textContent = name === "form" ? general : fields[name] || "";
      const input = this.form.elements[name];
      if (input) input.setAttribute("aria-invalid", fields[name] ? "true" : "false");
    }
  }

  validate(phone, amount) {
    const errors = {};
    if (!PHONE_RE.test(phone.replace(/[\s\-().]/g, ""))) {
      errors.phone = this.t.phoneError;
    }
    if (this.hasAttribute("open-amount")) {
      const n = Number(amount);
      const low = Number(this.getAttribute("min") || 1);
      const high = Number(this.getAttribute("max") || 250000);
      if (!Number.isInteger(n) || n < low || n > high) errors.amount = format(this.t.amountError, { low, high });
    }
    return errors;
  }

  async pay() {
    const phone = this.form.elements.phone.value.trim();
    const amount = this.hasAttribute("open-amount") ? this.form.elements.amount.value.trim() : undefined;
    const invalid = this.validate(phone, amount);
    this.errors(invalid);
    if (Object.keys(invalid).length) {
      this.form.querySelector('[aria-invalid="true"]')?.focus();
      return;
    }
    this.key = this.key || newIdempotencyKey();
    const label = this.button.textContent;
    this.button.disabled = true;
    this.button.textContent = this.t.sending;
    let result;
    try {
      result = await startPayment({
        api: this.api, token: this.token, payable: this.getAttribute("payable"),
        id: this.getAttribute("payable-id"), phone, amount, key: this.key,
      });
    } catch {
      // Network error: keep the same key so a resend cannot start a second payment.
      this.errors({}, this.t.networkError);
      this.emit("mpesa-error", { error: "network", fields: {}, status: 0 });
      this.button.disabled = false;
      this.button.textContent = label;
      return;
    }
    const { response, body } = result;
    this.button.disabled = false;
    this.button.textContent = label;
    if (body.payment) {
      this.key = null;
      this.form.hidden = true;
      this.watch(body.payment, body);
      if (!response.ok && body.error && !body.payment.terminal) this.errors({}, body.error);
      return;
    }
    if (response.status >= 400 && response.status < 500 && response.status !== 429) this.key = null;
    const wait = response.headers.get("Retry-After");
    const message = (body.error || this.t.somethingWrong) + (wait ? format(this.t.wait, { seconds: wait }) : "");
    this.errors(body.fields || {}, message);
    this.emit("mpesa-error", { error: message, fields: body.fields || {}, status: response.status });
  }

  watch(payment, links) {
    if (this.stream) this.stream.stop();
    this.stream = new StatusStream({
      api: this.api, token: this.token, payment, links, strings: this.t,
      onPayment: (p) => this.render(p),
      onNote: (text, transport) => {
        this.panel.dataset.transport = transport;
        this.querySelector("[data-transport-note]").textContent = text;
      },
    });
  }

  // "Wrong number?": stop this attempt (the server frees the phone and the payable), then the
  // form comes back with the number selected for correcting. Same page, no reload.
  async stop() {
    const links = this.stream ? this.stream.links : null;
    if (!links || !links.stop_url) return;
    const button = this.querySelector("[data-wrong-number]");
    button.disabled = true;
    let response;
    let body = {};
    try {
      response = await fetch(new URL(links.stop_url, new URL(this.api, location.href)), {
        method: "POST",
        credentials: this.token ? "omit" : "same-origin",
        headers: headers(this.token, false),
      });
      body = await response.json().catch(() => ({}));
    } catch {
      button.disabled = false;
      this.querySelector("[data-transport-note]").textContent = this.t.stopNetworkError;
      return;
    }
    button.disabled = false;
    if (response.ok) {
      this.emit("mpesa-stopped", { payment: body.payment });
      this.reset();
      this.form.elements.phone.select();
    } else if (body.payment) {
      this.stream.update(body.payment); // it was settled meanwhile: show what happened
    }
  }

  countdown(deadlineIso, seconds) {
    clearInterval(this.timer);
    const el = this.querySelector("[data-countdown]");
    const bar = this.querySelector("[data-progress]");
    if (!deadlineIso) {
      el.hidden = true;
      return;
    }
    const deadline = Date.parse(deadlineIso);
    bar.max = seconds || 60;
    const tick = () => {
      const left = deadline - Date.now();
      el.hidden = false;
      bar.value = Math.max(0, left / 1000);
      el.textContent = left > 0 ? format(this.t.timeLeft, { left: formatLeft(left) }) : this.t.confirming;
      if (left <= 0) clearInterval(this.timer);
    };
    tick();
    this.timer = setInterval(tick, 1000);
  }

  render(payment) {
    const $ = (selector) => this.querySelector(selector);
    const panel = this.panel;
    panel.hidden = this.hasAttribute("headless");
    panel.dataset.status = payment.status;
    panel.dataset.publicId = payment.public_id;
    panel.dataset.version = String(payment.version);
    panel.dataset.renderedAt = String(Date.now()); // read by the end-to-end latency test
    $("[data-status-title]").textContent = payment.title;
    $("[data-status-message]").textContent = payment.message;
    const paid = payment.status === "paid";
    $("[data-receipt]").hidden = !paid;
    $("[data-receipt-number]").textContent = payment.receipt || this.t.receiptToFollow;
    $("[data-receipt-amount]").textContent = payment.amount_display;
    const waiting = !payment.terminal && ["pending", "initiating", "unknown"].includes(payment.status);
    $("[data-waiting]").hidden = !waiting;
    const sent = { phone: payment.phone_display, amount: payment.amount_display };
    $("[data-sent-to]").textContent = format(payment.phone_display ? this.t.sentTo : this.t.sentFor, sent);
    $("[data-wrong-number]").hidden = !payment.cancellable;
    if (!waiting) $("[data-resend-hint]").hidden = true;
    this.countdown(waiting && payment.status !== "unknown" ? payment.pin_deadline : null, payment.pin_seconds);
    const again = payment.terminal && (payment.retry || (paid && this.hasAttribute("open-amount")));
    $("[data-retry]").hidden = !again;
    $("[data-retry]").textContent = paid ? this.getAttribute("again-label") || this.t.payAgain : this.t.tryAgain;
    this.paybill(payment.paybill);
    for (const child of this.querySelectorAll("[data-when-paid]")) child.hidden = !paid;
    this.emit("mpesa-status", { payment });
    if (paid) this.emit("mpesa-paid", { payment });
    else if (payment.terminal) this.emit("mpesa-failed", { payment });
    if (payment.terminal) $("[data-status-title]").focus();
  }

  // Pay Bill instructions: folded under "Didn't get the prompt?" while the prompt may still
  // come; open and first when it failed in a way the menu gets round (phone off, busy, SIM).
  paybill(info) {
    const $ = (selector) => this.querySelector(selector);
    const box = $("[data-paybill]");
    box.hidden = !info;
    if (!info) return;
    $("[data-paybill-title]").textContent = info.primary ? this.t.paybillPrimary : this.t.paybillFolded;
    $("[data-paybill-business]").textContent = info.business_number;
    const account = $("[data-paybill-account]");
    account.textContent = info.account_display;
    account.dataset.account = info.account;
    $("[data-paybill-amount]").textContent = info.amount_display;
    if (info.primary && !box.dataset.opened) box.open = box.dataset.opened = "1";
    box.classList.toggle("primary", Boolean(info.primary));
  }

  reset() {
    if (this.stream) this.stream.stop();
    this.stream = null;
    this.panel.hidden = true;
    this.form.hidden = this.hasAttribute("headless");
    this.key = null;
    this.errors({});
    this.form.elements.phone.focus();
  }
}

if (!customElements.get("mpesa-checkout")) customElements.define("mpesa-checkout", MpesaCheckoutElement);
