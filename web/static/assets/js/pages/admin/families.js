// Families: search, the record created at the desk (members, who may collect the
// children, logins), its reservations and cancellations on its behalf, desk
// money, invoices and history.

import { get, post, patch, del, newKey } from '../../api.js';
import {
  h, mount, euros, parseEuros, field, pageTitle, notify, showError, markFieldErrors, busy, loading, dl,
  instantLabel, shortDate, dayLabel, frDate, ofMonth, thisMonth, addMonths, dateInput, dateValue,
} from '../../ui.js';
import { go, flashNext } from '../../app.js';
import { ledgerTable } from '../family.js';
import { can, canField, section, errorBox, loadOr, breadcrumb, pluralize, stackTable } from './common.js';

// ---- The list ----

export async function families(ctx) {
  const q = ctx.query.get('q') || '';
  const cursor = ctx.query.get('apres') || '';
  const search = h('input', { name: 'q', type: 'search', value: q, autocomplete: 'off' });
  const form = h('form', { class: 'search', role: 'search' },
    field('Rechercher une famille', search, 'Nom d\'un parent ou d\'un enfant, e-mail, téléphone, école'),
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
    f.email || '—', f.phone || '—', `${f.qf}`, euros(f.credit_cents),
    h('span', { class: f.outstanding_cents > 0 ? 'minus' : '' }, euros(f.outstanding_cents)),
  ]);
  mount(ctx.root, pageTitle('Familles'),
    h('div', { class: 'page-actions' }, h('a', { class: 'button', href: '#/admin/familles/nouvelle' }, 'Nouvelle famille')),
    form,
    rows.length ? stackTable(q ? `Familles correspondant à « ${q} »` : 'Familles', ['Famille', 'E-mail', 'Téléphone', 'QF', 'Cagnotte', 'Solde dû'], rows, { rowHeaders: true, showCaption: true })
      : h('p', {}, q ? `Aucune famille ne correspond à « ${q} ».` : 'Aucune famille.'),
    page.next_cursor ? h('p', {}, h('a', { class: 'button button-secondary', href: `#/admin/familles?${new URLSearchParams({ ...(q ? { q } : {}), apres: page.next_cursor })}` }, 'Familles suivantes')) : null);
}

// ---- Members ----

/**
 * The fields of a member (adult or child). read() returns the API's body, or
 * throws an Error naming the field.
 */
function memberFields(m = {}, kind = 'child') {
  const k = m.kind || kind;
  const kindSel = h('select', { name: 'kind' }, h('option', { value: 'child', selected: k === 'child' }, 'Enfant'), h('option', { value: 'adult', selected: k === 'adult' }, 'Adulte (parent, responsable)'));
  const first = h('input', { name: 'first_name', type: 'text', required: true, maxlength: '100', value: m.first_name || '', autocomplete: 'off' });
  const last = h('input', { name: 'last_name', type: 'text', required: true, maxlength: '100', value: m.last_name || '', autocomplete: 'off' });
  const birth = dateInput({ name: 'birth_date', value: m.birth_date || '' });
  const school = h('input', { name: 'school', type: 'text', maxlength: '100', value: m.school || '' });
  const klass = h('input', { name: 'class_name', type: 'text', maxlength: '50', value: m.class_name || '', class: 'short' });
  const allergies = h('input', { name: 'allergies', type: 'text', maxlength: '500', value: m.allergies || '' });
  const notes = h('textarea', { name: 'notes', rows: '2', maxlength: '1000' });
  notes.value = m.notes || '';
  const childOnly = h('div', { class: 'grid2' },
    field('Date de naissance', birth, 'jj/mm/aaaa ; elle décide des services accessibles selon l\'âge.'),
    field('École', school), field('Classe', klass),
    field('Allergies', allergies, 'Imprimées en gras sur la liste du jour (cantine, accueil).'),
    field('Remarques', notes, 'PAI, régime, consignes de sortie… visibles sur la liste du jour.'));
  const syncKind = () => { childOnly.hidden = kindSel.value !== 'child'; };
  kindSel.addEventListener('change', syncKind);
  syncKind();
  const node = h('div', { class: 'member-fields' },
    h('div', { class: 'grid2' }, field('Type', kindSel), h('span'), field('Prénom', first), field('Nom', last)), childOnly);
  return {
    node,
    first,
    read() {
      const body = { kind: kindSel.value, first_name: first.value.trim(), last_name: last.value.trim() };
      if (!body.first_name || !body.last_name) throw new Error('Prénom et nom du membre sont requis.');
      if (body.kind === 'child') {
        body.birth_date = dateValue(birth, 'Date de naissance');
        if (!body.birth_date) throw new Error(`Date de naissance de ${body.first_name} : requise pour un enfant.`);
        Object.assign(body, { school: school.value.trim(), class_name: klass.value.trim(), allergies: allergies.value.trim(), notes: notes.value.trim() });
      }
      return body;
    },
  };
}

