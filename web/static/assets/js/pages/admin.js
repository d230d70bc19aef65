// Back office (agent, finance, admin): families, services and their days, the
// contact inbox, and month-end invoicing.

import { get, post, put, api, newKey, ApiError } from '../api.js';
import {
  h, mount, euros, parseEuros, field, pageTitle, notify, showError, markFieldErrors, busy, loading, dl, table, unavailable,
  problemView, instantLabel, shortDate, dayLabel, monthLabel, thisMonth, addMonths, parseDay,
} from '../ui.js';
import { session, go } from '../app.js';
import { ledgerTable, threadView } from './family.js';

export async function home() {
  go('#/admin/familles');
}

/** Renders a section whose content is loaded; a route this server lacks says so. */
function section(title, content, id) {
  const body = h('div', {}, loading());
  Promise.resolve(content).then((node) => mount(body, node), (err) => {
    mount(body, err instanceof ApiError && err.unavailable ? unavailable(title) : h('div', { class: 'notice notice-error' }, problemView(err)));
  });
  const hid = `s-${id || Math.random().toString(36).slice(2)}`;
  return h('section', { class: 'card', 'aria-labelledby': hid }, h('h2', { id: hid }, title), body);
}

/**
 * Loads a list page's data; a route this server lacks becomes a "pas encore
 * disponible" page. (A detail page's 404 is a missing record, shown as an error.)
 */
