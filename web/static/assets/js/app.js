// The portal's shell: session, navigation, hash routes, the cart banner and the
// back-to-top button. Pages live in pages/*.js and render into #page.

import { get, post, setCsrf, whenUnauthorized, ApiError } from './api.js';
import { h, mount, notify, showError, loading } from './ui.js';
import * as auth from './pages/auth.js';
import * as family from './pages/family.js';
import * as booking from './pages/booking.js';
import * as admin from './pages/admin.js';

const STAFF = ['agent', 'finance', 'admin'];

/** What every page may need: who is logged in, and a few cached lists. */
export const session = {
  me: null,
  cache: new Map(),
  get isStaff() { return !!this.me && STAFF.includes(this.me.role); },
  get isFamily() { return !!this.me && !!this.me.family; },
  /** GET once per session (services, members…); forget() drops it. */
  async once(path) {
    if (!this.cache.has(path)) {
      const p = get(path);
      this.cache.set(path, p);
      p.catch(() => this.cache.delete(path));
    }
    return this.cache.get(path);
  },
  forget(path) { if (path) this.cache.delete(path); else this.cache.clear(); },
  async refreshMe() {
    this.me = await get('/me', { noRedirect: true });
    return this.me;
  },
};

// Routes: pattern → [render, options]. public: no session needed; family/staff:
// the role the page is for.
const routes = [
  ['/connexion', auth.login, { public: true }],
  ['/mot-de-passe-oublie', auth.forgot, { public: true }],
  ['/reset', auth.reset, { public: true }],
  ['/set-password', auth.reset, { public: true }],
  ['/', family.home, { family: true }],
  ['/famille', family.profile, { family: true }],
  ['/reservations', booking.services, { family: true }],
  ['/reservations/:service', booking.calendar, { family: true }],
  ['/panier', booking.cart, { family: true }],
  ['/paiement', booking.paymentResult, { family: true }],
  ['/calendrier', booking.familyCalendar, { family: true }],
  ['/factures', family.invoices, { family: true }],
  ['/messages', family.contact, { family: true }],
  ['/admin', admin.home, { staff: true }],
  ['/admin/familles', admin.families, { staff: true }],
  ['/admin/familles/nouvelle', admin.newFamily, { staff: true }],
  ['/admin/familles/:id', admin.familyPage, { staff: true }],
  ['/admin/journee', admin.day, { staff: true }],
  ['/admin/semaine', admin.week, { staff: true }],
  ['/admin/services', admin.services, { staff: true }],
  ['/admin/services/nouveau', admin.newService, { staff: true }],
  ['/admin/services/:id', admin.serviceDays, { staff: true }],
  ['/admin/services/:id/modifier', admin.editService, { staff: true }],
  ['/admin/services/:id/jours/:date/attente', admin.waitlist, { staff: true }],
  ['/admin/fermetures', admin.closures, { staff: true }],
  ['/admin/messages', admin.inbox, { staff: true }],
  ['/admin/messages/:id', admin.thread, { staff: true }],
  ['/admin/facturation', admin.invoicing, { staff: true }],
  ['/admin/utilisateurs', admin.users, { staff: true }],
  ['/admin/collectivite', admin.orgSettings, { staff: true }],
  ['/admin/journal', admin.auditLog, { staff: true }],
];

function match(path) {
  for (const [pattern, render, opts] of routes) {
    const names = [];
    const re = new RegExp('^' + pattern.replace(/:(\w+)/g, (_, n) => { names.push(n); return '([^/]+)'; }) + '/?$');
    const m = path.match(re);
    if (m) {
      const params = {};
      names.forEach((n, i) => { params[n] = decodeURIComponent(m[i + 1]); });
      return { render, opts, params };
    }
  }
  return null;
}

function currentPath() {
  const hash = location.hash.startsWith('#/') ? location.hash.slice(1) : '/';
  return hash.split('?')[0] || '/';
}

/** Goes to a route (the hash, "#/…"). */
export function go(route) {
  if (location.hash === route) {
    notifyOnRouteChange();
    render();
  } else {
    location.hash = route;
  }
}

