// Services: their rules and price grids (admins), their calendar of days and
// capacities, the rule for children present without a reservation (finance), and
// the org's closures.

import { get, post, patch, put, del } from '../../api.js';
import {
  h, mount, parseEuros, field, pageTitle, notify, showError, markFieldErrors, busy, loading, dl,
  dayLabel, monthLabel, thisMonth, addMonths, frDate, dateInput, dateValue,
} from '../../ui.js';
import { go, flashNext } from '../../app.js';
import {
  can, errorBox, loadOr, breadcrumb, notForRole, WEEKDAY_NAMES, pluralize, today, stackTable, bracketLabel, eligibilityLabel,
} from './common.js';

const weekdays = (s) => s.weekdays.map((d) => WEEKDAY_NAMES[d]).join(', ') || '—';

// ---- The list ----

export async function services(ctx) {
  const list = await loadOr(ctx, 'Services', 'La liste des services', () => get('/admin/services'));
  if (!list) return;
  mount(ctx.root, pageTitle('Services'),
    h('div', { class: 'page-actions' },
      can('createService') ? h('a', { class: 'button', href: '#/admin/services/nouveau' }, 'Nouveau service') : null,
      h('a', { class: 'button button-secondary', href: '#/admin/fermetures' }, 'Fermetures (vacances, jours fériés)')),
    stackTable('Services', ['Service', 'Jours', 'Réservation', 'Annulation', 'Tarifs', 'État'], list.map((s) => [
      h('a', { href: `#/admin/services/${s.id}` }, s.name),
      weekdays(s), s.booking_deadline.label, s.cancellation_deadline.label,
      h('ul', { class: 'plain prices' }, s.prices.map((p) => h('li', {}, bracketLabel(p)))),
      s.active ? 'Ouvert' : h('span', { class: 'tag' }, 'Fermé aux réservations'),
    ]), { rowHeaders: true }),
    h('p', { class: 'hint' }, 'Ouvrez un service pour gérer ses jours d\'ouverture et ses capacités, et pour la liste des enfants de chaque jour.'));
}

// ---- Creating and editing a service (admin) ----

/**
 * The price grid as the API checks it (booking.ValidateBrackets): from QF 0, each
 * bracket starting right after the previous one ends, the last without a ceiling.
 * Returns [index, message] or null.
 */
export function bracketError(rows) {
  if (!rows.length) return [-1, 'au moins une tranche de prix est requise'];
  const order = rows.map((r, i) => i).sort((a, b) => rows[a].qf_min - rows[b].qf_min);
  let next = 0;
  for (let n = 0; n < order.length; n++) {
    const i = order[n];
    const b = rows[i];
    if (b.price_cents < 0) return [i, 'le prix ne peut pas être négatif'];
    if (b.qf_max !== null && b.qf_max < b.qf_min) return [i, `la tranche finit (QF ${b.qf_max}) avant de commencer (QF ${b.qf_min})`];
    if (b.qf_min < next) return [i, `la tranche commençant au QF ${b.qf_min} chevauche la précédente`];
    if (b.qf_min > next) return [i, `aucune tranche ne couvre les QF de ${next} à ${b.qf_min - 1}`];
    if (b.qf_max === null) return n === order.length - 1 ? null : [i, 'seule la dernière tranche peut être sans plafond'];
    next = b.qf_max + 1;
  }
  return [order[order.length - 1], `la dernière tranche doit être sans plafond (aucun prix au-delà du QF ${next - 1})`];
}

