// The audit log (admins): who changed what and when, before and after, by
// family, staff member and period.

import { get } from '../../api.js';
import {
  h, mount, euros, field, pageTitle, notify, busy, loading, instantLabel, frDate, dayLabel, capitalize, dateInput, dateValue,
} from '../../ui.js';
import { go } from '../../app.js';
import {
  can, notForRole, errorBox, stackTable, pluralize, weekdaysShort, priceGridLabel, eligibilityLabel, ROLE_LABELS,
} from './common.js';
import { SAISIE } from './org.js';

const ACTIONS = {
  'family.create': 'Famille créée', 'family.update': 'Fiche famille modifiée', 'family.qf_change': 'Quotient familial changé',
  'family.contact_update': 'Coordonnées modifiées par la famille', 'member.create': 'Membre ajouté', 'member.update': 'Membre modifié',
  'authorized_person.create': 'Personne autorisée ajoutée', 'authorized_person.delete': 'Personne autorisée retirée',
  'user.create': 'Compte créé', 'user.update': 'Compte modifié', 'user.disable': 'Compte désactivé', 'user.enable': 'Compte réactivé',
  'user.link_sent': 'Lien de mot de passe envoyé', 'user.password_set': 'Mot de passe choisi', 'user.password_reset': 'Mot de passe réinitialisé',
  'user.password_change': 'Mot de passe changé', 'reservation.book_on_behalf': 'Réservation par l\'accueil',
  'reservation.cancel_on_behalf': 'Annulation par l\'accueil', 'ledger.desk_payment': 'Règlement au guichet', 'ledger.adjustment': 'Régularisation',
  'attendance.record': 'Pointage', 'attendance.unbooked': 'Présence sans réservation', 'attendance.withdraw': 'Pointage retiré',
  'service.create': 'Service créé', 'service.update': 'Service modifié', 'service.days': 'Jours du service modifiés',
  'service.days_generate': 'Jours du service ouverts sur une période',
  'service.attendance_rule': 'Règle des présences sans réservation', 'closure.create': 'Fermeture ajoutée', 'closure.delete': 'Fermeture supprimée',
  'org.update': 'Paramètres modifiés', 'org.payfip_change': 'Paramètres PayFiP changés', 'message.reply': 'Réponse à un message',
  'waitlist.join_on_behalf': 'Inscription en liste d\'attente par l\'accueil', 'waitlist.reorder': 'Liste d\'attente réordonnée',
  'waitlist.offer_by_hand': 'Place proposée à la main',
};

