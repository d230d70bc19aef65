// Small DOM and formatting helpers shared by the pages. Everything the API sends
// is put in the page as text (textContent), never as HTML.

/**
 * h('p', {class: 'x', onclick: fn}, 'text', child…) builds an element. Attributes
 * starting with "on" become listeners; false/null attributes are left out; arrays
 * of children are flattened; null children are skipped.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value' || k === 'checked' || k === 'disabled' || k === 'selected') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

/** Replaces el's children, leaving out null, false and undefined (which the DOM would print). */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

const euroFmt = new Intl.NumberFormat('fr-FR', { style: 'currency', currency: 'EUR' });
/** 1234 → "12,34 €" */
export const euros = (cents) => euroFmt.format((cents || 0) / 100);

/** "12,5" or "12.50" → 1250; NaN when unreadable. */
export function parseEuros(text) {
  const t = String(text).trim().replace(/\s|€/g, '').replace(',', '.');
  if (!/^\d+(\.\d{1,2})?$/.test(t)) return NaN;
  return Math.round(parseFloat(t) * 100);
}

const MONTHS = ['janvier', 'février', 'mars', 'avril', 'mai', 'juin', 'juillet', 'août', 'septembre', 'octobre', 'novembre', 'décembre'];
const WEEKDAYS = ['dimanche', 'lundi', 'mardi', 'mercredi', 'jeudi', 'vendredi', 'samedi'];
export const WEEKDAY_SHORT = ['lun.', 'mar.', 'mer.', 'jeu.', 'ven.', 'sam.', 'dim.'];

/** A YYYY-MM-DD date as a local calendar day (no time zone shift). */
export function parseDay(s) {
  const [y, m, d] = s.split('-').map(Number);
  return new Date(y, m - 1, d);
}