function priceGrid(prices) {
  const body = h('tbody');
  const rows = [];
  const status = h('p', { class: 'hint', role: 'status', 'aria-live': 'polite' });
  const check = () => {
    let read;
    try { read = rows.map((r) => r.read()); } catch (err) { status.textContent = err.message; status.className = 'notice notice-error'; return null; }
    for (const r of rows) r.mark(false);
    const bad = bracketError(read);
    if (bad) {
      if (bad[0] >= 0) rows[bad[0]].mark(true);
      status.textContent = `${bad[0] >= 0 ? `Tranche ${bad[0] + 1} : ` : ''}${bad[1]}.`;
      status.className = 'notice notice-error';
      return null;
    }
    status.textContent = 'La grille couvre tous les quotients familiaux, sans trou ni chevauchement.';
    status.className = 'hint ok';
    return read;
  };
  const addRow = (p = {}) => {
    const n = () => rows.indexOf(row) + 1;
    const min = h('input', { type: 'number', min: '0', class: 'short', value: p.qf_min ?? '', name: 'qf_min' });
    const max = h('input', { type: 'number', min: '0', class: 'short', value: p.qf_max ?? '', name: 'qf_max', placeholder: 'sans plafond' });
    const price = h('input', { type: 'text', inputmode: 'decimal', class: 'short', value: p.price_cents === undefined ? '' : (p.price_cents / 100).toFixed(2).replace('.', ','), name: 'price' });
    const remove = h('button', { type: 'button', class: 'button button-tertiary button-small', title: 'Retirer cette tranche' }, h('span', { 'aria-hidden': 'true' }, '✕'), h('span', { class: 'sr-only' }, 'Retirer cette tranche'));
    const tr = h('tr', {}, h('td', {}, min), h('td', {}, max), h('td', {}, price), h('td', {}, remove));
    const row = {
      read() {
        const qfMin = Number(min.value);
        const cents = parseEuros(price.value);
        if (min.value === '' || !Number.isInteger(qfMin) || qfMin < 0) throw new Error(`Tranche ${n()} : QF de départ attendu (0 pour la première).`);
        if (Number.isNaN(cents)) throw new Error(`Tranche ${n()} : prix en euros attendu, par exemple 3,80.`);
        return { qf_min: qfMin, qf_max: max.value === '' ? null : Number(max.value), price_cents: cents };
      },
      mark(bad) { for (const el of [min, max, price]) if (bad) el.setAttribute('aria-invalid', 'true'); else el.removeAttribute('aria-invalid'); },
    };
    for (const [el, label] of [[min, 'QF de'], [max, 'QF jusqu\'à (vide : sans plafond)'], [price, 'Prix en euros']]) {
      el.setAttribute('aria-label', `${label}, tranche ${rows.length + 1}`);
      el.addEventListener('change', check);
    }
    remove.addEventListener('click', () => { rows.splice(rows.indexOf(row), 1); tr.remove(); check(); });
    rows.push(row);
    body.append(tr);
  };
  (prices.length ? prices : [{ qf_min: 0, qf_max: null }]).forEach(addRow);
  const node = h('fieldset', { class: 'price-grid' }, h('legend', {}, 'Grille tarifaire par quotient familial'),
    h('p', { class: 'hint' }, 'De QF 0 au dernier, sans trou ni chevauchement ; la dernière tranche n\'a pas de plafond. Un nouveau tarif ne change aucune réservation déjà faite.'),
    h('div', { class: 'table-wrap' }, h('table', { class: 'compact' }, h('caption', { class: 'sr-only' }, 'Tranches de prix'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'QF de'), h('th', { scope: 'col' }, 'QF jusqu\'à'), h('th', { scope: 'col' }, 'Prix (€)'), h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Actions')))),
      body)),
    h('button', {
      type: 'button', class: 'button button-secondary button-small',
      onclick: () => {
        let last = null;
        try { last = rows.length ? rows[rows.length - 1].read() : null; } catch { /* filled in by hand */ }
        addRow({ qf_min: last && last.qf_max !== null ? last.qf_max + 1 : '' });
      },
    }, 'Ajouter une tranche'),
    status);
  return { node, check, problem: () => status.textContent };
}

const WEEK = [1, 2, 3, 4, 5, 6, 7];

