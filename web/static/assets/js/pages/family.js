// Family pages: home, the family's record (fiche famille), invoices and
// payments, and the contact form.

import { get, post, patch, put, del, api, ApiError } from '../api.js';
import {
  h, mount, euros, field, pageTitle, notify, showError, markFieldErrors, busy, loading, dl, table, unavailable,
  instantLabel, shortDate, shortDayLabel, dayLabel, monthLabel, ofMonth, isoDay, problemView, capitalize, thisMonth, addMonths,
} from '../ui.js';
import { session, refreshCart } from '../app.js';
import { childName, serviceName, balanceBlock } from './booking.js';
import { familyBlock } from './waitlist.js';

/** An element filled once promise settles (a loading line until then). */
function later(promise) {
  const el = h('div', {}, loading());
  promise.then((node) => mount(el, node), (err) => mount(el, h('div', { class: 'notice notice-error' }, problemView(err))));
  return el;
}

export async function home(ctx) {
  const me = await session.refreshMe();
  const [cart, members, services, waits] = await Promise.all([
    refreshCart().catch(() => null), session.once('/family/members'), session.once('/services'), get('/waitlist').catch(() => []),
  ]);
  const fam = me.family;
  const pending = cart ? cart.items.length : 0;
  const box = (id, title, content) => h('section', { class: 'card home-card', id, 'aria-labelledby': `${id}-title` },
    h('h2', { id: `${id}-title` }, title), later(Promise.resolve(content)));
  mount(ctx.root,
    pageTitle(`Bonjour, famille ${fam.name}`),
    cart && cart.status === 'checking_out'
      ? h('div', { class: 'notice notice-warning' }, h('strong', {}, 'Un paiement est en cours pour votre panier. '),
        h('a', { href: '#/panier' }, 'Le reprendre ou l\'abandonner pour modifier le panier'))
      : null,
    h('section', { class: 'balances', 'aria-label': 'Vos soldes' },
      h('div', { class: 'stat stat-credit' },
        h('h2', {}, 'Cagnotte'),
        h('p', { class: 'amount', id: 'credit' }, euros(me.credit_cents)),
        h('p', { class: 'hint' }, 'Crédit de vos annulations, déduit automatiquement de vos prochains paiements.')),
      h('div', { class: `stat ${me.outstanding_cents > 0 ? 'stat-due' : 'stat-ok'}` },
        h('h2', {}, 'Solde à régler'),
        h('p', { class: 'amount', id: 'outstanding' }, euros(me.outstanding_cents)),
        me.outstanding_cents > 0 ? later(balanceBlock()) : h('p', { class: 'hint' }, 'Vous n\'avez rien à régler.'))),
    h('div', { class: 'home-grid' },
      box('home-cart', 'Mon panier', cartSummary(cart)),
      box('home-next', 'Prochaines réservations', nextReservations(members, services)),
      box('home-deadlines', 'Prochaines dates limites de réservation', nextDeadlines(members, services)),
      box('home-invoices', 'Factures à régler', invoicesToPay()),
      waits.some((e) => e.status === 'waiting' || e.status === 'offered')
        ? box('home-waitlist', 'Listes d\'attente', familyBlock(waits, () => home(ctx))) : null),
    h('section', { 'aria-labelledby': 'shortcuts-title' },
      h('h2', { id: 'shortcuts-title' }, 'Raccourcis'),
      h('ul', { class: 'shortcuts' },
        shortcut('#/reservations', 'Réserver', 'Cantine, accueils du matin et du soir, mercredis'),
        shortcut('#/panier', pending ? `Mon panier (${pending})` : 'Mon panier', pending ? `${pending} réservation${pending > 1 ? 's' : ''} en attente de paiement` : 'Vide pour le moment'),
        shortcut('#/calendrier', 'Mon calendrier', 'Réservations confirmées, annulations'),
        shortcut('#/factures', 'Factures et règlements', 'Factures mensuelles, attestations de paiement'),
        shortcut('#/famille', 'Ma fiche famille', 'Coordonnées, mot de passe, enfants, personnes autorisées'),
        shortcut('#/messages', 'Nous contacter', 'Question, envoi de justificatif, changement de situation'))));
}

