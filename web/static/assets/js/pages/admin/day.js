// The service day as the canteen and the accueil live it: the day's list (to
// print, or as a spreadsheet), the attendance sheet (pointage), and the week's
// numbers for the kitchen's orders.

import { get, put } from '../../api.js';
import {
  h, mount, euros, field, pageTitle, notify, showError, busy, loading, table, dayLabel, frDate, dateInput, dateValue, capitalize,
} from '../../ui.js';
import { go } from '../../app.js';
import { errorBox, loadOr, pluralize, today, addDays, monday, stackTable } from './common.js';

const ATTENDANCE = { present: 'Présent', absent: 'Absent' };

// ---- The day ----

export async function day(ctx) {
  const services = await loadOr(ctx, 'Liste du jour', 'Les services', () => get('/admin/services'));
  if (!services) return;
  const active = services.filter((s) => s.active);
  const serviceID = ctx.query.get('service') || (active[0] || services[0] || {}).id;
  const date = /^\d{4}-\d{2}-\d{2}$/.test(ctx.query.get('date') || '') ? ctx.query.get('date') : today();
  const serviceSel = h('select', { name: 'service' }, services.map((s) => h('option', { value: s.id, selected: s.id === serviceID }, s.name)));
  const dateField = dateInput({ name: 'date', value: date });
  const show = h('button', { type: 'submit', class: 'button' }, 'Afficher');
  const pick = h('form', { class: 'search', novalidate: true }, field('Service', serviceSel), field('Jour', dateField), show);
  const open = (s, d) => go(`#/admin/journee?service=${s}&date=${d}`);
  pick.addEventListener('submit', (e) => {
    e.preventDefault();
    try {
      const d = dateValue(dateField, 'Jour');
      if (!d) throw new Error('Indiquez le jour.');
      open(serviceSel.value, d);
    } catch (err) { notify(err.message, 'error'); }
  });
  const nav = h('div', { class: 'month-nav', role: 'group', 'aria-label': 'Changer de jour' },
    h('button', { type: 'button', class: 'button button-secondary', onclick: () => open(serviceID, addDays(date, -1)) }, '‹ Veille'),
    h('button', { type: 'button', class: 'button button-secondary', onclick: () => open(serviceID, today()) }, 'Aujourd\'hui'),
    h('button', { type: 'button', class: 'button button-secondary', onclick: () => open(serviceID, addDays(date, 1)) }, 'Lendemain ›'),
    h('a', { class: 'button button-tertiary', href: `#/admin/semaine?du=${monday(date)}` }, 'Chiffres de la semaine'));
  const body = h('div', {}, loading());
  mount(ctx.root, pageTitle('Liste du jour et pointage'), pick, nav, body);
  if (!serviceID) { mount(body, h('p', {}, 'Aucun service n\'est défini.')); return; }
  const svc = services.find((s) => s.id === serviceID);
  try {
    const redraw = (d) => mount(body, sheet(svc, d, redraw));
    redraw(await get(`/admin/services/${serviceID}/days/${date}/children`));
  } catch (err) { mount(body, errorBox(err, 'La liste du jour')); }
}