function serviceForm(svc, done) {
  const s = svc || {
    code: '', name: '', description: '', weekdays: [1, 2, 4, 5], booking_deadline: { days_before: 2, time: '10:00' },
    cancellation_deadline: { days_before: 2, time: '10:00' }, working_days_only: true, active: true,
    eligibility: { schools: [], classes: [], min_age_months: null, max_age_months: null }, prices: [], waitlist_offer_hours: 24,
  };
  const code = h('input', { name: 'code', type: 'text', required: true, maxlength: '40', value: s.code, pattern: '[a-z0-9][a-z0-9_-]*', class: 'short' });
  const name = h('input', { name: 'name', type: 'text', required: true, maxlength: '100', value: s.name });
  const description = h('input', { name: 'description', type: 'text', maxlength: '1000', value: s.description || '' });
  const days = WEEK.map((d) => h('input', { type: 'checkbox', name: 'weekdays', value: String(d), id: `wd-${d}`, checked: s.weekdays.includes(d) }));
  const deadline = (prefix, d) => ({
    days: h('input', { type: 'number', min: '0', max: '60', class: 'tiny', name: `${prefix}.days_before`, value: String(d.days_before), 'aria-label': 'Nombre de jours avant' }),
    // Text, not type=time: the time reads 24-hour (10:00) whatever the browser's locale.
    time: h('input', { type: 'text', inputmode: 'numeric', class: 'tiny', name: `${prefix}.time`, value: d.time, maxlength: '5', pattern: '([01][0-9]|2[0-3]):[0-5][0-9]', placeholder: 'hh:mm', 'aria-label': 'Heure limite (hh:mm)' }),
  });
  const booking = deadline('booking_deadline', s.booking_deadline);
  const cancel = deadline('cancellation_deadline', s.cancellation_deadline);
  const working = h('input', { type: 'checkbox', id: 'working-days', checked: s.working_days_only });
  const schools = h('input', { name: 'eligibility.schools', type: 'text', value: s.eligibility.schools.join(', ') });
  const classes = h('input', { name: 'eligibility.classes', type: 'text', value: s.eligibility.classes.join(', ') });
  const minAge = h('input', { name: 'eligibility.min_age_months', type: 'number', min: '0', max: '300', class: 'tiny', value: s.eligibility.min_age_months ?? '' });
  const maxAge = h('input', { name: 'eligibility.max_age_months', type: 'number', min: '0', max: '300', class: 'tiny', value: s.eligibility.max_age_months ?? '' });
  const active = h('input', { type: 'checkbox', id: 'svc-active', checked: s.active });
  const hold = h('input', { name: 'waitlist_offer_hours', type: 'number', min: '1', max: '336', class: 'tiny', value: String(Math.max(1, Math.round(s.waitlist_offer_hours || 24))) });
  const grid = priceGrid(s.prices);
  const submit = h('button', { type: 'submit', class: 'button' }, svc ? 'Enregistrer le service' : 'Créer le service');
  const deadlineRow = (label, d, hint) => h('div', { class: 'field' }, h('span', { class: 'label' }, label),
    h('div', { class: 'inline' }, 'J –', d.days, 'jour(s), avant', d.time), h('p', { class: 'hint' }, hint));
  const form = h('form', { class: 'form card', novalidate: true },
    h('div', { class: 'grid2' },
      field('Nom', name, 'Tel que les familles le voient : « Restauration scolaire ».'),
      field('Code', code, 'Court et stable (lettres minuscules, chiffres, - et _) : « cantine ».'),
      field('Description (facultatif)', description, 'Horaires, lieu…')),
    h('fieldset', {}, h('legend', {}, 'Jours de fonctionnement'),
      h('div', { class: 'weekdays' }, WEEK.map((d, i) => h('span', { class: 'check' }, days[i], h('label', { for: days[i].id }, WEEKDAY_NAMES[d]))))),
    h('fieldset', {}, h('legend', {}, 'Délais'),
      deadlineRow('Réservation jusqu\'à', booking, 'Par exemple J – 2 avant 10:00 : le jeudi se réserve jusqu\'au mardi 9 h 59.'),
      deadlineRow('Annulation avec remboursement jusqu\'à', cancel, 'Passé ce délai, la famille ne peut plus annuler elle-même.'),
      h('div', { class: 'check' }, working, h('label', { for: working.id }, 'Ne compter que les jours ouvrés (ni week-end ni jour férié)'))),
    h('fieldset', {}, h('legend', {}, 'Enfants concernés'),
      h('div', { class: 'grid2' },
        field('Écoles (séparées par des virgules)', schools, 'Vide : toutes les écoles.'),
        field('Classes (séparées par des virgules)', classes, 'Vide : toutes les classes.'),
        field('Âge minimum (mois)', minAge, '36 pour 3 ans ; vide : pas de minimum.'),
        field('Âge maximum (mois)', maxAge, 'Vide : pas de maximum.'))),
    grid.node,
    h('fieldset', {}, h('legend', {}, 'Liste d\'attente'),
      field('Place proposée gardée (heures)', hold, 'Quand une place se libère un jour complet, elle est mise dans le panier du premier enfant de la liste d\'attente et gardée ce temps-là (jamais au-delà de la date limite de réservation) ; ensuite elle passe au suivant. 24 heures par défaut.')),
    h('div', { class: 'check' }, active, h('label', { for: active.id }, 'Ouvert aux réservations')),
    h('div', { class: 'actions' }, submit, h('a', { href: svc ? `#/admin/services/${svc.id}` : '#/admin/services' }, 'Annuler')));
  const list = (input) => input.value.split(',').map((x) => x.trim()).filter(Boolean);
  const num = (input) => (input.value === '' ? null : Number(input.value));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const bad = [booking.time, cancel.time].find((t) => !/^([01][0-9]|2[0-3]):[0-5][0-9]$/.test(t.value.trim()));
    if (bad) { notify('Heure limite attendue au format hh:mm (par exemple 10:00).', 'error'); bad.focus(); return; }
    const prices = grid.check();
    if (!prices) { notify(`Grille tarifaire à corriger — ${grid.problem()}`, 'error'); return; }
    const body = {
      code: code.value.trim(), name: name.value.trim(), description: description.value.trim(),
      weekdays: WEEK.filter((d, i) => days[i].checked),
      booking_deadline: { days_before: Number(booking.days.value), time: booking.time.value.trim() },
      cancellation_deadline: { days_before: Number(cancel.days.value), time: cancel.time.value.trim() },
      working_days_only: working.checked,
      eligibility: { schools: list(schools), classes: list(classes), min_age_months: num(minAge), max_age_months: num(maxAge) },
      prices, active: active.checked, waitlist_offer_hours: Number(hold.value),
    };
    busy(submit, async () => {
      try {
        const out = svc ? await patch(`/admin/services/${svc.id}`, body) : await post('/admin/services', body);
        done(out);
      } catch (err) { markFieldErrors(form, err); showError(err); }
    });
  });
  if (svc) grid.check();
  return form;
}