const shortcut = (href, title, text) => h('li', {}, h('a', { class: 'shortcut', href }, h('strong', {}, title), h('span', {}, text)));

function cartSummary(cart) {
  if (!cart || !cart.items.length) {
    return h('div', {}, h('p', {}, 'Votre panier est vide.'), h('p', {}, h('a', { href: '#/reservations' }, 'Réserver des jours')));
  }
  const n = cart.items.length;
  const what = cart.status === 'checking_out' ? 'en cours de paiement' : `${euros(cart.total_due_cents)} à régler`;
  return h('div', {},
    h('p', { id: 'home-cart-text' }, `${n} jour${n > 1 ? 's' : ''} dans votre panier, ${what}`,
      cart.expires_at ? `, gardé${n > 1 ? 's' : ''} pour vous jusqu'au ${instantLabel(cart.expires_at)}.` : '.'),
    h('p', {}, h('a', { class: 'button button-small', href: '#/panier' }, 'Aller au panier')));
}

/** The next reservations of each child, three each. */
async function nextReservations(members, services) {
  const from = new Date();
  const to = new Date(from.getFullYear(), from.getMonth() + 3, 0);
  const list = await get(`/reservations?from=${isoDay(from)}&to=${isoDay(to)}&status=confirmed`);
  const kids = members.filter((m) => m.kind === 'child');
  const items = kids.map((k) => {
    const rs = list.filter((r) => r.child_id === k.id).sort((a, b) => a.date.localeCompare(b.date)).slice(0, 3);
    return h('li', {}, h('strong', {}, k.first_name), rs.length
      ? h('ul', {}, rs.map((r) => h('li', {}, `${capitalize(dayLabel(r.date, false))} — ${serviceName(services, r.service_id)}`)))
      : h('p', { class: 'hint' }, 'Aucune réservation à venir.'));
  });
  return h('div', {}, h('ul', { class: 'plain next-list' }, items), h('p', {}, h('a', { href: '#/calendrier' }, 'Voir mon calendrier')));
}

/** For each service, the next day still bookable and until when. */
async function nextDeadlines(members, services) {
  const rows = await Promise.all(services.map(async (s) => {
    const child = members.find((m) => s.eligible_child_ids.includes(m.id));
    if (!child) return null;
    for (const month of [thisMonth(), addMonths(thisMonth(), 1)]) {
      const days = await get(`/children/${child.id}/calendar?service_id=${s.id}&month=${month}`).catch(() => []);
      const open = days.filter((d) => d.state === 'available' && d.bookable_until).sort((a, b) => a.bookable_until.localeCompare(b.bookable_until));
      if (open.length) return { s, day: open[0] };
    }
    return { s, day: null };
  }));
  const found = rows.filter(Boolean);
  if (!found.length) return h('p', {}, 'Aucun service ouvert à la réservation pour vos enfants.');
  return h('ul', { class: 'plain deadline-list' }, found.map(({ s, day }) => h('li', {},
    h('a', { href: `#/reservations/${s.id}` }, s.name), ' : ',
    day ? `le ${dayLabel(day.date, false)} se réserve jusqu'au ${instantLabel(day.bookable_until)}.` : 'aucun jour à réserver ces deux prochains mois.')));
}

async function invoicesToPay() {
  const list = (await get('/invoices')).filter((i) => i.due_cents > 0);
  if (!list.length) return h('p', {}, 'Aucune facture à régler.');
  return h('div', {},
    h('ul', { class: 'plain' }, list.map((i) => h('li', {},
      `Facture ${ofMonth(i.month)} (n° ${i.number}) : reste à payer ${euros(i.due_cents)} — `,
      h('a', { href: i.pdf || `/api/v1/invoices/${i.id}.pdf`, download: '' }, 'Télécharger', h('span', { class: 'sr-only' }, ` la facture ${ofMonth(i.month)}`))))),
    h('p', { class: 'hint' }, 'Le reste à payer s\'ajoute à votre prochain panier ; vous pouvez aussi le régler seul avec « Régler mon solde ».'));
}

// ---- Fiche famille ----