const FAMILY_NAV = [
  ['#/', 'Accueil'], ['#/reservations', 'Réservations'], ['#/panier', 'Panier'], ['#/calendrier', 'Calendrier'],
  ['#/factures', 'Factures et règlements'], ['#/famille', 'Ma famille'], ['#/messages', 'Contact'],
];
// Staff: what every role uses, then what finance and admins add (roles as the API's).
const STAFF_NAV = [
  ['#/admin/familles', 'Familles'], ['#/admin/journee', 'Journée'], ['#/admin/services', 'Services'], ['#/admin/messages', 'Messagerie'],
];
const STAFF_NAV_BY_ROLE = {
  finance: [['#/admin/facturation', 'Facturation']],
  admin: [['#/admin/facturation', 'Facturation'], ['#/admin/utilisateurs', 'Utilisateurs'], ['#/admin/collectivite', 'Collectivité'], ['#/admin/journal', 'Journal']],
};

function renderNav() {
  const nav = document.getElementById('nav');
  const toggle = document.getElementById('menu-toggle');
  mount(nav);
  if (!session.me) {
    toggle.hidden = true;
    return;
  }
  const items = session.isStaff ? [...STAFF_NAV, ...(STAFF_NAV_BY_ROLE[session.me.role] || [])] : FAMILY_NAV;
  const path = currentPath();
  const list = h('ul', {}, items.map(([href, label]) => {
    const target = href.slice(1);
    const current = target === path || (target !== '/' && target !== '/admin' && path.startsWith(target + '/'));
    const a = h('a', { href, 'aria-current': current ? 'page' : false }, label);
    if (href === '#/panier') a.append(h('span', { class: 'badge', id: 'cart-count', hidden: true }));
    return h('li', {}, a);
  }));
  const who = session.isStaff ? `${session.me.login} (${roleLabel(session.me.role)})` : `Famille ${session.me.family.name}`;
  const logout = h('button', { type: 'button', class: 'link-button', onclick: logoutNow }, 'Se déconnecter');
  nav.append(list, h('div', { class: 'nav-user' }, h('span', {}, who), logout));
  toggle.hidden = false;
  updateCartCount(lastCartCount);
  document.getElementById('brand').setAttribute('href', session.isStaff ? '#/admin/familles' : '#/');
}

const roleLabel = (r) => ({ agent: 'accueil', finance: 'finances', admin: 'administration' }[r] || r);

async function logoutNow() {
  try { await post('/auth/logout', {}, { noRedirect: true }); } catch { /* the session may be gone already */ }
  setCsrf('');
  session.me = null;
  session.forget();
  lastCartCount = 0;
  renderNav();
  flashNext('Vous êtes déconnecté.', 'info');
  go('#/connexion');
}

let lastCartCount = 0;
// Reserved days unticked in the booking calendar, waiting for "Valider les
// annulations": {count, validate(button)} or null. A new page starts without.
let cancellations = null;

/** The booking calendar tells the blue banner what is to cancel. */
export function setCancellations(state) {
  cancellations = state;
  updateCartCount(lastCartCount);
}

/**
 * The number of lines in the cart, in the menu and in the blue banner at the
 * bottom of the booking pages, which also offers to validate the cancellations.
 */
export function updateCartCount(n) {
  lastCartCount = n;
  const badge = document.getElementById('cart-count');
  if (badge) {
    badge.hidden = !n;
    badge.textContent = n ? String(n) : '';
    badge.setAttribute('aria-label', `${n} réservation${n > 1 ? 's' : ''} en attente`);
  }
  const banner = document.getElementById('cart-banner');
  const onBooking = currentPath().startsWith('/reservations');
  const k = cancellations ? cancellations.count : 0;
  banner.hidden = !((n > 0 || k > 0) && onBooking);
  document.body.classList.toggle('has-banner', !banner.hidden);
  document.getElementById('cart-banner-text').textContent = [
    n ? `${n} réservation${n > 1 ? 's' : ''} en attente` : null,
    k ? `${k} annulation${k > 1 ? 's' : ''} à valider` : null,
  ].filter(Boolean).join(' · ');
  document.getElementById('cart-banner-link').hidden = !n;
  let validate = document.getElementById('cart-banner-cancel');
  if (!validate) {
    validate = h('button', { type: 'button', class: 'button button-light', id: 'cart-banner-cancel' }, 'Valider les annulations');
    validate.addEventListener('click', () => { if (cancellations) cancellations.validate(validate); });
    banner.append(validate);
  }
  validate.hidden = !k;
}

/** Reads the cart and updates the counts; returns the cart. */
export async function refreshCart() {
  const cart = await get('/cart');
  updateCartCount(cart.items.length);
  return cart;
}