/** The list and its attendance sheet; redraw(d) shows the day as saved. */
function sheet(svc, d, redraw) {
  const canTick = d.date <= today();
  const allergic = d.children.filter((c) => c.allergies).length;
  const title = h('h2', { id: 'day-title' }, `${svc ? svc.name : d.service_name} — ${dayLabel(d.date)}`);
  const facts = h('p', { class: 'day-facts' },
    h('strong', {}, pluralize(d.children.length, 'enfant attendu', 'enfants attendus')),
    d.capacity !== null && d.capacity !== undefined ? ` (capacité ${d.capacity})` : '',
    allergic ? [' — ', h('span', { class: 'allergy' }, pluralize(allergic, 'enfant avec allergie', 'enfants avec allergies'))] : '',
    d.held_in_carts ? ` — ${pluralize(d.held_in_carts, 'place retenue', 'places retenues')} dans un panier non payé` : '',
    !d.scheduled ? ' — le service ne fonctionne pas ce jour-là' : !d.open ? ' — jour fermé aux réservations' : '');
  const downloads = h('p', { class: 'row-actions' },
    h('a', { class: 'button button-secondary button-small', href: `/api/v1/admin/services/${d.service_id}/days/${d.date}/children.pdf`, download: '' }, 'Imprimer la liste (PDF)'),
    h('a', { class: 'button button-secondary button-small', href: `/api/v1/admin/services/${d.service_id}/days/${d.date}/children.csv`, download: '' }, 'Télécharger (CSV)'),
    h('a', { class: 'button button-tertiary button-small', href: `#/admin/services/${d.service_id}/jours/${d.date}/attente` }, 'Liste d\'attente'));
  const boxes = new Map();
  const rows = d.children.map((c) => {
    const box = h('input', { type: 'checkbox', name: 'present', 'data-child': c.child_id, checked: c.attendance === 'present', id: `p-${c.child_id}`, disabled: !canTick });
    boxes.set(c.child_id, box);
    return [
      h('span', { class: 'check' }, box, h('label', { for: box.id }, h('span', { class: 'sr-only' }, `${c.first_name} ${c.last_name} `), 'présent')),
      h('span', {}, h('strong', {}, `${c.last_name.toUpperCase()} ${c.first_name}`), h('span', { class: 'sub' }, [c.class_name, c.school].filter(Boolean).join(' – '))),
      remarks(c), family(c), collectors(c),
      c.attendance ? h('span', { class: `tag tag-${c.attendance === 'present' ? 'confirmed' : 'waiting'}` }, ATTENDANCE[c.attendance]) : h('span', { class: 'tag' }, 'À pointer'),
    ];
  });
  const save = h('button', { type: 'button', class: 'button', id: 'save-attendance' }, 'Enregistrer le pointage');
  const all = h('button', { type: 'button', class: 'button button-secondary' }, 'Tous présents');
  all.addEventListener('click', () => { for (const b of boxes.values()) b.checked = true; });
  const record = async (marks, button, done) => busy(button, async () => {
    try {
      const r = await put(`/admin/services/${d.service_id}/days/${d.date}/attendance`, { marks });
      const money = [r.charged_cents ? `${euros(r.charged_cents)} ajoutés au solde dû de la famille` : '',
        r.given_back_cents ? `${euros(r.given_back_cents)} rendus à la famille` : ''].filter(Boolean).join(' ; ');
      notify(`${done}${r.changed ? '' : ' (rien n\'a changé)'}${money ? ` : ${money}` : ''}.`, 'success');
      redraw(r.day);
    } catch (err) { showError(err); }
  });
  save.addEventListener('click', () => record(d.children.map((c) => ({ child_id: c.child_id, present: boxes.get(c.child_id).checked })), save,
    `Pointage enregistré : ${[...boxes.values()].filter((b) => b.checked).length} présent(s), ${[...boxes.values()].filter((b) => !b.checked).length} absent(s)`));
  const list = d.children.length
    ? stackTable(`Enfants attendus le ${dayLabel(d.date)}`, ['Présence', 'Enfant', 'Allergies, remarques', 'Famille', 'Peut venir le chercher', 'Pointage'], rows, { class: 'day-list' })
    : h('p', {}, 'Aucun enfant n\'est inscrit ce jour-là.');
  const ticking = canTick && d.children.length
    ? h('div', { class: 'actions' }, save, all, h('span', { class: 'hint' }, `${d.ticked} sur ${d.children.length} déjà pointé(s). Un enfant absent sans annulation reste facturé.`))
    : !canTick ? h('p', { class: 'hint' }, 'Le pointage se fait le jour même ou après.') : null;
  return h('section', { class: 'card', 'aria-labelledby': 'day-title' }, title, facts, downloads, list, ticking,
    unbookedSection(d, canTick, record));
}

