// Back office (agent, finance, admin): the pages, one module per area in admin/.
// app.js routes to these names.

export { families, newFamily, familyPage } from './admin/families.js';
export { services, newService, editService, serviceDays, closures } from './admin/services.js';
export { day, week } from './admin/day.js';
export { waitlist } from './admin/waitlist.js';
export { inbox, thread } from './admin/messages.js';
export { invoicing } from './admin/invoicing.js';
export { users } from './admin/users.js';
export { orgSettings } from './admin/org.js';
export { auditLog } from './admin/audit.js';

export async function home() {
  const { go } = await import('../app.js');
  go('#/admin/familles');
}
