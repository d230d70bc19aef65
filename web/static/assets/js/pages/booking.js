// Booking: the services, the month calendar per child (tick to book, untick to
// cancel, as the guide says), the cart and its payment, the result after PayFiP,
// and the family calendar with its own "Annuler".

import { get, post, del, newKey, ApiError } from '../api.js';
import {
  h, mount, capitalize, euros, pageTitle, notify, showError, busy, loading, table, problemView,
  thisMonth, addMonths, monthLabel, ofMonth, dayLabel, instantLabel, parseDay, isoDay, WEEKDAY_SHORT,
} from '../ui.js';
import { session, refreshCart, updateCartCount, setCancellations, go, flashNext } from '../app.js';
import { monthPanel, familyBlock, cartOffersNotice, rankLabel } from './waitlist.js';

export const childName = (members, id) => {
  const m = members.find((x) => x.id === id);
  return m ? m.first_name : 'Enfant';
};
export const serviceName = (services, id) => {
  const s = services.find((x) => x.id === id);
  return s ? s.name : 'Service';
};

const PENDING_KEY = 'enfance.payment';

/** PayFiP takes payments of 1 € and more; under it, nothing is paid online. */
export const MIN_ONLINE_CENTS = 100;

/** The sentence the cart shows before a checkout of under 1 €. */
export const carriedNotice = (cents) =>
  `Le paiement en ligne est possible à partir de 1 € : vos réservations seront confirmées et ${euros(cents)} ajoutés à votre solde.`;

/**
 * Acts on a checkout answer (cart or balance): off to PayFiP when a payment is
 * required (the browser comes back to #/paiement), or straight to the result when
 * nothing was paid online (the cagnotte covered it, or under 1 € carried to the
 * balance).
 */
export function startPayment(answer) {
  if (answer.status === 'payment_required' && answer.payment_url) {
    sessionStorage.setItem(PENDING_KEY, JSON.stringify({ payment_id: answer.payment_id, cart_id: answer.cart_id, payment_url: answer.payment_url }));
    notify('Redirection vers PayFiP, le service de paiement sécurisé de la DGFiP…');
    location.assign(answer.payment_url);
    return;
  }
  if (answer.status === 'paid' || answer.status === 'confirmed') {
    go(`#/paiement?paiement=${encodeURIComponent(answer.payment_id || '')}`);
    return;
  }
  notify('Réponse inattendue du serveur de paiement.', 'error');
}

// ---- Services ----