async function loadOr(ctx, title, what, fn) {
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

// ---- Families ----

export async function families(ctx) {
  const q = ctx.query.get('q') || '';
  const cursor = ctx.query.get('apres') || '';
  const search = h('input', { name: 'q', type: 'search', value: q, autocomplete: 'off' });
  const form = h('form', { class: 'search', role: 'search' },
    field('Rechercher une famille', search, 'Nom, e-mail, téléphone ou prénom d\'un enfant'),
    h('button', { type: 'submit', class: 'button' }, 'Rechercher'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    go(`#/admin/familles${search.value.trim() ? `?q=${encodeURIComponent(search.value.trim())}` : ''}`);
  });
  const params = new URLSearchParams();
  if (q) params.set('q', q);
  if (cursor) params.set('cursor', cursor);
  const page = await loadOr(ctx, 'Familles', 'La liste des familles', () => get(`/admin/families?${params}`));
  if (!page) return;
  const rows = page.items.map((f) => [
    h('a', { href: `#/admin/familles/${f.id}` }, f.name),
    f.email || '—', f.phone || '—', euros(f.credit_cents),
    h('span', { class: f.outstanding_cents > 0 ? 'minus' : '' }, euros(f.outstanding_cents)),
  ]);
  mount(ctx.root, pageTitle('Familles'), form,
    rows.length ? table(q ? `Familles correspondant à « ${q} »` : 'Familles', ['Famille', 'E-mail', 'Téléphone', 'Cagnotte', 'Solde dû'], rows, { rowHeaders: true, showCaption: true })
      : h('p', {}, q ? `Aucune famille ne correspond à « ${q} ».` : 'Aucune famille.'),
    page.next_cursor ? h('p', {}, h('a', { class: 'button button-secondary', href: `#/admin/familles?${new URLSearchParams({ ...(q ? { q } : {}), apres: page.next_cursor })}` }, 'Familles suivantes')) : null);
}

export async function familyPage(ctx) {
  const id = ctx.params.id;
  const f = await get(`/admin/families/${id}`);
  const balances = h('p', { class: 'balances-line', role: 'status' });
  const showBalances = (credit, outstanding) => {
    mount(balances, h('span', {}, 'Cagnotte : ', h('strong', { id: 'fam-credit' }, euros(credit))), ' — ',
      h('span', {}, 'Solde dû : ', h('strong', { id: 'fam-outstanding' }, euros(outstanding))));
  };
  showBalances(f.credit_cents, f.outstanding_cents);
  const history = h('div', {}, loading());
  const drawHistory = async () => {
    try {
      mount(history, ledgerTable(await get(`/admin/families/${id}/payments`), false));
    } catch (err) {
      mount(history, err instanceof ApiError && err.unavailable ? unavailable('L\'historique des règlements') : h('div', { class: 'notice notice-error' }, problemView(err)));
    }
  };
  const moneyDone = async (res) => {
    showBalances(res.credit_cents, res.outstanding_cents);
    await drawHistory();
  };
  const children = f.members.filter((m) => m.kind === 'child');
  mount(ctx.root, 
    h('p', { class: 'breadcrumb' }, h('a', { href: '#/admin/familles' }, 'Familles'), ' › ', f.name),
    pageTitle(`Famille ${f.name}`),
    balances,
    h('div', { class: 'grid2 cards' },
      h('section', { class: 'card', 'aria-labelledby': 'fam-contact' }, h('h2', { id: 'fam-contact' }, 'Coordonnées'),
        dl([['E-mail', f.email || '—'], ['Téléphone', [f.phone, f.phone2].filter(Boolean).join(' / ') || '—'],
          ['Adresse', [f.address, [f.postal_code, f.city].filter(Boolean).join(' ')].filter(Boolean).join(', ') || '—'],
          ['Quotient familial', String(f.qf)],
          ['Comptes', f.accounts.length ? f.accounts.map((a) => `${a.login}${a.password_set ? '' : ' (mot de passe à choisir)'}${a.disabled ? ' (désactivé)' : ''}`).join(', ') : 'aucun']])),
      h('section', { class: 'card', 'aria-labelledby': 'fam-members' }, h('h2', { id: 'fam-members' }, 'Membres'),
        h('ul', {}, f.members.map((m) => h('li', {}, `${m.first_name} ${m.last_name} — ${m.kind === 'child' ? 'enfant' : 'adulte'}`,
          m.birth_date ? `, né(e) le ${parseDay(m.birth_date).toLocaleDateString('fr-FR')}` : '', m.school ? `, ${m.school}` : '', m.class_name ? ` (${m.class_name})` : ''))),
        f.authorized_persons.length ? [h('h3', {}, 'Personnes autorisées'),
          h('ul', {}, f.authorized_persons.map((p) => h('li', {}, `${p.first_name} ${p.last_name}`, p.relationship ? ` (${p.relationship})` : '', p.phone ? ` — ${p.phone}` : '')))] : null)),
    section('Réserver pour la famille', bookForm(id, children, moneyDone), 'book'),
    session.canMoney ? section('Règlement au guichet', deskForm(id, moneyDone), 'desk') : null,
    session.canMoney ? section('Régularisation', adjustmentForm(id, moneyDone), 'adjust') : null,
    h('section', { class: 'card', 'aria-labelledby': 'fam-history' }, h('h2', { id: 'fam-history' }, 'Historique des mouvements'), history));
  await drawHistory();
}

async function bookForm(familyID, children, done) {
  const services = (await get('/admin/services')).filter((s) => s.active);
  if (!children.length) return h('p', {}, 'Cette famille n\'a aucun enfant enregistré.');
  const child = h('select', { name: 'child_id' }, children.map((c) => h('option', { value: c.id }, `${c.first_name} ${c.last_name}`)));
  const service = h('select', { name: 'service_id' }, services.map((s) => h('option', { value: s.id }, s.name)));
  const from = h('input', { name: 'from', type: 'date', required: true });
  const to = h('input', { name: 'to', type: 'date' });
  const reason = h('input', { name: 'reason', type: 'text', maxlength: '500' });
  const override = h('input', { name: 'override_deadline', type: 'checkbox', id: 'override-deadline' });
  const submit = h('button', { type: 'submit', class: 'button' }, 'Réserver');
  const form = h('form', { class: 'form', novalidate: true },
    h('div', { class: 'grid2' },
      field('Enfant', child), field('Service', service),
      field('Du', from), field('Au (facultatif)', to, 'Tous les jours d\'ouverture du service entre ces dates.'),
      field('Motif', reason, 'Obligatoire pour passer outre la date limite.')),
    h('div', { class: 'check' }, override, h('label', { for: override.id }, 'Passer outre la date limite de réservation')),
    h('p', { class: 'hint' }, 'Les réservations faites ici sont confirmées aussitôt et ajoutées au solde dû de la famille.'),
    h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!from.value) {
      notify('Indiquez la date (ou la première date) à réserver.', 'error');
      from.focus();
      return;
    }
    await busy(submit, async () => {
      try {
        const dates = await openDays(service.value, from.value, to.value || from.value);
        if (!dates.length) {
          notify('Le service n\'est ouvert aucun jour dans cette période.', 'error');
          return;
        }
        const res = await post(`/admin/families/${familyID}/reservations`, {
          items: dates.map((date) => ({ child_id: child.value, service_id: service.value, date })),
          reason: reason.value.trim(), override_deadline: override.checked,
        });
        markFieldErrors(form, null);
        notify(`${res.reservations.length} réservation${res.reservations.length > 1 ? 's' : ''} faite${res.reservations.length > 1 ? 's' : ''} ; ${euros(res.charged_cents)} ajoutés au solde dû de la famille.`, 'success');
        const f = await get(`/admin/families/${familyID}`);
        await done({ credit_cents: f.credit_cents, outstanding_cents: f.outstanding_cents });
      } catch (err) {
        markFieldErrors(form, err);
        showError(err);
      }
    });
  });
  return form;
}

