// What the back office's pages share: role checks, loaded sections, small bits of
// layout.

import { ApiError } from '../../api.js';
import { h, mount, loading, unavailable, problemView, pageTitle, isoDay, parseDay, table, euros, WEEKDAY_SHORT } from '../../ui.js';
import { session } from '../../app.js';
import { ROLES, FIELD_ROLES } from './roles.js';

const STAFF = ['agent', 'finance', 'admin'];

/** The logged-in staff member may call the API operation (by its operationId). */
export function can(operationId) {
  const role = session.me && session.me.role;
  return (ROLES[operationId] || STAFF).includes(role);
}

/** The logged-in staff member may set this field of an operation ("op.field"). */
export function canField(key) {
  const role = session.me && session.me.role;
  return (FIELD_ROLES[key] || STAFF).includes(role);
}

/** An error as a block in the page (a section that failed to load). */
export const errorBox = (err, what) => (err instanceof ApiError && err.unavailable
  ? unavailable(what) : h('div', { class: 'notice notice-error', role: 'alert' }, problemView(err)));

/** A card whose content is loaded; a route this server lacks says so. */
export function section(title, content, id) {
  const body = h('div', {}, loading());
  Promise.resolve(content).then((node) => mount(body, node), (err) => mount(body, errorBox(err, title)));
  const hid = `s-${id || Math.random().toString(36).slice(2)}`;
  return h('section', { class: 'card', 'aria-labelledby': hid, id: id ? `card-${id}` : null }, h('h2', { id: hid }, title), body);
}

/**
 * Loads a list page's data; a route this server lacks becomes a "pas encore
 * disponible" page. (A detail page's 404 is a missing record, shown as an error.)
 */
export async function loadOr(ctx, title, what, fn) {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ApiError && err.unavailable) {
      mount(ctx.root, pageTitle(title), unavailable(what));
      return null;
    }
    throw err;
  }
}

/** The page a role may not open: said plainly, with where to go instead. */
export function notForRole(ctx, title, who) {
  mount(ctx.root, pageTitle(title), h('p', {}, `Cette page est réservée ${who}.`),
    h('p', {}, h('a', { href: '#/admin/familles' }, 'Retour aux familles')));
}

export const breadcrumb = (...parts) => h('p', { class: 'breadcrumb' }, parts.flatMap((p, i) => (i ? [' › ', p] : [p])));

export const WEEKDAY_NAMES = { 1: 'lundi', 2: 'mardi', 3: 'mercredi', 4: 'jeudi', 5: 'vendredi', 6: 'samedi', 7: 'dimanche' };
/** ISO weekdays [1, 2, 4, 5] → "lun., mar., jeu., ven." */
export const weekdaysShort = (days) => days.map((d) => WEEKDAY_SHORT[d - 1]).join(', ') || 'aucun jour';

/** A bracket's QF range: "0–700", "701 et plus". */
const qfRange = (p) => (p.qf_max === null || p.qf_max === undefined ? `${p.qf_min} et plus` : `${p.qf_min}–${p.qf_max}`);
/** One bracket of a price grid: "QF 0–700 : 1,20 €". */
export const bracketLabel = (p) => `QF\u00a0${qfRange(p)}\u00a0: ${euros(p.price_cents)}`;
/** A whole price grid on one line: "QF 0–700 : 1,20 € ; 701 et plus : 2,40 €". */
export const priceGridLabel = (prices) => (prices.length ? `QF\u00a0${prices.map((p) => `${qfRange(p)}\u00a0: ${euros(p.price_cents)}`).join('\u00a0; ')}` : 'aucun tarif');

const ageLabel = (months) => (months % 12 === 0 ? `${months / 12} ans` : `${months} mois`);

/** Who a service takes: "écoles : Jules Ferry ; à partir de 3 ans", or "tous les enfants". */
export function eligibilityLabel(e) {
  const parts = [];
  if (e.schools && e.schools.length) parts.push(`écoles : ${e.schools.join(', ')}`);
  if (e.classes && e.classes.length) parts.push(`classes : ${e.classes.join(', ')}`);
  if (e.min_age_months !== null && e.min_age_months !== undefined) parts.push(`à partir de ${ageLabel(e.min_age_months)}`);
  if (e.max_age_months !== null && e.max_age_months !== undefined) parts.push(`jusqu'à ${ageLabel(e.max_age_months)}`);
  return parts.length ? parts.join(' ; ') : 'tous les enfants';
}

export const ROLE_LABELS = { agent: 'Accueil', finance: 'Régisseur (finances)', admin: 'Administrateur' };

/** "3 enfants", "1 enfant". */
export const pluralize = (n, one, many) => `${n} ${n > 1 ? many : one}`;

/** Today in the browser (the town hall's desk), as YYYY-MM-DD. */
export const today = () => isoDay(new Date());

/** The ISO date n days after iso. */
export function addDays(iso, n) {
  const d = parseDay(iso);
  d.setDate(d.getDate() + n);
  return isoDay(d);
}

/** The Monday of iso's week. */
export const monday = (iso) => addDays(iso, -((parseDay(iso).getDay() + 6) % 7));

/**
 * A table that becomes a list of cards on a phone: each cell is labelled with
 * its column's header (data-label, shown by app.css), so nothing needs a
 * horizontal scroll at 390 px.
 */
export function stackTable(caption, headers, rows, opts = {}) {
  const wrap = table(caption, headers, rows, { ...opts, class: `${opts.class || ''} stack-phone`.trim() });
  for (const tr of wrap.querySelectorAll('tbody tr')) {
    [...tr.children].forEach((cell, i) => {
      if (headers[i]) cell.dataset.label = headers[i];
      // One box per cell, beside its label, whatever the cell holds.
      cell.append(h('div', { class: 'stack-cell' }, ...cell.childNodes));
    });
  }
  return wrap;
}