export async function profile(ctx) {
  const me = await session.refreshMe();
  const fam = me.family;
  mount(ctx.root, 
    pageTitle('Ma fiche famille'),
    h('nav', { class: 'toc', 'aria-label': 'Sections de la fiche' }, h('ul', {},
      [['coordonnees', 'Coordonnées'], ['mot-de-passe', 'Mot de passe'], ['membres', 'Membres'], ['personnes', 'Personnes autorisées'],
        ['reservations', 'Réservations'], ['reglements', 'Règlements et régularisations'], ['factures', 'Factures']]
        .map(([id, label]) => h('li', {}, h('a', { href: `#/famille`, 'data-target': id, onclick: (e) => { e.preventDefault(); const s = document.getElementById(id); s.scrollIntoView(); s.querySelector('h2').focus(); } }, label))))),
    contactSection(fam),
    passwordSection(me),
    section('membres', 'Membres de la famille', membersBlock()),
    section('personnes', 'Personnes autorisées à venir chercher les enfants', authorizedBlock()),
    section('reservations', 'Réservations à venir', upcomingBlock()),
    section('reglements', 'Règlements et régularisations', paymentsBlock()),
    section('factures', 'Factures', invoicesBlock()));
}

/** A section with a focusable h2; content may be a promise of a node. */
function section(id, title, content) {
  const body = h('div', {}, loading());
  Promise.resolve(content).then((node) => mount(body, node), (err) => {
    mount(body, err instanceof ApiError && err.unavailable ? unavailable(title) : h('div', { class: 'notice notice-error' }, problemView(err)));
  });
  return h('section', { id, class: 'card', 'aria-labelledby': `${id}-title` }, h('h2', { id: `${id}-title`, tabindex: '-1' }, title), body);
}

function contactSection(fam) {
  const inputs = {
    email: h('input', { name: 'email', type: 'email', autocomplete: 'email', value: fam.email || '' }),
    phone: h('input', { name: 'phone', type: 'tel', autocomplete: 'tel', value: fam.phone || '' }),
    phone2: h('input', { name: 'phone2', type: 'tel', value: fam.phone2 || '' }),
    address: h('input', { name: 'address', type: 'text', autocomplete: 'street-address', value: fam.address || '' }),
    postal_code: h('input', { name: 'postal_code', type: 'text', autocomplete: 'postal-code', inputmode: 'numeric', value: fam.postal_code || '', class: 'short' }),
    city: h('input', { name: 'city', type: 'text', autocomplete: 'address-level2', value: fam.city || '' }),
  };
  const submit = h('button', { type: 'submit', class: 'button' }, 'Enregistrer les coordonnées');
  const form = h('form', { class: 'form', novalidate: true },
    h('div', { class: 'grid2' },
      field('E-mail', inputs.email, 'Reçoit les attestations de paiement, les factures et les réponses du service.'),
      field('Téléphone', inputs.phone),
      field('Second téléphone', inputs.phone2),
      field('Adresse', inputs.address),
      field('Code postal', inputs.postal_code),
      field('Ville', inputs.city)),
    dl([['Quotient familial', String(fam.qf)], ['Nom de la famille', fam.name]]),
    h('p', { class: 'hint' }, 'Le quotient familial et les enfants sont tenus à jour par le service : écrivez-nous pour tout changement.'),
    h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = {};
    for (const [k, input] of Object.entries(inputs)) body[k] = input.value.trim();
    await busy(submit, async () => {
      try {
        await patch('/family', body);
        await session.refreshMe();
        markFieldErrors(form, null);
        notify('Vos coordonnées sont enregistrées.', 'success');
      } catch (err) {
        markFieldErrors(form, err);
        if (err instanceof ApiError && err.unavailable) notify('La modification des coordonnées n\'est pas encore disponible sur ce serveur.', 'warning');
        else showError(err);
      }
    });
  });
  return h('section', { id: 'coordonnees', class: 'card', 'aria-labelledby': 'coordonnees-title' },
    h('h2', { id: 'coordonnees-title', tabindex: '-1' }, 'Coordonnées'), form);
}