// How a record's fields read in the log: each field's French name and, where the
// defaults of show() (oui/non, *_cents in euros, dates, codes through VALUES) do
// not fit, how its value reads. Every field the code writes is here or in HIDDEN;
// the browser test and web/pages_test.go check it. The order here is the order
// on screen ("Du" before "Au", whatever order the stored record has).
const hours = (v) => `${String(v).replace('.', ',')}\u00a0h`;
const deadline = (d) => d.label || `J-${d.days_before} avant ${String(d.time).replace(':', 'h')}`;
const login = (u) => u.login;
const FIELDS = {
  date: 'Jour', name: 'Nom', first_name: 'Prénom', last_name: 'Nom', code: 'Code', description: 'Description',
  status: 'État', reason: 'Motif', rule: 'Règle', charged_cents: 'Facturé', price_cents: 'Prix',
  amount_cents: 'Montant', credit_cents: 'Sur la cagnotte', outstanding_cents: 'Sur le solde dû', reversed_cents: 'Retiré du solde dû',
  credited_cents: 'Crédité sur la cagnotte', override_deadline: 'Hors délai', override_waitlist: 'Passe devant la liste d\'attente',
  in_time: 'Dans les délais', refund: 'Remboursée', method: 'Mode', reference: 'Référence', target: 'Corrige',
  rank: 'Rang sur la liste', offer_expires_at: ['Place gardée jusqu\'au', instantLabel], added_place: 'Place ajoutée au jour',
  email: 'E-mail', phone: 'Téléphone', phone2: 'Second téléphone', address: 'Adresse', postal_code: 'Code postal', city: 'Ville',
  qf: 'Quotient familial', members: 'Membres', account: ['Compte de connexion', login],
  kind: 'Type', birth_date: 'Naissance', school: 'École', class_name: 'Classe', allergies: 'Allergies', notes: 'Remarques',
  relationship: 'Lien', login: 'Identifiant', role: ['Rôle', (v) => ROLE_LABELS[v] || VALUES[v] || v], display_name: 'Nom affiché',
  disabled: 'Désactivé', purpose: 'Lien', via: 'Par', numcli: 'Numéro client PayFiP',
  saisie: ['Mode PayFiP', (v) => (SAISIE[v] ? `${v} — ${SAISIE[v][0].toLowerCase()}` : v)], time_zone: 'Fuseau horaire',
  weekdays: ['Jours', (v) => weekdaysShort(v)], booking_deadline: ['Réservation', deadline], cancellation_deadline: ['Annulation', deadline],
  eligibility: ['Enfants admis', (v) => eligibilityLabel(v)], prices: ['Tarifs', (v) => priceGridLabel(v)], waitlist_offer_hours: ['Place proposée gardée', hours],
  active: 'Ouvert aux réservations', unbooked: 'Présence sans réservation', surcharge_cents: 'Majoration',
  label: 'Libellé', first_day: 'Du', last_day: 'Au', capacity: 'Capacité', created: 'Jours ouverts', body: 'Message', attachments: 'Pièces jointes',
};
// Left out: identifiers (the "Quoi" column links to the family or the service),
// when the row was created (the "Quand" column says when it changed), and the
// working-days rule, which the deadlines' labels already say ("(jours ouvrés)").
const isID = (k) => k === 'id' || k.endsWith('_id');
const HIDDEN = new Set(['created_at', 'working_days_only']);
const hidden = (k) => isID(k) || HIDDEN.has(k);
const FIELD_ORDER = Object.keys(FIELDS);
const fieldName = (k) => (Array.isArray(FIELDS[k]) ? FIELDS[k][0] : FIELDS[k]) || k;
const VALUES = {
  present: 'présent', absent: 'absent', withdrawn: 'retiré', confirmed: 'confirmée', cancelled: 'annulée', cash: 'espèces', cheque: 'chèque',
  charge: 'au tarif', surcharge: 'tarif majoré', free: 'gratuite', child: 'enfant', adult: 'adulte', family: 'famille',
  set: 'invitation', reset: 'réinitialisation', credit: 'la cagnotte', outstanding: 'le solde dû',
  waiting: 'en attente', offered: 'place proposée', link: 'le lien reçu par e-mail', current_password: 'son mot de passe actuel',
};
// The fields holding a code (status, rule…): only their values go through VALUES,
// so that a name or a reason is never "translated".
const CODED = new Set(['status', 'rule', 'method', 'kind', 'purpose', 'target', 'unbooked', 'via']);

function show(k, v) {
  if (k === 'capacity' && v === null) return 'illimitée';
  if (Array.isArray(FIELDS[k]) && v !== null && v !== undefined) return FIELDS[k][1](v);
  if (v === null || v === undefined || v === '') return '—';
  if (typeof v === 'boolean') return v ? 'oui' : 'non';
  if (k.endsWith('_cents') && typeof v === 'number') return euros(v);
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v)) return frDate(v);
  if (Array.isArray(v)) return v.map((x) => (x && typeof x === 'object' ? [x.first_name, x.last_name].filter(Boolean).join(' ') : show(k, x))).join(', ') || '—';
  return (CODED.has(k) && VALUES[v]) || String(v);
}

/**
 * A record's fields: those of an object without a reader of its own (a family's
 * creation holds the family, its members and its login; a member's change, the
 * member) are lifted to the top.
 */
function flat(r) {
  const out = {};
  for (const [k, v] of Object.entries(r && typeof r === 'object' ? r : {})) {
    if (v && typeof v === 'object' && !Array.isArray(v) && !Array.isArray(FIELDS[k])) Object.assign(out, flat(v));
    else out[k] = v;
  }
  return out;
}

/** One line of a change: "Capacité : 30 → 25", or "Capacité : 30" for a creation (was undefined). */
// The colon keeps to its name (a no-break space, as French typography has it).
const line = (name, was, now) => h('li', {}, h('span', { class: 'field-name' }, name), '\u00a0: ',
  was === undefined ? null : [h('del', {}, was), ' → '], h('ins', {}, now));