const contactFields = (f = {}) => ({
  email: h('input', { name: 'email', type: 'email', autocomplete: 'off', value: f.email || '' }),
  phone: h('input', { name: 'phone', type: 'tel', value: f.phone || '' }),
  phone2: h('input', { name: 'phone2', type: 'tel', value: f.phone2 || '' }),
  address: h('input', { name: 'address', type: 'text', maxlength: '200', value: f.address || '' }),
  postal_code: h('input', { name: 'postal_code', type: 'text', inputmode: 'numeric', maxlength: '5', class: 'short', value: f.postal_code || '' }),
  city: h('input', { name: 'city', type: 'text', maxlength: '100', value: f.city || '' }),
});

const contactGrid = (c) => h('div', { class: 'grid2' },
  field('E-mail de la famille', c.email, 'Factures et justificatifs y sont envoyés.'), field('Téléphone', c.phone),
  field('Second téléphone', c.phone2), field('Adresse', c.address), field('Code postal', c.postal_code), field('Ville', c.city));

const readContact = (c) => Object.fromEntries(Object.entries(c).map(([k, el]) => [k, el.value.trim()]));

// ---- A new family ----

export async function newFamily(ctx) {
  const name = h('input', { name: 'name', type: 'text', required: true, maxlength: '200', autocomplete: 'off' });
  const qf = h('input', { name: 'qf', type: 'number', min: '0', max: '100000', value: '0', class: 'short', inputmode: 'numeric' });
  const contact = contactFields();
  const login = h('input', { name: 'account_login', type: 'email', autocomplete: 'off' });
  const members = h('div', { class: 'members-list' });
  const rows = [];
  const addRow = (kind) => {
    const m = memberFields({}, kind);
    const remove = h('button', { type: 'button', class: 'button button-tertiary button-small' }, 'Retirer ce membre');
    const box = h('fieldset', { class: 'member' }, h('legend', {}, kind === 'child' ? 'Enfant' : 'Adulte'), m.node, remove);
    remove.addEventListener('click', () => { rows.splice(rows.indexOf(m), 1); box.remove(); });
    rows.push(m);
    members.append(box);
    return m;
  };
  addRow('adult');
  addRow('child');
  const submit = h('button', { type: 'submit', class: 'button' }, 'Créer la famille');
  const form = h('form', { class: 'form', novalidate: true },
    h('section', { class: 'card' }, h('h2', {}, 'La famille'),
      h('div', { class: 'grid2' }, field('Nom de la famille', name, 'Tel qu\'il apparaît sur les factures.'),
        field('Quotient familial', qf, 'Attestation CAF ou MSA ; il fixe les tarifs. Le modifier ensuite revient aux finances.')),
      contactGrid(contact)),
    h('section', { class: 'card' }, h('h2', {}, 'Membres'),
      h('p', { class: 'hint' }, 'Les enfants avec leur date de naissance, école et classe ; les parents.'),
      members,
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'button button-secondary', onclick: () => addRow('child').first.focus() }, 'Ajouter un enfant'),
        h('button', { type: 'button', class: 'button button-secondary', onclick: () => addRow('adult').first.focus() }, 'Ajouter un adulte'))),
    h('section', { class: 'card' }, h('h2', {}, 'Accès au portail famille'),
      field('E-mail du parent à inviter (facultatif)', login, 'Un compte est créé avec cet identifiant et un lien pour choisir son mot de passe lui est envoyé (valable 72 heures). Vous pourrez le renvoyer depuis la fiche.')),
    h('div', { class: 'actions' }, submit, h('a', { href: '#/admin/familles' }, 'Annuler')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    let body;
    try {
      if (!name.value.trim()) throw new Error('Le nom de la famille est requis.');
      body = { name: name.value.trim(), qf: Number(qf.value || 0), ...readContact(contact), members: rows.map((m) => m.read()) };
      if (login.value.trim()) body.account_login = login.value.trim();
    } catch (err) {
      notify(err.message, 'error');
      return;
    }
    await busy(submit, async () => {
      try {
        const f = await post('/admin/families', body);
        flashNext(`Famille ${f.name} créée${body.account_login ? ` ; un e-mail d'invitation part vers ${body.account_login}` : ''}.`);
        go(`#/admin/familles/${f.id}`);
      } catch (err) {
        markFieldErrors(form, err);
        showError(err);
      }
    });
  });
  mount(ctx.root, breadcrumb(h('a', { href: '#/admin/familles' }, 'Familles'), 'Nouvelle famille'), pageTitle('Nouvelle famille'), form);
  name.focus();
}