/** The open days of a service between two dates (inclusive), from its days list. */
async function openDays(serviceID, from, to) {
  if (to < from) [from, to] = [to, from];
  const out = [];
  for (let m = from.slice(0, 7), n = 0; m <= to.slice(0, 7) && n < 12; m = addMonths(m, 1), n++) {
    const days = await get(`/admin/services/${serviceID}/days?month=${m}`);
    for (const d of days) if (d.open && d.date >= from && d.date <= to) out.push(d.date);
  }
  return out;
}

function deskForm(familyID, done) {
  let key = newKey();
  const amount = h('input', { name: 'amount_cents', type: 'text', inputmode: 'decimal', required: true, class: 'short' });
  const method = h('select', { name: 'method' }, h('option', { value: 'cash' }, 'Espèces'), h('option', { value: 'cheque' }, 'Chèque'));
  const reference = h('input', { name: 'reference', type: 'text', maxlength: '100' });
  const submit = h('button', { type: 'submit', class: 'button' }, 'Enregistrer le règlement');
  const form = h('form', { class: 'form', novalidate: true },
    h('div', { class: 'grid2' }, field('Montant (€)', amount, 'Par exemple 12,50'), field('Mode de règlement', method),
      field('Référence (facultatif)', reference, 'Numéro de chèque, de quittance…')),
    h('p', { class: 'hint' }, 'Le règlement solde d\'abord ce que la famille doit ; le surplus va sur sa cagnotte.'),
    h('div', { class: 'actions' }, submit));
  // A change of the form is a new payment; resubmitting the same one is not.
  form.addEventListener('input', () => { key = newKey(); });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const cents = parseEuros(amount.value);
    if (!(cents > 0)) {
      amount.setAttribute('aria-invalid', 'true');
      notify('Montant invalide : indiquez un montant positif en euros, par exemple 12,50.', 'error');
      amount.focus();
      return;
    }
    await busy(submit, async () => {
      try {
        const res = await post(`/admin/families/${familyID}/payments`, { amount_cents: cents, method: method.value, reference: reference.value.trim() }, { idempotencyKey: key });
        notify(res.replayed ? 'Ce règlement était déjà enregistré.' : `Règlement de ${euros(cents)} enregistré.`, 'success');
        form.reset();
        markFieldErrors(form, null);
        key = newKey();
        await done(res);
      } catch (err) {
        markFieldErrors(form, err);
        if (err instanceof ApiError && err.unavailable) notify('Le règlement au guichet n\'est pas encore disponible sur ce serveur.', 'warning');
        else showError(err);
      }
    });
  });
  return form;
}