export async function services(ctx) {
  const list = await session.once('/services');
  mount(ctx.root,
    pageTitle('Réservations'),
    h('p', { class: 'lead' }, 'Choisissez un service pour ouvrir le calendrier de vos enfants, puis cochez les jours souhaités. Les jours cochés vont dans votre panier ; ils sont réservés une fois le panier payé. Pour annuler un jour réservé, décochez-le puis validez.'),
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

const calendarOf = (child, service, month) => get(`/children/${child.id}/calendar?service_id=${service.id}&month=${month}`);

/**
 * The month the calendar opens on: the first, from the current one, where one of
 * the children still has a day to book (at the end of a month, every day left
 * may be past its deadline).
 */
async function firstBookableMonth(children, service) {
  let month = thisMonth();
  for (let i = 0; i < 4; i++, month = addMonths(month, 1)) {
    const months = await Promise.all(children.map((c) => calendarOf(c, service, month).catch(() => [])));
    if (months.some((days) => days.some((d) => d.state === 'available' || d.state === 'in_cart'))) return month;
  }
  return thisMonth();
}

export async function calendar(ctx) {
  const [list, members] = await Promise.all([session.once('/services'), session.once('/family/members')]);
  const service = list.find((s) => s.id === ctx.params.service);
  if (!service) {
    mount(ctx.root, pageTitle('Service introuvable'), h('p', {}, 'Ce service n\'existe pas ou n\'est pas ouvert à vos enfants. '),
      h('p', {}, h('a', { href: '#/reservations' }, 'Retour aux services')));
    return;
  }
  const children = members.filter((m) => m.kind === 'child' && service.eligible_child_ids.includes(m.id));
  let month = /^\d{4}-\d{2}$/.test(ctx.query.get('mois') || '') ? ctx.query.get('mois') : await firstBookableMonth(children, service);
  if (!ctx.alive()) return;

  const heading = h('h2', { class: 'month-title', id: 'month-title', 'aria-live': 'polite' }, monthLabel(month));
  const prev = h('button', { type: 'button', class: 'button button-secondary' }, h('span', { 'aria-hidden': 'true' }, '‹ '), 'Mois précédent');
  const next = h('button', { type: 'button', class: 'button button-secondary' }, 'Mois suivant', h('span', { 'aria-hidden': 'true' }, ' ›'));
  const today = h('button', { type: 'button', class: 'button button-tertiary' }, 'Revenir au mois en cours');
  const grids = h('div', { class: 'children' });
  // The guide's service buttons: the child's other services, one click away.
  const switcher = h('nav', { class: 'service-switch', 'aria-label': 'Changer de service' },
    h('ul', {}, list.map((s) => h('li', {}, h('a', {
      class: 'service-chip', href: `#/reservations/${s.id}?mois=${month}`, 'aria-current': s.id === service.id ? 'page' : false,
    }, s.name)))));

  // Reserved days the family unticked: cancelled together by "Valider les annulations".
  const toCancel = new Map(); // reservation id → {date, price, child}
  const cancelBar = h('section', { class: 'cancel-bar notice notice-warning', 'aria-live': 'polite', hidden: true });

  const validateCancellations = async (button) => {
    const ids = [...toCancel.keys()];
    if (!ids.length) return;
    await busy(button, async () => {
      try {
        const res = await post('/reservations/cancel', { ids });
        const n = res.cancelled.length;
        const back = [
          res.credited_cents ? `${euros(res.credited_cents)} crédités sur votre cagnotte` : null,
          res.reversed_cents ? `${euros(res.reversed_cents)} retirés de votre solde à régler` : null,
        ].filter(Boolean).join(' et ') || 'aucun montant à rembourser';
        toCancel.clear();
        refreshCancellations();
        notify(h('div', {}, h('strong', {}, `${n} réservation${n > 1 ? 's' : ''} annulée${n > 1 ? 's' : ''} : ${back}.`),
          h('ul', {}, res.cancelled.map((k) => h('li', {}, capitalize(dayLabel(k.reservation.date)))))), 'success');
        session.refreshMe().catch(() => {});
        await drawAll();
      } catch (err) {
        showError(err);
      }
    });
  };
  const keepAll = () => {
    toCancel.clear();
    refreshCancellations();
    for (const input of grids.querySelectorAll('input[data-state="to_cancel"]')) input.dispatchEvent(new Event('restore'));
  };
  function refreshCancellations() {
    const n = toCancel.size;
    const cents = [...toCancel.values()].reduce((s, r) => s + r.price, 0);
    // A day booked by the service and not paid yet is taken off the balance
    // instead: say so rather than promise the cagnotte.
    const staff = [...toCancel.values()].some((r) => r.staff);
    cancelBar.hidden = n === 0;
    if (n) {
      const validate = h('button', { type: 'button', class: 'button', id: 'validate-cancellations' }, 'Valider les annulations');
      validate.addEventListener('click', () => validateCancellations(validate));
      mount(cancelBar,
        h('h2', {}, `${n} jour${n > 1 ? 's' : ''} à annuler`),
        h('p', {}, `Vous avez décoché ${n > 1 ? 'des jours réservés' : 'un jour réservé'} : ${euros(cents)} ${n > 1 ? 'seront remboursés' : 'sera remboursé'} `,
          staff ? 'une fois les annulations validées — sur votre cagnotte, ou déduits de votre solde pour un jour réservé par le service et pas encore réglé.'
            : 'sur votre cagnotte une fois les annulations validées.'),
        h('ul', {}, [...toCancel.values()].sort((a, b) => a.date.localeCompare(b.date)).map((r) => h('li', {}, `${capitalize(dayLabel(r.date))} — ${r.child}, ${euros(r.price)}`))),
        h('div', { class: 'actions' }, validate,
          h('button', { type: 'button', class: 'button button-secondary', onclick: keepAll }, 'Garder ces réservations')));
    }
    setCancellations(n ? { count: n, validate: (b) => validateCancellations(b) } : null);
  }

  const setMonth = async (m) => {
    month = m;
    history.replaceState(null, '', `#/reservations/${service.id}?mois=${month}`);
    heading.textContent = monthLabel(month);
    today.hidden = month === thisMonth();
    prev.disabled = month <= thisMonth();
    for (const a of switcher.querySelectorAll('a')) a.setAttribute('href', a.getAttribute('href').replace(/mois=\d{4}-\d{2}/, `mois=${month}`));
    await drawAll();
  };
  prev.addEventListener('click', () => setMonth(addMonths(month, -1)));
  next.addEventListener('click', () => setMonth(addMonths(month, 1)));
  today.addEventListener('click', () => setMonth(thisMonth()));

  const drawAll = async () => {
    mount(grids, ...children.map((c) => childCalendar(c, service, month, toCancel, refreshCancellations)));
    await Promise.all([...grids.children].map((el) => el.ready));
  };

  mount(ctx.root,
    h('p', { class: 'breadcrumb' }, h('a', { href: '#/reservations' }, 'Réservations'), ' › ', service.name),
    pageTitle(service.name),
    list.length > 1 ? switcher : null,
    h('div', { class: 'service-facts' },
      service.description ? h('p', {}, service.description) : null,
      h('ul', { class: 'deadlines' },
        h('li', {}, h('strong', {}, 'Tarif : '), service.price_cents !== null && service.price_cents !== undefined ? `${euros(service.price_cents)} par jour (selon votre quotient familial)` : 'non défini'),
        h('li', {}, h('strong', {}, 'Date limite de réservation : '), service.booking_deadline),
        h('li', {}, h('strong', {}, 'Date limite d\'annulation : '), `${service.cancellation_deadline} — pour annuler un jour réservé, décochez-le puis validez ; il est remboursé sur votre cagnotte`))),
    h('div', { class: 'month-nav', role: 'group', 'aria-label': 'Changer de mois' }, prev, heading, next, today),
    legend(),
    cancelBar,
    children.length ? grids : h('p', {}, 'Aucun de vos enfants ne peut réserver ce service.'));
  today.hidden = month === thisMonth();
  prev.disabled = month <= thisMonth();
  await drawAll();
}

const STATES = {
  available: ['Libre', 'disponible'],
  in_cart: ['Panier', 'dans votre panier, à payer'],
  reserved: ['Réservé', 'réservé et payé'],
  to_cancel: ['À annuler', 'décoché : sera annulé et remboursé quand vous validerez les annulations'],
  full: ['Complet', 'complet : inscrivez-vous sur la liste d\'attente sous le calendrier'],
  waitlist: ['Attente', 'complet, votre enfant est sur la liste d\'attente'],
  deadline_passed: ['Délai', 'date limite de réservation dépassée'],
  closed: ['Fermé', 'fermé'],
};

function legend() {
  return h('details', { class: 'legend' }, h('summary', {}, 'Légende du calendrier'),
    h('ul', {}, Object.entries(STATES).map(([k, [short, long]]) => h('li', {}, h('span', { class: `swatch day-${k}` }, short), ' ', long))),
    h('p', { class: 'hint' }, 'Un jour réservé dont la date limite d\'annulation est passée reste coché et ne peut plus être décoché ; survolez-le pour voir cette date.'));
}

/** One child's month: the grid, the month buttons; el.ready settles once drawn. */
function childCalendar(child, service, month, toCancel, cancellationsChanged) {
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
      days = await calendarOf(child, service, month);
    } catch (err) {
      mount(body, h('div', { class: 'notice notice-error' }, problemView(err)));
      return;
    }
    mount(body, grid(child, month, days, onToggle, toCancel), monthPanel(child, service, month, days, () => draw()));
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
    if (day.state === 'reserved') {
      // Unticking a reserved day marks it to cancel; nothing is sent until the
      // family validates the cancellations.
      if (input.checked) toCancel.delete(day.reservation_id);
      else toCancel.set(day.reservation_id, { date: day.date, price: day.price_cents, child: child.first_name, staff: day.source === 'staff' });
      markToCancel(input, !input.checked);
      cancellationsChanged();
      return;
    }
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
          h('p', {}, `${res.added.length} jour${res.added.length > 1 ? 's' : ''} ${ofMonth(month)} ajouté${res.added.length > 1 ? 's' : ''} au panier pour ${child.first_name}.`),
          late ? h('p', {}, `${late} jour${late > 1 ? 's' : ''} dont la date limite de réservation est passée ${late > 1 ? 'ne sont pas ajoutés' : 'n\'est pas ajouté'}.`) : null,
          skipped.length ? h('p', {}, `Non ajoutés : ${skipped.map((s) => `${dayLabel(s.date, false)} (${s.message})`).join(' ; ')}.`) : null), 'success');
      } else {
        notify(`${res.removed.length} jour${res.removed.length > 1 ? 's' : ''} retiré${res.removed.length > 1 ? 's' : ''} du panier pour ${child.first_name}.`, 'info');
      }
    } catch (err) {
      showError(err);
    }
  };

  tick.addEventListener('click', () => toggleMonth(true, tick));
  untick.addEventListener('click', () => toggleMonth(false, untick));
  el.ready = draw();
  return el;
}