function passwordSection(me) {
  const user = h('input', { type: 'text', name: 'username', autocomplete: 'username', value: me.login, hidden: true, readonly: true });
  const current = h('input', { name: 'current_password', type: 'password', autocomplete: 'current-password', required: true });
  const next = h('input', { name: 'new_password', type: 'password', autocomplete: 'new-password', required: true, minlength: '10' });
  const again = h('input', { name: 'confirm', type: 'password', autocomplete: 'new-password', required: true });
  const submit = h('button', { type: 'submit', class: 'button' }, 'Changer le mot de passe');
  const form = h('form', { class: 'form', novalidate: true }, user,
    h('div', { class: 'grid2' },
      field('Mot de passe actuel', current),
      h('div'),
      field('Nouveau mot de passe', next, 'Au moins 10 caractères, sans reprendre votre identifiant.'),
      field('Confirmez le nouveau mot de passe', again)),
    h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (next.value !== again.value) {
      again.setAttribute('aria-invalid', 'true');
      notify('Les deux nouveaux mots de passe ne sont pas identiques.', 'error');
      again.focus();
      return;
    }
    await busy(submit, async () => {
      try {
        await put('/me/password', { current_password: current.value, new_password: next.value });
        form.reset();
        markFieldErrors(form, null);
        notify('Votre mot de passe est changé.', 'success');
      } catch (err) {
        markFieldErrors(form, err);
        if (err instanceof ApiError && err.unavailable) notify('Le changement de mot de passe n\'est pas encore disponible sur ce serveur.', 'warning');
        else showError(err);
      }
    });
  });
  return h('section', { id: 'mot-de-passe', class: 'card', 'aria-labelledby': 'mot-de-passe-title' },
    h('h2', { id: 'mot-de-passe-title', tabindex: '-1' }, 'Mot de passe'), form);
}

async function membersBlock() {
  const members = await session.once('/family/members');
  const kind = (m) => (m.kind === 'child' ? 'Enfant' : 'Adulte');
  return table('Membres de la famille', ['Nom', 'Qualité', 'Date de naissance', 'École et classe'],
    members.map((m) => [`${m.first_name} ${m.last_name}`, kind(m), m.birth_date ? dayLabel(m.birth_date) : '—',
      [m.school, m.class_name].filter(Boolean).join(', ') || '—']), { rowHeaders: true, class: 'stack' });
}

async function authorizedBlock() {
  const wrap = h('div');
  const draw = async () => {
    const persons = await get('/family/authorized-persons');
    const list = persons.length
      ? table('Personnes autorisées', ['Nom', 'Téléphone', 'Lien', ''], persons.map((p) => {
        const remove = h('button', { type: 'button', class: 'button button-secondary button-small' }, 'Retirer', h('span', { class: 'sr-only' }, ` ${p.first_name} ${p.last_name}`));
        remove.addEventListener('click', () => busy(remove, async () => {
          try {
            await del(`/family/authorized-persons/${p.id}`);
            notify(`${p.first_name} ${p.last_name} n'est plus autorisé(e) à venir chercher les enfants.`, 'success');
            await draw();
          } catch (err) { showError(err); }
        }));
        return [`${p.first_name} ${p.last_name}`, p.phone || '—', p.relationship || '—', remove];
      }), { rowHeaders: true, class: 'stack' })
      : h('p', {}, 'Aucune personne autorisée pour le moment.');
    mount(wrap, list, addPersonForm(draw));
  };
  await draw();
  return wrap;
}

function addPersonForm(done) {
  const first = h('input', { name: 'first_name', type: 'text', autocomplete: 'off', required: true });
  const last = h('input', { name: 'last_name', type: 'text', autocomplete: 'off', required: true });
  const phone = h('input', { name: 'phone', type: 'tel', autocomplete: 'off', required: true });
  const rel = h('input', { name: 'relationship', type: 'text', autocomplete: 'off', placeholder: 'grand-mère, voisin…' });
  const submit = h('button', { type: 'submit', class: 'button button-secondary' }, 'Ajouter la personne');
  const form = h('form', { class: 'form', novalidate: true },
    h('fieldset', {}, h('legend', {}, 'Ajouter une personne autorisée'),
      h('div', { class: 'grid2' }, field('Prénom', first), field('Nom', last), field('Téléphone', phone), field('Lien avec l\'enfant', rel))),
    h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    await busy(submit, async () => {
      try {
        await post('/family/authorized-persons', { first_name: first.value.trim(), last_name: last.value.trim(), phone: phone.value.trim(), relationship: rel.value.trim() });
        notify(`${first.value.trim()} ${last.value.trim()} est ajouté(e) aux personnes autorisées.`, 'success');
        await done();
      } catch (err) {
        markFieldErrors(form, err);
        showError(err);
      }
    });
  });
  return form;
}