function adjustmentForm(familyID, done) {
  let key = newKey();
  const target = h('select', { name: 'target' }, h('option', { value: 'credit' }, 'La cagnotte'), h('option', { value: 'outstanding' }, 'Le solde dû'));
  const direction = h('select', { name: 'direction' }, h('option', { value: '1' }, 'Augmenter'), h('option', { value: '-1' }, 'Diminuer'));
  const amount = h('input', { name: 'amount_cents', type: 'text', inputmode: 'decimal', required: true, class: 'short' });
  const reason = h('input', { name: 'reason', type: 'text', required: true, maxlength: '500' });
  const submit = h('button', { type: 'submit', class: 'button' }, 'Enregistrer la régularisation');
  const form = h('form', { class: 'form', novalidate: true },
    h('div', { class: 'grid2' }, field('Corriger', target), field('Sens', direction), field('Montant (€)', amount), field('Motif', reason, 'Visible dans l\'historique de la famille.')),
    h('div', { class: 'actions' }, submit));
  form.addEventListener('input', () => { key = newKey(); });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const cents = parseEuros(amount.value);
    if (!(cents > 0) || !reason.value.trim()) {
      notify('Indiquez un montant positif en euros et un motif.', 'error');
      (cents > 0 ? reason : amount).focus();
      return;
    }
    await busy(submit, async () => {
      try {
        const res = await post(`/admin/families/${familyID}/adjustments`,
          { amount_cents: cents * Number(direction.value), target: target.value, reason: reason.value.trim() }, { idempotencyKey: key });
        notify(res.replayed ? 'Cette régularisation était déjà enregistrée.' : 'Régularisation enregistrée.', 'success');
        form.reset();
        markFieldErrors(form, null);
        key = newKey();
        await done(res);
      } catch (err) {
        markFieldErrors(form, err);
        if (err instanceof ApiError && err.unavailable) notify('Les régularisations ne sont pas encore disponibles sur ce serveur.', 'warning');
        else showError(err);
      }
    });
  });
  return form;
}

// ---- Services ----

const WEEKDAY_NAMES = { 0: 'dimanche', 1: 'lundi', 2: 'mardi', 3: 'mercredi', 4: 'jeudi', 5: 'vendredi', 6: 'samedi', 7: 'dimanche' };