const remarks = (c) => [c.allergies ? h('strong', { class: 'allergy' }, `Allergies : ${c.allergies}`) : null, c.notes ? h('span', { class: 'sub' }, c.notes) : null,
  !c.allergies && !c.notes ? '—' : null];
const family = (c) => [h('a', { href: `#/admin/familles/${c.family_id}` }, c.family_name), ...(c.family_phones || []).map((p) => h('span', { class: 'sub' }, p))];
const collectors = (c) => (c.may_collect.length ? h('ul', { class: 'plain' }, c.may_collect.map((p) => h('li', {}, `${p.name}${p.relationship ? ` (${p.relationship})` : ''}`, p.phone ? h('span', { class: 'sub' }, p.phone) : null))) : '—');

/** Children present without a reservation: those recorded, and adding one. */
function unbookedSection(d, canTick, record) {
  const rule = d.unbooked_rule;
  const recorded = d.unbooked.length ? stackTable('Présents sans réservation', ['Enfant', 'Motif', 'Facturé', 'Famille', ''], d.unbooked.map((c) => {
    const remove = h('button', { type: 'button', class: 'button button-tertiary button-small', disabled: !canTick }, 'Retirer', h('span', { class: 'sr-only' }, ` ${c.first_name} ${c.last_name}`));
    remove.addEventListener('click', () => record([{ child_id: c.child_id, present: false }], remove, `${c.first_name} ${c.last_name} retiré(e) des présents`));
    return [h('span', {}, h('strong', {}, `${c.last_name.toUpperCase()} ${c.first_name}`), h('span', { class: 'sub' }, [c.class_name, c.school].filter(Boolean).join(' – ')),
      c.allergies ? h('strong', { class: 'allergy sub' }, `Allergies : ${c.allergies}`) : null), c.reason, euros(c.charged_cents), family(c), remove];
  }), { rowHeaders: false }) : h('p', {}, 'Aucun enfant présent sans réservation.');
  let add = null;
  if (canTick) {
    const q = h('input', { type: 'search', name: 'child_q', autocomplete: 'off' });
    const found = h('div', { 'aria-live': 'polite' });
    const reason = h('input', { type: 'text', name: 'unbooked_reason', maxlength: '500' });
    const search = h('button', { type: 'submit', class: 'button button-secondary' }, 'Chercher');
    add = h('form', { class: 'form', novalidate: true },
      h('div', { class: 'grid2' }, field('Enfant présent sans réservation', q, 'Nom ou prénom (2 lettres au moins).'),
        field('Motif', reason, 'Oubli de réservation, venu avec un frère… Requis.')),
      h('div', { class: 'actions' }, search), found);
    add.addEventListener('submit', (e) => {
      e.preventDefault();
      busy(search, async () => {
        try {
          const kids = await get(`/admin/children?q=${encodeURIComponent(q.value.trim())}`);
          const listed = new Set([...d.children, ...d.unbooked].map((c) => c.child_id));
          mount(found, kids.length ? h('ul', { class: 'plain found' }, kids.map((k) => {
            const pick = h('button', { type: 'button', class: 'button button-small', disabled: listed.has(k.id) },
              listed.has(k.id) ? 'Déjà sur la liste' : 'Noter présent', h('span', { class: 'sr-only' }, ` ${k.first_name} ${k.last_name}`));
            pick.addEventListener('click', () => {
              if (!reason.value.trim()) { notify('Indiquez le motif de la présence sans réservation.', 'error'); reason.focus(); return; }
              record([{ child_id: k.id, present: true, reason: reason.value.trim() }], pick, `${k.first_name} ${k.last_name} noté(e) présent(e) sans réservation`);
            });
            return h('li', {}, h('span', {}, `${k.first_name} ${k.last_name}`, h('span', { class: 'sub' }, [`famille ${k.family_name}`, k.class_name, k.school].filter(Boolean).join(' – '))), pick);
          })) : h('p', {}, 'Aucun enfant trouvé.'));
        } catch (err) { showError(err); }
      });
    });
  }
  return h('div', { class: 'unbooked' }, h('h3', {}, 'Présents sans réservation'),
    h('p', { class: 'hint' }, `Règle du service : présence sans réservation ${rule.label}. Le montant s'ajoute au solde dû de la famille et figure sur sa facture du mois.`),
    recorded, add);
}