// ---- The family's record ----

export async function familyPage(ctx) {
  const id = ctx.params.id;
  let f = await get(`/admin/families/${id}`);
  const balances = h('p', { class: 'balances-line', role: 'status' });
  const showBalances = (credit, outstanding) => {
    mount(balances, h('span', {}, 'Cagnotte : ', h('strong', { id: 'fam-credit' }, euros(credit))), ' — ',
      h('span', {}, 'Solde dû : ', h('strong', { id: 'fam-outstanding' }, euros(outstanding))));
  };
  showBalances(f.credit_cents, f.outstanding_cents);
  const history = h('div', {}, loading());
  const drawHistory = async () => {
    try { mount(history, ledgerTable(await get(`/admin/families/${id}/payments`), { receipts: false, build: stackTable })); } catch (err) { mount(history, errorBox(err, 'L\'historique')); }
  };
  const reload = async () => {
    f = await get(`/admin/families/${id}`);
    showBalances(f.credit_cents, f.outstanding_cents);
    drawRecord();
  };
  const moneyDone = async (res) => {
    showBalances(res.credit_cents, res.outstanding_cents);
    await drawHistory();
  };
  const record = h('div');
  const drawRecord = () => mount(record,
    h('div', { class: 'grid2 cards' }, contactCard(f, reload), membersCard(f, reload)),
    h('div', { class: 'grid2 cards' }, personsCard(f, reload), accountsCard(f, reload)));
  drawRecord();
  const reservations = reservationsCard(f, async () => { await reload(); await drawHistory(); });
  const jump = (label, target) => h('li', {}, h('button', {
    type: 'button', class: 'link-button',
    onclick: () => { const el = document.getElementById(target); el.setAttribute('tabindex', '-1'); el.scrollIntoView({ block: 'start' }); el.focus({ preventScroll: true }); },
  }, label));
  mount(ctx.root,
    breadcrumb(h('a', { href: '#/admin/familles' }, 'Familles'), f.name),
    pageTitle(`Famille ${f.name}`),
    balances,
    h('nav', { 'aria-label': 'Sections de la fiche' }, h('ul', { class: 'toc-buttons' },
      jump('Coordonnées', 'fam-contact'), jump('Membres', 'fam-members'), jump('Personnes autorisées', 'fam-persons'), jump('Accès au portail', 'fam-accounts'),
      jump('Réservations', 'fam-res'), can('deskPayment') ? jump('Règlements', 's-desk') : null,
      can('staffFamilyInvoices') ? jump('Factures', 's-invoices') : null, jump('Historique', 'fam-history'))),
    record,
    reservations.node,
    section('Réserver pour la famille', bookForm(id, f.members.filter((m) => m.kind === 'child'), async (res) => { await moneyDone(res); await reservations.draw(); }), 'book'),
    can('deskPayment') ? section('Règlement au guichet', deskForm(id, moneyDone), 'desk') : null,
    can('adjustment') ? section('Régularisation', adjustmentForm(id, moneyDone), 'adjust') : null,
    can('staffFamilyInvoices') ? section('Factures', invoicesList(id), 'invoices') : null,
    h('section', { class: 'card', 'aria-labelledby': 'fam-history' }, h('h2', { id: 'fam-history' }, 'Historique des mouvements'), history),
    can('auditLog') ? h('p', {}, h('a', { href: `#/admin/journal?famille=${id}` }, 'Journal des modifications de cette famille')) : null);
  await Promise.all([drawHistory(), reservations.draw()]);
}

/** A card with a read view and an "edit" toggle that swaps in a form. */
function editableCard(title, id, view, form) {
  const body = h('div');
  const edit = h('button', { type: 'button', class: 'button button-secondary button-small' }, 'Modifier');
  const show = (editing) => {
    mount(body, editing ? form(() => show(false)) : view());
    edit.hidden = editing;
    if (editing) body.querySelector('input, select, textarea')?.focus();
  };
  edit.addEventListener('click', () => show(true));
  show(false);
  return h('section', { class: 'card', 'aria-labelledby': id }, h('div', { class: 'card-head' }, h('h2', { id }, title), edit), body);
}