async function upcomingBlock() {
  const from = new Date();
  const to = new Date(from.getFullYear(), from.getMonth() + 2, 0);
  const [list, members, services] = await Promise.all([
    get(`/reservations?from=${isoDay(from)}&to=${isoDay(to)}&status=confirmed`),
    session.once('/family/members'), session.once('/services'),
  ]);
  const rows = list.slice(0, 20).map((r) => [dayLabel(r.date), childName(members, r.child_id), serviceName(services, r.service_id), euros(r.price_cents)]);
  return h('div', {},
    rows.length ? table('Réservations à venir', ['Date', 'Enfant', 'Service', 'Prix'], rows, { rowHeaders: true, class: 'stack' }) : h('p', {}, 'Aucune réservation confirmée dans les semaines à venir.'),
    list.length > 20 ? h('p', {}, `… et ${list.length - 20} autres.`) : null,
    h('p', {}, h('a', { href: '#/calendrier' }, 'Voir et annuler mes réservations dans le calendrier')));
}

const KIND_LABELS = {
  payment: 'Paiement en ligne', desk_payment: 'Règlement au guichet', credit_used: 'Cagnotte utilisée',
  cancellation_credit: 'Annulation remboursée en cagnotte', late_payment_credit: 'Paiement reçu en retard, versé à la cagnotte',
  adjustment: 'Régularisation', charge: 'Réservation',
};

/**
 * What a movement concerns, one line per child and service, by date:
 * "Léa — Cantine : mar. 1er déc., jeu. 3 déc.".
 */
function movementDays(days) {
  if (!days || !days.length) return null;
  const groups = new Map();
  for (const d of days) { // the API sends them by date
    const key = `${d.child_id} ${d.service_id}`;
    if (!groups.has(key)) groups.set(key, { child: d.child_first_name, service: d.service_name, dates: [] });
    groups.get(key).dates.push(d.date);
  }
  const lines = [...groups.values()].sort((a, b) => a.child.localeCompare(b.child, 'fr') || a.service.localeCompare(b.service, 'fr'));
  return h('ul', { class: 'movement-days', 'aria-label': 'Jours concernés' },
    lines.map((g) => h('li', {}, h('span', { class: 'who' }, `${g.child} — ${g.service}`), ' : ',
      g.dates.map((d, i) => [i ? ', ' : '', h('span', { class: 'day' }, shortDayLabel(d))]))));
}

const signed = (cents) => (cents > 0 ? '+' : cents < 0 ? '−' : '') + euros(Math.abs(cents));

/**
 * The ledger as a table, newest first: every movement of what the family owes
 * or holds — a cart's reservations as one line naming their days, the service's
 * bookings and corrections with their reason ("par le service", never an agent's
 * name). Staff pass receipts: false and their own table builder (build: the back
 * office's stackTable, whose cells are labelled on a phone).
 */
