// Booking: the services, the month calendar per child, the cart, the payment
// result after PayFiP, and the family calendar with cancellations.

import { get, post, del, ApiError } from '../api.js';
import {
  h, mount, capitalize, euros, pageTitle, notify, showError, busy, loading, table, unavailable, problemView,
  thisMonth, addMonths, monthLabel, dayLabel, instantLabel, parseDay, isoDay, WEEKDAY_SHORT,
} from '../ui.js';
import { session, refreshCart, updateCartCount, go, flashNext } from '../app.js';

export const childName = (members, id) => {
  const m = members.find((x) => x.id === id);
  return m ? m.first_name : 'Enfant';
};
export const serviceName = (services, id) => {
  const s = services.find((x) => x.id === id);
  return s ? s.name : 'Service';
};

const PENDING_KEY = 'enfance.payment';

/**
 * Acts on a checkout answer: off to PayFiP when a payment is required (the
 * browser comes back to #/paiement), or straight to the result when the cart was
 * settled at once (credit, or nothing to pay).
 */
export function startPayment(answer) {
  if (answer.status === 'payment_required' && answer.payment_url) {
    sessionStorage.setItem(PENDING_KEY, JSON.stringify({ payment_id: answer.payment_id, cart_id: answer.cart_id, payment_url: answer.payment_url }));
    notify('Redirection vers PayFiP, le service de paiement sécurisé de la DGFiP…');
    location.assign(answer.payment_url);
    return;
  }
  if (answer.status === 'paid') {
    go(`#/paiement?paiement=${encodeURIComponent(answer.payment_id || '')}&immediat=1`);
    return;
  }
  notify('Réponse inattendue du serveur de paiement.', 'error');
}

// ---- Services ----

export async function services(ctx) {
  const list = await session.once('/services');
  mount(ctx.root, 
    pageTitle('Réservations'),
    h('p', { class: 'lead' }, 'Choisissez un service pour ouvrir le calendrier de vos enfants, puis cochez les jours souhaités. Les jours cochés vont dans votre panier ; ils sont réservés une fois le panier payé.'),
    list.length
      ? h('ul', { class: 'service-list' }, list.map((s) => h('li', {},
        h('a', { class: 'service-button', href: `#/reservations/${s.id}` },
          h('span', { class: 'service-name' }, s.name),
          s.description ? h('span', { class: 'service-desc' }, s.description) : null,
          h('span', { class: 'service-meta' }, s.price_cents !== null && s.price_cents !== undefined ? `${euros(s.price_cents)} par jour` : 'Tarif non défini pour votre quotient'),
          h('span', { class: 'service-meta' }, `Réservation : ${s.booking_deadline} — annulation : ${s.cancellation_deadline}`)))))
      : h('p', {}, 'Aucun service n\'est ouvert à la réservation pour vos enfants. Contactez le service enfance si vous pensez qu\'il s\'agit d\'une erreur.'));
}

// ---- Month calendar per child ----