function contactCard(f, reload) {
  const mayQF = canField('patchStaffFamily.qf');
  return editableCard('Coordonnées', 'fam-contact', () => dl([
    ['E-mail', f.email || '—'], ['Téléphone', [f.phone, f.phone2].filter(Boolean).join(' / ') || '—'],
    ['Adresse', [f.address, [f.postal_code, f.city].filter(Boolean).join(' ')].filter(Boolean).join(', ') || '—'],
    ['Quotient familial', h('span', { id: 'fam-qf' }, String(f.qf))],
  ]), (done) => {
    const name = h('input', { name: 'name', type: 'text', required: true, maxlength: '200', value: f.name });
    const contact = contactFields(f);
    const qf = h('input', { name: 'qf', type: 'number', min: '0', max: '100000', value: String(f.qf), class: 'short', disabled: !mayQF });
    const submit = h('button', { type: 'submit', class: 'button' }, 'Enregistrer');
    const form = h('form', { class: 'form', novalidate: true },
      field('Nom de la famille', name), contactGrid(contact),
      field('Quotient familial', qf, mayQF ? 'Il fixe les tarifs des réservations à venir ; le changement est tracé dans le journal.'
        : 'Seuls les régisseurs et les administrateurs changent le quotient familial : transmettez l\'attestation aux finances.'),
      h('div', { class: 'actions' }, submit, h('button', { type: 'button', class: 'button button-tertiary', onclick: done }, 'Annuler')));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const body = { name: name.value.trim(), ...readContact(contact) };
      if (mayQF) body.qf = Number(qf.value || 0);
      busy(submit, async () => {
        try {
          await patch(`/admin/families/${f.id}`, body);
          notify(mayQF && body.qf !== f.qf ? `Coordonnées enregistrées ; quotient familial ${f.qf} → ${body.qf}.` : 'Coordonnées enregistrées.', 'success');
          await reload();
        } catch (err) { markFieldErrors(form, err); showError(err); }
      });
    });
    return form;
  });
}

const memberLine = (m) => [
  h('strong', {}, `${m.first_name} ${m.last_name}`),
  m.kind === 'child' ? [
    m.birth_date ? `, né(e) le ${frDate(m.birth_date)}` : '', m.school ? `, ${m.school}` : '', m.class_name ? ` (${m.class_name})` : '',
    m.allergies ? h('span', { class: 'sub allergy' }, `Allergies : ${m.allergies}`) : null,
    m.notes ? h('span', { class: 'sub' }, m.notes) : null,
  ] : ' — adulte',
];

function membersCard(f, reload) {
  const body = h('div');
  const list = () => h('ul', { class: 'members' }, f.members.map((m) => {
    const edit = h('button', { type: 'button', class: 'button button-tertiary button-small' }, 'Modifier', h('span', { class: 'sr-only' }, ` ${m.first_name}`));
    const li = h('li', { 'data-member': m.id }, h('div', {}, memberLine(m)), edit);
    edit.addEventListener('click', () => mount(li, memberForm(m, () => mount(body, list(), addButtons()))));
    return li;
  }));
  const memberForm = (m, done) => {
    const fields = memberFields(m, m.kind);
    const submit = h('button', { type: 'submit', class: 'button' }, m.id ? 'Enregistrer' : 'Ajouter');
    const form = h('form', { class: 'form member-form', novalidate: true }, fields.node,
      h('div', { class: 'actions' }, submit, h('button', { type: 'button', class: 'button button-tertiary', onclick: done }, 'Annuler')));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      let data;
      try { data = fields.read(); } catch (err) { notify(err.message, 'error'); return; }
      busy(submit, async () => {
        try {
          if (m.id) await patch(`/admin/families/${f.id}/members/${m.id}`, data);
          else await post(`/admin/families/${f.id}/members`, data);
          notify(`${data.first_name} ${m.id ? 'modifié(e)' : 'ajouté(e)'}.`, 'success');
          await reload();
        } catch (err) { markFieldErrors(form, err); showError(err); }
      });
    });
    setTimeout(() => fields.first.focus());
    return form;
  };
  const addButtons = () => h('div', { class: 'actions' },
    ['child', 'adult'].map((kind) => h('button', {
      type: 'button', class: 'button button-secondary button-small',
      onclick: () => mount(body, list(), memberForm({ kind, last_name: f.name }, () => mount(body, list(), addButtons()))),
    }, kind === 'child' ? 'Ajouter un enfant' : 'Ajouter un adulte')));
  mount(body, list(), addButtons());
  return h('section', { class: 'card', 'aria-labelledby': 'fam-members' }, h('h2', { id: 'fam-members' }, 'Membres'), body);
}

