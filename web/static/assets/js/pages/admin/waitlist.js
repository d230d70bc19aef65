// A service day's waiting list for the back office: the children waiting in order
// (reordered by the municipality's priorities, with a reason), the places offered
// and until when, a place offered by hand (one more if the day is full), a child
// added for a family that asked at the desk, and the list's history.

import { get, post, patch } from '../../api.js';
import {
  h, mount, field, pageTitle, notify, showError, busy, dayLabel, instantLabel, shortDate,
} from '../../ui.js';
import { breadcrumb, errorBox, pluralize, stackTable } from './common.js';

const STATUS = {
  waiting: 'En attente', offered: 'Place proposée', accepted: 'Place obtenue', expired: 'Expirée', left: 'Quittée',
};

export async function waitlist(ctx) {
  const { id, date } = ctx.params;
  const body = h('div', {});
  const load = async () => {
    try {
      const [svc, list] = await Promise.all([get(`/admin/services/${id}`), get(`/admin/services/${id}/days/${date}/waitlist`)]);
      draw(svc, list);
    } catch (err) {
      mount(ctx.root, pageTitle('Liste d\'attente'), errorBox(err, 'La liste d\'attente'));
    }
  };
  const draw = (svc, list) => {
    const title = `Liste d'attente — ${svc.name}, ${dayLabel(date)}`;
    mount(ctx.root,
      breadcrumb(h('a', { href: '#/admin/services' }, 'Services'), h('a', { href: `#/admin/services/${id}?mois=${date.slice(0, 7)}` }, svc.name),
        `Liste d'attente du ${dayLabel(date, false)}`),
      pageTitle(title),
      facts(list),
      h('p', { class: 'row-actions' }, h('a', { class: 'button button-secondary button-small', href: `#/admin/journee?service=${id}&date=${date}` }, 'Liste du jour et pointage')),
      body);
    const waiting = list.entries.filter((e) => e.status === 'waiting');
    const offered = list.entries.filter((e) => e.status === 'offered');
    const closed = list.entries.filter((e) => e.status !== 'waiting' && e.status !== 'offered');
    mount(body,
      waitingCard(id, date, list, waiting, load),
      offered.length ? h('section', { class: 'card', 'aria-labelledby': 'wl-offered' }, h('h2', { id: 'wl-offered' }, 'Places proposées'),
        stackTable('Places proposées, en attente de paiement', ['Enfant', 'Famille', 'Gardée jusqu\'au', 'Proposée'], offered.map((e) => [
          child(e), family(e), instantLabel(e.offer_expires_at),
          e.offered_by ? `à la main${e.offer_reason ? ` : ${e.offer_reason}` : ''}` : 'par la liste',
        ]), { rowHeaders: true })) : null,
      joinCard(id, date, list, load),
      closed.length ? h('section', { class: 'card', 'aria-labelledby': 'wl-closed' }, h('h2', { id: 'wl-closed' }, 'Historique'),
        stackTable('Inscriptions terminées', ['Enfant', 'Famille', 'Issue', 'Le'], closed.map((e) => [
          child(e), family(e), h('span', { class: `tag tag-${e.status}` }, STATUS[e.status] || e.status), e.closed_at ? shortDate(e.closed_at) : '',
        ]), { rowHeaders: true })) : null);
  };
  mount(ctx.root, pageTitle('Liste d\'attente'), body);
  await load();
}

function facts(list) {
  const cap = list.capacity === null || list.capacity === undefined ? 'illimitée' : String(list.capacity);
  return h('p', { class: 'day-facts', id: 'waitlist-facts' },
    h('strong', {}, pluralize(list.waiting, 'enfant en attente', 'enfants en attente')),
    ` — capacité ${cap}, ${pluralize(list.taken, 'place prise', 'places prises')} (paniers et réservations). `,
    `Une place libérée est proposée au premier de la liste et gardée ${hours(list.offer_hold_hours)} dans le panier de sa famille, `,
    `jamais au-delà de la date limite de réservation (${instantLabel(list.booking_deadline)}), où la liste est close.`);
}

const hours = (n) => (n % 24 === 0 ? pluralize(n / 24, 'jour', 'jours') : pluralize(n, 'heure', 'heures'));

const child = (e) => h('span', {}, h('strong', {}, `${e.last_name.toUpperCase()} ${e.first_name}`),
  h('span', { class: 'sub' }, [e.class_name, e.school].filter(Boolean).join(' – ')));

