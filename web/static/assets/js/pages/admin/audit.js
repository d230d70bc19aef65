// The audit log (admins): who changed what and when, before and after, by
// family, staff member and period.

import { get } from '../../api.js';
import { h, mount, euros, field, pageTitle, notify, busy, loading, instantLabel, frDate, dateInput, dateValue } from '../../ui.js';
import { go } from '../../app.js';
import { can, notForRole, errorBox, stackTable } from './common.js';

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

// How a record's fields read in the log: French names, euros, yes/no; identifiers
// are left out (the "Quoi" column links to the family).
const FIELDS = {
  date: 'Jour', status: 'État', reason: 'Motif', rule: 'Règle', charged_cents: 'Facturé', price_cents: 'Prix',
  amount_cents: 'Montant', credit_cents: 'Sur la cagnotte', outstanding_cents: 'Sur le solde dû', reversed_cents: 'Retiré du solde dû',
  credited_cents: 'Crédité sur la cagnotte', override_deadline: 'Hors délai', in_time: 'Dans les délais', refund: 'Remboursée',
  method: 'Mode', reference: 'Référence', target: 'Corrige', qf: 'Quotient familial', name: 'Nom', email: 'E-mail', phone: 'Téléphone',
  phone2: 'Second téléphone', address: 'Adresse', postal_code: 'Code postal', city: 'Ville', first_name: 'Prénom', last_name: 'Nom',
  kind: 'Type', birth_date: 'Naissance', school: 'École', class_name: 'Classe', allergies: 'Allergies', notes: 'Remarques',
  relationship: 'Lien', login: 'Identifiant', role: 'Rôle', display_name: 'Nom affiché', disabled: 'Désactivé', purpose: 'Lien',
  numcli: 'Numéro client PayFiP', saisie: 'Mode PayFiP', unbooked: 'Présence sans réservation', surcharge_cents: 'Majoration',
  label: 'Libellé', first_day: 'Du', last_day: 'Au', code: 'Code', active: 'Ouvert', body: 'Message', via: 'Par', members: 'Membres',
  capacity: 'Capacité', created: 'Jours ouverts',
};
const FIELD_ORDER = Object.keys(FIELDS);
const VALUES = {
  present: 'présent', absent: 'absent', withdrawn: 'retiré', confirmed: 'confirmée', cancelled: 'annulée', cash: 'espèces', cheque: 'chèque',
  charge: 'au tarif', surcharge: 'tarif majoré', free: 'gratuite', child: 'enfant', adult: 'adulte', agent: 'accueil', finance: 'finances',
  admin: 'administration', family: 'famille', set: 'invitation', reset: 'réinitialisation', credit: 'la cagnotte', outstanding: 'le solde dû',
};
const isID = (k) => k === 'id' || k.endsWith('_id');

function show(k, v) {
  if (k === 'capacity' && v === null) return 'illimitée';
  if (v === null || v === undefined || v === '') return '—';
  if (typeof v === 'boolean') return v ? 'oui' : 'non';
  if (k.endsWith('_cents') && typeof v === 'number') return euros(v);
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v)) return frDate(v);
  if (Array.isArray(v)) return v.map((x) => (x && typeof x === 'object' ? [x.first_name, x.last_name].filter(Boolean).join(' ') || '…' : show(k, x))).join(', ');
  if (typeof v === 'object') return '…';
  return VALUES[v] || String(v);
}

/** A record flattened one level (a family's creation holds the family and its members). */
function flat(r) {
  const out = {};
  for (const [k, v] of Object.entries(r && typeof r === 'object' ? r : {})) {
    if (v && typeof v === 'object' && !Array.isArray(v)) Object.assign(out, flat(v));
    else out[k] = v;
  }
  return out;
}

/** What changed between before and after, field by field; a creation or deletion lists the record. */
function changes(before, after) {
  const b = flat(before);
  const a = flat(after);
  const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])].filter((k) => !isID(k) && (before ? show(k, b[k]) !== show(k, a[k]) : show(k, a[k]) !== '—'));
  // In FIELDS' order ("Du" before "Au"), whatever order the stored record has.
  const rank = (k) => (k in FIELDS ? FIELD_ORDER.indexOf(k) : FIELD_ORDER.length);
  keys.sort((x, y) => rank(x) - rank(y));
  if (!keys.length) return '—';
  return h('ul', { class: 'plain changes' }, keys.slice(0, 14).map((k) => h('li', {}, h('span', { class: 'field-name' }, FIELDS[k] || k), ' : ',
    before ? [h('del', {}, show(k, b[k])), ' → '] : null, h('ins', {}, show(k, a[k])))));
}

const ENTITIES = {
  family: 'fiche famille', member: 'membre', user: 'compte', authorized_person: 'personne autorisée', reservation: 'réservation',
  attendance: 'pointage', service: 'service', closure: 'fermeture', org: 'collectivité', message: 'message',
  waitlist_entry: 'inscription en liste d\'attente', service_day: 'jour de service',
};

/** The record, with a link to its family (or its service) when it names one. */
function what(r) {
  const fam = r.entity === 'family' ? r.entity_id : (r.after && r.after.family_id) || (r.before && r.before.family_id);
  const label = ENTITIES[r.entity] || r.entity;
  if (fam) return [label, ' — ', h('a', { href: `#/admin/familles/${fam}` }, 'voir la famille')];
  if (r.entity === 'service') return [label, ' — ', h('a', { href: `#/admin/services/${r.entity_id}` }, 'voir le service')];
  return label;
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
        changes(r.before, r.after),
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
