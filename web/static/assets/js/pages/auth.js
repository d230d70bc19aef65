// Login, forgotten password, and the set/reset password page of the e-mailed links
// (#/reset?token=… and #/set-password?token=…).

import { post, hasCsrf, ApiError } from '../api.js';
import { h, mount, field, pageTitle, notify, showError, problemView, markFieldErrors, busy } from '../ui.js';
import { loggedIn, session, go } from '../app.js';

export async function login(ctx) {
  // Still signed in (the cookie) with the token writes need: no form to fill.
  if (!session.me && hasCsrf()) {
    try { await session.refreshMe(); } catch { /* not signed in */ }
  }
  if (session.me && hasCsrf()) {
    go(session.isStaff ? '#/admin/familles' : '#/');
    return;
  }
  const loginInput = h('input', { name: 'login', type: 'text', autocomplete: 'username', required: true, inputmode: 'email', autocapitalize: 'none', spellcheck: 'false' });
  const pwInput = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit', class: 'button' }, 'Se connecter');
  const form = h('form', { class: 'card form narrow', novalidate: true },
    field('Identifiant (adresse e-mail)', loginInput),
    field('Mot de passe', pwInput),
    showPassword(pwInput),
    h('div', { class: 'actions' }, submit, h('a', { href: '#/mot-de-passe-oublie' }, 'Mot de passe oublié ?')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!loginInput.value.trim() || !pwInput.value) {
      notify('Saisissez votre identifiant et votre mot de passe.', 'error');
      (loginInput.value.trim() ? pwInput : loginInput).focus();
      return;
    }
    await busy(submit, async () => {
      try {
        const answer = await post('/auth/login', { login: loginInput.value.trim(), password: pwInput.value }, { noRedirect: true });
        await loggedIn(answer);
      } catch (err) {
        markFieldErrors(form, err);
        showError(err);
        pwInput.value = '';
        pwInput.focus();
      }
    });
  });
  mount(ctx.root, 
    pageTitle('Connexion'),
    h('p', { class: 'lead' }, 'Réservez la restauration scolaire, les accueils périscolaires et les mercredis, payez en ligne et suivez vos factures.'),
    form);
}

/** A "show the password" checkbox for the given input. */
function showPassword(...inputs) {
  const box = h('input', { type: 'checkbox', id: `show-${inputs[0].id || 'pw'}` });
  box.addEventListener('change', () => { for (const i of inputs) i.type = box.checked ? 'text' : 'password'; });
  return h('div', { class: 'check' }, box, h('label', { for: box.id }, 'Afficher le mot de passe'));
}

export async function forgot(ctx) {
  const loginInput = h('input', { name: 'login', type: 'text', autocomplete: 'username', required: true, inputmode: 'email', autocapitalize: 'none' });
  const submit = h('button', { type: 'submit', class: 'button' }, 'Recevoir un lien');
  const form = h('form', { class: 'card form narrow', novalidate: true },
    h('p', {}, 'Indiquez l\'identifiant de votre compte (votre adresse e-mail). Si un compte existe, vous recevrez un lien pour choisir un nouveau mot de passe, valable une heure.'),
    field('Identifiant (adresse e-mail)', loginInput),
    h('div', { class: 'actions' }, submit, h('a', { href: '#/connexion' }, 'Retour à la connexion')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!loginInput.value.trim()) {
      notify('Saisissez votre identifiant.', 'error');
      loginInput.focus();
      return;
    }
    await busy(submit, async () => {
      try {
        await post('/auth/password/forgot', { login: loginInput.value.trim() }, { noRedirect: true });
        form.replaceWith(h('div', { class: 'card narrow' },
          h('p', {}, 'Si un compte correspond à cet identifiant, un e-mail contenant un lien vient de lui être envoyé. Pensez à regarder dans vos courriers indésirables.'),
          h('p', {}, h('a', { href: '#/connexion' }, 'Retour à la connexion'))));
        notify('Demande envoyée.', 'success');
      } catch (err) {
        if (err instanceof ApiError && err.unavailable) notify('La réinitialisation du mot de passe n\'est pas encore disponible sur ce serveur : contactez le service enfance.', 'warning');
        else showError(err);
      }
    });
  });
  mount(ctx.root, pageTitle('Mot de passe oublié'), form);
}

export async function reset(ctx) {
  const creating = location.hash.startsWith('#/set-password');
  const token = ctx.query.get('token') || '';
  const title = creating ? 'Choisir votre mot de passe' : 'Nouveau mot de passe';
  if (!token) {
    mount(ctx.root, pageTitle(title),
      h('div', { class: 'notice notice-error' }, 'Ce lien est incomplet. Ouvrez le lien reçu par e-mail tel quel, ou demandez-en un nouveau.'),
      h('p', {}, h('a', { href: '#/mot-de-passe-oublie' }, 'Demander un nouveau lien')));
    return;
  }
  const pw = h('input', { name: 'new_password', type: 'password', autocomplete: 'new-password', required: true, minlength: '10' });
  const again = h('input', { name: 'confirm', type: 'password', autocomplete: 'new-password', required: true });
  const submit = h('button', { type: 'submit', class: 'button' }, 'Enregistrer le mot de passe');
  const form = h('form', { class: 'card form narrow', novalidate: true },
    field('Nouveau mot de passe', pw, 'Au moins 10 caractères, sans reprendre votre identifiant ; une phrase de plusieurs mots est plus facile à retenir. Évitez un mot de passe déjà utilisé ailleurs.'),
    field('Confirmez le mot de passe', again),
    showPassword(pw, again),
    h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (pw.value !== again.value) {
      again.setAttribute('aria-invalid', 'true');
      notify('Les deux mots de passe ne sont pas identiques.', 'error');
      again.focus();
      return;
    }
    await busy(submit, async () => {
      try {
        await post('/auth/password/reset', { token, new_password: pw.value }, { noRedirect: true });
        // The link is spent and every session of the account has ended.
        session.me = null;
        form.replaceWith(h('div', { class: 'card narrow' },
          h('p', {}, 'Votre mot de passe est enregistré. Vous pouvez maintenant vous connecter.'),
          h('p', {}, h('a', { class: 'button', href: '#/connexion' }, 'Se connecter'))));
        notify('Mot de passe enregistré.', 'success');
        history.replaceState(null, '', creating ? '#/set-password' : '#/reset');
      } catch (err) {
        markFieldErrors(form, err);
        if (err instanceof ApiError && err.unavailable) {
          notify('Cette fonction n\'est pas encore disponible sur ce serveur.', 'warning');
        } else if (err instanceof ApiError && (err.problem.type || '').endsWith('/invalid-token')) {
          notify(h('div', {}, problemView(err), h('p', {}, h('a', { href: '#/mot-de-passe-oublie' }, 'Demander un nouveau lien'))), 'error');
        } else {
          notify(problemView(err), 'error');
        }
        pw.focus();
      }
    });
  });
  mount(ctx.root, pageTitle(title), form);
}