export function isoDay(d) {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

export const isoMonth = (d) => isoDay(d).slice(0, 7);
export const thisMonth = () => isoMonth(new Date());

/** "2026-12" + n months → "2027-01" */
export function addMonths(month, n) {
  const [y, m] = month.split('-').map(Number);
  return isoMonth(new Date(y, m - 1 + n, 1));
}

/** "2026-12" → "décembre 2026" */
export function monthLabel(month) {
  const [y, m] = month.split('-').map(Number);
  return `${MONTHS[m - 1]} ${y}`;
}

const dayNumber = (d) => (d.getDate() === 1 ? '1er' : String(d.getDate()));

/** "2026-12-03" → "jeudi 3 décembre 2026"; the first of the month is "1er". */
export function dayLabel(s, withYear = true) {
  const d = parseDay(s);
  return `${WEEKDAYS[d.getDay()]} ${dayNumber(d)} ${MONTHS[d.getMonth()]}${withYear ? ' ' + d.getFullYear() : ''}`;
}

const MONTHS_SHORT = ['janv.', 'févr.', 'mars', 'avr.', 'mai', 'juin', 'juil.', 'août', 'sept.', 'oct.', 'nov.', 'déc.'];
/** "2026-12-01" → "mar. 1er déc.", for lists of days. */
export function shortDayLabel(s) {
  const d = parseDay(s);
  return `${WEEKDAY_SHORT[(d.getDay() + 6) % 7]} ${dayNumber(d)} ${MONTHS_SHORT[d.getMonth()]}`;
}

/** "2026-10" → "d'octobre 2026", "2026-12" → "de décembre 2026" (elision before a vowel). */
export function ofMonth(month) {
  const label = monthLabel(month);
  return /^[aeiouyéèâ]/i.test(label) ? `d'${label}` : `de ${label}`;
}

/** "2026-12-03" → "03/12/2026"; '' for an empty value. */
export function frDate(iso) {
  if (!iso) return '';
  const [y, m, d] = iso.slice(0, 10).split('-');
  return `${d}/${m}/${y}`;
}

/**
 * "3/12/2026", "03/12/2026" or "2026-12-03" → "2026-12-03"; '' for an empty text;
 * null when it is not a real calendar date.
 */
export function isoFromFr(text) {
  const t = String(text || '').trim();
  if (!t) return '';
  let m = t.match(/^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$/);
  let y; let mo; let d;
  if (m) [, d, mo, y] = m.map(Number);
  else if ((m = t.match(/^(\d{4})-(\d{2})-(\d{2})$/))) [, y, mo, d] = m.map(Number);
  else return null;
  const date = new Date(y, mo - 1, d);
  if (date.getFullYear() !== y || date.getMonth() !== mo - 1 || date.getDate() !== d) return null;
  return isoDay(date);
}

/**
 * A date field that reads and writes French dates (jj/mm/aaaa) whatever the
 * browser's locale: a text input, not type=date, whose display follows the browser.
 * attrs.value may be ISO (YYYY-MM-DD). Read it with dateValue(input).
 */
export function dateInput(attrs = {}) {
  const { value, ...rest } = attrs;
  const input = h('input', {
    type: 'text', inputmode: 'numeric', autocomplete: 'off', placeholder: 'jj/mm/aaaa',
    pattern: '\\d{1,2}/\\d{1,2}/\\d{4}', title: 'Date au format jj/mm/aaaa', maxlength: 10, size: 10, ...rest,
  });
  input.value = frDate(value || '');
  input.dataset.dateInput = '';
  input.addEventListener('blur', () => {
    const iso = isoFromFr(input.value);
    if (iso) input.value = frDate(iso); // "3/12/2026" → "03/12/2026"
    input.setCustomValidity(iso === null ? 'Date invalide : écrivez-la jj/mm/aaaa, par exemple 03/12/2026.' : '');
  });
  return input;
}

/**
 * The ISO date (YYYY-MM-DD) of a dateInput; '' when empty. Throws an Error with a
 * French message naming the field when the text is not a date.
 */
export function dateValue(input, label = 'Date') {
  const iso = isoFromFr(input.value);
  if (iso === null) throw new Error(`${label} : « ${input.value} » n'est pas une date (jj/mm/aaaa attendu).`);
  return iso;
}

// Deadlines are the municipality's: shown on French time wherever the browser is,
// as the services' rules say them ("J-2 avant 10h00").
const parisParts = new Intl.DateTimeFormat('fr-FR', {
  timeZone: 'Europe/Paris', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
});

/** An RFC 3339 instant → "mardi 1 décembre 2026 à 10h00", on Paris time. */
export function instantLabel(iso) {
  if (!iso) return '';
  const p = Object.fromEntries(parisParts.formatToParts(new Date(iso)).map((x) => [x.type, x.value]));
  return `${dayLabel(`${p.year}-${p.month}-${p.day}`)} à ${p.hour}h${p.minute}`;
}

export const shortDate = (iso) => (iso ? new Date(iso).toLocaleDateString('fr-FR', { timeZone: 'Europe/Paris' }) : '');

/** The message region at the top of the page (a live region, assertive for errors). */
export function notify(text, kind = 'info') {
  const box = document.getElementById('messages');
  if (!box) return;
  box.replaceChildren();
  if (!text) return;
  const node = typeof text === 'string' ? document.createTextNode(text) : text;
  box.setAttribute('aria-live', kind === 'error' ? 'assertive' : 'polite');
  box.append(h('div', { class: `notice notice-${kind}` }, node));
  // Errors must be seen; other messages are announced without moving the page
  // (ticking a day far down the calendar must not jump to the top).
  if (kind === 'error') box.scrollIntoView({ block: 'nearest' });
}

/** An ApiError (or any error) as a readable block: title, detail, field errors. */
export function problemView(err) {
  const p = (err && err.problem) || {};
  const title = p.title || 'Erreur';
  const detail = p.detail || (err && !err.problem ? String(err.message || err) : '');
  const list = (p.errors || []).filter((e) => e.message);
  return h('div', {},
    h('strong', {}, title),
    detail ? h('p', {}, detail) : null,
    p.cancellation_deadline && !p.detail ? h('p', {}, `Date limite d'annulation : ${instantLabel(p.cancellation_deadline)}.`) : null,
    list.length ? h('ul', {}, list.map((e) => h('li', {}, FIELD_NAMES[e.field] ? `${FIELD_NAMES[e.field]} : ${e.message}` : e.message))) : null);
}

const FIELD_NAMES = {
  login: 'Identifiant', password: 'Mot de passe', new_password: 'Nouveau mot de passe', current_password: 'Mot de passe actuel',
  email: 'E-mail', phone: 'Téléphone', phone2: 'Second téléphone', address: 'Adresse', postal_code: 'Code postal', city: 'Ville',
  subject: 'Objet', body: 'Message', category: 'Catégorie', 'files[]': 'Pièces jointes', first_name: 'Prénom', last_name: 'Nom',
  relationship: 'Lien avec l\'enfant', amount_cents: 'Montant', reason: 'Motif', month: 'Mois', method: 'Mode de règlement',
};
// A field the family would not recognise (items[0], ids[2]) is not named: the
// message itself says which day it is about.

/** Shows an error in the message region (role=alert). */
export function showError(err) {
  console.error(err);
  notify(problemView(err), 'error');
}

/** Marks the form's inputs named in the problem's field errors (aria-invalid). */
export function markFieldErrors(form, err) {
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  for (const e of (err && err.problem && err.problem.errors) || []) {
    const input = form.querySelector(`[name="${CSS.escape(e.field)}"]`);
    if (input) input.setAttribute('aria-invalid', 'true');
  }
}

let idSeq = 0;
/** A labelled form field: label above the input, optional hint tied by aria-describedby. */
export function field(label, input, hint) {
  const id = input.id || `f${++idSeq}`;
  input.id = id;
  let hintEl = null;
  if (hint) {
    hintEl = h('p', { class: 'hint', id: `${id}-hint` }, hint);
    input.setAttribute('aria-describedby', hintEl.id);
  }
  return h('div', { class: 'field' }, h('label', { for: id }, label), hintEl, input);
}

/** A page's title: sets the document title and is focused when the page opens. */
export function pageTitle(text) {
  document.title = `${text} – Portail famille`;
  return h('h1', { tabindex: '-1', id: 'page-title' }, text);
}

/** The "not yet available" block for an API route this server does not have. */
export function unavailable(what) {
  return h('div', { class: 'notice notice-warning', role: 'status' },
    h('strong', {}, 'Pas encore disponible'),
    h('p', {}, `${what} : cette fonction n'est pas encore disponible sur ce serveur.`));
}

/** Runs fn with the button disabled (and aria-busy), to prevent double submissions. */
export async function busy(button, fn) {
  if (button) { button.disabled = true; button.setAttribute('aria-busy', 'true'); }
  try { return await fn(); } finally {
    if (button && button.isConnected) { button.disabled = false; button.removeAttribute('aria-busy'); }
  }
}

/** A loading placeholder, announced politely. */
export const loading = (text = 'Chargement…') => h('p', { class: 'loading', role: 'status' }, text);

/** A definition list from [term, value] pairs. */
export const dl = (pairs) => h('dl', { class: 'facts' }, pairs.filter(Boolean).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));