export async function calendar(ctx) {
  const [list, members] = await Promise.all([session.once('/services'), session.once('/family/members')]);
  const service = list.find((s) => s.id === ctx.params.service);
  if (!service) {
    mount(ctx.root, pageTitle('Service introuvable'), h('p', {}, 'Ce service n\'existe pas ou n\'est pas ouvert à vos enfants. '),
      h('p', {}, h('a', { href: '#/reservations' }, 'Retour aux services')));
    return;
  }
  const children = members.filter((m) => m.kind === 'child' && service.eligible_child_ids.includes(m.id));
  let month = /^\d{4}-\d{2}$/.test(ctx.query.get('mois') || '') ? ctx.query.get('mois') : thisMonth();

  const heading = h('h2', { class: 'month-title', id: 'month-title', 'aria-live': 'polite' }, monthLabel(month));
  const prev = h('button', { type: 'button', class: 'button button-secondary' }, h('span', { 'aria-hidden': 'true' }, '‹ '), 'Mois précédent');
  const next = h('button', { type: 'button', class: 'button button-secondary' }, 'Mois suivant', h('span', { 'aria-hidden': 'true' }, ' ›'));
  const today = h('button', { type: 'button', class: 'button button-tertiary' }, 'Revenir au mois en cours');
  const grids = h('div', { class: 'children' });

  const setMonth = async (m) => {
    month = m;
    history.replaceState(null, '', `#/reservations/${service.id}?mois=${month}`);
    heading.textContent = monthLabel(month);
    today.hidden = month === thisMonth();
    prev.disabled = month <= thisMonth();
    await drawAll();
  };
  prev.addEventListener('click', () => setMonth(addMonths(month, -1)));
  next.addEventListener('click', () => setMonth(addMonths(month, 1)));
  today.addEventListener('click', () => setMonth(thisMonth()));

  const drawAll = async () => {
    mount(grids, ...children.map((c) => childCalendar(c, service, month)));
    await Promise.all([...grids.children].map((el) => el.ready));
  };

  mount(ctx.root, 
    h('p', { class: 'breadcrumb' }, h('a', { href: '#/reservations' }, 'Réservations'), ' › ', service.name),
    pageTitle(service.name),
    h('div', { class: 'service-facts' },
      service.description ? h('p', {}, service.description) : null,
      h('ul', { class: 'deadlines' },
        h('li', {}, h('strong', {}, 'Tarif : '), service.price_cents !== null && service.price_cents !== undefined ? `${euros(service.price_cents)} par jour (selon votre quotient familial)` : 'non défini'),
        h('li', {}, h('strong', {}, 'Date limite de réservation : '), service.booking_deadline),
        h('li', {}, h('strong', {}, 'Date limite d\'annulation : '), `${service.cancellation_deadline} — une annulation dans les délais est remboursée sur votre cagnotte`))),
    h('div', { class: 'month-nav', role: 'group', 'aria-label': 'Changer de mois' }, prev, heading, next, today),
    legend(),
    children.length ? grids : h('p', {}, 'Aucun de vos enfants ne peut réserver ce service.'));
  today.hidden = month === thisMonth();
  prev.disabled = month <= thisMonth();
  await drawAll();
}

const STATES = {
  available: ['Libre', 'disponible'],
  in_cart: ['Panier', 'dans votre panier, à payer'],
  reserved: ['Réservé', 'réservé et payé'],
  full: ['Complet', 'complet'],
  deadline_passed: ['Délai', 'date limite de réservation dépassée'],
  closed: ['Fermé', 'fermé'],
};

function legend() {
  return h('details', { class: 'legend' }, h('summary', {}, 'Légende du calendrier'),
    h('ul', {}, Object.entries(STATES).map(([k, [short, long]]) => h('li', {}, h('span', { class: `swatch day-${k}` }, short), ' ', long))));
}