/** Shows a reserved day as unticked to cancel (or back as reserved). */
function markToCancel(input, on) {
  const cell = input.closest('td');
  const [short] = STATES[on ? 'to_cancel' : 'reserved'];
  cell.classList.toggle('day-to_cancel', on);
  cell.classList.toggle('day-reserved', !on);
  input.dataset.state = on ? 'to_cancel' : 'reserved';
  cell.querySelector('.state').textContent = short;
  const sr = cell.querySelector('.sr-only');
  sr.textContent = sr.dataset.base + (on ? ' — à annuler : sera annulé quand vous validerez les annulations' : '');
}

/** The month as a table: one row per week, Monday first; a checkbox per bookable day. */
function grid(child, month, days, onToggle, toCancel) {
  const byDate = new Map(days.map((d) => [d.date, d]));
  const first = parseDay(`${month}-01`);
  const lead = (first.getDay() + 6) % 7; // Monday = 0
  const count = new Date(first.getFullYear(), first.getMonth() + 1, 0).getDate();
  const cells = [];
  for (let i = 0; i < lead; i++) cells.push(h('td', { class: 'empty' }));
  for (let n = 1; n <= count; n++) {
    const date = isoDay(new Date(first.getFullYear(), first.getMonth(), n));
    cells.push(dayCell(byDate.get(date) || { date, state: 'closed' }, child, onToggle, toCancel));
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

function dayCell(day, child, onToggle, toCancel) {
  const d = parseDay(day.date);
  const price = day.price_cents ? `, ${euros(day.price_cents)}` : '';
  const cls = `day day-${day.state}`;
  if (day.state === 'closed') {
    const [short, long] = STATES.closed;
    return h('td', { class: cls }, h('div', { class: 'cell' }, h('span', { class: 'num', 'aria-hidden': 'true' }, d.getDate()),
      h('span', { class: 'state', 'aria-hidden': 'true' }, short), h('span', { class: 'sr-only' }, `${dayLabel(day.date, false)} : ${long}`)));
  }
  const waiting = day.state === 'full' && day.waitlist && day.waitlist.status === 'waiting';
  let [short, long] = STATES[waiting ? 'waitlist' : day.state] || [day.state, day.state];
  let enabled = day.state === 'available' || day.state === 'in_cart';
  if (day.state === 'available' && day.bookable_until) long += `, réservable jusqu'au ${instantLabel(day.bookable_until)}`;
  if (waiting) long = `complet, ${child.first_name} est au ${rankLabel(day.waitlist.rank)}`;
  if (day.state === 'in_cart' && day.waitlist && day.waitlist.offer_expires_at) {
    long += `, place libérée par la liste d'attente et gardée jusqu'au ${instantLabel(day.waitlist.offer_expires_at)} : décochez pour la refuser`;
  }
  if (day.state === 'reserved') {
    enabled = !!day.cancellable_until;
    long += enabled
      ? `, annulable jusqu'au ${instantLabel(day.cancellable_until)} : décochez pour l'annuler`
      : `, ne peut plus être annulé : la date limite d'annulation était le ${instantLabel(day.cancellation_deadline)}`;
  }
  const label = `${dayLabel(day.date, false)}${price} : ${long}`;
  const input = h('input', {
    type: 'checkbox', dataset: { date: day.date, state: day.state, child: child.id },
    checked: day.state === 'in_cart' || day.state === 'reserved',
    disabled: !enabled,
  });
  if (day.reservation_id) input.dataset.reservation = day.reservation_id;
  input.addEventListener('change', () => onToggle(day, input));
  const id = `d-${child.id.slice(0, 8)}-${day.date}`;
  input.id = id;
  const sr = h('span', { class: 'sr-only', dataset: { base: label } }, label);
  const cell = h('td', { class: `${cls}${day.state === 'reserved' && !enabled ? ' day-locked' : ''}${waiting ? ' day-waitlist' : ''}`, title: capitalize(label) },
    h('label', { for: id },
      h('span', { class: 'num', 'aria-hidden': 'true' }, d.getDate()),
      input,
      h('span', { class: 'state', 'aria-hidden': 'true' }, short),
      sr));
  if (day.state === 'reserved' && enabled) {
    input.addEventListener('restore', () => { input.checked = true; markToCancel(input, false); });
    if (toCancel.has(day.reservation_id)) {
      input.checked = false;
      markToCancel(input, true);
    }
  }
  return cell;
}

// ---- Cart ----

export async function cart(ctx) {
  const [c, members, list, me] = await Promise.all([refreshCart(), session.once('/family/members'), session.once('/services'), session.refreshMe()]);
  const title = pageTitle('Mon panier');
  if (c.status === 'checking_out') {
    const p = c.payment || {};
    const abandon = h('button', { type: 'button', class: 'button button-secondary', id: 'abandon-payment' }, 'Abandonner ce paiement et modifier mon panier');
    abandon.addEventListener('click', () => busy(abandon, async () => {
      try {
        const res = await post(`/payments/${p.id}/abandon`);
        sessionStorage.removeItem(PENDING_KEY);
        if (res.status === 'paid') {
          go(`#/paiement?paiement=${encodeURIComponent(p.id)}`);
          return;
        }
        flashNext('Paiement abandonné : votre panier est de nouveau modifiable. Si PayFiP encaissait tout de même ce paiement, la somme serait versée sur votre cagnotte et vous seriez prévenu par e-mail.', 'info');
        go('#/panier');
      } catch (err) {
        showError(err);
      }
    }));
    mount(ctx.root, title,
      h('div', { class: 'notice notice-warning', id: 'payment-in-progress' },
        h('strong', {}, 'Paiement en cours'),
        h('p', {}, `Un paiement de ${euros(p.amount_cents || c.total_due_cents)} est en cours sur PayFiP pour ce panier. Terminez-le sur la page de PayFiP, ou abandonnez-le pour modifier votre panier : vos jours restent gardés pour vous.`)),
      h('p', { class: 'actions' },
        p.payment_url ? h('a', { class: 'button', href: p.payment_url }, 'Retourner sur la page de paiement') : null,
        p.id ? abandon : null),
      linesTable(c, members, list, false));
    return;
  }
  if (!c.items.length) {
    mount(ctx.root, title,
      h('p', {}, 'Votre panier est vide.'),
      h('p', {}, h('a', { class: 'button', href: '#/reservations' }, 'Réserver des jours')),
      me.outstanding_cents > 0 ? h('div', { class: 'card' }, await balanceBlock()) : null);
    return;
  }
  const due = c.total_due_cents;
  const online = due >= MIN_ONLINE_CENTS;
  const pay = h('button', { type: 'button', class: 'button button-large', id: 'pay' },
    online ? `Payer ${euros(due)}` : 'Valider mes réservations');
  pay.addEventListener('click', () => busy(pay, async () => {
    try {
      startPayment(await post('/cart/checkout', {}, { idempotencyKey: newKey() }));
    } catch (err) {
      showError(err);
    }
  }));
  let what;
  if (online) what = 'Vous allez être redirigé vers PayFiP, le service de paiement sécurisé de la Direction générale des Finances publiques.';
  else if (due > 0) what = carriedNotice(due);
  else what = 'Votre cagnotte couvre le montant : aucun paiement n\'est demandé, vos réservations seront confirmées.';
  mount(ctx.root, title,
    cartOffersNotice(c.items, (id) => childName(members, id), (id) => serviceName(list, id)),
    linesTable(c, members, list, true),
    h('section', { class: 'card totals', 'aria-labelledby': 'totals-title' },
      h('h2', { id: 'totals-title' }, 'Montant à payer'),
      h('dl', { class: 'facts totals-list' },
        h('dt', {}, 'Réservations'), h('dd', { id: 'subtotal' }, euros(c.subtotal_cents)),
        c.outstanding_added_cents ? [h('dt', {}, 'Solde antérieur à régler'), h('dd', { id: 'outstanding-added' }, `+ ${euros(c.outstanding_added_cents)}`)] : null,
        c.credit_applied_cents ? [h('dt', {}, 'Cagnotte utilisée'), h('dd', { id: 'credit-applied' }, `− ${euros(c.credit_applied_cents)}`)] : null,
        h('dt', { class: 'total' }, 'Total'), h('dd', { class: 'total', id: 'total' }, euros(due))),
      h('p', { class: 'notice notice-info' },
        `Les jours de votre panier vous sont gardés ${holdLabel(c.hold_seconds)}${c.expires_at ? `, jusqu'au ${instantLabel(c.expires_at)}` : ''}. Passé ce délai sans validation, ils sont libérés pour d'autres familles. Vos réservations ne sont confirmées qu'une fois le panier validé.`),
      h('p', { class: online ? 'hint' : 'notice notice-warning', id: 'checkout-notice' }, what),
      h('div', { class: 'actions' }, pay)));
}

/** How long a cart holds its days, as the guide says it ("48 heures"). */
function holdLabel(seconds) {
  const hours = Math.round((seconds || 0) / 3600);
  if (hours >= 1) return `${hours} heure${hours > 1 ? 's' : ''}`;
  const minutes = Math.max(1, Math.round((seconds || 0) / 60));
  return `${minutes} minute${minutes > 1 ? 's' : ''}`;
}

/**
 * "Régler mon solde": the outstanding balance paid alone, without touching the
 * cart. Disabled with PayFiP's reason under 1 €; a payment in progress can be
 * resumed or abandoned.
 */
export async function balanceBlock() {
  const b = await get('/balance');
  const wrap = h('div', { class: 'balance-pay' });
  const progress = b.payments_in_progress[0];
  if (progress) {
    const abandon = h('button', { type: 'button', class: 'button button-secondary' }, 'Abandonner ce paiement');
    abandon.addEventListener('click', () => busy(abandon, async () => {
      try {
        await post(`/payments/${progress.id}/abandon`);
        notify('Paiement de votre solde abandonné.', 'info');
        mount(wrap, await balanceBlock());
      } catch (err) { showError(err); }
    }));
    mount(wrap, h('p', {}, `Un paiement de votre solde (${euros(progress.amount_cents)}) est en cours sur PayFiP.`),
      h('p', { class: 'actions' }, progress.payment_url ? h('a', { class: 'button', href: progress.payment_url }, 'Reprendre le paiement') : null, abandon));
    return wrap;
  }
  if (b.outstanding_cents <= 0) return mount(wrap, h('p', { class: 'hint' }, 'Vous n\'avez rien à régler.'));
  let label = 'Régler mon solde';
  if (b.can_pay) label = b.due_cents === 0 ? 'Régler mon solde avec ma cagnotte' : `Régler mon solde (${euros(b.due_cents)})`;
  const pay = h('button', { type: 'button', class: 'button', id: 'pay-balance', disabled: !b.can_pay, 'aria-describedby': b.refusal ? 'balance-refusal' : false }, label);
  pay.addEventListener('click', () => busy(pay, async () => {
    try {
      startPayment(await post('/balance/checkout', {}, { idempotencyKey: newKey() }));
    } catch (err) {
      if (err instanceof ApiError && err.unavailable) notify('Le règlement en ligne du solde n\'est pas encore disponible sur ce serveur.', 'warning');
      else showError(err);
    }
  }));
  return mount(wrap,
    b.credit_applied_cents ? h('p', { class: 'hint' }, `Votre cagnotte en règle ${euros(b.credit_applied_cents)}.`) : null,
    pay,
    b.refusal ? h('p', { class: 'hint', id: 'balance-refusal' }, b.refusal.message) : h('p', { class: 'hint' }, 'Règle uniquement votre solde : votre panier n\'est pas modifié.'));
}

function linesTable(c, members, list, removable) {
  const items = [...c.items].sort((a, b) => a.date.localeCompare(b.date) || a.child_id.localeCompare(b.child_id));
  return table('Jours dans votre panier', ['Date', 'Enfant', 'Service', 'Prix', removable ? 'Retirer' : null].filter(Boolean), items.map((it) => {
    const when = it.offer_expires_at
      ? h('span', {}, dayLabel(it.date), h('span', { class: 'tag tag-offer' }, `Place libérée, gardée jusqu'au ${instantLabel(it.offer_expires_at)}`))
      : dayLabel(it.date);
    const row = [when, childName(members, it.child_id), serviceName(list, it.service_id), euros(it.price_cents)];
    if (removable) {
      const b = h('button', { type: 'button', class: 'button button-tertiary button-small' }, it.offer_expires_at ? 'Refuser la place' : 'Retirer',
        h('span', { class: 'sr-only' }, ` ${dayLabel(it.date)}, ${childName(members, it.child_id)}, ${serviceName(list, it.service_id)}`));
      b.addEventListener('click', () => busy(b, async () => {
        try {
          await del(`/cart/items/${it.id}`);
          flashNext(it.offer_expires_at
            ? `Place du ${dayLabel(it.date)} refusée : elle est proposée à la famille suivante sur la liste d'attente.`
            : `${capitalize(dayLabel(it.date))} retiré du panier.`, 'info');
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
  const pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) || 'null');
  const ours = pending && pending.payment_id && idop && (pending.payment_url || '').includes(`idop=${encodeURIComponent(idop)}`);
  if (idop && !ours) {
    // Back in another tab or browser: the API says which payment the idOp names.
    // Asked once: each call relays the return to the payment's workflow again.
    const answer = await returnStatus(idop);
    if (answer.payment_id) paymentId = answer.payment_id;
  }
  if (!paymentId && pending) paymentId = pending.payment_id;

  const title = pageTitle('Résultat du paiement');
  const status = h('div', { class: 'notice notice-info', role: 'status' }, 'Nous vérifions votre paiement auprès de PayFiP…');
  const actions = h('p', { class: 'actions' });
  mount(ctx.root, title, status, actions);
  const show = (kind, heading, id, ...body) => {
    status.className = `notice notice-${kind}`;
    if (kind === 'error') status.setAttribute('role', 'alert');
    document.title = `${heading} – Portail famille`;
    title.textContent = heading;
    mount(status, h('strong', { id }, body[0]), ...body.slice(1).map((t) => (typeof t === 'string' ? h('p', {}, t) : t)));
  };
  const receipt = (label) => h('a', { class: 'button', id: 'receipt', href: `/api/v1/payments/${paymentId}/receipt.pdf`, download: '' }, label);
  if (!paymentId) {
    show('error', 'Paiement inconnu', 'payment-unknown', 'Nous ne retrouvons pas ce paiement.', 'Consultez vos règlements ou votre panier.');
    mount(actions, h('a', { class: 'button', href: '#/panier' }, 'Mon panier'), h('a', { class: 'button button-secondary', href: '#/factures' }, 'Mes règlements'));
    return;
  }

  const settled = (p) => {
    sessionStorage.removeItem(PENDING_KEY);
    session.refreshMe().catch(() => {});
    refreshCart().catch(() => {});
    const cartKind = p.kind !== 'balance';
    if (p.status === 'confirmed') {
      show('success', 'Réservations confirmées', 'payment-confirmed', 'Vos réservations sont confirmées.',
        `Le paiement en ligne est possible à partir de 1 € : aucun paiement n'a été effectué, et ${euros(p.carried_to_balance_cents)} ont été ajoutés à votre solde. Ils s'ajouteront à votre prochain panier ; vous pouvez aussi les régler au guichet.`,
        'Une confirmation de vos réservations vous est envoyée par e-mail.');
      mount(actions, receipt('Télécharger la confirmation (PDF)'), h('a', { class: 'button button-secondary', href: '#/calendrier' }, 'Voir mon calendrier'));
    } else if (p.status === 'credited') {
      show('warning', 'Paiement versé sur votre cagnotte', 'payment-credited', `Votre paiement de ${euros(p.amount_cents)} nous est parvenu après la fin de ce paiement sur le portail.`,
        `${euros(p.credited_cents)} ont été versés sur votre cagnotte ; ils seront déduits de vos prochains paiements. Vous en êtes aussi informé par e-mail.`);
      mount(actions, receipt('Télécharger l\'attestation de paiement (PDF)'), h('a', { class: 'button button-secondary', href: '#/factures' }, 'Mes règlements'));
    } else if (!cartKind) {
      show('success', p.amount_cents ? 'Paiement effectué' : 'Solde réglé', 'payment-ok', p.amount_cents ? 'Votre paiement a été effectué : votre solde est réglé.' : 'Votre solde est réglé avec votre cagnotte, sans paiement en ligne.',
        'Une attestation de paiement vous est aussi envoyée par e-mail.');
      mount(actions, receipt('Télécharger l\'attestation de paiement (PDF)'), h('a', { class: 'button button-secondary', href: '#/factures' }, 'Mes règlements'));
    } else {
      show('success', p.amount_cents ? 'Paiement effectué' : 'Réservations confirmées', 'payment-ok',
        p.amount_cents ? 'Votre paiement a été effectué, vos réservations également !' : 'Vos réservations sont confirmées : votre cagnotte a couvert le montant, sans paiement en ligne.',
        'Une attestation de paiement vous est aussi envoyée par e-mail.');
      mount(actions, receipt('Télécharger l\'attestation de paiement (PDF)'),
        h('a', { class: 'button button-secondary', href: '#/calendrier' }, 'Voir mon calendrier'),
        h('a', { class: 'button button-tertiary', href: '#/reservations' }, 'Réserver d\'autres jours'));
    }
  };
  const failed = (p) => {
    sessionStorage.removeItem(PENDING_KEY);
    refreshCart().catch(() => {});
    const why = {
      refused: 'il a été refusé', abandoned: 'il a été abandonné', expired: 'le délai de paiement a expiré',
      abandoned_by_family: 'vous l\'avez abandonné', failed: 'il n\'a pas pu être créé',
    }[p.reason] || 'il a été refusé ou abandonné';
    const kept = p.kind === 'balance' ? 'Votre solde reste à régler : vous pouvez réessayer.' : 'Votre panier est conservé : vous pouvez réessayer.';
    show('error', 'Paiement non effectué', 'payment-failed', `Votre paiement n'a pas abouti : ${why}.`, `Aucune somme n'a été prélevée. ${kept}`);
    mount(actions, p.kind === 'balance' ? h('a', { class: 'button', href: '#/factures' }, 'Retour à mes règlements') : h('a', { class: 'button', href: '#/panier' }, 'Retour au panier'));
  };

  const deadline = Date.now() + 90_000;
  let checked = false;
  while (ctx.alive()) {
    try {
      const p = await get(`/payments/${paymentId}`);
      if (p.status === 'not_paid') { failed(p); return; }
      if (p.status !== 'processing') { settled(p); return; }
      if (!checked) {
        // Still in progress: have PayFiP's answer read now, should its
        // notification and our return both have been lost on the way.
        checked = true;
        post(`/payments/${paymentId}/check`, {}).catch(() => {});
      }
    } catch (err) {
      if (!(err instanceof ApiError) || err.status >= 500 || err.status === 0) { /* try again */ } else { showError(err); return; }
    }
    if (Date.now() > deadline) break;
    await sleep(1000);
  }
  if (!ctx.alive()) return;
  mount(status, h('strong', {}, 'La vérification prend plus de temps que prévu.'),
    h('p', {}, 'PayFiP ne nous a pas encore confirmé votre paiement. Vous recevrez un e-mail dès qu\'il le sera ; en attendant, rien n\'est perdu.'));
  mount(actions, h('button', { type: 'button', class: 'button', onclick: () => go(location.hash) }, 'Vérifier à nouveau'));
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
  const waits = h('div', {});
  const drawWaits = async () => {
    const entries = await get('/waitlist').catch(() => []);
    mount(waits, entries.length ? h('section', { class: 'card', id: 'my-waitlists', 'aria-labelledby': 'my-waitlists-title' },
      h('h2', { id: 'my-waitlists-title' }, 'Mes listes d\'attente'), familyBlock(entries, drawWaits)) : null);
  };
  mount(ctx.root, pageTitle('Mon calendrier'),
    h('p', { class: 'lead' }, 'Vos réservations du mois. Une réservation annulée dans les délais est remboursée sur votre cagnotte.'),
    waits,
    h('div', { class: 'month-nav', role: 'group', 'aria-label': 'Changer de mois' }, prev, heading, next, today),
    body);
  await Promise.all([draw(), drawWaits()]);
}

function reservationItem(r, members, list, todayIso, redraw) {
  const what = `${childName(members, r.child_id)} — ${serviceName(list, r.service_id)}`;
  const li = h('li', { class: `reservation status-${r.status}`, dataset: { reservation: r.id } },
    h('span', { class: 'what' }, what),
    h('span', { class: 'price' }, euros(r.price_cents)),
    h('span', { class: `tag tag-${r.status}` }, r.status === 'confirmed' ? 'Confirmée' : 'Annulée'));
  if (r.status !== 'confirmed' || r.date < todayIso) return li;
  if (!r.cancellable_until) {
    // Offered only where it is still possible.
    li.append(h('span', { class: 'hint' }, r.cancellation_deadline
      ? `Délai d'annulation dépassé (il était le ${instantLabel(r.cancellation_deadline)})`
      : 'Délai d\'annulation dépassé'));
    return li;
  }
  li.append(h('span', { class: 'hint' }, `Annulable jusqu'au ${instantLabel(r.cancellable_until)}`));
  const cancel = h('button', { type: 'button', class: 'button button-secondary button-small' }, 'Annuler', h('span', { class: 'sr-only' }, ` la réservation du ${dayLabel(r.date)}, ${what}`));
  const panel = h('div', { class: 'confirm', hidden: true });
  cancel.addEventListener('click', () => {
    const yes = h('button', { type: 'button', class: 'button button-danger button-small' }, 'Confirmer l\'annulation');
    const no = h('button', { type: 'button', class: 'button button-tertiary button-small' }, 'Ne pas annuler');
    mount(panel,
      h('p', {}, `Annuler la réservation du ${dayLabel(r.date)} (${what}) ? ${euros(r.price_cents)} seront remboursés.`),
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