const family = (e) => h('span', {}, h('a', { href: `#/admin/familles/${e.family_id}` }, e.family_name),
  h('span', { class: 'sub' }, [e.family_phone, e.family_email].filter(Boolean).join(' – ')));

/** The children waiting, in order: move up or down, save with a reason; offer by hand. */
function waitingCard(serviceID, date, list, waiting, reload) {
  const card = h('section', { class: 'card', 'aria-labelledby': 'wl-waiting' }, h('h2', { id: 'wl-waiting' }, 'Enfants en attente'));
  if (!waiting.length) {
    card.append(h('p', {}, 'Aucun enfant n\'attend de place ce jour-là.'));
    return card;
  }
  let order = waiting.slice();
  const offerBox = h('div', { class: 'offer-box' });
  const reason = h('input', { type: 'text', name: 'reorder_reason', maxlength: '500' });
  const save = h('button', { type: 'button', class: 'button', id: 'save-order', disabled: true }, 'Enregistrer l\'ordre');
  const tableBox = h('div', {});
  const moved = () => order.some((e, i) => e.id !== waiting[i].id);
  const move = (i, by) => {
    const j = i + by;
    if (j < 0 || j >= order.length) return;
    [order[i], order[j]] = [order[j], order[i]];
    drawTable(order[j].id, by < 0 ? 'up' : 'down');
  };
  const drawTable = (focusID, dir) => {
    save.disabled = !moved();
    mount(tableBox, stackTable(`Enfants en attente le ${dayLabel(date)}, dans l'ordre où les places leur seront proposées`,
      ['Rang', 'Enfant', 'Famille', 'Inscrit le', ''], order.map((e, i) => {
        const up = h('button', { type: 'button', class: 'button button-tertiary button-small', disabled: i === 0, dataset: { up: e.id } },
          '↑', h('span', { class: 'sr-only' }, ` Monter ${e.first_name} ${e.last_name}`));
        const down = h('button', { type: 'button', class: 'button button-tertiary button-small', disabled: i === order.length - 1, dataset: { down: e.id } },
          '↓', h('span', { class: 'sr-only' }, ` Descendre ${e.first_name} ${e.last_name}`));
        up.addEventListener('click', () => move(i, -1));
        down.addEventListener('click', () => move(i, 1));
        return [String(i + 1), child(e), family(e), shortDate(e.created_at),
          h('span', { class: 'row-actions' }, order.length > 1 ? [up, down] : null, offerButton(serviceID, date, list, e, offerBox, reload))];
      }), { rowHeaders: true, class: 'waitlist-table' }));
    if (focusID) {
      const b = tableBox.querySelector(`[data-${dir}="${focusID}"]:not([disabled])`) || tableBox.querySelector(`[data-up="${focusID}"], [data-down="${focusID}"]`);
      if (b) b.focus();
    }
  };
  save.addEventListener('click', () => busy(save, async () => {
    if (!reason.value.trim()) {
      notify('Indiquez le motif du nouvel ordre (la règle de priorité appliquée).', 'error');
      reason.focus();
      return;
    }
    try {
      await patch(`/admin/services/${serviceID}/days/${date}/waitlist`, { order: order.map((e) => e.id), reason: reason.value.trim() });
      notify('Nouvel ordre enregistré.', 'success');
      await reload();
    } catch (err) {
      showError(err);
      if ((err.problem || {}).type && err.problem.type.endsWith('/waitlist-changed')) await reload();
    }
  }));
  drawTable();
  card.append(
    h('p', { class: 'hint' }, order.length > 1
      ? 'Les places libérées sont proposées dans cet ordre. Changez-le selon les règles de priorité de la collectivité (parents qui travaillent, fratries…), puis enregistrez avec le motif : le changement est inscrit au journal.'
      : 'La prochaine place libérée sera proposée à cet enfant.'),
    tableBox,
    offerBox,
    order.length > 1 ? h('div', { class: 'form' }, field('Motif du nouvel ordre', reason, 'Requis pour enregistrer.'), h('div', { class: 'actions' }, save)) : null);
  return card;
}