export async function newService(ctx) {
  if (!can('createService')) { notForRole(ctx, 'Nouveau service', 'aux administrateurs'); return; }
  mount(ctx.root, breadcrumb(h('a', { href: '#/admin/services' }, 'Services'), 'Nouveau service'), pageTitle('Nouveau service'),
    serviceForm(null, (s) => {
      flashNext(`Service « ${s.name} » créé. Ouvrez maintenant ses jours pour la période voulue.`);
      go(`#/admin/services/${s.id}`);
    }));
}

export async function editService(ctx) {
  if (!can('patchService')) { notForRole(ctx, 'Modifier un service', 'aux administrateurs'); return; }
  const svc = await get(`/admin/services/${ctx.params.id}`);
  mount(ctx.root, breadcrumb(h('a', { href: '#/admin/services' }, 'Services'), h('a', { href: `#/admin/services/${svc.id}` }, svc.name), 'Modifier'),
    pageTitle(`Modifier « ${svc.name} »`),
    serviceForm(svc, (s) => {
      flashNext(`Service « ${s.name} » enregistré.`);
      go(`#/admin/services/${s.id}`);
    }));
}

// ---- A service: its facts, its days, its rules of the day ----

export async function serviceDays(ctx) {
  const id = ctx.params.id;
  const svc = await get(`/admin/services/${id}`);
  let month = /^\d{4}-\d{2}$/.test(ctx.query.get('mois') || '') ? ctx.query.get('mois') : thisMonth();
  const heading = h('h2', { class: 'month-title', 'aria-live': 'polite' }, monthLabel(month));
  const prev = h('button', { type: 'button', class: 'button button-secondary' }, '‹ Mois précédent');
  const next = h('button', { type: 'button', class: 'button button-secondary' }, 'Mois suivant ›');
  const body = h('div', {}, loading());
  const draw = async () => {
    let days;
    try {
      days = await get(`/admin/services/${id}/days?month=${month}`);
    } catch (err) {
      mount(body, errorBox(err, 'Les jours du service'));
      return;
    }
    if (!days.length) {
      mount(body, h('p', {}, `Aucun jour d'ouverture n'est défini en ${monthLabel(month)}.`,
        can('generateServiceDays') ? ' Ouvrez des jours avec le formulaire « Ouvrir des jours » ci-dessus.' : ''));
      return;
    }
    const edits = days.map((d) => ({
      d,
      open: h('input', { type: 'checkbox', checked: d.open, 'aria-label': `Ouvert le ${dayLabel(d.date)}` }),
      cap: h('input', { type: 'number', min: '0', value: d.capacity === null || d.capacity === undefined ? '' : String(d.capacity), class: 'tiny', 'aria-label': `Capacité le ${dayLabel(d.date)} (vide : illimitée)` }),
    }));
    const save = h('button', { type: 'button', class: 'button' }, 'Enregistrer les modifications');
    save.addEventListener('click', () => busy(save, async () => {
      const changed = edits.filter((e) => e.open.checked !== e.d.open || (e.cap.value === '' ? null : Number(e.cap.value)) !== (e.d.capacity ?? null))
        .map((e) => ({ date: e.d.date, open: e.open.checked, capacity: e.cap.value === '' ? null : Number(e.cap.value) }));
      if (!changed.length) { notify('Aucune modification à enregistrer.'); return; }
      try {
        await put(`/admin/services/${id}/days`, { days: changed });
        notify(`${pluralize(changed.length, 'jour modifié', 'jours modifiés')}.`, 'success');
        await draw();
      } catch (err) { showError(err); }
    }));
    mount(body,
      stackTable(`Jours de ${svc.name} en ${monthLabel(month)}`, ['Date', 'Ouvert', 'Capacité', 'Places prises', 'Places restantes', ''], edits.map((e) => [
        dayLabel(e.d.date), e.open, e.cap, String(e.d.taken),
        e.d.places_left === null || e.d.places_left === undefined ? 'illimité' : String(e.d.places_left),
        h('span', { class: 'row-actions' },
          h('a', { href: `#/admin/journee?service=${id}&date=${e.d.date}` }, 'Liste et pointage', h('span', { class: 'sr-only' }, ` du ${dayLabel(e.d.date)}`)),
          e.d.waiting || (e.d.capacity !== null && e.d.capacity !== undefined && e.d.places_left === 0)
            ? h('a', { href: `#/admin/services/${id}/jours/${e.d.date}/attente` }, e.d.waiting ? `Liste d'attente (${e.d.waiting})` : 'Liste d\'attente',
              h('span', { class: 'sr-only' }, ` du ${dayLabel(e.d.date)}`)) : null),
      ]), { rowHeaders: true, class: 'days-table' }),
      h('p', { class: 'hint' }, 'Fermer un jour garde ses réservations (annulez-les pour les familles si le service n\'a pas lieu) et arrête les nouvelles. Une capacité vide est illimitée.'),
      h('div', { class: 'actions' }, save));
  };
  const setMonth = async (m) => {
    month = m;
    history.replaceState(null, '', `#/admin/services/${id}?mois=${month}`);
    heading.textContent = monthLabel(month);
    await draw();
  };
  prev.addEventListener('click', () => setMonth(addMonths(month, -1)));
  next.addEventListener('click', () => setMonth(addMonths(month, 1)));
  mount(ctx.root,
    breadcrumb(h('a', { href: '#/admin/services' }, 'Services'), svc.name),
    pageTitle(svc.name),
    can('patchService') ? h('div', { class: 'page-actions' }, h('a', { class: 'button button-secondary', href: `#/admin/services/${id}/modifier` }, 'Modifier le service')) : null,
    h('div', { class: 'grid2 cards' },
      h('section', { class: 'card', 'aria-labelledby': 'svc-rules' }, h('h2', { id: 'svc-rules' }, 'Règles'),
        dl([['Jours', weekdays(svc)], ['Réservation', svc.booking_deadline.label], ['Annulation', svc.cancellation_deadline.label],
          ['Enfants', eligibilityLabel(svc.eligibility)], ['Place proposée (liste d\'attente)', `gardée ${svc.waitlist_offer_hours} h`], ['Tarifs', h('ul', { class: 'plain prices' }, svc.prices.map((p) => h('li', {}, bracketLabel(p))))],
          ['État', svc.active ? 'ouvert aux réservations' : 'fermé aux réservations']])),
      unbookedRuleCard(svc)),
    can('generateServiceDays') ? generateCard(svc, () => draw()) : null,
    h('section', { class: 'card', 'aria-labelledby': 'svc-days' }, h('h2', { id: 'svc-days', class: 'sr-only' }, 'Jours du service'),
      h('div', { class: 'month-nav', role: 'group', 'aria-label': 'Changer de mois' }, prev, heading, next),
      body));
  await draw();
}