export function ledgerTable(entries, { receipts = true, build = null } = {}) {
  if (!entries.length) return h('p', {}, 'Aucun mouvement pour le moment.');
  // A payment's receipt hangs on its online payment, or on the cagnotte used when
  // the cagnotte paid it all.
  const online = new Set(entries.filter((e) => e.kind === 'payment' && e.payment_id).map((e) => e.payment_id));
  const hasReceipt = (e) => e.payment_id && (e.kind === 'payment' || (e.kind === 'credit_used' && !online.has(e.payment_id)));
  const operation = (e) => {
    const kind = KIND_LABELS[e.kind];
    const label = e.label || kind || e.kind;
    const notes = [];
    if (e.label && kind && !e.label.toLowerCase().includes(kind.toLowerCase()) && e.kind !== 'charge') notes.push(kind);
    if (e.author === 'service') notes.push('Par le service');
    if (e.reason && !label.includes(e.reason)) notes.push(`Motif : ${e.reason}`);
    return h('div', {}, label, movementDays(e.days), notes.map((n) => h('span', { class: 'sub' }, n)));
  };
  return (build || table)('Règlements et régularisations', ['Date', 'Opération', 'Montant', 'Cagnotte après', 'Solde dû après', receipts ? 'Attestation' : null].filter(Boolean),
    entries.map((e) => [
      shortDate(e.paid_at),
      operation(e),
      h('span', { class: e.amount_cents >= 0 ? 'plus' : 'minus' }, signed(e.amount_cents)),
      euros(e.credit_balance_cents),
      euros(Math.max(e.outstanding_balance_cents, 0)),
      receipts ? (hasReceipt(e)
        ? h('a', { href: `/api/v1/payments/${e.payment_id}/receipt.pdf`, download: '' }, 'Télécharger', h('span', { class: 'sr-only' }, ` l'attestation du ${shortDate(e.paid_at)}`), ' (PDF)')
        : h('span', { class: 'none' }, '—')) : null,
    ].filter((c) => c !== null)), { class: build ? 'ledger-staff' : 'ledger' });
}

async function paymentsBlock() {
  return ledgerTable(await get('/payments'));
}

async function invoicesBlock() {
  const list = await get('/invoices');
  if (!list.length) return h('p', {}, 'Aucune facture pour le moment : elles sont émises au début de chaque mois pour le mois écoulé.');
  return table('Factures', ['Mois', 'Numéro', 'Montant du mois', 'Reste à payer', 'Document'], list.map((i) => [
    monthLabel(i.month), i.number, euros(i.total_cents), euros(i.due_cents),
    h('a', { href: i.pdf || `/api/v1/invoices/${i.id}.pdf`, download: '' }, 'Télécharger', h('span', { class: 'sr-only' }, ` la facture ${ofMonth(i.month)}`), ' (PDF)'),
  ]), { rowHeaders: true, class: 'invoices' });
}

// ---- Factures et règlements ----

export async function invoices(ctx) {
  const me = await session.refreshMe();
  mount(ctx.root, 
    pageTitle('Factures et règlements'),
    h('section', { class: 'balances', 'aria-label': 'Vos soldes' },
      h('div', { class: 'stat stat-credit' }, h('h2', {}, 'Cagnotte'), h('p', { class: 'amount' }, euros(me.credit_cents))),
      h('div', { class: `stat ${me.outstanding_cents > 0 ? 'stat-due' : 'stat-ok'}` }, h('h2', {}, 'Solde à régler'),
        h('p', { class: 'amount' }, euros(me.outstanding_cents)),
        me.outstanding_cents > 0 ? later(balanceBlock()) : h('p', { class: 'hint' }, 'Vous n\'avez rien à régler.'))),
    section('factures', 'Factures mensuelles', invoicesBlock()),
    section('reglements', 'Règlements et régularisations', paymentsBlock()));
}

// ---- Contact ----

const CATEGORIES = [['question', 'Une question'], ['document', 'Envoi d\'un justificatif'], ['situation_change', 'Changement de situation']];

export async function contact(ctx) {
  const category = h('select', { name: 'category', required: true }, CATEGORIES.map(([v, l]) => h('option', { value: v }, l)));
  const subject = h('input', { name: 'subject', type: 'text', required: true, maxlength: '200' });
  const body = h('textarea', { name: 'body', rows: '6', required: true, maxlength: '10000' });
  const files = h('input', { name: 'files[]', type: 'file', multiple: true, accept: 'application/pdf,image/jpeg,image/png' });
  const submit = h('button', { type: 'submit', class: 'button' }, 'Envoyer le message');
  const form = h('form', { class: 'card form', novalidate: true },
    h('h2', {}, 'Nouveau message'),
    field('Votre demande concerne', category),
    field('Objet', subject),
    field('Votre message', body),
    field('Pièces jointes (facultatif)', files, 'PDF, JPEG ou PNG ; 5 fichiers de 10 Mo au plus.'),
    h('div', { class: 'actions' }, submit));
  const threads = h('div', {}, loading());
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!subject.value.trim() || !body.value.trim()) {
      notify('Indiquez l\'objet et le texte de votre message.', 'error');
      (subject.value.trim() ? body : subject).focus();
      return;
    }
    const data = new FormData();
    data.set('category', category.value);
    data.set('subject', subject.value.trim());
    data.set('body', body.value.trim());
    for (const f of files.files) data.append('files[]', f, f.name);
    await busy(submit, async () => {
      try {
        await api('POST', '/messages', data);
        form.reset();
        markFieldErrors(form, null);
        notify('Votre message est envoyé. Le service vous répondra ici et par e-mail.', 'success');
        await drawThreads(threads);
      } catch (err) {
        markFieldErrors(form, err);
        if (err instanceof ApiError && err.unavailable) notify('L\'envoi de messages n\'est pas encore disponible sur ce serveur.', 'warning');
        else showError(err);
      }
    });
  });
  mount(ctx.root, pageTitle('Nous contacter'), form,
    h('section', { 'aria-labelledby': 'threads-title' }, h('h2', { id: 'threads-title' }, 'Vos messages et nos réponses'), threads));
  await drawThreads(threads);
}