let renderSeq = 0;
async function render() {
  const seq = ++renderSeq;
  const path = currentPath();
  const route = match(path);
  const pageEl = document.getElementById('page');
  closeMenu();
  cancellations = null; // unticked days belong to the calendar they were unticked in
  if (!route) {
    mount(pageEl, h('h1', { tabindex: '-1', id: 'page-title' }, 'Page introuvable'),
      h('p', {}, 'Cette adresse ne correspond à aucune page du portail. '), h('p', {}, h('a', { href: '#/' }, 'Retour à l\'accueil')));
    return;
  }
  if (!route.opts.public && !session.me) {
    try {
      await session.refreshMe();
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        sessionStorage.setItem('enfance.after-login', location.hash || '#/');
        go('#/connexion');
        return;
      }
      mount(pageEl, h('h1', {}, 'Portail indisponible'));
      showError(err);
      return;
    }
    renderNav();
    if (session.isFamily) refreshCart().catch(() => {});
  }
  if (seq !== renderSeq) return;
  if (route.opts.family && session.isStaff) { go('#/admin/familles'); return; }
  if (route.opts.staff && session.me && !session.isStaff) { go('#/'); return; }
  renderNav();
  updateCartCount(lastCartCount);
  const container = h('div', { class: 'page' });
  container.append(loading());
  mount(pageEl, container);
  const ctx = {
    params: route.params,
    query: new URLSearchParams(location.hash.includes('?') ? location.hash.slice(location.hash.indexOf('?') + 1) : ''),
    session,
    root: container,
    alive: () => container.isConnected && seq === renderSeq,
  };
  try {
    await route.render(ctx);
  } catch (err) {
    if (!ctx.alive()) return;
    if (err instanceof ApiError && err.status === 401) return;
    mount(container, h('h1', { tabindex: '-1', id: 'page-title' }, 'Une erreur est survenue'));
    showError(err);
  }
  if (!ctx.alive()) return;
  if (navigated) {
    const title = document.getElementById('page-title');
    if (title && !container.contains(document.activeElement)) title.focus({ preventScroll: false });
  }
  navigated = true;
}

let navigated = false;

function closeMenu() {
  const toggle = document.getElementById('menu-toggle');
  toggle.setAttribute('aria-expanded', 'false');
  document.getElementById('nav').classList.remove('open');
}

/** Called after login: remembers who is there and goes where they were going. */
export async function loggedIn(answer) {
  setCsrf(answer.csrf_token);
  session.forget();
  await session.refreshMe();
  renderNav();
  let next = sessionStorage.getItem('enfance.after-login');
  sessionStorage.removeItem('enfance.after-login');
  const staffRoute = next && next.startsWith('#/admin');
  if (!next || next === '#/connexion' || staffRoute !== session.isStaff) next = session.isStaff ? '#/admin/familles' : '#/';
  if (session.isFamily) refreshCart().catch(() => {});
  notify('');
  go(next);
}

function start() {
  whenUnauthorized(() => {
    if (!session.me && currentPath() === '/connexion') return;
    session.me = null;
    session.forget();
    setCsrf('');
    renderNav();
    sessionStorage.setItem('enfance.after-login', location.hash || '#/');
    flashNext('Votre session a expiré : reconnectez-vous pour continuer.', 'warning');
    go('#/connexion');
  });
  window.addEventListener('hashchange', () => {
    if (!location.hash.startsWith('#/') && location.hash !== '') return;
    notifyOnRouteChange();
    render();
  });
  document.getElementById('skip-link').addEventListener('click', (e) => {
    e.preventDefault();
    const title = document.getElementById('page-title');
    (title || document.getElementById('main')).focus();
  });
  const toggle = document.getElementById('menu-toggle');
  toggle.addEventListener('click', () => {
    const open = toggle.getAttribute('aria-expanded') !== 'true';
    toggle.setAttribute('aria-expanded', String(open));
    document.getElementById('nav').classList.toggle('open', open);
  });
  const top = document.getElementById('to-top');
  const onScroll = () => { top.hidden = window.scrollY < 400; };
  window.addEventListener('scroll', onScroll, { passive: true });
  top.addEventListener('click', () => {
    window.scrollTo({ top: 0, behavior: 'smooth' });
    const title = document.getElementById('page-title');
    if (title) title.focus({ preventScroll: true });
  });
  render();
}

// A message belongs to the page it was given on; a new page starts clean unless
// the message was set for it (flash).
let flash = null;
export function flashNext(text, kind = 'success') { flash = { text, kind }; }
function notifyOnRouteChange() {
  if (flash) { notify(flash.text, flash.kind); flash = null; } else notify('');
}

start();