const MAX_LINES = 14;
/** Lines as a list, the first MAX_LINES of them, then how many more ("et 3 jours de plus"). */
const lines = (items, what) => h('ul', { class: 'plain changes' }, items.slice(0, MAX_LINES),
  items.length > MAX_LINES ? h('li', {}, `et ${items.length - MAX_LINES} ${what} de plus`) : null);

/**
 * What changed between before and after, field by field. A creation or deletion
 * lists the record; a field only one side holds (a cancellation's refund, which
 * its "before" does not name) reads as a plain value.
 */
function changes(before, after) {
  const b = flat(before);
  const a = flat(after);
  const both = (k) => k in b && k in a;
  const value = (k) => show(k, k in a ? a[k] : b[k]);
  const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])].filter((k) => !hidden(k)
    && (both(k) ? JSON.stringify(b[k]) !== JSON.stringify(a[k]) : value(k) !== '—'));
  const rank = (k) => (k in FIELDS ? FIELD_ORDER.indexOf(k) : FIELD_ORDER.length);
  keys.sort((x, y) => rank(x) - rank(y));
  if (!keys.length) return '—';
  return lines(keys.map((k) => line(fieldName(k), both(k) ? show(k, b[k]) : undefined, value(k))), 'champs');
}

/** Days of a service opened, closed or resized: each day, with what changed on it. */
function dayChanges(before, after) {
  const was = new Map((before || []).map((d) => [d.date, d]));
  const items = (after || []).map((d) => {
    const b = was.get(d.date);
    const capacity = (x) => show('capacity', x ?? null);
    const parts = [];
    if (!b) parts.push(h('ins', {}, d.open ? `ouvert, capacité ${capacity(d.capacity)}` : 'fermé'));
    else {
      if (b.open !== d.open) parts.push([h('del', {}, b.open ? 'ouvert' : 'fermé'), ' → ', h('ins', {}, d.open ? 'ouvert' : 'fermé')]);
      if ((b.capacity ?? null) !== (d.capacity ?? null)) parts.push(['capacité ', h('del', {}, capacity(b.capacity)), ' → ', h('ins', {}, capacity(d.capacity))]);
    }
    if (!parts.length) parts.push('inchangé');
    return h('li', {}, h('span', { class: 'field-name' }, capitalize(dayLabel(d.date))), '\u00a0: ', parts.flatMap((p, i) => (i ? [', ', p] : [p])));
  });
  return items.length ? lines(items, 'jours') : '—';
}

/** A waiting list put in a new order: how many children, and why (the order itself is of identifiers). */
function reorder(before, after) {
  const n = ((after && after.order) || []).length;
  return lines([line('Liste d\'attente', undefined, `${pluralize(n, 'enfant remis', 'enfants remis')} dans un nouvel ordre`),
    after && after.reason ? line('Motif', undefined, after.reason) : null].filter(Boolean), 'champs');
}

// The records that do not read field by field.
const RECORDS = { 'service.days': dayChanges, 'waitlist.reorder': reorder };

const ENTITIES = {
  family: 'fiche famille', member: 'membre', user: 'compte', authorized_person: 'personne autorisée', reservation: 'réservation',
  attendance: 'pointage', service: 'service', closure: 'fermeture', org: 'collectivité', message: 'message',
  waitlist_entry: 'inscription en liste d\'attente', service_day: 'jour de service',
};

/**
 * The children and services the record refers to, by name (the API names them;
 * their identifiers stay hidden): "Enfant : Emma Durand", "Service : Garderie du soir".
 */
function named(r) {
  const items = [
    [r.children || [], 'Enfant', 'Enfants', (c) => `${c.first_name} ${c.last_name}`],
    [r.services || [], 'Service', 'Services', (s) => s.name],
  ].filter(([xs]) => xs.length).map(([xs, one, many, name]) => h('li', {},
    h('span', { class: 'field-name' }, xs.length > 1 ? many : one), '\u00a0: ', xs.map(name).join(', ')));
  return items.length ? h('ul', { class: 'plain audit-refs' }, items) : null;
}