/** One child's month: the grid, the month buttons; el.ready settles once drawn. */
function childCalendar(child, service, month) {
  const body = h('div', { class: 'grid-wrap' }, loading(`Chargement du calendrier de ${child.first_name}…`));
  const info = h('p', { class: 'hint deadline-next' });
  const tick = h('button', { type: 'button', class: 'button button-secondary button-small' }, 'Cocher le mois');
  const untick = h('button', { type: 'button', class: 'button button-tertiary button-small' }, 'Décocher le mois');
  const title = `${child.first_name} ${child.last_name}`;
  const el = h('section', { class: 'card child-calendar', 'aria-label': `Calendrier de ${title}` },
    h('div', { class: 'child-head' }, h('h3', {}, title), h('div', { class: 'month-actions' }, tick, untick)), info, body);

  let days = [];
  const draw = async (focusDate) => {
    try {
      days = await get(`/children/${child.id}/calendar?service_id=${service.id}&month=${month}`);
    } catch (err) {
      mount(body, h('div', { class: 'notice notice-error' }, problemView(err)));
      return;
    }
    mount(body, grid(child, month, days, onToggle));
    const open = days.filter((d) => d.state === 'available' && d.bookable_until).sort((a, b) => a.bookable_until.localeCompare(b.bookable_until));
    info.textContent = open.length
      ? `Prochaine date limite : ${instantLabel(open[0].bookable_until)} pour le ${dayLabel(open[0].date, false)}.`
      : 'Aucun jour de ce mois ne peut plus être ajouté au panier.';
    tick.disabled = !days.some((d) => d.state === 'available');
    untick.disabled = !days.some((d) => d.state === 'in_cart');
    if (focusDate) {
      const input = body.querySelector(`input[data-date="${focusDate}"]`);
      if (input) input.focus();
    }
  };

  const onToggle = async (day, input) => {
    input.disabled = true;
    try {
      if (input.checked) {
        await post('/cart/items', { items: [{ child_id: child.id, service_id: service.id, date: day.date }] });
        notify(`${capitalize(dayLabel(day.date, false))} ajouté au panier pour ${child.first_name}.`, 'success');
      } else {
        await del(`/cart/items/${day.cart_item_id}`);
        notify(`${capitalize(dayLabel(day.date, false))} retiré du panier pour ${child.first_name}.`, 'info');
      }
    } catch (err) {
      showError(err);
    }
    await Promise.all([draw(day.date), refreshCart().catch(() => {})]);
  };

  const toggleMonth = async (selected, button) => {
    await busy(button, () => sendMonth(selected));
    // Drawn once the button is released: draw() decides which month buttons apply.
    await Promise.all([draw(), refreshCart().catch(() => {})]);
  };
  const sendMonth = async (selected) => {
    try {
      const res = await post('/cart/month', { child_id: child.id, service_id: service.id, month, selected });
      updateCartCount(res.cart.items.length);
      if (selected) {
        // Closed, reserved or past days are plain on the calendar; say only why
        // a day one could expect was left out.
        const quiet = ['closed', 'already_in_cart', 'already_reserved', 'deadline_passed'];
        const skipped = res.skipped.filter((s) => !quiet.includes(s.reason));
        const late = res.skipped.filter((s) => s.reason === 'deadline_passed').length;
        notify(h('div', {},
          h('p', {}, `${res.added.length} jour${res.added.length > 1 ? 's' : ''} de ${monthLabel(month)} ajouté${res.added.length > 1 ? 's' : ''} au panier pour ${child.first_name}.`),
          late ? h('p', {}, `${late} jour${late > 1 ? 's' : ''} dont la date limite de réservation est passée ${late > 1 ? 'ne sont pas ajoutés' : 'n\'est pas ajouté'}.`) : null,
          skipped.length ? h('p', {}, `Non ajoutés : ${skipped.map((s) => `${dayLabel(s.date, false)} (${s.message})`).join(' ; ')}.`) : null), 'success');
      } else {
        notify(`${res.removed.length} jour${res.removed.length > 1 ? 's' : ''} retiré${res.removed.length > 1 ? 's' : ''} du panier pour ${child.first_name}.`, 'info');
      }
    } catch (err) {
      if (err instanceof ApiError && err.unavailable) await toggleMonthByDays(selected);
      else showError(err);
    }
  };

  // Without POST /cart/month (an older server), tick or untick day by day.
  const toggleMonthByDays = async (selected) => {
    if (selected) {
      const items = days.filter((d) => d.state === 'available').map((d) => ({ child_id: child.id, service_id: service.id, date: d.date }));
      if (!items.length) return;
      try {
        await post('/cart/items', { items });
        notify(`${items.length} jours ajoutés au panier pour ${child.first_name}.`, 'success');
      } catch (err) { showError(err); }
    } else {
      for (const d of days.filter((x) => x.state === 'in_cart' && x.cart_item_id)) {
        try { await del(`/cart/items/${d.cart_item_id}`); } catch (err) { showError(err); return; }
      }
      notify(`Jours retirés du panier pour ${child.first_name}.`, 'info');
    }
  };

  tick.addEventListener('click', () => toggleMonth(true, tick));
  untick.addEventListener('click', () => toggleMonth(false, untick));
  el.ready = draw();
  return el;
}

/** The month as a table: one row per week, Monday first; a checkbox per bookable day. */
function grid(child, month, days, onToggle) {
  const byDate = new Map(days.map((d) => [d.date, d]));
  const first = parseDay(`${month}-01`);
  const lead = (first.getDay() + 6) % 7; // Monday = 0
  const count = new Date(first.getFullYear(), first.getMonth() + 1, 0).getDate();
  const cells = [];
  for (let i = 0; i < lead; i++) cells.push(h('td', { class: 'empty' }));
  for (let n = 1; n <= count; n++) {
    const date = isoDay(new Date(first.getFullYear(), first.getMonth(), n));
    cells.push(dayCell(byDate.get(date) || { date, state: 'closed' }, child, onToggle));
  }
  while (cells.length % 7) cells.push(h('td', { class: 'empty' }));
  const rows = [];
  for (let i = 0; i < cells.length; i += 7) rows.push(h('tr', {}, cells.slice(i, i + 7)));
  const names = ['lundi', 'mardi', 'mercredi', 'jeudi', 'vendredi', 'samedi', 'dimanche'];
  return h('table', { class: 'month' },
    h('caption', { class: 'sr-only' }, `${child.first_name}, ${monthLabel(month)}`),
    h('thead', {}, h('tr', {}, WEEKDAY_SHORT.map((d, i) => h('th', { scope: 'col' }, h('abbr', { title: names[i] }, d))))),
    h('tbody', {}, rows));
}