export async function services(ctx) {
  const list = await loadOr(ctx, 'Services', 'La liste des services', () => get('/admin/services'));
  if (!list) return;
  const bracket = (p) => `QF ${p.qf_min}${p.qf_max === null || p.qf_max === undefined ? ' et plus' : ` à ${p.qf_max}`} : ${euros(p.price_cents)}`;
  mount(ctx.root, pageTitle('Services'),
    table('Services', ['Service', 'Jours', 'Réservation', 'Annulation', 'Tarifs', 'État'], list.map((s) => [
      h('a', { href: `#/admin/services/${s.id}` }, s.name),
      s.weekdays.map((d) => WEEKDAY_NAMES[d]).join(', '),
      s.booking_deadline.label, s.cancellation_deadline.label,
      h('ul', { class: 'plain' }, s.prices.map((p) => h('li', {}, bracket(p)))),
      s.active ? 'Ouvert' : 'Fermé',
    ]), { rowHeaders: true }),
    h('p', { class: 'hint' }, 'Ouvrez un service pour gérer ses jours d\'ouverture, ses capacités et la liste des enfants attendus.'));
}

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
      mount(body, err instanceof ApiError && err.unavailable ? unavailable('Les jours du service') : h('div', { class: 'notice notice-error' }, problemView(err)));
      return;
    }
    if (!days.length) {
      mount(body, h('p', {}, `Aucun jour d'ouverture n'est défini en ${monthLabel(month)}.`));
      return;
    }
    const edits = days.map((d) => ({
      d,
      open: h('input', { type: 'checkbox', checked: d.open, 'aria-label': `Ouvert le ${dayLabel(d.date)}` }),
      cap: h('input', { type: 'number', min: '0', value: d.capacity === null || d.capacity === undefined ? '' : String(d.capacity), class: 'tiny', 'aria-label': `Capacité le ${dayLabel(d.date)} (vide : illimitée)` }),
    }));
    const kids = h('div', { class: 'day-children', 'aria-live': 'polite' });
    const save = h('button', { type: 'button', class: 'button' }, 'Enregistrer les modifications');
    save.addEventListener('click', () => busy(save, async () => {
      const changed = edits.filter((e) => e.open.checked !== e.d.open || (e.cap.value === '' ? null : Number(e.cap.value)) !== (e.d.capacity ?? null))
        .map((e) => ({ date: e.d.date, open: e.open.checked, capacity: e.cap.value === '' ? null : Number(e.cap.value) }));
      if (!changed.length) { notify('Aucune modification à enregistrer.'); return; }
      try {
        await put(`/admin/services/${id}/days`, { days: changed });
        notify(`${changed.length} jour${changed.length > 1 ? 's' : ''} modifié${changed.length > 1 ? 's' : ''}.`, 'success');
        await draw();
      } catch (err) { showError(err); }
    }));
    mount(body, 
      table(`Jours de ${svc.name} en ${monthLabel(month)}`, ['Date', 'Ouvert', 'Capacité', 'Places prises', 'Places restantes', 'Enfants attendus'], edits.map((e) => {
        const list = h('button', { type: 'button', class: 'button button-tertiary button-small' }, 'Voir', h('span', { class: 'sr-only' }, ` les enfants du ${dayLabel(e.d.date)}`));
        list.addEventListener('click', () => busy(list, async () => {
          try {
            const r = await get(`/admin/services/${id}/days/${e.d.date}/children`);
            mount(kids, h('h3', {}, `${r.service_name}, ${dayLabel(r.date)} : ${r.children.length} enfant${r.children.length > 1 ? 's' : ''}`),
              r.children.length ? h('ul', {}, r.children.map((c) => h('li', {}, `${c.first_name} ${c.last_name}`, c.class_name ? ` (${c.class_name})` : '', ` — famille ${c.family_name}`, c.family_phone ? `, ${c.family_phone}` : ''))) : h('p', {}, 'Aucun enfant inscrit.'));
            kids.scrollIntoView({ block: 'nearest' });
          } catch (err) { showError(err); }
        }));
        return [dayLabel(e.d.date), e.open, e.cap, String(e.d.taken), e.d.places_left === null || e.d.places_left === undefined ? 'illimité' : String(e.d.places_left), list];
      }), { rowHeaders: true }),
      h('div', { class: 'actions' }, save), kids);
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
    h('p', { class: 'breadcrumb' }, h('a', { href: '#/admin/services' }, 'Services'), ' › ', svc.name),
    pageTitle(svc.name),
    dl([['Réservation', svc.booking_deadline.label], ['Annulation', svc.cancellation_deadline.label], ['Jours', svc.weekdays.map((d) => WEEKDAY_NAMES[d]).join(', ')]]),
    h('div', { class: 'month-nav', role: 'group', 'aria-label': 'Changer de mois' }, prev, heading, next),
    body);
  await draw();
}

// ---- Inbox ----

const CATEGORY = { question: 'Question', document: 'Justificatif', situation_change: 'Changement de situation' };

export async function inbox(ctx) {
  const waiting = ctx.query.get('attente') === '1';
  const page = await loadOr(ctx, 'Messagerie', 'La messagerie', () => get(`/admin/messages${waiting ? '?waiting=true' : ''}`));
  if (!page) return;
  const filter = h('input', { type: 'checkbox', id: 'waiting-only', checked: waiting });
  filter.addEventListener('change', () => go(filter.checked ? '#/admin/messages?attente=1' : '#/admin/messages'));
  mount(ctx.root, pageTitle('Messagerie'),
    h('div', { class: 'check' }, filter, h('label', { for: filter.id }, 'Seulement les messages en attente de réponse')),
    page.items.length ? table('Messages des familles', ['Objet', 'Famille', 'Catégorie', 'Dernier message', 'Messages', 'État'], page.items.map((t) => [
      h('a', { href: `#/admin/messages/${t.id}` }, t.subject),
      t.family_name, CATEGORY[t.category] || t.category, shortDate(t.last_message_at), String(t.messages),
      t.waiting ? h('span', { class: 'tag tag-waiting' }, t.unread ? `À traiter (${t.unread} non lu${t.unread > 1 ? 's' : ''})` : 'À traiter') : h('span', { class: 'tag' }, 'Répondu'),
    ]), { rowHeaders: true }) : h('p', {}, 'Aucun message.'));
}

