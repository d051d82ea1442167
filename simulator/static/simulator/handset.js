// The virtual handset: shows STK prompts for one phone, live over a WebSocket, and answers them.
// Frames: see simulator/consumers.py. No build step, no dependencies.

const root = document.getElementById("handset");
const statusLine = document.getElementById("handset-status");
const promptsBox = document.getElementById("prompts");
const historyList = document.getElementById("history");
const template = document.getElementById("prompt-template");
const HEARTBEAT_MS = 10000;
const forms = new Map(); // checkout_request_id -> form element

let socket = null;
let heartbeat = null;
let retryMs = 500;

function say(text) {
  statusLine.textContent = text;
}

function remember(text) {
  const item = document.createElement("li");
  item.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  historyList.prepend(item);
}

function send(frame) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
}

function showPrompt(prompt) {
  if (forms.has(prompt.checkout_request_id)) return;
  const form = template.content.firstElementChild.cloneNode(true);
  const ref = prompt.account_reference ? `, account no. ${prompt.account_reference}` : "";
  form.querySelector(".prompt-text").textContent =
    `Pay KES ${prompt.amount} to ${prompt.shop} (${prompt.shortcode})${ref}. Enter M-PESA PIN:`;
  const answer = (kind) => {
    const pin = form.elements.pin.value;
    send({ type: kind, checkout_request_id: prompt.checkout_request_id, pin });
    form.querySelectorAll("button").forEach((b) => { b.disabled = true; });
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    answer("pay");
  });
  form.querySelectorAll("button[type=button]").forEach((button) => {
    button.addEventListener("click", () => answer(button.dataset.answer));
  });
  forms.set(prompt.checkout_request_id, form);
  promptsBox.append(form);
  form.elements.pin.focus();
  say("A payment prompt is waiting.");
}

function closePrompt(id, text) {
  const form = forms.get(id);
  if (form) {
    form.remove();
    forms.delete(id);
  }
  if (text) remember(text);
  if (!forms.size) say("Connected. Waiting for prompts.");
}

function onFrame(frame) {
  switch (frame.type) {
    case "snapshot":
      for (const id of [...forms.keys()]) {
        if (!frame.prompts.some((p) => p.checkout_request_id === id)) closePrompt(id, "");
      }
      frame.prompts.forEach(showPrompt);
      if (!frame.prompts.length) say("Connected. Waiting for prompts.");
      break;
    case "prompt":
      showPrompt(frame.prompt);
      break;
    case "answered":
      closePrompt(frame.checkout_request_id, `answered: result ${frame.result_code} (${frame.result_desc})`);
      break;
    case "closed":
      closePrompt(frame.checkout_request_id, `prompt closed (${frame.reason}): result ${frame.result_code}`);
      break;
    case "error": {
      const form = forms.get(frame.checkout_request_id);
      if (form) {
        form.querySelector(".prompt-error").textContent = frame.error;
        form.querySelectorAll("button").forEach((b) => { b.disabled = false; });
      } else {
        say(frame.error);
      }
      break;
    }
    default:
      break;
  }
}

function connect() {
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${window.location.host}${root.dataset.wsPath}`);
  socket.addEventListener("open", () => {
    retryMs = 500;
    say("Connected. Waiting for prompts.");
    // Heartbeat (keeps this phone "open") and resync (catches anything the layer dropped).
    heartbeat = setInterval(() => send({ type: "resync" }), HEARTBEAT_MS);
  });
  socket.addEventListener("message", (event) => onFrame(JSON.parse(event.data)));
  socket.addEventListener("close", () => {
    clearInterval(heartbeat);
    say("Disconnected; reconnecting…");
    setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 10000);
  });
}

connect();