function dayCell(day, child, onToggle) {
  const d = parseDay(day.date);
  const [short, long] = STATES[day.state] || [day.state, day.state];
  const price = day.price_cents ? `, ${euros(day.price_cents)}` : '';
  const until = day.state === 'available' && day.bookable_until ? `, réservable jusqu'au ${instantLabel(day.bookable_until)}` : '';
  const label = `${dayLabel(day.date, false)}${price} : ${long}${until}`;
  const cls = `day day-${day.state}`;
  if (day.state === 'closed') {
    return h('td', { class: cls }, h('div', { class: 'cell' }, h('span', { class: 'num', 'aria-hidden': 'true' }, d.getDate()),
      h('span', { class: 'state', 'aria-hidden': 'true' }, short), h('span', { class: 'sr-only' }, label)));
  }
  const input = h('input', {
    type: 'checkbox', dataset: { date: day.date, state: day.state, child: child.id },
    checked: day.state === 'in_cart' || day.state === 'reserved',
    disabled: !(day.state === 'available' || day.state === 'in_cart'),
  });
  input.addEventListener('change', () => onToggle(day, input));
  const id = `d-${child.id.slice(0, 8)}-${day.date}`;
  input.id = id;
  return h('td', { class: cls, title: label },
    h('label', { for: id },
      h('span', { class: 'num', 'aria-hidden': 'true' }, d.getDate()),
      input,
      h('span', { class: 'state', 'aria-hidden': 'true' }, short),
      h('span', { class: 'sr-only' }, label)));
}

// ---- Cart ----

export async function cart(ctx) {
  const [c, members, list, me] = await Promise.all([refreshCart(), session.once('/family/members'), session.once('/services'), session.refreshMe()]);
  const title = pageTitle('Mon panier');
  if (c.status === 'checking_out') {
    const pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) || 'null');
    mount(ctx.root, title,
      h('div', { class: 'notice notice-warning' },
        h('strong', {}, 'Paiement en cours'),
        h('p', {}, 'Votre panier est en cours de paiement sur PayFiP. Terminez ou abandonnez le paiement ; s\'il a été interrompu, le panier vous est rendu automatiquement après quelques minutes.')),
      h('p', { class: 'actions' },
        pending && pending.cart_id === c.id ? h('a', { class: 'button', href: pending.payment_url }, 'Retourner sur la page de paiement') : null,
        h('a', { class: 'button button-secondary', href: '#/panier', onclick: (e) => { e.preventDefault(); go('#/panier'); } }, 'Actualiser')),
      linesTable(c, members, list, false));
    return;
  }
  if (!c.items.length) {
    const payDebt = h('button', { type: 'button', class: 'button' }, `Régler ma dette (${euros(me.outstanding_cents)})`);
    payDebt.addEventListener('click', () => busy(payDebt, async () => {
      try { startPayment(await post('/balance/checkout')); } catch (err) { showError(err); }
    }));
    mount(ctx.root, title,
      h('p', {}, 'Votre panier est vide.'),
      h('p', {}, h('a', { class: 'button', href: '#/reservations' }, 'Réserver des jours')),
      me.outstanding_cents > 0 ? h('div', { class: 'card' }, h('p', {}, `Vous avez un solde de ${euros(me.outstanding_cents)} à régler.`), payDebt) : null);
    return;
  }
  const pay = h('button', { type: 'button', class: 'button button-large', id: 'pay' },
    c.total_due_cents > 0 ? `Payer ${euros(c.total_due_cents)}` : 'Valider mes réservations');
  pay.addEventListener('click', () => busy(pay, async () => {
    try {
      startPayment(await post('/cart/checkout'));
    } catch (err) {
      showError(err);
    }
  }));
  mount(ctx.root, title,
    linesTable(c, members, list, true),
    h('section', { class: 'card totals', 'aria-labelledby': 'totals-title' },
      h('h2', { id: 'totals-title' }, 'Montant à payer'),
      h('dl', { class: 'facts totals-list' },
        h('dt', {}, 'Réservations'), h('dd', { id: 'subtotal' }, euros(c.subtotal_cents)),
        c.credit_applied_cents ? [h('dt', {}, 'Cagnotte utilisée'), h('dd', { id: 'credit-applied' }, `− ${euros(c.credit_applied_cents)}`)] : null,
        c.outstanding_added_cents ? [h('dt', {}, 'Solde antérieur à régler'), h('dd', { id: 'outstanding-added' }, `+ ${euros(c.outstanding_added_cents)}`)] : null,
        h('dt', { class: 'total' }, 'Total'), h('dd', { class: 'total', id: 'total' }, euros(c.total_due_cents))),
      h('p', { class: 'notice notice-info' },
        `Les jours de votre panier vous sont gardés 48 heures${c.expires_at ? `, jusqu'au ${instantLabel(c.expires_at)}` : ''}. Passé ce délai sans paiement, ils sont libérés pour d'autres familles. Vos réservations ne sont confirmées qu'une fois le paiement accepté.`),
      h('p', { class: 'hint' }, c.total_due_cents > 0
        ? 'Vous allez être redirigé vers PayFiP, le service de paiement sécurisé de la Direction générale des Finances publiques.'
        : 'Votre cagnotte couvre le montant : aucun paiement n\'est demandé.'),
      h('div', { class: 'actions' }, pay)));
}