/** "Proposer la place": a free place, or one more on a full day, with a reason (the form opens in box). */
function offerButton(serviceID, date, list, e, box, reload) {
  const open = h('button', { type: 'button', class: 'button button-secondary button-small', dataset: { offer: e.id } },
    'Proposer une place', h('span', { class: 'sr-only' }, ` à ${e.first_name} ${e.last_name}`));
  open.addEventListener('click', () => {
    const full = list.capacity !== null && list.capacity !== undefined && list.taken >= list.capacity;
    const reason = h('input', { type: 'text', name: 'offer_reason', maxlength: '500' });
    const more = h('input', { type: 'checkbox', name: 'add_place', checked: full, id: `more-${e.id.slice(0, 8)}` });
    const go = h('button', { type: 'button', class: 'button button-small' }, 'Proposer la place');
    const cancel = h('button', { type: 'button', class: 'button button-tertiary button-small' }, 'Annuler');
    const panel = h('div', { class: 'confirm offer-form card', role: 'group', 'aria-label': `Proposer une place à ${e.first_name} ${e.last_name}` },
      h('p', {}, `Proposer une place à ${e.first_name} ${e.last_name} (famille ${e.family_name}) : elle est mise dans le panier de la famille, qui est prévenue par e-mail.`),
      field('Motif', reason, 'Requis : il est inscrit au journal.'),
      h('p', { class: 'check' }, more, h('label', { for: more.id },
        full ? ` Ajouter une place (la capacité passe de ${list.capacity} à ${list.capacity + 1})` : ' Ajouter une place en plus de la capacité')),
      h('div', { class: 'actions' }, go, cancel));
    mount(box, panel);
    reason.focus();
    cancel.addEventListener('click', () => { mount(box); open.focus(); });
    go.addEventListener('click', () => busy(go, async () => {
      if (!reason.value.trim()) { notify('Indiquez le motif de cette proposition.', 'error'); reason.focus(); return; }
      try {
        await post(`/admin/services/${serviceID}/days/${date}/waitlist/${e.id}/offer`, { reason: reason.value.trim(), add_place: more.checked });
        notify(`Place proposée à ${e.first_name} ${e.last_name} : elle est dans le panier de sa famille.`, 'success');
        await reload();
      } catch (err) { showError(err); }
    }));
  });
  return open;
}

/** A child added to the list for its family (asked at the desk or on the phone). */
function joinCard(serviceID, date, list, reload) {
  const q = h('input', { type: 'search', name: 'waitlist_child_q', autocomplete: 'off' });
  const reason = h('input', { type: 'text', name: 'join_reason', maxlength: '500' });
  const found = h('div', { 'aria-live': 'polite' });
  const search = h('button', { type: 'submit', class: 'button button-secondary' }, 'Chercher');
  const form = h('form', { class: 'form', novalidate: true },
    h('div', { class: 'grid2' }, field('Enfant', q, 'Nom ou prénom (2 lettres au moins).'), field('Motif (facultatif)', reason, 'Demande au guichet, par téléphone…')),
    h('div', { class: 'actions' }, search), found);
  const listed = new Set(list.entries.filter((e) => e.status === 'waiting' || e.status === 'offered').map((e) => e.child_id));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(search, async () => {
      try {
        const kids = await get(`/admin/children?q=${encodeURIComponent(q.value.trim())}`);
        mount(found, kids.length ? h('ul', { class: 'plain found' }, kids.map((k) => {
          const add = h('button', { type: 'button', class: 'button button-small', disabled: listed.has(k.id) },
            listed.has(k.id) ? 'Déjà sur la liste' : 'Inscrire sur la liste', h('span', { class: 'sr-only' }, ` ${k.first_name} ${k.last_name}`));
          add.addEventListener('click', () => busy(add, async () => {
            try {
              const e = await post(`/admin/services/${serviceID}/days/${date}/waitlist`, { family_id: k.family_id, child_id: k.id, reason: reason.value.trim() });
              notify(`${k.first_name} ${k.last_name} inscrit(e) sur la liste d'attente, rang ${e.rank}.`, 'success');
              await reload();
            } catch (err) { showError(err); }
          }));
          return h('li', {}, h('span', {}, `${k.first_name} ${k.last_name}`, h('span', { class: 'sub' }, [`famille ${k.family_name}`, k.class_name, k.school].filter(Boolean).join(' – '))), add);
        })) : h('p', {}, 'Aucun enfant trouvé.'));
      } catch (err) { showError(err); }
    });
  });
  return h('section', { class: 'card', 'aria-labelledby': 'wl-join' }, h('h2', { id: 'wl-join' }, 'Inscrire un enfant sur la liste'),
    h('p', { class: 'hint' }, `Pour une famille qui le demande au guichet : l'enfant prend la dernière place de la liste, comme s'il s'était inscrit en ligne. Seul un jour complet a une liste d'attente.`),
    form);
}