export async function thread(ctx) {
  const id = ctx.params.id;
  const t = await get(`/admin/messages/${id}`);
  const body = h('textarea', { name: 'body', rows: '5', required: true });
  const files = h('input', { name: 'files[]', type: 'file', multiple: true, accept: 'application/pdf,image/jpeg,image/png' });
  const submit = h('button', { type: 'submit', class: 'button' }, 'Envoyer la réponse');
  const form = h('form', { class: 'card form', novalidate: true }, h('h2', {}, 'Répondre'),
    field('Réponse', body), field('Pièces jointes (facultatif)', files, 'PDF, JPEG ou PNG ; 5 fichiers de 10 Mo au plus.'),
    h('div', { class: 'actions' }, submit));
  const view = h('div');
  const draw = (x) => mount(view, threadView(x, (m, a) => `/api/v1/admin/messages/${m.id}/attachments/${a.id}`, true));
  draw(t);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!body.value.trim()) { notify('La réponse est vide.', 'error'); body.focus(); return; }
    const data = new FormData();
    data.set('body', body.value.trim());
    for (const f of files.files) data.append('files[]', f, f.name);
    await busy(submit, async () => {
      try {
        draw(await api('POST', `/admin/messages/${id}/reply`, data));
        form.reset();
        notify('Réponse envoyée ; la famille est prévenue par e-mail.', 'success');
      } catch (err) { markFieldErrors(form, err); showError(err); }
    });
  });
  mount(ctx.root, h('p', { class: 'breadcrumb' }, h('a', { href: '#/admin/messages' }, 'Messagerie'), ' › ', t.subject),
    pageTitle(t.subject), h('p', {}, h('a', { href: `#/admin/familles/${t.family_id}` }, `Fiche de la famille ${t.family_name || ''}`)), view, form);
}

// ---- Invoicing ----

const RUN_STATUS = { running: 'En cours', completed: 'Terminée', failed: 'En échec' };