/** Simple table: headers, rows of cells (strings or nodes), a caption for screen readers. */
// The roles are explicit: a table restyled as cards on a phone stays a table for
// screen readers. An empty header is named for them only.
export function table(caption, headers, rows, opts = {}) {
  return h('div', { class: 'table-wrap' },
    h('table', { class: opts.class || '', role: 'table' },
      h('caption', { class: opts.showCaption ? '' : 'sr-only' }, caption),
      h('thead', { role: 'rowgroup' }, h('tr', { role: 'row' }, headers.map((x) => h('th', { scope: 'col', role: 'columnheader' }, x === '' ? h('span', { class: 'sr-only' }, 'Actions') : x)))),
      h('tbody', { role: 'rowgroup' }, rows.map((r) => h('tr', { role: 'row' }, r.map((c, i) => (i === 0 && opts.rowHeaders
        ? h('th', { scope: 'row', role: 'rowheader' }, c)
        // data-label: the column's name, which a table stacked on a phone shows beside the value.
        : h('td', { role: 'cell', dataset: typeof headers[i] === 'string' && headers[i] ? { label: headers[i] } : null }, c))))))));
}

/** "jeudi 3 décembre…" → "Jeudi 3 décembre…", for a sentence that starts with a date. */
export const capitalize = (s) => (s ? s[0].toUpperCase() + s.slice(1) : s);

/** Current route's query parameters (after "?" in the fragment). */
export function routeQuery() {
  const hash = location.hash || '';
  const i = hash.indexOf('?');
  return new URLSearchParams(i >= 0 ? hash.slice(i + 1) : '');
}