function linesTable(c, members, list, removable) {
  const items = [...c.items].sort((a, b) => a.date.localeCompare(b.date) || a.child_id.localeCompare(b.child_id));
  return table('Jours dans votre panier', ['Date', 'Enfant', 'Service', 'Prix', removable ? 'Retirer' : null].filter(Boolean), items.map((it) => {
    const row = [dayLabel(it.date), childName(members, it.child_id), serviceName(list, it.service_id), euros(it.price_cents)];
    if (removable) {
      const b = h('button', { type: 'button', class: 'button button-tertiary button-small' }, 'Retirer',
        h('span', { class: 'sr-only' }, ` ${dayLabel(it.date)}, ${childName(members, it.child_id)}, ${serviceName(list, it.service_id)}`));
      b.addEventListener('click', () => busy(b, async () => {
        try {
          await del(`/cart/items/${it.id}`);
          flashNext(`${capitalize(dayLabel(it.date))} retiré du panier.`, 'info');
          go('#/panier');
        } catch (err) { showError(err); }
      }));
      row.push(b);
    }
    return row;
  }), { rowHeaders: true, class: 'cart-lines' });
}

// ---- After PayFiP ----

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** What the API knows of the payment an idOp names (GET /payfip/return as JSON). */
async function returnStatus(idop) {
  try {
    const res = await fetch(`/payfip/return?idop=${encodeURIComponent(idop)}`, { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
    return (await res.json()) || {};
  } catch {
    return {};
  }
}

export async function paymentResult(ctx) {
  const idop = ctx.query.get('idop');
  let paymentId = ctx.query.get('paiement');
  let cartId = null;
  let known = ''; // refused, abandoned… when the API could already tell
  const pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) || 'null');
  const ours = pending && pending.payment_id && idop && (pending.payment_url || '').includes(`idop=${encodeURIComponent(idop)}`);
  if (idop && !ours) {
    // Back in another tab or browser: the API says which payment the idOp names.
    // Asked sparingly: each call relays the return to the cart's workflow again.
    const answer = await returnStatus(idop);
    if (answer.payment_id) { paymentId = answer.payment_id; cartId = answer.cart_id; known = answer.status; }
  }
  if (!paymentId && pending) { paymentId = pending.payment_id; cartId = pending.cart_id; }
  if (!cartId && pending && pending.payment_id === paymentId) cartId = pending.cart_id;

  const title = pageTitle('Résultat du paiement');
  const status = h('div', { class: 'notice notice-info', role: 'status' }, 'Nous vérifions votre paiement auprès de PayFiP…');
  mount(ctx.root, title, status);
  if (!paymentId) {
    status.className = 'notice notice-error';
    mount(status, h('strong', {}, 'Paiement inconnu'), h('p', {}, 'Nous ne retrouvons pas ce paiement. Consultez vos règlements ou votre panier.'));
    ctx.root.append(h('p', { class: 'actions' }, h('a', { class: 'button', href: '#/panier' }, 'Mon panier'), h('a', { class: 'button button-secondary', href: '#/factures' }, 'Mes règlements')));
    return;
  }

  const succeed = () => {
    sessionStorage.removeItem(PENDING_KEY);
    document.title = 'Paiement effectué – Portail famille';
    title.textContent = 'Paiement effectué';
    status.className = 'notice notice-success';
    mount(status, h('strong', { id: 'payment-ok' }, 'Votre paiement a été effectué, vos réservations également !'),
      h('p', {}, 'Une attestation de paiement vous est aussi envoyée par e-mail.'));
    ctx.root.append(h('p', { class: 'actions' },
      h('a', { class: 'button', id: 'receipt', href: `/api/v1/payments/${paymentId}/receipt.pdf`, download: '' }, 'Télécharger l\'attestation de paiement (PDF)'),
      h('a', { class: 'button button-secondary', href: '#/calendrier' }, 'Voir mon calendrier'),
      h('a', { class: 'button button-tertiary', href: '#/reservations' }, 'Réserver d\'autres jours')));
    session.refreshMe().catch(() => {});
    refreshCart().catch(() => {});
  };
  const failed = async () => {
    sessionStorage.removeItem(PENDING_KEY);
    // Which of refused or abandoned: PostgreSQL knows it by now.
    if (!['refused', 'abandoned', 'expired'].includes(known) && idop) known = (await returnStatus(idop)).status || '';
    document.title = 'Paiement non effectué – Portail famille';
    title.textContent = 'Paiement non effectué';
    status.className = 'notice notice-error';
    status.setAttribute('role', 'alert');
    const why = { refused: 'il a été refusé', abandoned: 'il a été abandonné', expired: 'le délai de paiement a expiré' }[known] || 'il a été refusé ou abandonné';
    mount(status, h('strong', { id: 'payment-failed' }, `Votre paiement n'a pas abouti : ${why}.`),
      h('p', {}, 'Aucune somme n\'a été prélevée. Votre panier est conservé : vous pouvez réessayer.'));
    ctx.root.append(h('p', { class: 'actions' }, h('a', { class: 'button', href: '#/panier' }, 'Retour au panier')));
    refreshCart().catch(() => {});
  };

  if (ctx.query.get('immediat')) { succeed(); return; }
  const deadline = Date.now() + 90_000;
  while (ctx.alive()) {
    try {
      // The cart first, the ledger second: a cart no longer being paid whose
      // payment is not in the ledger read afterwards did not get paid.
      const c = await get('/cart');
      const ledger = await get('/payments');
      if (ledger.some((e) => e.payment_id === paymentId)) { succeed(); return; }
      if (c.status !== 'checking_out' || (cartId && c.id !== cartId)) { await failed(); return; }
    } catch (err) {
      if (!(err instanceof ApiError) || err.status >= 500 || err.status === 0) { /* try again */ } else { showError(err); return; }
    }
    if (Date.now() > deadline) break;
    await sleep(1000);
  }
  if (!ctx.alive()) return;
  mount(status, h('strong', {}, 'La vérification prend plus de temps que prévu.'),
    h('p', {}, 'PayFiP ne nous a pas encore confirmé votre paiement. Vous recevrez un e-mail dès qu\'il le sera ; vos jours restent réservés pour vous en attendant.'));
  ctx.root.append(h('p', {}, h('button', { type: 'button', class: 'button', onclick: () => go(location.hash) }, 'Vérifier à nouveau')));
}

