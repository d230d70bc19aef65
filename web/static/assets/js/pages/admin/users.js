// Staff accounts (admins): create with a role, change the role, disable, send
// the password link again.

import { get, post, patch } from '../../api.js';
import { h, mount, field, pageTitle, notify, showError, markFieldErrors, busy, shortDate } from '../../ui.js';
import { session } from '../../app.js';
import { can, notForRole, ROLE_LABELS, stackTable } from './common.js';

const ROLE_HELP = {
  agent: 'familles, réservations et annulations pour elles, pointage, messagerie',
  finance: 'en plus : règlements au guichet, régularisations, quotient familial, remboursements hors délai, facturation',
  admin: 'en plus : services et tarifs, calendrier, utilisateurs, paramètres et journal',
};

export async function users(ctx) {
  if (!can('listStaffUsers')) { notForRole(ctx, 'Utilisateurs', 'aux administrateurs'); return; }
  const list = h('div');
  const draw = async () => {
    const rows = await get('/admin/users');
    mount(list, stackTable('Comptes du personnel', ['Identifiant', 'Nom', 'Rôle', 'État', 'Créé le', ''], rows.map((u) => userRow(u, draw)), { rowHeaders: true, class: 'users-table' }));
  };
  const login = h('input', { name: 'login', type: 'email', required: true, autocomplete: 'off' });
  const name = h('input', { name: 'display_name', type: 'text', maxlength: '100' });
  const role = h('select', { name: 'role' }, Object.entries(ROLE_LABELS).map(([v, l]) => h('option', { value: v }, l)));
  const submit = h('button', { type: 'submit', class: 'button' }, 'Créer le compte');
  const form = h('form', { class: 'form card', novalidate: true }, h('h2', {}, 'Nouveau compte'),
    h('div', { class: 'grid2' }, field('E-mail (identifiant)', login, 'Un lien pour choisir le mot de passe y est envoyé (72 heures).'), field('Nom affiché', name), field('Rôle', role)),
    h('ul', { class: 'hint role-help' }, Object.entries(ROLE_HELP).map(([r, t]) => h('li', {}, h('strong', {}, `${ROLE_LABELS[r]} : `), t))),
    h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(submit, async () => {
      try {
        const u = await post('/admin/users', { login: login.value.trim(), display_name: name.value.trim(), role: role.value });
        notify(`Compte ${u.login} créé (${ROLE_LABELS[u.role]}) ; le lien pour choisir son mot de passe lui est envoyé.`, 'success');
        form.reset();
        markFieldErrors(form, null);
        await draw();
      } catch (err) { markFieldErrors(form, err); showError(err); }
    });
  });
  mount(ctx.root, pageTitle('Utilisateurs'), list, form);
  await draw();
}

function userRow(u, redraw) {
  const self = session.me && session.me.user_id === u.id;
  const role = h('select', { name: `role-${u.id}`, 'aria-label': `Rôle de ${u.login}`, disabled: u.disabled },
    Object.entries(ROLE_LABELS).map(([v, l]) => h('option', { value: v, selected: u.role === v }, l)));
  role.addEventListener('change', () => busy(role, async () => {
    try {
      await patch(`/admin/users/${u.id}`, { role: role.value });
      notify(`${u.login} : ${ROLE_LABELS[role.value]}.`, 'success');
      await redraw();
    } catch (err) { showError(err); role.value = u.role; }
  }));
  const state = u.disabled ? h('span', { class: 'tag' }, 'Désactivé') : u.password_set ? h('span', { class: 'tag tag-confirmed' }, 'Actif')
    : h('span', { class: 'tag tag-waiting' }, 'Mot de passe à choisir');
  const link = h('button', { type: 'button', class: 'button button-tertiary button-small', disabled: u.disabled },
    u.password_set ? 'Lien de réinitialisation' : 'Renvoyer l\'invitation', h('span', { class: 'sr-only' }, ` à ${u.login}`));
  link.addEventListener('click', () => busy(link, async () => {
    try {
      const r = await post(`/admin/users/${u.id}/link`, {});
      notify(`Lien envoyé à ${r.login} (${r.purpose === 'set' ? 'valable 72 heures' : 'valable une heure'}).`, 'success');
    } catch (err) { showError(err); }
  }));
  const toggle = h('button', { type: 'button', class: `button button-small ${u.disabled ? 'button-secondary' : 'button-danger'}`, disabled: self },
    u.disabled ? 'Réactiver' : 'Désactiver', h('span', { class: 'sr-only' }, ` ${u.login}`));
  toggle.addEventListener('click', () => busy(toggle, async () => {
    try {
      await patch(`/admin/users/${u.id}`, { disabled: !u.disabled });
      notify(u.disabled ? `${u.login} peut de nouveau se connecter.` : `${u.login} est désactivé ; ses sessions sont fermées.`, 'success');
      await redraw();
    } catch (err) { showError(err); }
  }));
  return [u.login, u.display_name || '—', role, state, shortDate(u.created_at), h('span', { class: 'row-actions' }, link, toggle)];
}