export async function invoicing(ctx) {
  if (!session.canMoney) {
    mount(ctx.root, pageTitle('Facturation'), h('p', {}, 'La facturation est réservée aux régisseurs et aux administrateurs.'));
    return;
  }
  const month = h('input', { name: 'month', type: 'month', required: true, value: addMonths(thisMonth(), -1), max: addMonths(thisMonth(), -1), pattern: '\\d{4}-\\d{2}' });
  const submit = h('button', { type: 'submit', class: 'button', id: 'start-run' }, 'Lancer la facturation');
  const watch = h('section', { class: 'card run', 'aria-labelledby': 'run-title', hidden: true });
  const runs = h('div', {}, loading());
  const form = h('form', { class: 'card form', novalidate: true },
    h('h2', {}, 'Facturer un mois'),
    h('p', {}, 'Émet la facture de chaque famille pour le mois écoulé et l\'envoie par e-mail. Relancer un mois déjà facturé ne crée pas de doublon : la facturation en cours est reprise.'),
    field('Mois à facturer', month, 'Format AAAA-MM ; seul un mois terminé peut être facturé.'),
    h('div', { class: 'actions' }, submit));

  const drawRuns = async () => {
    try {
      const list = await get('/admin/invoice-runs');
      mount(runs, list.length ? table('Facturations', ['Mois', 'État', 'Familles', 'Factures', 'Montant facturé', 'Reste dû', ''], list.map((r) => [
        monthLabel(r.month), RUN_STATUS[r.status] || r.status, `${r.families_done} / ${r.families_total}`, String(r.invoices_count), euros(r.total_cents), euros(r.due_cents),
        h('span', { class: 'row-actions' },
          h('a', { href: `#/admin/facturation?run=${r.id}` }, 'Suivre', h('span', { class: 'sr-only' }, ` la facturation de ${monthLabel(r.month)}`)),
          h('a', { href: `/api/v1/admin/exports/${r.month}.csv`, download: '' }, 'Export CSV', h('span', { class: 'sr-only' }, ` de ${monthLabel(r.month)}`))),
      ]), { rowHeaders: true }) : h('p', {}, 'Aucune facturation pour le moment.'));
    } catch (err) {
      mount(runs, err instanceof ApiError && err.unavailable ? unavailable('La liste des facturations') : h('div', { class: 'notice notice-error' }, problemView(err)));
    }
  };

  const follow = async (run) => {
    watch.hidden = false;
    const title = h('h2', { id: 'run-title' }, `Facturation de ${monthLabel(run.month)}`);
    const bar = h('progress', { max: '1', value: '0', id: 'run-progress', 'aria-labelledby': 'run-title' });
    const state = h('p', { class: 'run-status', id: 'run-status', role: 'status' });
    const facts = h('div');
    mount(watch, title, bar, state, facts);
    let r = run;
    while (ctx.alive()) {
      bar.max = Math.max(r.families_total, 1);
      bar.value = r.status === 'completed' ? bar.max : r.families_done;
      state.textContent = `${RUN_STATUS[r.status] || r.status} — ${r.families_done} famille${r.families_done > 1 ? 's' : ''} sur ${r.families_total} traitée${r.families_total > 1 ? 's' : ''}`;
      mount(facts, dl([
        ['Factures émises', String(r.invoices_count)], ['Envoyées par e-mail', String(r.emailed_count)],
        ['Montant facturé', euros(r.total_cents)], ['Déjà payé', euros(r.paid_cents)], ['Reste dû', euros(r.due_cents)],
        ['Commencée', instantLabel(r.started_at)], r.finished_at ? ['Terminée', instantLabel(r.finished_at)] : null,
        r.error ? ['Erreur', r.error] : null,
      ]), r.status === 'completed' ? h('p', {}, h('a', { class: 'button button-secondary', href: `/api/v1/admin/exports/${r.month}.csv`, download: '' }, `Exporter ${monthLabel(r.month)} (CSV)`)) : null);
      if (r.status !== 'running') break;
      await new Promise((res) => setTimeout(res, 1000));
      try { r = await get(`/admin/invoice-runs/${r.id}`); } catch (err) { showError(err); return; }
    }
    if (ctx.alive()) await drawRuns();
  };

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!/^\d{4}-\d{2}$/.test(month.value)) {
      month.setAttribute('aria-invalid', 'true');
      notify('Indiquez le mois au format AAAA-MM.', 'error');
      month.focus();
      return;
    }
    await busy(submit, async () => {
      try {
        const run = await post('/admin/invoice-runs', { month: month.value });
        markFieldErrors(form, null);
        notify(run.status === 'completed' ? `${monthLabel(run.month)} est déjà facturé.` : `Facturation de ${monthLabel(run.month)} lancée.`, 'success');
        history.replaceState(null, '', `#/admin/facturation?run=${run.id}`);
        follow(run);
      } catch (err) {
        markFieldErrors(form, err);
        if (err instanceof ApiError && err.unavailable) notify('La facturation n\'est pas encore disponible sur ce serveur (POST /api/v1/admin/invoice-runs).', 'warning');
        else showError(err);
      }
    });
  });

  mount(ctx.root, pageTitle('Facturation'), form, watch,
    h('section', { 'aria-labelledby': 'runs-title' }, h('h2', { id: 'runs-title' }, 'Facturations précédentes'), runs));
  await drawRuns();
  const runID = ctx.query.get('run');
  if (runID) {
    try { follow(await get(`/admin/invoice-runs/${runID}`)); } catch (err) { showError(err); }
  }
}
