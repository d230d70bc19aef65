// Month-end invoicing (finance, admin): start a month's run, follow it, export.

import { get, post, ApiError } from '../../api.js';
import {
  h, mount, euros, field, pageTitle, notify, showError, markFieldErrors, busy, loading, dl, instantLabel, monthLabel, thisMonth, addMonths,
} from '../../ui.js';
import { can, errorBox, notForRole, stackTable } from './common.js';

const RUN_STATUS = { running: 'En cours', completed: 'Terminée', failed: 'En échec' };

export async function invoicing(ctx) {
  if (!can('startInvoiceRun')) {
    notForRole(ctx, 'Facturation', 'aux régisseurs et aux administrateurs');
    return;
  }
  const month = h('input', { name: 'month', type: 'month', required: true, value: addMonths(thisMonth(), -1), max: addMonths(thisMonth(), -1), pattern: '\\d{4}-\\d{2}' });
  const submit = h('button', { type: 'submit', class: 'button', id: 'start-run' }, 'Lancer la facturation');
  const watch = h('section', { class: 'card run', 'aria-labelledby': 'run-title', hidden: true });
  const runs = h('div', {}, loading());
  const form = h('form', { class: 'card form', novalidate: true },
    h('h2', {}, 'Facturer un mois'),
    h('p', {}, 'Émet la facture de chaque famille pour le mois écoulé et l\'envoie par e-mail. Relancer un mois déjà facturé ne crée pas de doublon : la facturation en cours est reprise.'),
    field('Mois à facturer', month, 'Format AAAA-MM ; seul un mois terminé peut être facturé.'),
    h('div', { class: 'actions' }, submit));

  const drawRuns = async () => {
    try {
      const list = await get('/admin/invoice-runs');
      mount(runs, list.length ? stackTable('Facturations', ['Mois', 'État', 'Familles', 'Factures', 'Montant facturé', 'Reste dû', ''], list.map((r) => [
        monthLabel(r.month), RUN_STATUS[r.status] || r.status, `${r.families_done} / ${r.families_total}`, String(r.invoices_count), euros(r.total_cents), euros(r.due_cents),
        h('span', { class: 'row-actions' },
          h('a', { href: `#/admin/facturation?run=${r.id}` }, 'Suivre', h('span', { class: 'sr-only' }, ` la facturation de ${monthLabel(r.month)}`)),
          h('a', { href: `/api/v1/admin/exports/${r.month}.csv`, download: '' }, 'Export CSV', h('span', { class: 'sr-only' }, ` de ${monthLabel(r.month)}`))),
      ]), { rowHeaders: true }) : h('p', {}, 'Aucune facturation pour le moment.'));
    } catch (err) {
      mount(runs, errorBox(err, 'La liste des facturations'));
    }
  };

  const follow = async (run) => {
    watch.hidden = false;
    const title = h('h2', { id: 'run-title' }, `Facturation de ${monthLabel(run.month)}`);
    const bar = h('progress', { max: '1', value: '0', id: 'run-progress', 'aria-labelledby': 'run-title' });
    const state = h('p', { class: 'run-status', id: 'run-status', role: 'status' });
    const facts = h('div');
    mount(watch, title, bar, state, facts);
    let r = run;
    while (ctx.alive()) {
      bar.max = Math.max(r.families_total, 1);
      bar.value = r.status === 'completed' ? bar.max : r.families_done;
      state.textContent = `${RUN_STATUS[r.status] || r.status} — ${r.families_done} famille${r.families_done > 1 ? 's' : ''} sur ${r.families_total} traitée${r.families_total > 1 ? 's' : ''}`;
      mount(facts, dl([
        ['Factures émises', String(r.invoices_count)], ['Envoyées par e-mail', String(r.emailed_count)],
        ['Montant facturé', euros(r.total_cents)], ['Déjà payé', euros(r.paid_cents)], ['Reste dû', euros(r.due_cents)],
        ['Commencée', instantLabel(r.started_at)], r.finished_at ? ['Terminée', instantLabel(r.finished_at)] : null,
        r.error ? ['Erreur', r.error] : null,
      ]), r.status === 'completed' ? h('p', {}, h('a', { class: 'button button-secondary', href: `/api/v1/admin/exports/${r.month}.csv`, download: '' }, `Exporter ${monthLabel(r.month)} (CSV)`)) : null);
      if (r.status !== 'running') break;
      await new Promise((res) => setTimeout(res, 1000));
      try { r = await get(`/admin/invoice-runs/${r.id}`); } catch (err) { showError(err); return; }
    }
    if (ctx.alive()) await drawRuns();
  };

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!/^\d{4}-\d{2}$/.test(month.value)) {
      month.setAttribute('aria-invalid', 'true');
      notify('Indiquez le mois au format AAAA-MM.', 'error');
      month.focus();
      return;
    }
    await busy(submit, async () => {
      try {
        const run = await post('/admin/invoice-runs', { month: month.value });
        markFieldErrors(form, null);
        notify(run.status === 'completed' ? `${monthLabel(run.month)} est déjà facturé.` : `Facturation de ${monthLabel(run.month)} lancée.`, 'success');
        history.replaceState(null, '', `#/admin/facturation?run=${run.id}`);
        follow(run);
      } catch (err) {
        markFieldErrors(form, err);
        if (err instanceof ApiError && err.unavailable) notify('La facturation n\'est pas encore disponible sur ce serveur (POST /api/v1/admin/invoice-runs).', 'warning');
        else showError(err);
      }
    });
  });

  mount(ctx.root, pageTitle('Facturation'), form, watch,
    h('section', { 'aria-labelledby': 'runs-title' }, h('h2', { id: 'runs-title' }, 'Facturations précédentes'), runs));
  await drawRuns();
  const runID = ctx.query.get('run');
  if (runID) {
    try { follow(await get(`/admin/invoice-runs/${runID}`)); } catch (err) { showError(err); }
  }
}