function personsCard(f, reload) {
  const first = h('input', { name: 'first_name', type: 'text', required: true, maxlength: '100' });
  const last = h('input', { name: 'last_name', type: 'text', required: true, maxlength: '100' });
  const phone = h('input', { name: 'phone', type: 'tel', required: true });
  const rel = h('input', { name: 'relationship', type: 'text', maxlength: '100' });
  const submit = h('button', { type: 'submit', class: 'button button-secondary' }, 'Ajouter la personne');
  const form = h('form', { class: 'form', novalidate: true },
    h('div', { class: 'grid2' }, field('Prénom', first), field('Nom', last), field('Téléphone', phone), field('Lien avec l\'enfant', rel, 'Grand-mère, voisin, nourrice…')),
    h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(submit, async () => {
      try {
        await post(`/admin/families/${f.id}/authorized-persons`, { first_name: first.value.trim(), last_name: last.value.trim(), phone: phone.value.trim(), relationship: rel.value.trim() });
        notify(`${first.value.trim()} ${last.value.trim()} peut venir chercher les enfants.`, 'success');
        await reload();
      } catch (err) { markFieldErrors(form, err); showError(err); }
    });
  });
  const rows = f.authorized_persons.map((p) => {
    const remove = h('button', { type: 'button', class: 'button button-tertiary button-small' }, 'Retirer', h('span', { class: 'sr-only' }, ` ${p.first_name} ${p.last_name}`));
    remove.addEventListener('click', () => busy(remove, async () => {
      try {
        await del(`/admin/families/${f.id}/authorized-persons/${p.id}`);
        notify(`${p.first_name} ${p.last_name} retiré(e) des personnes autorisées.`, 'success');
        await reload();
      } catch (err) { showError(err); }
    }));
    return [`${p.first_name} ${p.last_name}`, p.relationship || '—', p.phone, remove];
  });
  return h('section', { class: 'card', 'aria-labelledby': 'fam-persons' }, h('h2', { id: 'fam-persons' }, 'Personnes autorisées à venir chercher les enfants'),
    rows.length ? stackTable('Personnes autorisées', ['Nom', 'Lien', 'Téléphone', ''], rows, { rowHeaders: true }) : h('p', {}, 'Aucune personne déclarée.'),
    form);
}

function accountsCard(f, reload) {
  const login = h('input', { name: 'login', type: 'email', required: true, autocomplete: 'off' });
  const submit = h('button', { type: 'submit', class: 'button button-secondary' }, 'Inviter');
  const form = h('form', { class: 'form inline-form', novalidate: true }, field('Inviter un parent (e-mail)', login, 'Il reçoit un lien pour choisir son mot de passe (72 heures).'), submit);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(submit, async () => {
      try {
        const a = await post(`/admin/families/${f.id}/accounts`, { login: login.value.trim() });
        notify(`Invitation envoyée à ${a.login}.`, 'success');
        await reload();
      } catch (err) { markFieldErrors(form, err); showError(err); }
    });
  });
  const rows = f.accounts.map((a) => {
    const state = a.disabled ? h('span', { class: 'tag' }, 'Désactivé') : a.password_set ? h('span', { class: 'tag tag-confirmed' }, 'Actif')
      : h('span', { class: 'tag tag-waiting' }, 'Mot de passe à choisir');
    const link = h('button', { type: 'button', class: 'button button-tertiary button-small', disabled: a.disabled },
      'Renvoyer un lien', h('span', { class: 'sr-only' }, ` à ${a.login}`));
    link.addEventListener('click', () => busy(link, async () => {
      try {
        const r = await post(`/admin/families/${f.id}/accounts/${a.id}/link`, {});
        notify(r.purpose === 'set' ? `Invitation renvoyée à ${r.login} (lien valable 72 heures).` : `Lien de réinitialisation envoyé à ${r.login} (valable une heure).`, 'success');
      } catch (err) { showError(err); }
    }));
    const toggle = h('button', { type: 'button', class: `button button-small ${a.disabled ? 'button-secondary' : 'button-danger'}` },
      a.disabled ? 'Réactiver' : 'Désactiver', h('span', { class: 'sr-only' }, ` ${a.login}`));
    toggle.addEventListener('click', () => busy(toggle, async () => {
      try {
        await patch(`/admin/families/${f.id}/accounts/${a.id}`, { disabled: !a.disabled });
        notify(a.disabled ? `${a.login} peut de nouveau se connecter.` : `${a.login} est désactivé : ses sessions sont fermées et il ne peut plus se connecter.`, 'success');
        await reload();
      } catch (err) { showError(err); }
    }));
    return [a.login, state, h('span', { class: 'row-actions' }, link, toggle)];
  });
  return h('section', { class: 'card', 'aria-labelledby': 'fam-accounts' }, h('h2', { id: 'fam-accounts' }, 'Accès au portail'),
    rows.length ? stackTable('Identifiants de la famille', ['Identifiant', 'État', ''], rows, { rowHeaders: true, class: 'accounts' }) : h('p', {}, 'Aucun identifiant : la famille ne peut pas encore se connecter.'),
    form);
}

// ---- Reservations ----

