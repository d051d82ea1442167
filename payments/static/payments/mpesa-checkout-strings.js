// Every word the checkout element shows, in English and Kiswahili (M-Pesa's own terms: "Weka
// PIN yako ya M-PESA", "Lipa na M-PESA", "Nambari ya biashara", "Nambari ya akaunti"). The
// element reads the language from its nearest `lang` attribute (the page's <html lang>, set
// by Django's LocaleMiddleware). Add a language: one more object with the same keys
// (tests/node/checkout_strings.test.mjs fails on a missing key or placeholder). `{name}`
// placeholders are filled by format(); paybill steps may hold <strong> (our own markup).

export const STRINGS = {
  en: {
    amountLabel: "Amount (KES)",
    phoneLabel: "M-Pesa phone number",
    phoneHint: "Safaricom number: 07…, 01…, +254… or 254…",
    pinTimeLabel: "Time left to enter your PIN",
    wrongNumber: "Wrong number?",
    notReceived: "Didn't get it?",
    resendHint:
      "Check that your phone is on, unlocked and has signal. If nothing comes within a minute, stop this attempt and try again.",
    receipt: "Receipt",
    amount: "Amount",
    paybillOpen: "On your phone open <strong>M-PESA</strong> → <strong>Lipa na M-PESA</strong> → <strong>Pay Bill</strong>.",
    businessNumber: "Business number:",
    accountNumber: "Account number:",
    paybillAmount: "Amount:",
    exactly: "(exactly this)",
    paybillPin: "Enter your M-PESA PIN and send. This page turns Paid by itself.",
    copy: "Copy",
    copied: "Copied",
    tryAgain: "Try again",
    payAgain: "Pay again",
    pay: "Pay {amount}",
    sending: "Sending…",
    networkError: "Could not reach the shop. Check your connection and press Pay again.",
    stopNetworkError: "Could not reach the shop. Try again.",
    somethingWrong: "Something went wrong.",
    wait: " (wait {seconds} s)",
    reconnecting: "Connection lost; reconnecting…",
    polling: "Live updates are unavailable here; checking every few seconds instead.",
    phoneError: "Enter a Kenyan M-Pesa number, e.g. 0712 345 678.",
    amountError: "Enter a whole number from {low} to {high}.",
    timeLeft: "Time left to enter your PIN: {left}",
    confirming: "Waiting for M-Pesa to confirm…",
    receiptToFollow: "(confirmed; receipt to follow)",
    sentTo: "Prompt sent to {phone} for {amount}.",
    sentFor: "Prompt for {amount}.",
    paybillPrimary: "Pay from the M-Pesa menu instead",
    paybillFolded: "Didn't get the prompt? Pay from the M-Pesa menu",
  },
  sw: {
    amountLabel: "Kiasi (KES)",
    phoneLabel: "Nambari ya simu ya M-PESA",
    phoneHint: "Nambari ya Safaricom: 07…, 01…, +254… au 254…",
    pinTimeLabel: "Muda uliobaki wa kuweka PIN yako",
    wrongNumber: "Nambari si sahihi?",
    notReceived: "Hujapokea ombi?",
    resendHint:
      "Hakikisha simu yako imewashwa, haijafungwa na ina mtandao. Usipopokea chochote ndani ya dakika moja, sitisha jaribio hili kisha ujaribu tena.",
    receipt: "Risiti",
    amount: "Kiasi",
    paybillOpen: "Kwenye simu yako fungua <strong>M-PESA</strong> → <strong>Lipa na M-PESA</strong> → <strong>Pay Bill</strong>.",
    businessNumber: "Nambari ya biashara:",
    accountNumber: "Nambari ya akaunti:",
    paybillAmount: "Kiasi:",
    exactly: "(kiasi hiki kamili)",
    paybillPin: "Weka PIN yako ya M-PESA kisha utume. Ukurasa huu utabadilika kuwa Imelipwa wenyewe.",
    copy: "Nakili",
    copied: "Imenakiliwa",
    tryAgain: "Jaribu tena",
    payAgain: "Lipa tena",
    pay: "Lipa {amount}",
    sending: "Inatuma…",
    networkError: "Hatukuweza kufikia duka. Angalia muunganisho wako kisha ubonyeze Lipa tena.",
    stopNetworkError: "Hatukuweza kufikia duka. Jaribu tena.",
    somethingWrong: "Hitilafu imetokea.",
    wait: " (subiri sekunde {seconds})",
    reconnecting: "Muunganisho umekatika; tunaunganisha tena…",
    polling: "Taarifa za papo hapo hazipatikani hapa; tunaangalia kila baada ya sekunde chache badala yake.",
    phoneError: "Weka nambari ya M-PESA ya Kenya, k.m. 0712 345 678.",
    amountError: "Weka kiasi kamili kuanzia {low} hadi {high}.",
    timeLeft: "Muda uliobaki wa kuweka PIN yako: {left}",
    confirming: "Tunasubiri M-PESA ithibitishe…",
    receiptToFollow: "(imethibitishwa; risiti itafuata)",
    sentTo: "Ombi la malipo limetumwa kwa {phone} la {amount}.",
    sentFor: "Ombi la malipo la {amount}.",
    paybillPrimary: "Lipa kupitia menyu ya M-PESA badala yake",
    paybillFolded: "Hujapokea ombi? Lipa kupitia menyu ya M-PESA",
  },
};

// The strings for `element`'s language: its nearest `lang` (sw-KE → sw), else English.
export function stringsFor(element) {
  const tagged = element && element.closest ? element.closest("[lang]") : null;
  const lang = (tagged ? tagged.getAttribute("lang") : "") || "en";
  return STRINGS[lang.toLowerCase().split("-")[0]] || STRINGS.en;
}

// "Pay {amount}" + {amount: "KES 10"} → "Pay KES 10".
export function format(text, values = {}) {
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}