// ---- Family calendar ----

export async function familyCalendar(ctx) {
  const [members, list] = await Promise.all([session.once('/family/members'), session.once('/services')]);
  let month = /^\d{4}-\d{2}$/.test(ctx.query.get('mois') || '') ? ctx.query.get('mois') : thisMonth();
  const heading = h('h2', { class: 'month-title', 'aria-live': 'polite' }, monthLabel(month));
  const prev = h('button', { type: 'button', class: 'button button-secondary' }, h('span', { 'aria-hidden': 'true' }, '‹ '), 'Mois précédent');
  const next = h('button', { type: 'button', class: 'button button-secondary' }, 'Mois suivant', h('span', { 'aria-hidden': 'true' }, ' ›'));
  const today = h('button', { type: 'button', class: 'button button-tertiary' }, 'Revenir au mois en cours');
  const body = h('div', {}, loading());

  const draw = async () => {
    const first = `${month}-01`;
    const last = isoDay(new Date(Number(month.slice(0, 4)), Number(month.slice(5, 7)), 0));
    let rows;
    try {
      rows = await get(`/reservations?from=${first}&to=${last}`);
    } catch (err) {
      mount(body, h('div', { class: 'notice notice-error' }, problemView(err)));
      return;
    }
    if (!rows.length) {
      mount(body, h('p', {}, `Aucune réservation en ${monthLabel(month)}.`), h('p', {}, h('a', { href: '#/reservations' }, 'Réserver des jours')));
      return;
    }
    const byDate = new Map();
    for (const r of rows.sort((a, b) => a.date.localeCompare(b.date))) {
      if (!byDate.has(r.date)) byDate.set(r.date, []);
      byDate.get(r.date).push(r);
    }
    const todayIso = isoDay(new Date());
    mount(body, h('ol', { class: 'agenda' }, [...byDate].map(([date, rs]) => h('li', { class: date < todayIso ? 'past' : '' },
      h('h3', {}, dayLabel(date)),
      h('ul', {}, rs.map((r) => reservationItem(r, members, list, todayIso, draw)))))));
  };
  const setMonth = async (m) => {
    month = m;
    history.replaceState(null, '', `#/calendrier?mois=${month}`);
    heading.textContent = monthLabel(month);
    today.hidden = month === thisMonth();
    await draw();
  };
  prev.addEventListener('click', () => setMonth(addMonths(month, -1)));
  next.addEventListener('click', () => setMonth(addMonths(month, 1)));
  today.addEventListener('click', () => setMonth(thisMonth()));
  today.hidden = month === thisMonth();
  mount(ctx.root, pageTitle('Mon calendrier'),
    h('p', { class: 'lead' }, 'Vos réservations du mois. Une réservation annulée dans les délais est remboursée sur votre cagnotte.'),
    h('div', { class: 'month-nav', role: 'group', 'aria-label': 'Changer de mois' }, prev, heading, next, today),
    body);
  await draw();
}

