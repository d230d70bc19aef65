// The contact inbox: the families' threads, answered by staff.

import { get, api } from '../../api.js';
import { h, mount, field, pageTitle, notify, showError, markFieldErrors, busy, shortDate } from '../../ui.js';
import { go } from '../../app.js';
import { threadView } from '../family.js';
import { loadOr, breadcrumb, stackTable } from './common.js';

const CATEGORY = { question: 'Question', document: 'Justificatif', situation_change: 'Changement de situation' };

export async function inbox(ctx) {
  const waiting = ctx.query.get('attente') === '1';
  const page = await loadOr(ctx, 'Messagerie', 'La messagerie', () => get(`/admin/messages?waiting=${waiting}`));
  if (!page) return;
  const filter = h('input', { type: 'checkbox', id: 'waiting-only', checked: waiting });
  filter.addEventListener('change', () => go(filter.checked ? '#/admin/messages?attente=1' : '#/admin/messages'));
  mount(ctx.root, pageTitle('Messagerie'),
    h('div', { class: 'check' }, filter, h('label', { for: filter.id }, 'Seulement les messages en attente de réponse')),
    page.items.length ? stackTable('Messages des familles', ['Objet', 'Famille', 'Catégorie', 'Dernier message', 'Messages', 'État'], page.items.map((t) => [
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
  mount(ctx.root, breadcrumb(h('a', { href: '#/admin/messages' }, 'Messagerie'), t.subject),
    pageTitle(t.subject), h('p', {}, h('a', { href: `#/admin/familles/${t.family_id}` }, `Fiche de la famille ${t.family_name || ''}`)), view, form);
}

