// The organisation's settings (admins), PayFiP's numcli and saisie mode with what
// each choice means for the families' money.

import { get, patch } from '../../api.js';
import { h, mount, field, pageTitle, notify, showError, markFieldErrors, busy, dl } from '../../ui.js';
import { can, notForRole } from './common.js';

export const SAISIE = {
  T: ['Test', 'Aucun argent n\'est prélevé : PayFiP simule le paiement. Les familles croiraient avoir payé alors que rien n\'est encaissé — uniquement pour essayer le portail, jamais en service réel.'],
  X: ['Activation', 'Paiements réels pendant la phase de validation demandée par la DGFiP, avant le passage en production.'],
  W: ['Production', 'Paiements réels par carte : l\'argent des familles est encaissé sur le compte de la régie indiquée par le numéro client.'],
};

export async function orgSettings(ctx) {
  if (!can('getOrg')) { notForRole(ctx, 'Paramètres de la collectivité', 'aux administrateurs'); return; }
  let org = await get('/admin/org');
  const status = h('div');
  const drawStatus = () => mount(status, org.saisie === 'T'
    ? h('div', { class: 'notice notice-warning', role: 'status', id: 'payfip-mode' }, h('strong', {}, 'Mode test : '), 'aucun paiement en ligne n\'encaisse d\'argent.')
    : h('div', { class: 'notice notice-success', role: 'status', id: 'payfip-mode' }, h('strong', {}, `Mode ${SAISIE[org.saisie][0].toLowerCase()} : `), 'les paiements en ligne sont réels.'));
  drawStatus();

  const name = h('input', { name: 'name', type: 'text', required: true, value: org.name });
  const email = h('input', { name: 'email', type: 'email', value: org.email });
  const address = h('input', { name: 'address', type: 'text', value: org.address });
  const save = h('button', { type: 'submit', class: 'button' }, 'Enregistrer');
  const general = h('form', { class: 'form card', novalidate: true }, h('h2', {}, 'Coordonnées'),
    h('div', { class: 'grid2' }, field('Nom', name, 'En tête des factures et des attestations.'), field('E-mail de contact', email), field('Adresse', address)),
    h('div', { class: 'actions' }, save));
  general.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(save, async () => {
      try {
        org = await patch('/admin/org', { name: name.value.trim(), email: email.value.trim(), address: address.value.trim() });
        notify('Coordonnées enregistrées.', 'success');
      } catch (err) { markFieldErrors(general, err); showError(err); }
    });
  });

  const numcli = h('input', { name: 'numcli', type: 'text', inputmode: 'numeric', maxlength: '6', pattern: '[0-9]{6}', class: 'short', value: org.numcli });
  const radios = Object.entries(SAISIE).map(([v, [label, text]]) => {
    const r = h('input', { type: 'radio', name: 'saisie', value: v, id: `saisie-${v}`, checked: org.saisie === v, disabled: v === 'T' && !org.test_mode_allowed && org.saisie !== 'T' });
    return h('div', { class: 'radio-choice' }, r, h('label', { for: r.id }, h('strong', {}, `${v} — ${label}`), h('span', { class: 'sub' }, text),
      v === 'T' && !org.test_mode_allowed ? h('span', { class: 'sub' }, 'Indisponible : ce serveur est en production.') : null));
  });
  const pw = h('input', { name: 'current_password', type: 'password', autocomplete: 'current-password' });
  const apply = h('button', { type: 'submit', class: 'button' }, 'Changer les paramètres PayFiP');
  const payfip = h('form', { class: 'form card', novalidate: true }, h('h2', {}, 'Paiement en ligne (PayFiP)'),
    field('Numéro client PayFiP (numcli)', numcli, 'Les 6 chiffres de la régie, zéros compris, fournis par la DGFiP. Les paiements en ligne vont sur ce compte : faites-le vérifier auprès de PayFiP avant de l\'enregistrer (commande « enfance payfip numcli » de l\'exploitant).'),
    h('fieldset', {}, h('legend', {}, 'Mode de saisie'), radios),
    field('Votre mot de passe', pw, 'Demandé pour changer le numéro client ou le mode : ils décident où va l\'argent des familles et s\'il est réellement encaissé. Le changement est inscrit au journal.'),
    h('div', { class: 'actions' }, apply));
  payfip.addEventListener('submit', (e) => {
    e.preventDefault();
    const saisie = payfip.querySelector('input[name="saisie"]:checked').value;
    if (numcli.value.trim() === org.numcli && saisie === org.saisie) { notify('Aucun changement à enregistrer.'); return; }
    if (!pw.value) { notify('Indiquez votre mot de passe pour changer les paramètres PayFiP.', 'error'); pw.focus(); return; }
    busy(apply, async () => {
      try {
        org = await patch('/admin/org', { numcli: numcli.value.trim(), saisie, current_password: pw.value });
        pw.value = '';
        markFieldErrors(payfip, null);
        drawStatus();
        notify(`Paramètres PayFiP enregistrés : numéro client ${org.numcli}, mode ${SAISIE[org.saisie][0].toLowerCase()}.`, 'success');
      } catch (err) { markFieldErrors(payfip, err); showError(err); }
    });
  });

  mount(ctx.root, pageTitle('Paramètres de la collectivité'), status,
    dl([['Fuseau horaire', org.time_zone]]),
    general, payfip);
}