function reservationItem(r, members, list, todayIso, redraw) {
  const what = `${childName(members, r.child_id)} — ${serviceName(list, r.service_id)}`;
  const li = h('li', { class: `reservation status-${r.status}`, dataset: { reservation: r.id } },
    h('span', { class: 'what' }, what),
    h('span', { class: 'price' }, euros(r.price_cents)),
    h('span', { class: `tag tag-${r.status}` }, r.status === 'confirmed' ? 'Confirmée' : 'Annulée'));
  if (r.status !== 'confirmed' || r.date < todayIso) return li;
  li.append(h('span', { class: 'hint' }, r.cancellable_until ? `Annulable jusqu'au ${instantLabel(r.cancellable_until)}` : 'Délai d\'annulation dépassé'));
  const cancel = h('button', { type: 'button', class: 'button button-secondary button-small' }, 'Annuler', h('span', { class: 'sr-only' }, ` la réservation du ${dayLabel(r.date)}, ${what}`));
  const panel = h('div', { class: 'confirm', hidden: true });
  cancel.addEventListener('click', () => {
    const yes = h('button', { type: 'button', class: 'button button-danger button-small' }, 'Confirmer l\'annulation');
    const no = h('button', { type: 'button', class: 'button button-tertiary button-small' }, 'Ne pas annuler');
    mount(panel, 
      h('p', {}, `Annuler la réservation du ${dayLabel(r.date)} (${what}) ?`,
        r.cancellable_until ? ` ${euros(r.price_cents)} seront crédités sur votre cagnotte.` : ''),
      h('div', { class: 'actions' }, yes, no));
    panel.hidden = false;
    cancel.hidden = true;
    yes.focus();
    no.addEventListener('click', () => { panel.hidden = true; cancel.hidden = false; cancel.focus(); });
    yes.addEventListener('click', () => busy(yes, async () => {
      try {
        const k = await post(`/reservations/${r.id}/cancel`);
        const back = k.credited_cents ? `${euros(k.credited_cents)} crédités sur votre cagnotte` : k.reversed_cents ? `${euros(k.reversed_cents)} retirés de votre solde à régler` : 'aucun montant à rembourser';
        notify(`Réservation du ${dayLabel(r.date)} annulée : ${back}.`, 'success');
        await redraw();
      } catch (err) {
        panel.hidden = true;
        cancel.hidden = false;
        showError(err);
      }
    }));
  });
  li.append(cancel, panel);
  return li;
}