/** The record, with a link to its family (or its service) when it names one, and the children and services it refers to. */
function what(r) {
  const fam = r.entity === 'family' ? r.entity_id : (r.after && r.after.family_id) || (r.before && r.before.family_id);
  const label = ENTITIES[r.entity] || r.entity;
  const svc = r.entity === 'service' ? r.entity_id : (r.after && r.after.service_id) || (r.before && r.before.service_id);
  let link = null;
  if (fam) link = h('a', { href: `#/admin/familles/${fam}` }, 'voir la famille');
  else if (svc) link = h('a', { href: `#/admin/services/${svc}` }, 'voir le service');
  return [label, link ? [' — ', link] : null, named(r)];
}

export async function auditLog(ctx) {
  if (!can('auditLog')) { notForRole(ctx, 'Journal des modifications', 'aux administrateurs'); return; }
  const q = ctx.query;
  const staff = await get('/admin/users');
  let familyName = '';
  if (q.get('famille')) {
    try { familyName = (await get(`/admin/families/${q.get('famille')}`)).name; } catch { familyName = '(famille introuvable)'; }
  }
  const who = h('select', { name: 'actor' }, h('option', { value: '' }, 'Tout le monde'),
    staff.map((u) => h('option', { value: u.id, selected: q.get('agent') === u.id }, `${u.display_name || u.login} (${u.login})`)));
  const familyQ = h('input', { name: 'family_q', type: 'search', autocomplete: 'off', value: familyName, placeholder: 'Nom de la famille' });
  const from = dateInput({ name: 'from', value: q.get('du') || '' });
  const to = dateInput({ name: 'to', value: q.get('au') || '' });
  const submit = h('button', { type: 'submit', class: 'button' }, 'Filtrer');
  const form = h('form', { class: 'search audit-filters', novalidate: true },
    field('Famille', familyQ), field('Membre du personnel', who), field('Du', from), field('Au', to), submit);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(submit, async () => {
      const next = new URLSearchParams();
      try {
        if (dateValue(from, 'Du')) next.set('du', dateValue(from, 'Du'));
        if (dateValue(to, 'Au')) next.set('au', dateValue(to, 'Au'));
      } catch (err) { notify(err.message, 'error'); return; }
      if (who.value) next.set('agent', who.value);
      const name = familyQ.value.trim();
      if (name && name === familyName) next.set('famille', q.get('famille'));
      else if (name) {
        const found = await get(`/admin/families?q=${encodeURIComponent(name)}&limit=2`);
        if (found.items.length !== 1) { notify(found.items.length ? `Plusieurs familles correspondent à « ${name} » : précisez.` : `Aucune famille ne correspond à « ${name} ».`, 'error'); return; }
        next.set('famille', found.items[0].id);
      }
      go(`#/admin/journal${next.toString() ? `?${next}` : ''}`);
    });
  });
  const params = new URLSearchParams();
  if (q.get('famille')) params.set('family_id', q.get('famille'));
  if (q.get('agent')) params.set('actor_id', q.get('agent'));
  if (q.get('du')) params.set('from', q.get('du'));
  if (q.get('au')) params.set('to', q.get('au'));
  const list = h('div', {}, loading());
  const more = h('div');
  const rows = [];
  const tableBox = h('div');
  const load = async (cursor) => {
    const p = new URLSearchParams(params);
    if (cursor) p.set('cursor', cursor);
    try {
      const page = await get(`/admin/audit?${p}`);
      rows.push(...page.items);
      mount(tableBox, rows.length ? stackTable('Modifications, les plus récentes d\'abord', ['Quand', 'Qui', 'Action', 'Quoi', 'Avant → après'], rows.map((r) => [
        instantLabel(r.occurred_at), r.actor_login || 'le système', ACTIONS[r.action] || r.action,
        what(r),
        (RECORDS[r.action] || changes)(r.before, r.after),
      ]), { class: 'audit-table' }) : h('p', {}, 'Aucune modification ne correspond.'));
      mount(more, page.next_cursor ? h('button', { type: 'button', class: 'button button-secondary', onclick: (e) => busy(e.target, () => load(page.next_cursor)) }, 'Modifications plus anciennes') : null);
    } catch (err) { mount(tableBox, errorBox(err, 'Le journal')); }
  };
  mount(list, tableBox, more);
  mount(ctx.root, pageTitle('Journal des modifications'),
    h('p', { class: 'lead' }, 'Chaque modification faite par le personnel ou les familles, avec son auteur, sa date et les valeurs avant et après.'),
    form, list);
  await load('');
}