const STATUS = { confirmed: 'Confirmée', cancelled: 'Annulée' };

function reservationsCard(f, moneyChanged) {
  const first = `${thisMonth()}-01`;
  const from = dateInput({ name: 'from', value: first });
  const to = dateInput({ name: 'to', value: `${addMonths(thisMonth(), 1)}-01` });
  const list = h('div', {}, loading());
  const show = h('button', { type: 'submit', class: 'button button-secondary' }, 'Afficher');
  const form = h('form', { class: 'search period', novalidate: true }, field('Du', from), field('Au', to), show);
  const changed = async () => { await moneyChanged(); await draw(); };
  const draw = async () => {
    let range;
    try { range = { from: dateValue(from, 'Du'), to: dateValue(to, 'Au') }; } catch (err) { notify(err.message, 'error'); return; }
    try {
      const rows = await get(`/admin/families/${f.id}/reservations?from=${range.from}&to=${range.to}`);
      mount(list, rows.length ? stackTable(`Réservations du ${frDate(range.from)} au ${frDate(range.to)}`, ['Date', 'Enfant', 'Service', 'Prix', 'État', 'Réservée par', ''],
        rows.map((r) => reservationRow(r, changed)), { rowHeaders: true }) : h('p', {}, 'Aucune réservation sur cette période.'));
    } catch (err) { mount(list, errorBox(err, 'Les réservations')); }
  };
  form.addEventListener('submit', (e) => { e.preventDefault(); busy(show, draw); });
  const node = h('section', { class: 'card', 'aria-labelledby': 'fam-res' }, h('h2', { id: 'fam-res' }, 'Réservations'), form, list);
  return { node, draw };
}

function reservationRow(r, changed) {
  const who = r.source === 'online' ? 'la famille (en ligne)' : `${r.booked_by_name || r.booked_by || 'l\'accueil'}${r.reason ? ` — « ${r.reason} »` : ''}`;
  const cell = h('div');
  if (r.status === 'confirmed') {
    const open = h('button', { type: 'button', class: 'button button-tertiary button-small' }, 'Annuler…', h('span', { class: 'sr-only' }, ` la réservation du ${dayLabel(r.date)}`));
    open.addEventListener('click', () => mount(cell, cancelPanel(r, changed, () => mount(cell, open))));
    cell.append(open);
  }
  return [dayLabel(r.date), r.child_name, r.service_name, euros(r.price_cents),
    h('span', { class: `tag tag-${r.status}` }, STATUS[r.status] || r.status), who, cell];
}

/** Cancelling on the family's behalf: a reason, and whether the price is given back within the role's rights. */
function cancelPanel(r, changed, close) {
  const reason = h('input', { name: 'reason', type: 'text', maxlength: '500', required: !r.in_time });
  const mayCredit = r.in_time || r.can_credit_late;
  const credit = h('input', { type: 'checkbox', name: 'credit', checked: r.in_time, id: `credit-${r.id}` });
  const submit = h('button', { type: 'submit', class: 'button button-danger button-small' }, 'Confirmer l\'annulation');
  const form = h('form', { class: 'confirm', novalidate: true },
    h('p', {}, r.in_time ? `Dans les délais (jusqu'au ${instantLabel(r.cancellation_deadline)}).`
      : `Délai d'annulation dépassé (${instantLabel(r.cancellation_deadline)}) : un motif est requis.`),
    field(r.in_time ? 'Motif (facultatif)' : 'Motif', reason),
    mayCredit ? h('div', { class: 'check' }, credit, h('label', { for: credit.id }, `Rendre ${euros(r.price_cents)} à la famille (déduit du solde dû, sinon crédité sur la cagnotte)`))
      : h('p', { class: 'hint' }, 'Après le délai, seul un régisseur ou un administrateur peut rendre le montant : l\'annulation se fait ici sans remboursement.'),
    h('div', { class: 'actions' }, submit, h('button', { type: 'button', class: 'button button-tertiary button-small', onclick: close }, 'Ne pas annuler')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!r.in_time && !reason.value.trim()) { notify('Indiquez le motif de l\'annulation hors délai.', 'error'); reason.focus(); return; }
    busy(submit, async () => {
      try {
        const k = await post(`/admin/reservations/${r.id}/cancel`, { reason: reason.value.trim(), credit: mayCredit && credit.checked });
        const money = k.reversed_cents || k.credited_cents
          ? [k.reversed_cents ? `${euros(k.reversed_cents)} retirés du solde dû` : '', k.credited_cents ? `${euros(k.credited_cents)} crédités sur la cagnotte` : ''].filter(Boolean).join(', ')
          : 'aucun remboursement';
        notify(`Réservation du ${dayLabel(r.date)} annulée : ${money}.`, 'success');
        await changed();
      } catch (err) { showError(err); }
    });
  });
  setTimeout(() => reason.focus());
  return form;
}

