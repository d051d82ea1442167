// The checkout element's words (payments/static/payments/mpesa-checkout-strings.js): every
// language has every key, with the same {placeholders} and the same <markup>; Kiswahili is
// really Kiswahili (not English left in place); and the element itself shows no English of
// its own: every user-visible text comes from the dictionary. Run: node --test tests/node/
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

const ROOT = new URL("../../payments/static/payments/", import.meta.url);
const dictionarySource = readFileSync(new URL("mpesa-checkout-strings.js", ROOT), "utf8");
const elementSource = readFileSync(new URL("mpesa-checkout.js", ROOT), "utf8");
// The files are ES modules under a folder with no package.json: load the dictionary as one.
const { STRINGS, format } = await import(`data:text/javascript,${encodeURIComponent(dictionarySource)}`);

const placeholders = (text) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
const tags = (text) => [...text.matchAll(/<\/?\w+>/g)].map((m) => m[0]).sort();

test("every language has exactly the English keys, none empty", () => {
  const keys = Object.keys(STRINGS.en).sort();
  for (const [lang, strings] of Object.entries(STRINGS)) {
    assert.deepEqual(Object.keys(strings).sort(), keys, `${lang}: missing or extra keys`);
    for (const key of keys) assert.ok(strings[key].trim(), `${lang}.${key} is empty`);
  }
});

test("translations keep the placeholders and the markup", () => {
  for (const [lang, strings] of Object.entries(STRINGS)) {
    for (const [key, english] of Object.entries(STRINGS.en)) {
      assert.deepEqual(placeholders(strings[key]), placeholders(english), `${lang}.${key} placeholders`);
      assert.deepEqual(tags(strings[key]), tags(english), `${lang}.${key} markup`);
    }
  }
});

test("Kiswahili is translated, in M-Pesa's own words", () => {
  const same = Object.keys(STRINGS.en).filter((key) => STRINGS.sw[key] === STRINGS.en[key]);
  assert.deepEqual(same, [], "left in English");
  assert.match(STRINGS.sw.paybillPin, /Weka PIN yako ya M-PESA/);
  assert.match(STRINGS.sw.paybillOpen, /Lipa na M-PESA/);
  assert.equal(STRINGS.sw.tryAgain, "Jaribu tena");
  assert.equal(format(STRINGS.sw.pay, { amount: "KES 10" }), "Lipa KES 10");
});

// String and template literals of the element, without comments, ${…} and tags.
function literals(source) {
  const code = source.replace(/^\s*\/\/.*$/gm, "").replace(/\/\*[\s\S]*?\*\//g, "");
  return [...code.matchAll(/"((?:[^"\\\n]|\\.)*)"|`((?:[^`\\]|\\.)*)`/g)].map((m) => m[1] ?? m[2]);
}

// Protocol words the element may contain: headers, event names, statuses, selectors.
const TECHNICAL = /^(Content-Type|X-CSRFToken|Idempotency-Key|Authorization|Retry-After|Token|POST|KES)$/;

function englishIn(literal) {
  const attributes = [...literal.matchAll(/(?:aria-label|placeholder|title|alt)="([^"]*)"/g)]
    .map((m) => m[1].replace(/\$\{[^}]*\}/g, ""))
    .filter((value) => /[A-Za-z]{2,}/.test(value));
  const text = literal
    .replace(/\$\{[^}]*\}/g, " ")
    .replace(/<[^>]*>/g, " ")
    .split(/\s+/)
    .filter((word) => /^[A-Z][a-z]+[a-z.,;:?!…']*$/.test(word) && !TECHNICAL.test(word));
  return [...attributes, ...text];
}

test("the element shows no English of its own", () => {
  const found = literals(elementSource).flatMap(englishIn);
  assert.deepEqual(found, [], "user-visible English in mpesa-checkout.js: move it to the dictionary");
});