const RULE_TEXT = {
  charge: 'au tarif de la famille',
  surcharge: 'au tarif de la famille, majoré',
  free: 'gratuitement (présence notée, rien n\'est facturé)',
};

function unbookedRuleCard(svc) {
  const rule = svc.unbooked_rule || { unbooked: 'charge', surcharge_cents: 0, label: 'facturée au tarif de la famille' };
  const body = h('div');
  const view = (r) => [h('p', {}, 'Un enfant présent sans réservation (noté au pointage) est ', h('strong', { id: 'unbooked-rule' }, r.label), '.'),
    h('p', { class: 'hint' }, 'Le montant est ajouté au solde dû de la famille et figure sur sa facture du mois.')];
  if (!can('putAttendanceRule')) {
    mount(body, view(rule), h('p', { class: 'hint' }, 'Cette règle est fixée par le régisseur.'));
  } else {
    const choice = h('select', { name: 'unbooked' }, Object.entries(RULE_TEXT).map(([v, t]) => h('option', { value: v, selected: rule.unbooked === v }, `Facturer ${t}`)));
    const surcharge = h('input', { name: 'surcharge_cents', type: 'text', inputmode: 'decimal', class: 'short', value: rule.surcharge_cents ? (rule.surcharge_cents / 100).toFixed(2).replace('.', ',') : '' });
    const surchargeField = field('Majoration (€)', surcharge, 'Ajoutée au tarif de la famille, 100 € au plus.');
    const sync = () => { surchargeField.hidden = choice.value !== 'surcharge'; };
    choice.addEventListener('change', sync);
    sync();
    const submit = h('button', { type: 'submit', class: 'button button-secondary' }, 'Enregistrer la règle');
    const status = h('div');
    const form = h('form', { class: 'form', novalidate: true }, field('Règle', choice), surchargeField, h('div', { class: 'actions' }, submit));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const cents = choice.value === 'surcharge' ? parseEuros(surcharge.value) : 0;
      if (choice.value === 'surcharge' && !(cents > 0)) { notify('Indiquez la majoration en euros, par exemple 1,00.', 'error'); surcharge.focus(); return; }
      busy(submit, async () => {
        try {
          const r = await put(`/admin/services/${svc.id}/attendance-rule`, { unbooked: choice.value, surcharge_cents: cents });
          mount(status, view(r));
          notify(`Règle enregistrée : présence sans réservation ${r.label}. Les présences déjà notées gardent leur montant.`, 'success');
        } catch (err) { markFieldErrors(form, err); showError(err); }
      });
    });
    mount(status, view(rule));
    mount(body, status, form);
  }
  return h('section', { class: 'card', 'aria-labelledby': 'svc-unbooked' }, h('h2', { id: 'svc-unbooked' }, 'Présence sans réservation'), body);
}