async function bookForm(familyID, children, done) {
  const services = (await get('/admin/services')).filter((s) => s.active);
  if (!children.length) return h('p', {}, 'Cette famille n\'a aucun enfant enregistré.');
  const child = h('select', { name: 'child_id' }, children.map((c) => h('option', { value: c.id }, `${c.first_name} ${c.last_name}`)));
  const service = h('select', { name: 'service_id' }, services.map((s) => h('option', { value: s.id }, s.name)));
  const from = dateInput({ name: 'from', required: true });
  const to = dateInput({ name: 'to' });
  const reason = h('input', { name: 'reason', type: 'text', maxlength: '500' });
  const override = h('input', { name: 'override_deadline', type: 'checkbox', id: 'override-deadline' });
  const overrideList = h('input', { name: 'override_waitlist', type: 'checkbox', id: 'override-waitlist' });
  const submit = h('button', { type: 'submit', class: 'button' }, 'Réserver');
  const form = h('form', { class: 'form', novalidate: true },
    h('div', { class: 'grid2' },
      field('Enfant', child), field('Service', service),
      field('Du', from), field('Au (facultatif)', to, 'Tous les jours d\'ouverture du service entre ces dates.'),
      field('Motif', reason, 'Obligatoire pour passer outre la date limite ou la liste d\'attente.')),
    h('div', { class: 'check' }, override, h('label', { for: override.id }, 'Passer outre la date limite de réservation')),
    h('div', { class: 'check' }, overrideList, h('label', { for: overrideList.id },
      'Passer devant la liste d\'attente : la place libre revient à cet enfant plutôt qu\'aux enfants qui attendent')),
    h('p', { class: 'hint' }, 'Les réservations faites ici sont confirmées aussitôt et ajoutées au solde dû de la famille.'),
    h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    let first; let last;
    try {
      first = dateValue(from, 'Du');
      last = dateValue(to, 'Au') || first;
    } catch (err) { notify(err.message, 'error'); return; }
    if (!first) {
      notify('Indiquez la date (ou la première date) à réserver.', 'error');
      from.focus();
      return;
    }
    await busy(submit, async () => {
      try {
        const dates = await openDays(service.value, first, last);
        if (!dates.length) {
          notify('Le service n\'est ouvert aucun jour dans cette période.', 'error');
          return;
        }
        const res = await post(`/admin/families/${familyID}/reservations`, {
          items: dates.map((date) => ({ child_id: child.value, service_id: service.value, date })),
          reason: reason.value.trim(), override_deadline: override.checked, override_waitlist: overrideList.checked,
        });
        markFieldErrors(form, null);
        notify(`${pluralize(res.reservations.length, 'réservation faite', 'réservations faites')} ; ${euros(res.charged_cents)} ajoutés au solde dû de la famille.`, 'success');
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

// ---- Desk money (finance, admin) ----

/**
 * Wires a desk-money form: one Idempotency-Key per write meant (a change of the
 * form is a new write; resubmitting the same one is not). read() returns the
 * body or throws an Error whose input is the field to fix; write(body, key)
 * posts it and says what was recorded.
 */
function moneyForm(form, submit, read, write, done) {
  let key = newKey();
  form.addEventListener('input', () => { key = newKey(); });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    let body;
    try {
      body = read();
    } catch (err) {
      if (err.input) { err.input.setAttribute('aria-invalid', 'true'); err.input.focus(); }
      notify(err.message, 'error');
      return;
    }
    await busy(submit, async () => {
      try {
        const res = await write(body, key);
        form.reset();
        markFieldErrors(form, null);
        key = newKey();
        await done(res);
      } catch (err) {
        markFieldErrors(form, err);
        showError(err);
      }
    });
  });
  return form;
}

const invalid = (input, message) => Object.assign(new Error(message), { input });

function deskForm(familyID, done) {
  const amount = h('input', { name: 'amount_cents', type: 'text', inputmode: 'decimal', required: true, class: 'short' });
  const method = h('select', { name: 'method' }, h('option', { value: 'cash' }, 'Espèces'), h('option', { value: 'cheque' }, 'Chèque'));
  const reference = h('input', { name: 'reference', type: 'text', maxlength: '100' });
  const submit = h('button', { type: 'submit', class: 'button' }, 'Enregistrer le règlement');
  const form = h('form', { class: 'form', novalidate: true },
    h('div', { class: 'grid2' }, field('Montant (€)', amount, 'Par exemple 12,50'), field('Mode de règlement', method),
      field('Référence (facultatif)', reference, 'Numéro de chèque, de quittance…')),
    h('p', { class: 'hint' }, 'Le règlement solde d\'abord ce que la famille doit ; le surplus va sur sa cagnotte.'),
    h('div', { class: 'actions' }, submit));
  return moneyForm(form, submit, () => {
    const cents = parseEuros(amount.value);
    if (!(cents > 0)) throw invalid(amount, 'Montant invalide : indiquez un montant positif en euros, par exemple 12,50.');
    return { amount_cents: cents, method: method.value, reference: reference.value.trim() };
  }, async (body, key) => {
    const res = await post(`/admin/families/${familyID}/payments`, body, { idempotencyKey: key });
    notify(res.replayed ? 'Ce règlement était déjà enregistré.' : `Règlement de ${euros(body.amount_cents)} enregistré.`, 'success');
    return res;
  }, done);
}

function adjustmentForm(familyID, done) {
  const target = h('select', { name: 'target' }, h('option', { value: 'credit' }, 'La cagnotte'), h('option', { value: 'outstanding' }, 'Le solde dû'));
  const direction = h('select', { name: 'direction' }, h('option', { value: '1' }, 'Augmenter'), h('option', { value: '-1' }, 'Diminuer'));
  const amount = h('input', { name: 'amount_cents', type: 'text', inputmode: 'decimal', required: true, class: 'short' });
  const reason = h('input', { name: 'reason', type: 'text', required: true, maxlength: '500' });
  const submit = h('button', { type: 'submit', class: 'button' }, 'Enregistrer la régularisation');
  const form = h('form', { class: 'form', novalidate: true },
    h('div', { class: 'grid2' }, field('Corriger', target), field('Sens', direction), field('Montant (€)', amount), field('Motif', reason, 'Visible dans l\'historique de la famille.')),
    h('div', { class: 'actions' }, submit));
  return moneyForm(form, submit, () => {
    const cents = parseEuros(amount.value);
    if (!(cents > 0)) throw invalid(amount, 'Indiquez un montant positif en euros, par exemple 2,00.');
    if (!reason.value.trim()) throw invalid(reason, 'Indiquez le motif de la régularisation.');
    return { amount_cents: cents * Number(direction.value), target: target.value, reason: reason.value.trim() };
  }, async (body, key) => {
    const res = await post(`/admin/families/${familyID}/adjustments`, body, { idempotencyKey: key });
    notify(res.replayed ? 'Cette régularisation était déjà enregistrée.' : 'Régularisation enregistrée.', 'success');
    return res;
  }, done);
}

// ---- Invoices (finance, admin) ----

export const LINE_KINDS = {
  reservation: 'Réservation', staff_reservation: 'Réservation (accueil)', unbooked_attendance: 'Présence sans réservation',
  unbooked_info: 'Présence sans réservation', absence: 'Absence non annulée', charge: 'Frais', cancellation: 'Annulation',
  cancellation_credit: 'Annulation (cagnotte)', payment: 'Paiement en ligne', desk_payment: 'Paiement au guichet',
  credit_used: 'Cagnotte utilisée', late_payment_credit: 'Paiement tardif (cagnotte)', adjustment: 'Régularisation', info: 'Pour information',
};

async function invoicesList(familyID) {
  const list = await get(`/admin/families/${familyID}/invoices`);
  if (!list.length) return h('p', {}, 'Aucune facture émise pour cette famille.');
  return h('div', { class: 'invoices' }, list.map((inv, i) => h('details', { class: 'invoice', open: i === 0, 'data-invoice': inv.number },
    h('summary', {}, h('strong', {}, `Facture ${ofMonth(inv.month)}`), ` — ${inv.number} — total ${euros(inv.total_cents)}, reste à payer ${euros(inv.due_cents)}`),
    h('p', {}, h('a', { href: `/api/v1/admin/invoices/${inv.id}.pdf`, download: '' }, `Télécharger la facture ${inv.number} (PDF)`),
      ` — émise le ${shortDate(inv.issued_at)}`),
    stackTable(`Lignes de la facture ${inv.number}`, ['Date', 'Ligne', 'Enfant', 'Détail', 'Prix', 'Montant'], inv.lines.map((l) => [
      l.date ? frDate(l.date) : '—', h('span', { class: `line-kind line-${l.kind}` }, LINE_KINDS[l.kind] || l.kind), l.child || '—',
      [l.service ? `${l.service} — ` : '', l.label, l.late ? ' (enregistré après sa facture)' : ''],
      l.unit_cents ? euros(l.unit_cents) : '—',
      l.amount_cents ? euros(l.amount_cents) : l.credit_cents ? `${euros(l.credit_cents)} (cagnotte)` : '—',
    ]), { class: 'invoice-lines' }))));
}