async function drawThreads(box) {
  let list;
  try {
    list = await get('/messages');
  } catch (err) {
    mount(box, err instanceof ApiError && err.unavailable ? unavailable('La messagerie') : h('div', { class: 'notice notice-error' }, problemView(err)));
    return;
  }
  if (!list.length) {
    mount(box, h('p', {}, 'Vous n\'avez encore envoyé aucun message.'));
    return;
  }
  mount(box, ...list.map((t) => {
    const view = threadView(t, (m, a) => `/api/v1/messages/${m.id}/attachments/${a.id}`);
    view.append(replyForm(t, () => drawThreads(box)));
    return view;
  }));
}

/** Answering inside a thread: text and, if need be, documents. */
function replyForm(t, done) {
  const body = h('textarea', { name: 'body', rows: '3', required: true, maxlength: '10000' });
  const files = h('input', { name: 'files[]', type: 'file', multiple: true, accept: 'application/pdf,image/jpeg,image/png' });
  const submit = h('button', { type: 'submit', class: 'button button-secondary' }, 'Répondre', h('span', { class: 'sr-only' }, ` dans « ${t.subject} »`));
  const form = h('form', { class: 'form reply-form', novalidate: true },
    field('Votre réponse', body),
    field('Pièces jointes (facultatif)', files, 'PDF, JPEG ou PNG ; 5 fichiers de 10 Mo au plus.'),
    h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!body.value.trim()) {
      notify('Écrivez votre réponse avant de l\'envoyer.', 'error');
      body.focus();
      return;
    }
    const data = new FormData();
    data.set('body', body.value.trim());
    for (const f of files.files) data.append('files[]', f, f.name);
    await busy(submit, async () => {
      try {
        await api('POST', `/messages/${t.id}/reply`, data);
        notify('Votre réponse est envoyée au service.', 'success');
        await done();
      } catch (err) {
        markFieldErrors(form, err);
        showError(err);
      }
    });
  });
  return form;
}

const categoryLabel = (c) => (CATEGORIES.find(([v]) => v === c) || [c, c])[1];

/** One conversation: its messages, oldest first, with attachment links. */
export function threadView(t, attachmentURL, staffView = false) {
  return h('article', { class: 'card thread' },
    h('h3', {}, t.subject),
    h('p', { class: 'meta' }, `${categoryLabel(t.category)} — ${staffView && t.family_name ? `famille ${t.family_name}, ` : ''}commencé le ${instantLabel(t.created_at)}`),
    h('ol', { class: 'messages' }, t.messages.map((m) => h('li', { class: m.from_staff ? 'from-staff' : 'from-family' },
      h('p', { class: 'who' }, m.from_staff ? (staffView && m.author_login ? `Service (${m.author_login})` : 'Réponse du service') : (staffView ? 'La famille' : 'Vous'), ', le ', instantLabel(m.created_at)),
      h('p', { class: 'body' }, m.body),
      m.attachments && m.attachments.length ? h('ul', { class: 'attachments', 'aria-label': 'Pièces jointes' }, m.attachments.map((a) => h('li', {},
        h('a', { href: attachmentURL(m, a), download: a.filename }, a.filename)))) : null))));
}