/** The school year holding iso: 1 September to 5 July. */
function schoolYear(iso) {
  const y = Number(iso.slice(0, 4)) - (Number(iso.slice(5, 7)) < 8 ? 1 : 0);
  return [`${y}-09-01`, `${y + 1}-07-05`];
}

function generateCard(svc, done) {
  const [start, end] = schoolYear(today());
  const from = dateInput({ name: 'from', value: today() > start ? today() : start });
  const to = dateInput({ name: 'to', value: end });
  const capacity = h('input', { name: 'capacity', type: 'number', min: '0', class: 'tiny' });
  const submit = h('button', { type: 'submit', class: 'button' }, 'Ouvrir les jours');
  const form = h('form', { class: 'form', novalidate: true },
    h('p', {}, `Ouvre ${svc.name} chaque ${weekdays(svc)} de la période, sauf les jours de fermeture (vacances, jours fériés). Les jours déjà ouverts ne changent pas.`),
    h('div', { class: 'grid2' }, field('Du', from), field('Au', to, 'Par défaut l\'année scolaire.'), field('Capacité par jour', capacity, 'Vide : illimitée.')),
    h('div', { class: 'actions' }, submit, h('a', { href: '#/admin/fermetures' }, 'Voir les fermetures')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    let range;
    try { range = { from: dateValue(from, 'Du'), to: dateValue(to, 'Au') }; } catch (err) { notify(err.message, 'error'); return; }
    if (!range.from || !range.to) { notify('Indiquez la période à ouvrir.', 'error'); return; }
    busy(submit, async () => {
      try {
        const r = await post(`/admin/services/${svc.id}/days/generate`, { ...range, capacity: capacity.value === '' ? null : Number(capacity.value) });
        notify(r.created ? `${pluralize(r.created, 'jour ouvert', 'jours ouverts')} du ${frDate(range.from)} au ${frDate(range.to)}.` : 'Aucun nouveau jour : ils étaient déjà ouverts (ou fermés pour vacances).', 'success');
        await done();
      } catch (err) { markFieldErrors(form, err); showError(err); }
    });
  });
  return h('section', { class: 'card', 'aria-labelledby': 'svc-generate' }, h('h2', { id: 'svc-generate' }, 'Ouvrir des jours'), form);
}

