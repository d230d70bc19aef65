// Waiting lists, the family's side: « M'inscrire sur liste d'attente » for a full
// day (or every full day of a month), the rank, leaving the list; the place that
// frees comes as a line of the cart, held until a given time.

import { post, del, newKey } from '../api.js';
import { h, mount, notify, showError, busy, capitalize, dayLabel, instantLabel, ofMonth } from '../ui.js';

/** "rang 3 sur la liste d'attente" (a rank, whoever the child). */
export const rankLabel = (rank) => `rang ${rank} sur la liste d'attente`;

/** What an entry's status means to the family. */
export function statusLabel(e) {
  switch (e.status) {
    case 'waiting': return e.rank ? capitalize(rankLabel(e.rank)) : 'En attente';
    case 'offered': return `Place proposée, gardée dans votre panier jusqu'au ${instantLabel(e.offer_expires_at)}`;
    case 'accepted': return 'Place obtenue';
    case 'expired': return e.offer_expires_at ? 'Place proposée non payée à temps' : 'Liste close sans place libérée';
    case 'left': return 'Vous avez quitté la liste';
    default: return e.status;
  }
}

/** Leaves (or, with an offer, declines) after a confirmation; done() redraws. */
function leaveButton(e, label, done) {
  const b = h('button', { type: 'button', class: 'button button-tertiary button-small', dataset: { leave: e.id } }, 'Quitter la liste',
    h('span', { class: 'sr-only' }, ` d'attente du ${label}`));
  b.addEventListener('click', () => busy(b, async () => {
    try {
      await del(`/waitlist/${e.id}`);
      notify(e.status === 'offered'
        ? `Place du ${label} refusée : elle est proposée à la famille suivante.`
        : `Vous avez quitté la liste d'attente du ${label}.`, 'info');
      await done();
    } catch (err) { showError(err); }
  }));
  return b;
}

/**
 * Under a child's month: each full day, with its place on the list or the button
 * to join it, and one button for every full day of the month. days is the
 * calendar; done() redraws it.
 */
export function monthPanel(child, service, month, days, done) {
  const full = days.filter((d) => d.state === 'full' || (d.waitlist && d.waitlist.status === 'waiting'));
  const offered = days.filter((d) => d.waitlist && d.waitlist.status === 'offered');
  if (!full.length && !offered.length) return null;
  const joinable = full.filter((d) => !d.waitlist);
  const rows = [...full, ...offered].sort((a, b) => a.date.localeCompare(b.date)).map((d) => {
    const label = dayLabel(d.date, false);
    const w = d.waitlist;
    let what;
    let action;
    if (!w) {
      what = 'Complet';
      action = h('button', { type: 'button', class: 'button button-secondary button-small', dataset: { join: d.date } },
        'M\'inscrire sur liste d\'attente', h('span', { class: 'sr-only' }, ` du ${label}`));
      action.addEventListener('click', () => busy(action, async () => {
        try {
          const e = await post('/waitlist', { child_id: child.id, service_id: service.id, date: d.date }, { idempotencyKey: newKey() });
          notify(`Liste d'attente du ${label} : ${child.first_name} est au ${rankLabel(e.rank)}. Vous serez prévenu par e-mail si une place se libère.`, 'success');
          await done();
        } catch (err) { showError(err); }
      }));
    } else if (w.status === 'waiting') {
      what = capitalize(rankLabel(w.rank));
      action = leaveButton({ ...w, status: 'waiting' }, label, done);
    } else {
      what = `Place proposée : dans votre panier jusqu'au ${instantLabel(w.offer_expires_at)}`;
      action = h('a', { class: 'button button-small', href: '#/panier' }, 'Payer mon panier');
    }
    return h('li', { class: `waitlist-day waitlist-${w ? w.status : 'none'}`, dataset: { date: d.date } },
      h('span', { class: 'when' }, capitalize(label)), h('span', { class: 'what' }, what), action);
  });
  const all = h('button', { type: 'button', class: 'button button-secondary button-small', id: `join-month-${child.id.slice(0, 8)}` },
    `M'inscrire sur liste d'attente pour les ${joinable.length} jours complets ${ofMonth(month)}`);
  all.addEventListener('click', () => busy(all, async () => {
    try {
      const res = await post('/waitlist/month', { child_id: child.id, service_id: service.id, month });
      const n = res.joined.length;
      notify(n
        ? `${child.first_name} est sur la liste d'attente de ${n} jour${n > 1 ? 's' : ''} ${ofMonth(month)}. Vous serez prévenu par e-mail si une place se libère.`
        : 'Aucun jour complet de ce mois ne peut plus être rejoint.', n ? 'success' : 'info');
      await done();
    } catch (err) { showError(err); }
  }));
  return h('section', { class: 'waitlist-panel', 'aria-label': `Liste d'attente de ${child.first_name}` },
    h('h4', {}, 'Jours complets et liste d\'attente'),
    h('p', { class: 'hint' }, 'Inscrit sur la liste d\'attente d\'un jour complet, vous êtes prévenu par e-mail quand une place se libère : elle est mise dans votre panier et gardée pour vous un temps limité.'),
    h('ul', { class: 'waitlist-days' }, rows),
    joinable.length > 1 ? h('p', { class: 'actions' }, all) : null);
}

/** The family's entries from today on (entries: GET /waitlist): rank, status, leave. */
export function familyBlock(entries, done) {
  const live = entries.filter((e) => e.status === 'waiting' || e.status === 'offered');
  const recent = entries.filter((e) => e.status !== 'waiting' && e.status !== 'offered');
  const item = (e) => {
    const label = dayLabel(e.date, false);
    return h('li', { class: `waitlist-entry waitlist-${e.status}`, dataset: { entry: e.id } },
      h('span', { class: 'when' }, `${capitalize(label)} — ${e.child_first_name}, ${e.service_name}`),
      h('span', { class: 'what' }, statusLabel(e)),
      e.status === 'waiting' ? leaveButton(e, label, done) : null,
      e.status === 'offered' ? h('a', { class: 'button button-small', href: '#/panier' }, 'Payer mon panier') : null);
  };
  return h('div', { class: 'waitlist-block' },
    live.length ? h('ul', { class: 'waitlist-entries' }, live.map(item)) : h('p', {}, 'Vous n\'êtes sur aucune liste d\'attente en cours.'),
    recent.length ? h('details', {}, h('summary', {}, 'Listes d\'attente terminées'), h('ul', { class: 'waitlist-entries' }, recent.map(item))) : null);
}

/** The cart's offers: the notice above the lines. */
export function cartOffersNotice(items, childName, serviceName) {
  const offers = items.filter((it) => it.offer_expires_at);
  if (!offers.length) return null;
  return h('div', { class: 'notice notice-success', id: 'offer-notice' },
    h('strong', {}, offers.length > 1 ? 'Des places se sont libérées pour vous' : 'Une place s\'est libérée pour vous'),
    h('ul', {}, offers.map((it) => h('li', {},
      `${capitalize(dayLabel(it.date, false))} — ${childName(it.child_id)}, ${serviceName(it.service_id)} : gardée jusqu'au ${instantLabel(it.offer_expires_at)}.`))),
    h('p', {}, 'Payez votre panier avant cette heure pour confirmer l\'inscription ; sinon la place sera proposée à la famille suivante sur la liste d\'attente. Si vous n\'en avez plus besoin, retirez-la : elle ira tout de suite à la famille suivante.'));
}