// ---- The week's numbers ----

const desktopOnly = (node) => { node.classList.add('desktop-only'); return node; };

export async function week(ctx) {
  const from = /^\d{4}-\d{2}-\d{2}$/.test(ctx.query.get('du') || '') ? monday(ctx.query.get('du')) : monday(today());
  const to = addDays(from, 6);
  const data = await loadOr(ctx, 'Chiffres de la semaine', 'Les chiffres de la semaine', () => get(`/admin/day-counts?from=${from}&to=${to}`));
  if (!data) return;
  const days = [];
  for (let d = from; d <= to; d = addDays(d, 1)) {
    if (data.services.some((s) => s.days.some((x) => x.date === d))) days.push(d);
  }
  const nav = h('div', { class: 'month-nav', role: 'group', 'aria-label': 'Changer de semaine' },
    h('a', { class: 'button button-secondary', href: `#/admin/semaine?du=${addDays(from, -7)}` }, '‹ Semaine précédente'),
    h('h2', { class: 'month-title' }, `Du ${frDate(from)} au ${frDate(to)}`),
    h('a', { class: 'button button-secondary', href: `#/admin/semaine?du=${addDays(from, 7)}` }, 'Semaine suivante ›'));
  const cell = (s, d) => {
    const x = s.days.find((y) => y.date === d);
    if (!x) return h('span', { class: 'muted' }, '—');
    return h('a', { href: `#/admin/journee?service=${s.service_id}&date=${d}`, class: 'count-cell' },
      h('strong', { class: 'count' }, String(x.booked)), h('span', { class: 'sr-only' }, ` enfants le ${dayLabel(d)}`),
      x.booked_with_allergies ? h('span', { class: 'sub allergy' }, `dont ${x.booked_with_allergies} allergie${x.booked_with_allergies > 1 ? 's' : ''}`) : null,
      x.held_in_carts ? h('span', { class: 'sub' }, `+ ${x.held_in_carts} en panier`) : null,
      x.present || x.absent ? h('span', { class: 'sub' }, `pointés : ${x.present} présent${x.present > 1 ? 's' : ''}${x.unbooked ? ` (dont ${x.unbooked} sans réservation)` : ''}, ${x.absent} absent${x.absent > 1 ? 's' : ''}`) : null,
      !x.open ? h('span', { class: 'sub' }, 'fermé') : null);
  };
  mount(ctx.root, pageTitle('Chiffres de la semaine'),
    h('p', { class: 'lead' }, 'Enfants inscrits par service et par jour, pour les commandes de repas et l\'encadrement. Les places retenues dans un panier non payé sont comptées à part.'),
    nav,
    data.services.length ? [
      desktopOnly(table(`Enfants inscrits du ${frDate(from)} au ${frDate(to)}`, ['Service', ...days.map((d) => capitalize(dayLabel(d, false)))],
        data.services.map((s) => [s.service_name, ...days.map((d) => cell(s, d))]), { rowHeaders: true, class: 'week-table', showCaption: true })),
      // On a phone, day by day.
      h('div', { class: 'phone-only' }, days.map((d) => h('section', { class: 'card week-day' }, h('h3', {}, capitalize(dayLabel(d, false))),
        h('ul', { class: 'plain' }, data.services.filter((s) => s.days.some((x) => x.date === d)).map((s) => h('li', {}, h('span', {}, s.service_name), cell(s, d))))))),
    ] : h('p', {}, 'Aucun service ne fonctionne cette semaine.'),
    h('p', {}, h('a', { href: `#/admin/journee?date=${from}` }, 'Liste du jour et pointage')));
}