// ---- Closures ----

export async function closures(ctx) {
  const from = dateInput({ name: 'from', value: `${thisMonth()}-01` });
  const to = dateInput({ name: 'to', value: `${addMonths(thisMonth(), 12)}-01` });
  const list = h('div', {}, loading());
  const draw = async () => {
    let range;
    try { range = { from: dateValue(from, 'Du'), to: dateValue(to, 'Au') }; } catch (err) { notify(err.message, 'error'); return; }
    try {
      const rows = await get(`/admin/closures?from=${range.from}&to=${range.to}`);
      mount(list, rows.length ? stackTable('Fermetures', ['Du', 'Au', 'Motif', ''], rows.map((c) => {
        let remove = null;
        if (can('deleteClosure')) {
          remove = h('button', { type: 'button', class: 'button button-tertiary button-small' }, 'Supprimer', h('span', { class: 'sr-only' }, ` ${c.label}`));
          remove.addEventListener('click', () => busy(remove, async () => {
            try { await del(`/admin/closures/${c.id}`); notify(`Fermeture « ${c.label} » supprimée.`, 'success'); await draw(); } catch (err) { showError(err); }
          }));
        }
        return [dayLabel(c.first_day), dayLabel(c.last_day), c.label, remove];
      }), { rowHeaders: true }) : h('p', {}, 'Aucune fermeture sur cette période.'));
    } catch (err) { mount(list, errorBox(err, 'Les fermetures')); }
  };
  const show = h('button', { type: 'submit', class: 'button button-secondary' }, 'Afficher');
  const period = h('form', { class: 'search period', novalidate: true }, field('Du', from), field('Au', to), show);
  period.addEventListener('submit', (e) => { e.preventDefault(); busy(show, draw); });
  let add = null;
  if (can('createClosure')) {
    const first = dateInput({ name: 'first_day', required: true });
    const last = dateInput({ name: 'last_day', required: true });
    const label = h('input', { name: 'label', type: 'text', maxlength: '100', required: true });
    const submit = h('button', { type: 'submit', class: 'button' }, 'Ajouter la fermeture');
    add = h('form', { class: 'form card', novalidate: true }, h('h2', {}, 'Ajouter une fermeture'),
      h('div', { class: 'grid2' }, field('Premier jour', first), field('Dernier jour', last), field('Motif', label, 'Vacances de Noël, pont de l\'Ascension…')),
      h('p', { class: 'hint' }, 'Les jours ouverts ensuite évitent la fermeture ; les jours déjà ouverts restent : fermez-les dans le calendrier de chaque service.'),
      h('div', { class: 'actions' }, submit));
    add.addEventListener('submit', (e) => {
      e.preventDefault();
      let body;
      try { body = { first_day: dateValue(first, 'Premier jour'), last_day: dateValue(last, 'Dernier jour'), label: label.value.trim() }; } catch (err) { notify(err.message, 'error'); return; }
      busy(submit, async () => {
        try {
          const c = await post('/admin/closures', body);
          notify(`Fermeture « ${c.label} » ajoutée.`, 'success');
          add.reset();
          await draw();
        } catch (err) { markFieldErrors(add, err); showError(err); }
      });
    });
  }
  mount(ctx.root, breadcrumb(h('a', { href: '#/admin/services' }, 'Services'), 'Fermetures'), pageTitle('Fermetures'),
    h('p', { class: 'lead' }, 'Jours fériés et vacances scolaires : aucun jour de service n\'y est ouvert.'),
    add, period, list);
  await draw();
}
